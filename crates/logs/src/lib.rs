//! # lambkin-logs
//!
//! Function logs kept as CloudWatch Logs keeps them: log groups (`/aws/lambda/<function>`) of log
//! streams (one per execution environment) of timestamped events, on the node's disk, within a
//! retention per group and a size cap per node (oldest dropped first).
//!
//! # Layout
//! - [`events`]: one phase's log text (START … REPORT) split into events, with their timestamps.
//! - [`pattern`]: CloudWatch Logs' filter-pattern terms.
//! - [`store`]: [`LogStore`]: groups, streams and their segments; the queries (`store/disk.rs`:
//!   the files).
//! - [`sink`]: [`LogSink`], what the sandbox writes to, and [`LogWriter`], which never blocks an
//!   invocation (a bounded queue to one writer thread).

pub mod events;
pub mod pattern;
pub mod sink;
pub mod store;

pub use events::Event;
pub use sink::{LogSink, LogWriter};
pub use store::{GroupInfo, LogStore, StoredEvent, StreamInfo};

/// What a log operation can fail with, in CloudWatch Logs' terms.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    #[error("The specified log group already exists")]
    GroupExists,
    #[error("The specified log stream already exists")]
    StreamExists,
    #[error("{0}")]
    InvalidParameter(String),
    #[error("the log store failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Milliseconds since the Unix epoch, CloudWatch's timestamps.
pub fn epoch_millis(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
