//! Where the sandbox writes each phase's log. [`LogWriter`] puts it on a bounded queue that one
//! writer thread drains every [`DRAIN_EVERY`]: an invocation never waits on the disk nor wakes a
//! thread, and the writer appends everything gathered with one write per stream. When the queue
//! is full (the disk cannot keep up) a phase's log is dropped and counted rather than held.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::LogStore;
use crate::events;

/// One phase's log for the function's log group: an invocation's START … REPORT (INIT_START and
/// Init's output first on a cold start), a provisioned environment's Init, a failed Init.
pub trait LogSink: Send + Sync + std::fmt::Debug {
    fn write(&self, group: &str, stream: &str, text: &str, started: SystemTime, ended: SystemTime);
}

/// How many phases may wait for the writer.
const QUEUE: usize = 65_536;

/// How often the writer drains the queue: what a reader waits at most, beyond the write itself.
pub const DRAIN_EVERY: Duration = Duration::from_millis(25);

/// How often the writer sweeps events past their retention.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A phase's log as the sandbox handed it over: split into events on the writer's thread.
struct Batch {
    group: String,
    stream: String,
    text: String,
    started: SystemTime,
    ended: SystemTime,
}

#[derive(Default)]
struct Shared {
    /// A std mutex: held to push one phase or to swap the whole queue out, never across I/O.
    queue: Mutex<Vec<Batch>>,
    dropped: AtomicU64,
    closed: AtomicBool,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Vec<Batch>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

/// Closes the queue when the last [`LogWriter`] goes: the writer drains it once more and stops.
#[derive(Debug)]
struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
    }
}

/// The [`LogSink`] over a [`LogStore`].
#[derive(Clone, Debug)]
pub struct LogWriter {
    shared: Arc<Shared>,
    _closer: Arc<Closer>,
}

impl LogWriter {
    pub fn start(store: Arc<LogStore>) -> std::io::Result<LogWriter> {
        let shared = Arc::new(Shared::default());
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("lambkin-logs".into())
            .spawn(move || write_all(&store, &writer))?;
        Ok(LogWriter {
            _closer: Arc::new(Closer(shared.clone())),
            shared,
        })
    }

    /// Phases dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl LogSink for LogWriter {
    fn write(&self, group: &str, stream: &str, text: &str, started: SystemTime, ended: SystemTime) {
        let batch = Batch {
            group: group.to_string(),
            stream: stream.to_string(),
            text: text.to_string(),
            started,
            ended,
        };
        let mut queue = self.shared.queue();
        if queue.len() < QUEUE {
            queue.push(batch);
        } else {
            drop(queue);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn write_all(store: &LogStore, shared: &Shared) {
    let mut swept = Instant::now();
    let mut gathered = Vec::new();
    loop {
        let closed = shared.closed.load(Ordering::Acquire);
        std::mem::swap(&mut gathered, &mut *shared.queue());
        write_gathered(store, &mut gathered);
        if closed {
            return;
        }
        if swept.elapsed() >= SWEEP_EVERY {
            store.sweep();
            swept = Instant::now();
        }
        std::thread::sleep(DRAIN_EVERY);
    }
}

/// Appends what was gathered, one append per stream, each stream's phases in the order they came.
fn write_gathered(store: &LogStore, gathered: &mut Vec<Batch>) {
    let mut streams: Vec<((String, String), Vec<events::Event>)> = Vec::new();
    for batch in gathered.drain(..) {
        let events = events::split(&batch.text, batch.started, batch.ended);
        let key = (batch.group, batch.stream);
        match streams.iter_mut().find(|(k, _)| *k == key) {
            Some((_, all)) => all.extend(events),
            None => streams.push((key, events)),
        }
    }
    for ((group, stream), events) in streams {
        if let Err(e) = store.append(&group, &stream, &events, true) {
            tracing::warn!(%group, %stream, "log not kept: {e}");
        }
    }
}
