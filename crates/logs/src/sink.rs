//! Where the sandbox writes each phase's log. [`LogWriter`] hands it to one writer thread over a
//! bounded queue: an invocation never waits on the disk, and when the queue is full (the disk
//! cannot keep up) the log is dropped and counted rather than held.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant, SystemTime};

use crate::LogStore;
use crate::events;

/// One phase's log for the function's log group: an invocation's START … REPORT (INIT_START and
/// Init's output first on a cold start), a provisioned environment's Init, a failed Init.
pub trait LogSink: Send + Sync + std::fmt::Debug {
    fn write(&self, group: &str, stream: &str, text: &str, started: SystemTime, ended: SystemTime);
}

/// How many phases may wait for the writer thread.
const QUEUE: usize = 4096;

/// How often the writer sweeps events past their retention.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

struct Batch {
    group: String,
    stream: String,
    events: Vec<events::Event>,
}

/// The [`LogSink`] over a [`LogStore`]. Dropping the last clone stops the writer thread once it
/// has written what was queued.
#[derive(Clone, Debug)]
pub struct LogWriter {
    queue: SyncSender<Batch>,
    dropped: Arc<AtomicU64>,
}

impl LogWriter {
    pub fn start(store: Arc<LogStore>) -> std::io::Result<LogWriter> {
        let (queue, batches) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("lambkin-logs".into())
            .spawn(move || write_all(&store, &batches))?;
        Ok(LogWriter {
            queue,
            dropped: Arc::default(),
        })
    }

    /// Phases dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl LogSink for LogWriter {
    fn write(&self, group: &str, stream: &str, text: &str, started: SystemTime, ended: SystemTime) {
        let batch = Batch {
            group: group.to_string(),
            stream: stream.to_string(),
            events: events::split(text, started, ended),
        };
        if let Err(TrySendError::Full(_)) = self.queue.try_send(batch) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn write_all(store: &LogStore, batches: &Receiver<Batch>) {
    let mut swept = Instant::now();
    loop {
        match batches.recv_timeout(SWEEP_EVERY) {
            Ok(batch) => {
                if let Err(e) = store.append(&batch.group, &batch.stream, &batch.events, true) {
                    tracing::warn!(group = %batch.group, stream = %batch.stream, "log not kept: {e}");
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if swept.elapsed() >= SWEEP_EVERY {
            store.sweep();
            swept = Instant::now();
        }
    }
}
