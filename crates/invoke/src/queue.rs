//! The asynchronous event queue: accepted events are durable before the 202.
//!
//! Each event is stored in the node's journal (`<data-dir>/queue`, see [`crate::journal`]) before
//! the 202, stored again when its next attempt is scheduled and marked finished once it is done.
//! In memory a heap orders the events by when they are due. On start the journal is read back,
//! so a crash loses nothing that was accepted; an event whose delivery was cut short runs again
//! (at least once, as Lambda warns).

use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

use super::record::AttemptResponse;
use crate::error::QueueError;
use crate::journal::Journal;

/// One accepted event, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedEvent {
    /// The event's key in the journal; for a function target also the invocation's request id,
    /// the same across retries.
    pub id: String,
    pub target: Target,
    /// The event, as JSON text.
    pub payload: String,
    /// When the event was accepted (ms since the Unix epoch): its age counts from here.
    pub accepted_ms: u64,
    /// When it is next due (ms since the Unix epoch).
    pub due_ms: u64,
    /// Attempts that ran the function.
    #[serde(default)]
    pub attempts: u32,
    /// Throttles or system errors in a row: the exponent of the backoff.
    #[serde(default)]
    pub backoffs: u32,
    /// The last attempt's response, for the record of an event that then ages out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_response: Option<AttemptResponse>,
    /// The `X-Amzn-Trace-Id` the event was accepted with: its deliveries join that trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// For an invocation record on its way to a destination: the function it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_function: Option<String>,
}

/// Where a queued event goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Target {
    /// An asynchronous invocation of a function (or of one of its versions or aliases).
    Function { name: String, qualifier: Option<String> },
    /// An invocation record on its way to an HTTP(S) webhook destination.
    Webhook { url: String },
}

impl QueuedEvent {
    /// A new event, due now.
    pub fn new(id: String, target: Target, payload: String) -> QueuedEvent {
        let now = now_ms();
        QueuedEvent {
            id,
            target,
            payload,
            accepted_ms: now,
            due_ms: now,
            attempts: 0,
            backoffs: 0,
            last_response: None,
            trace: None,
            source_function: None,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// A heap entry: ordered by due time, then by arrival.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    due_ms: u64,
    seq: u64,
    id: String,
}

pub struct AsyncQueue {
    journal: Journal,
    /// Due times of the events waiting; the events themselves are in `waiting`.
    schedule: std::sync::Mutex<Schedule>,
    /// Told when an event is added, so the worker re-reads the earliest due time.
    wake: Notify,
    /// Tie-breaker that keeps arrival order among events due at the same millisecond.
    seq: AtomicU64,
}

#[derive(Default)]
struct Schedule {
    heap: BinaryHeap<Reverse<Scheduled>>,
    waiting: std::collections::HashMap<String, QueuedEvent>,
    /// Events handed to the worker and not yet finished.
    in_flight: usize,
}

impl AsyncQueue {
    /// Opens the queue whose journal is in `dir`, scheduling every event it holds.
    pub async fn open(dir: &Path) -> anyhow::Result<Arc<AsyncQueue>> {
        let dir = dir.to_path_buf();
        let (journal, events) = tokio::task::spawn_blocking(move || Journal::open(&dir)).await??;
        let queue = Arc::new(AsyncQueue {
            journal,
            schedule: std::sync::Mutex::default(),
            wake: Notify::new(),
            seq: AtomicU64::new(0),
        });
        for event in events {
            queue.push(event);
        }
        Ok(queue)
    }

    /// Stores `event`, then schedules it. Returns once the event is durable.
    pub async fn enqueue(&self, event: QueuedEvent) -> Result<(), QueueError> {
        self.persist(&event).await?;
        self.push(event);
        Ok(())
    }

    /// Stores `follow_up` (a destination's delivery), then forgets `done`: a crash in between
    /// delivers the record twice, never zero times.
    pub async fn hand_over(&self, done: &str, follow_up: QueuedEvent) -> Result<(), QueueError> {
        self.enqueue(follow_up).await?;
        self.complete(done).await
    }

    /// Forgets a finished event.
    pub async fn complete(&self, id: &str) -> Result<(), QueueError> {
        let finished = self.journal.done(id).await;
        self.release();
        finished
    }

    /// Stores the event's new state and schedules it again at its `due_ms`.
    pub async fn retry(&self, event: QueuedEvent) -> Result<(), QueueError> {
        self.persist(&event).await?;
        self.release();
        self.push(event);
        Ok(())
    }

    /// Waits until an event is due and hands it out.
    pub async fn next_due(&self) -> QueuedEvent {
        loop {
            let woken = self.wake.notified();
            let wait = {
                let mut schedule = self.lock();
                let now = now_ms();
                match schedule.heap.peek() {
                    Some(Reverse(first)) if first.due_ms <= now => {
                        let Some(Reverse(first)) = schedule.heap.pop() else {
                            continue;
                        };
                        if let Some(event) = schedule.waiting.remove(&first.id) {
                            schedule.in_flight += 1;
                            return event;
                        }
                        continue;
                    }
                    Some(Reverse(first)) => Some(Duration::from_millis(first.due_ms - now)),
                    None => None,
                }
            };
            match wait {
                Some(wait) => {
                    tokio::select! {
                        _ = woken => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                None => woken.await,
            }
        }
    }

    /// Events accepted and not finished: waiting, and being delivered.
    pub fn depth(&self) -> usize {
        let schedule = self.lock();
        schedule.waiting.len() + schedule.in_flight
    }

    fn push(&self, event: QueuedEvent) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut schedule = self.lock();
        schedule.heap.push(Reverse(Scheduled {
            due_ms: event.due_ms,
            seq,
            id: event.id.clone(),
        }));
        schedule.waiting.insert(event.id.clone(), event);
        drop(schedule);
        self.wake.notify_one();
    }

    async fn persist(&self, event: &QueuedEvent) -> Result<(), QueueError> {
        self.journal.put(event).await
    }

    /// One event handed out by `next_due` is finished (done or rescheduled).
    fn release(&self) {
        let mut schedule = self.lock();
        schedule.in_flight = schedule.in_flight.saturating_sub(1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, due_ms: u64) -> QueuedEvent {
        let mut e = QueuedEvent::new(
            id.into(),
            Target::Webhook {
                url: "http://127.0.0.1:1/".into(),
            },
            "{}".into(),
        );
        e.due_ms = due_ms;
        e
    }

    #[tokio::test]
    async fn events_come_out_in_due_order_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let queue = AsyncQueue::open(dir.path()).await.expect("open");
        let now = now_ms();
        queue.enqueue(event("late", now + 150)).await.expect("enqueue");
        queue.enqueue(event("early", now)).await.expect("enqueue");
        assert_eq!(queue.depth(), 2);
        assert_eq!(queue.next_due().await.id, "early");
        queue.complete("early").await.expect("complete");
        // Reopened (as after a crash): only the unfinished event is there, and waits its turn.
        let reopened = AsyncQueue::open(dir.path()).await.expect("reopen");
        assert_eq!(reopened.depth(), 1);
        let started = std::time::Instant::now();
        let late = reopened.next_due().await;
        assert_eq!(late.id, "late");
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_retry_is_stored_with_its_new_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let queue = AsyncQueue::open(dir.path()).await.expect("open");
        queue.enqueue(event("e", now_ms())).await.expect("enqueue");
        let mut e = queue.next_due().await;
        e.attempts = 2;
        queue.retry(e.clone()).await.expect("retry");
        let reopened = AsyncQueue::open(dir.path()).await.expect("reopen");
        assert_eq!(reopened.next_due().await, e);
    }
}
