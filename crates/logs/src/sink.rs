//! Where the sandbox writes each phase's log. [`LogWriter`] puts it on a bounded queue that one
//! writer thread drains every [`DRAIN_EVERY`]: an invocation never waits on the disk nor wakes a
//! thread, and the writer appends everything gathered with one write per stream. When the queue
//! is full (the disk cannot keep up) a phase's log is dropped and counted rather than held.
//!
//! The queue is one byte buffer that the phases are copied into, swapped with the writer's
//! (emptied, its capacity kept) on every drain: in the steady state an invocation allocates
//! nothing for its log, and no allocation made on a request's thread is freed on the writer's
//! (the allocator's cross-thread frees cost the front door more than the copy).

use std::ops::Range;
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

/// How many phases, and how many bytes of them, may wait for the writer.
const QUEUE: usize = 65_536;
const QUEUE_BYTES: usize = 64 << 20;

/// How often the writer drains the queue: what a reader waits at most, beyond the write itself.
pub const DRAIN_EVERY: Duration = Duration::from_millis(25);

/// How often the writer sweeps events past their retention.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A phase's log as the sandbox handed it over (its group, stream and text are ranges of the
/// queue's bytes): split into events on the writer's thread.
struct Batch {
    group: Range<usize>,
    stream: Range<usize>,
    text: Range<usize>,
    started: SystemTime,
    ended: SystemTime,
}

/// The phases waiting for the writer.
#[derive(Default)]
struct Queue {
    bytes: String,
    batches: Vec<Batch>,
}

impl Queue {
    fn push(&mut self, text: &str) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.push_str(text);
        start..self.bytes.len()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.batches.clear();
    }
}

#[derive(Default)]
struct Shared {
    /// A std mutex: held to copy one phase in or to swap the whole queue out, never across I/O.
    queue: Mutex<Queue>,
    dropped: AtomicU64,
    closed: AtomicBool,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
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
        let mut queue = self.shared.queue();
        if queue.batches.len() >= QUEUE || queue.bytes.len() + text.len() > QUEUE_BYTES {
            drop(queue);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let batch = Batch {
            group: queue.push(group),
            stream: queue.push(stream),
            text: queue.push(text),
            started,
            ended,
        };
        queue.batches.push(batch);
    }
}

fn write_all(store: &LogStore, shared: &Shared) {
    let mut swept = Instant::now();
    let mut gathered = Queue::default();
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

/// Appends what was gathered, one append per stream, each stream's phases in the order they
/// came; leaves the queue empty with its capacity.
fn write_gathered(store: &LogStore, gathered: &mut Queue) {
    let text = &gathered.bytes;
    let mut streams: Vec<((&str, &str), Vec<events::Event>)> = Vec::new();
    for batch in &gathered.batches {
        let events = events::split(&text[batch.text.clone()], batch.started, batch.ended);
        let key = (&text[batch.group.clone()], &text[batch.stream.clone()]);
        match streams.iter_mut().find(|(k, _)| *k == key) {
            Some((_, all)) => all.extend(events),
            None => streams.push((key, events)),
        }
    }
    for ((group, stream), events) in streams {
        if let Err(e) = store.append(group, stream, &events, true) {
            tracing::warn!(%group, %stream, "log not kept: {e}");
        }
    }
    gathered.clear();
}
