//! `lambkin logs <function> [--follow]`: a function's log group read from the node's log store,
//! printed as `aws logs tail` prints it (`<time> <stream> <message>`).

use anyhow::Context;
use lambkin_logs::store::Query;
use lambkin_logs::{LogStore, LogsError, epoch_millis};
use std::io::Write;
use std::time::{Duration, SystemTime};

use crate::config::LogsArgs;

/// How often `--follow` looks for new events.
const POLL: Duration = Duration::from_secs(1);

/// An invocation's events are written when it ends, stamped from when it started: a poll reads
/// back this far before the newest event printed (Lambda's longest Timeout), and prints what it
/// has not printed, by write order.
const LONGEST_INVOCATION_MS: i64 = 15 * 60 * 1000;

pub async fn run(args: LogsArgs) -> anyhow::Result<()> {
    let group = if args.function.starts_with('/') {
        args.function.clone()
    } else {
        format!("/aws/lambda/{}", args.function)
    };
    let root = args.data_dir.join("logs");
    let since = epoch_millis(SystemTime::now() - args.since);
    let mut newest = since;
    let mut printed: Option<u64> = None;
    let mut first = true;
    loop {
        let (root, name) = (root.clone(), group.clone());
        let events = tokio::task::spawn_blocking(move || -> Result<_, LogsError> {
            let store = LogStore::open_group(root, &name)?;
            store.events(
                &name,
                &Query {
                    streams: &|_| true,
                    start: Some((newest - LONGEST_INVOCATION_MS).max(since)),
                    end: None,
                    pattern: None,
                },
            )
        })
        .await?;
        let events = match events {
            Ok(events) => events,
            // A function not invoked yet has no group: following waits for it.
            Err(LogsError::GroupNotFound) if args.follow => Vec::new(),
            Err(LogsError::GroupNotFound) if first => {
                anyhow::bail!("no log group {group} in {}", args.data_dir.display())
            }
            Err(e) => return Err(e).context("reading the log store"),
        };
        let mut out = std::io::stdout().lock();
        let seen = printed;
        let mut fresh: Vec<_> = events.iter().filter(|e| seen.is_none_or(|s| e.seq > s)).collect();
        fresh.sort_by_key(|e| e.seq);
        for event in fresh {
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(event.timestamp) * 1_000_000)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default();
            write!(out, "{at} {} {}", event.stream, event.message)?;
            if !event.message.ends_with('\n') {
                writeln!(out)?;
            }
            newest = newest.max(event.timestamp);
            printed = printed.max(Some(event.seq));
        }
        out.flush()?;
        drop(out);
        if !args.follow {
            return Ok(());
        }
        first = false;
        tokio::time::sleep(POLL).await;
    }
}
