//! The log store on a real directory: what is appended reads back in order, survives a reopen,
//! and stays within retention and the size cap.

use lambkin_logs::store::Query;
use lambkin_logs::{Event, LogStore, LogsError, epoch_millis};
use std::time::SystemTime;

fn event(timestamp: i64, message: &str) -> Event {
    Event {
        timestamp,
        message: message.to_string(),
    }
}

fn all<'a>() -> Query<'a> {
    Query {
        streams: &|_| true,
        start: None,
        end: None,
        pattern: None,
    }
}

#[test]
fn appended_events_read_back_in_time_order_and_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = epoch_millis(SystemTime::now());
    {
        let store = LogStore::open(dir.path(), 1 << 30).expect("open");
        store
            .append(
                "/aws/lambda/f",
                "2026/12/03/[$LATEST]a",
                &[event(now, "one"), event(now + 2, "three")],
                true,
            )
            .expect("append");
        store
            .append(
                "/aws/lambda/f",
                "2026/12/03/[$LATEST]b",
                &[event(now + 1, "two")],
                true,
            )
            .expect("append");
    }
    let store = LogStore::open(dir.path(), 1 << 30).expect("reopen");
    let got: Vec<(String, String)> = store
        .events("/aws/lambda/f", &all())
        .expect("events")
        .into_iter()
        .map(|e| (e.stream, e.message))
        .collect();
    assert_eq!(
        got,
        [
            ("2026/12/03/[$LATEST]a".into(), "one".into()),
            ("2026/12/03/[$LATEST]b".into(), "two".into()),
            ("2026/12/03/[$LATEST]a".into(), "three".into()),
        ]
    );
    // Sequence numbers go on after a reopen: every event keeps a unique id.
    store
        .append(
            "/aws/lambda/f",
            "2026/12/03/[$LATEST]a",
            &[event(now + 3, "four")],
            true,
        )
        .expect("append");
    let seqs: Vec<u64> = store
        .events("/aws/lambda/f", &all())
        .expect("events")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [0, 2, 1, 3]);
    assert!(matches!(
        store.append("/aws/lambda/none", "s", &[event(now, "x")], false),
        Err(LogsError::GroupNotFound)
    ));
}

#[test]
fn past_the_cap_the_oldest_segments_go_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cap = 3 * lambkin_logs::store::SEGMENT_BYTES;
    let store = LogStore::open(dir.path(), cap).expect("open");
    let line = "x".repeat(1000);
    let now = epoch_millis(SystemTime::now());
    // About five segments' worth, in two streams, oldest first.
    for n in 0..5000 {
        let stream = if n % 2 == 0 { "even" } else { "odd" };
        store
            .append("g", stream, &[event(now + n, &line)], true)
            .expect("append");
    }
    let stored: u64 = store.groups("g").iter().map(|g| g.stored_bytes).sum();
    assert!(stored <= cap, "{stored} bytes kept over a cap of {cap}");
    let events = store.events("g", &all()).expect("events");
    assert!(events.len() > 1500, "only {} events kept", events.len());
    // What is left is the newest: the last event written is there, the first is not.
    assert_eq!(events.last().map(|e| e.timestamp), Some(now + 4999));
    assert!(events.first().is_some_and(|e| e.timestamp > now));
}

#[test]
fn retention_hides_old_events_and_the_sweep_removes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LogStore::open(dir.path(), 1 << 30).expect("open");
    let now = epoch_millis(SystemTime::now());
    let three_days = 3 * 86_400_000;
    store
        .append("g", "old", &[event(now - three_days, "old")], true)
        .expect("append");
    store
        .append("g", "new", &[event(now, "new")], true)
        .expect("append");
    assert_eq!(store.events("g", &all()).expect("events").len(), 2);
    assert!(matches!(
        store.set_retention("g", Some(2)),
        Err(LogsError::InvalidParameter(_))
    ));
    store.set_retention("g", Some(1)).expect("retention");
    let messages: Vec<String> = store
        .events("g", &all())
        .expect("events")
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(messages, ["new"]);
    store.sweep();
    assert_eq!(store.streams("g", "old").expect("streams")[0].stored_bytes, 0);
    store.set_retention("g", None).expect("no retention");
    assert_eq!(store.groups("g")[0].retention_days, None);
}
