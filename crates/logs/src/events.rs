//! One phase's log as CloudWatch events: every line is an event, except that the lines after a
//! runtime-formatted one (`<RFC 3339 time>\t<request id>\t<LEVEL>\t…`, as the Node.js and Python
//! runtimes print a message) belong to it until the next such line or platform line, as a
//! multi-line message is one event in Lambda's log.

use std::time::SystemTime;

use crate::epoch_millis;

/// One log event: when, and the message (a line of a phase's log keeps its newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub timestamp: i64,
    pub message: String,
}

/// The lines lambkin writes itself, which end a runtime line's continuation.
const PLATFORM: &[&str] = &[
    "START RequestId:",
    "END RequestId:",
    "REPORT RequestId:",
    "INIT_START ",
    "INIT_REPORT ",
    "RESTORE_START ",
    "RESTORE_REPORT ",
];

/// Splits `text` into events. Platform lines that open a phase are stamped `started`, those that
/// close it `ended`; a runtime line carries its own time; any other line takes the time before
/// it. Timestamps never go backwards within a phase.
pub fn split(text: &str, started: SystemTime, ended: SystemTime) -> Vec<Event> {
    let (start_ms, end_ms) = (
        epoch_millis(started),
        epoch_millis(ended).max(epoch_millis(started)),
    );
    let mut events: Vec<Event> = Vec::new();
    let mut last = start_ms;
    let mut continuing = false;
    for line in text.lines() {
        let platform = PLATFORM.iter().any(|p| line.starts_with(p));
        let stamped = (!platform).then(|| runtime_timestamp(line)).flatten();
        if !platform
            && stamped.is_none()
            && continuing
            && let Some(previous) = events.last_mut()
        {
            previous.message.push_str(line);
            previous.message.push('\n');
            continue;
        }
        let timestamp = if platform {
            if line.starts_with("END ") || line.starts_with("REPORT ") || line.contains("_REPORT ") {
                end_ms
            } else {
                start_ms
            }
        } else {
            stamped.unwrap_or(last).clamp(start_ms, end_ms)
        };
        last = timestamp.max(last);
        continuing = stamped.is_some();
        // Lambda's events end with the line's newline.
        let mut message = String::with_capacity(line.len() + 1);
        message.push_str(line);
        message.push('\n');
        events.push(Event {
            timestamp: last,
            message,
        });
    }
    events
}

/// The time a runtime-formatted line starts with (`2026-12-03T11:07:40.989Z\t…`).
fn runtime_timestamp(line: &str) -> Option<i64> {
    let (head, _) = line.split_once('\t')?;
    if head.len() < 20 || !head.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    let at = time::OffsetDateTime::parse(head, &time::format_description::well_known::Rfc3339).ok()?;
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn platform_lines_take_the_phase_edges_and_raw_lines_are_events_each() {
        let text = "START RequestId: r Version: $LATEST\nhello\nworld\nEND RequestId: r\nREPORT RequestId: r\tDuration: 1.00 ms\n";
        let events = split(text, at(1_000), at(1_005));
        let got: Vec<(i64, &str)> = events.iter().map(|e| (e.timestamp, e.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (1_000, "START RequestId: r Version: $LATEST\n"),
                (1_000, "hello\n"),
                (1_000, "world\n"),
                (1_005, "END RequestId: r\n"),
                (1_005, "REPORT RequestId: r\tDuration: 1.00 ms\n"),
            ]
        );
    }

    #[test]
    fn a_runtime_line_keeps_its_time_and_its_continuation_lines() {
        // 2026-12-03T11:07:40.989Z is 1796296060989 ms.
        let start = at(1_796_296_060_000);
        let end = at(1_796_296_061_000);
        let text = "START RequestId: r Version: 1\n2026-12-03T11:07:40.989Z\tr\tERROR\tboom\n    at f (index.mjs:1:1)\nEND RequestId: r\n";
        let events = split(text, start, end);
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(events[1].timestamp, 1_796_296_060_989);
        assert_eq!(
            events[1].message,
            "2026-12-03T11:07:40.989Z\tr\tERROR\tboom\n    at f (index.mjs:1:1)\n"
        );
    }

    #[test]
    fn a_time_outside_the_phase_is_clamped_into_it() {
        let text =
            "1999-01-01T00:00:00.000Z\tr\tINFO\tslow clock\n2099-01-01T00:00:00.000Z\tr\tINFO\tfast clock\n";
        let events = split(text, at(1_796_296_060_000), at(1_796_296_061_000));
        assert_eq!(events[0].timestamp, 1_796_296_060_000);
        assert_eq!(events[1].timestamp, 1_796_296_061_000);
    }
}
