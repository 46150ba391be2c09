//! The embedded queue's storage: one append-only journal file with group commit.
//!
//! Every change is a frame appended to `<dir>/journal.log`: the event as stored (`put`, also a
//! retry's new state) or the id of one that is finished (`done`). One writer thread owns the
//! file. It takes every change waiting for it, writes them with one `write`, and makes them
//! durable with one `fdatasync`; only then does it answer them. So each 202 still follows its
//! event's fsync, but one fsync covers every event accepted while the previous one ran.
//!
//! Ordering: changes reach the writer through one channel, in the order their callers sent them,
//! and are written in that order; a caller that waits for its answer before sending the next
//! change (a destination's record stored, then its source event finished) sees them on disk in
//! that order. A batch of `done` frames only is written without an fsync: a process crash keeps
//! what was written; a power loss may forget that an event was finished, and it runs again (at
//! least once, as Lambda warns), never zero times.
//!
//! Frames: `len: u32 LE | crc32: u32 LE | kind: u8 | body`, `len` counting kind and body. On open
//! the journal is read up to its first incomplete or damaged frame (a crash mid-write: those
//! changes were never answered), and rewritten with the live events only. While it runs it is
//! rewritten the same way (copying live frames from the file) once the dead bytes exceed both the
//! live ones and [`Journal::COMPACT_AT`]. Event documents of the previous layout
//! (`<dir>/<id>.json`) are read into the journal on open, then removed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use super::queue::QueuedEvent;
use crate::error::QueueError;

const FILE: &str = "journal.log";
const STAGED: &str = "journal.log.new";
const HEADER: usize = 8;
const PUT: u8 = 1;
const DONE: u8 = 2;
/// Changes written by one `write`, at most (the rest wait for the next).
const MAX_BATCH: usize = 4096;

/// The writer's handle. Dropping it stops the writer once the changes already sent are written.
pub struct Journal {
    changes: mpsc::Sender<Change>,
    stats: Arc<Stats>,
}

/// Counters of the writer's work, for tests and benchmarks.
#[derive(Default)]
pub struct Stats {
    /// fsyncs of the journal (group commits).
    pub syncs: AtomicU64,
    /// Changes written.
    pub changes: AtomicU64,
    /// Rewrites with the live events only.
    pub compactions: AtomicU64,
}

struct Change {
    id: String,
    /// The event's JSON for a put, `None` for a done.
    event: Option<Vec<u8>>,
    answer: tokio::sync::oneshot::Sender<Result<(), String>>,
}

impl Journal {
    /// Dead bytes the journal holds before it is rewritten (unless the live ones are more).
    pub const COMPACT_AT: u64 = 64 << 20;

    /// Opens (or creates) the journal in `dir` and returns the events it holds, oldest first.
    /// Blocks: reads and rewrites the file.
    pub fn open(dir: &Path) -> std::io::Result<(Journal, Vec<QueuedEvent>)> {
        Self::open_compacting_at(dir, Self::COMPACT_AT)
    }

    /// [`Journal::open`] with another compaction threshold (tests use a small one).
    pub fn open_compacting_at(dir: &Path, compact_at: u64) -> std::io::Result<(Journal, Vec<QueuedEvent>)> {
        std::fs::create_dir_all(dir)?;
        let mut events = recover(&dir.join(FILE))?;
        let legacy = legacy_documents(dir)?;
        for (_, event) in &legacy {
            events.entry(event.id.clone()).or_insert_with(|| event.clone());
        }
        let mut events: Vec<QueuedEvent> = events.into_values().collect();
        events.sort_by(|a, b| (a.accepted_ms, &a.id).cmp(&(b.accepted_ms, &b.id)));
        let frames = events
            .iter()
            .map(|event| Ok((event.id.clone(), encode(PUT, &serde_json::to_vec(event)?))))
            .collect::<serde_json::Result<Vec<_>>>()?;
        let (file, live) = rewrite(dir, frames.into_iter())?;
        // The journal holds them now, durably: the old documents can go.
        for (path, _) in &legacy {
            std::fs::remove_file(path)?;
        }
        if !legacy.is_empty() {
            sync_dir(dir)?;
        }
        let (changes, receiver) = mpsc::channel();
        let stats = Arc::new(Stats::default());
        let writer = Writer {
            dir: dir.to_path_buf(),
            len: file.metadata()?.len(),
            file,
            live,
            compact_at,
            stats: stats.clone(),
            broken: None,
        };
        std::thread::Builder::new()
            .name("lambkin-queue".into())
            .spawn(move || writer.run(receiver))?;
        Ok((Journal { changes, stats }, events))
    }

    /// Stores `event` (new, or its new state); returns once it is durable.
    pub async fn put(&self, event: &QueuedEvent) -> Result<(), QueueError> {
        let json = serde_json::to_vec(event).map_err(|e| QueueError(e.to_string()))?;
        self.send(event.id.clone(), Some(json)).await
    }

    /// Forgets a finished event; returns once that is written.
    pub async fn done(&self, id: &str) -> Result<(), QueueError> {
        self.send(id.to_string(), None).await
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    async fn send(&self, id: String, event: Option<Vec<u8>>) -> Result<(), QueueError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let gone = || QueueError("the queue's writer has stopped".into());
        self.changes
            .send(Change { id, event, answer })
            .map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?.map_err(QueueError)
    }
}

/// The events in the journal of `dir` (and in documents of the previous layout), read without
/// opening it for writing: what a stopped node holds.
pub fn pending_events(dir: &Path) -> std::io::Result<Vec<QueuedEvent>> {
    let mut events = recover(&dir.join(FILE))?;
    for (_, event) in legacy_documents(dir)? {
        events.entry(event.id.clone()).or_insert(event);
    }
    Ok(events.into_values().collect())
}

/// Where a live event's frame is in the file.
#[derive(Clone, Copy)]
struct Span {
    offset: u64,
    len: u64,
}

struct Writer {
    dir: PathBuf,
    file: File,
    /// Bytes of the file that are written (and, but for `done` batches, synced).
    len: u64,
    live: HashMap<String, Span>,
    compact_at: u64,
    stats: Arc<Stats>,
    /// Set when the file could not be put back after a failed write: nothing more is accepted.
    broken: Option<String>,
}

impl Writer {
    fn run(mut self, changes: mpsc::Receiver<Change>) {
        let mut batch = Vec::new();
        let mut buffer = Vec::new();
        while let Ok(first) = changes.recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match changes.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let outcome = self.commit(&batch, &mut buffer);
            for change in batch.drain(..) {
                // A caller that gave up waiting does not need the answer.
                drop(change.answer.send(outcome.clone()));
            }
            if outcome.is_ok()
                && let Err(e) = self.compact_if_due()
            {
                tracing::warn!("could not compact the queue's journal (it keeps growing): {e}");
            }
        }
    }

    /// Writes `batch` with one write and, when it holds a put, one fsync.
    fn commit(&mut self, batch: &[Change], buffer: &mut Vec<u8>) -> Result<(), String> {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        buffer.clear();
        let mut spans = Vec::with_capacity(batch.len());
        for change in batch {
            let offset = self.len + buffer.len() as u64;
            match &change.event {
                Some(json) => {
                    buffer.extend_from_slice(&encode(PUT, json));
                    let len = self.len + buffer.len() as u64 - offset;
                    spans.push(Some(Span { offset, len }));
                }
                None => {
                    buffer.extend_from_slice(&encode(DONE, change.id.as_bytes()));
                    spans.push(None);
                }
            }
        }
        let needs_sync = batch.iter().any(|c| c.event.is_some());
        let written = self.file.write_all(buffer).and_then(|()| {
            if needs_sync {
                self.stats.syncs.fetch_add(1, Ordering::Relaxed);
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Drop what may be half written, so the next batch follows whole frames.
            if let Err(undo) = self.file.set_len(self.len) {
                self.broken = Some(format!(
                    "the queue's journal is damaged: {undo} (after a failed write: {e})"
                ));
            }
            return Err(format!("storing the event: {e}"));
        }
        self.len += buffer.len() as u64;
        self.stats
            .changes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        for (change, span) in batch.iter().zip(spans) {
            match span {
                Some(span) => self.live.insert(change.id.clone(), span),
                None => self.live.remove(&change.id),
            };
        }
        Ok(())
    }

    fn compact_if_due(&mut self) -> std::io::Result<()> {
        let live: u64 = self.live.values().map(|span| span.len).sum();
        let dead = self.len - live;
        if dead < self.compact_at || dead < live {
            return Ok(());
        }
        let mut spans: Vec<(String, Span)> = self.live.iter().map(|(id, s)| (id.clone(), *s)).collect();
        spans.sort_by_key(|(_, span)| span.offset);
        let mut frames = Vec::with_capacity(spans.len());
        for (id, span) in spans {
            let mut frame = vec![0; span.len as usize];
            self.file.read_exact_at(&mut frame, span.offset)?;
            frames.push((id, frame));
        }
        let (file, live) = rewrite(&self.dir, frames.into_iter())?;
        self.len = file.metadata()?.len();
        self.file = file;
        self.live = live;
        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn encode(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER + 1 + body.len());
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[kind]);
    hasher.update(body);
    frame.extend_from_slice(&(1 + body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&hasher.finalize().to_le_bytes());
    frame.push(kind);
    frame.extend_from_slice(body);
    frame
}

/// The live events of the journal at `path`, read up to its first incomplete or damaged frame.
fn recover(path: &Path) -> std::io::Result<HashMap<String, QueuedEvent>> {
    let mut events = HashMap::new();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(events),
        Err(e) => return Err(e),
    };
    let total = file.metadata()?.len();
    let mut reader = BufReader::new(file);
    let mut read = 0u64;
    let mut header = [0u8; HEADER];
    let mut body = Vec::new();
    while reader.read_exact(&mut header).is_ok() {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len == 0 || read + (HEADER + len) as u64 > total {
            break;
        }
        body.resize(len, 0);
        if reader.read_exact(&mut body).is_err() || crc32fast::hash(&body) != crc {
            break;
        }
        read += (HEADER + len) as u64;
        match body[0] {
            PUT => match serde_json::from_slice::<QueuedEvent>(&body[1..]) {
                Ok(event) => drop(events.insert(event.id.clone(), event)),
                Err(e) => tracing::warn!("skipping an unreadable queued event: {e}"),
            },
            DONE => drop(events.remove(&*String::from_utf8_lossy(&body[1..]))),
            kind => tracing::warn!(kind, "skipping a queue journal frame of unknown kind"),
        }
    }
    if read < total {
        // Only the batch a crash cut short can be incomplete, and none of it was answered.
        tracing::warn!(
            dropped = total - read,
            "the queue's journal ends in an incomplete write; it is left out"
        );
    }
    Ok(events)
}

/// Event documents of the previous layout, `<dir>/<id>.json`.
fn legacy_documents(dir: &Path) -> std::io::Result<Vec<(PathBuf, QueuedEvent)>> {
    let mut documents = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(documents),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        match serde_json::from_slice::<QueuedEvent>(&std::fs::read(&path)?) {
            Ok(event) => documents.push((path, event)),
            // A document cut short can only be one whose 202 was never sent.
            Err(e) => tracing::warn!(path = %path.display(), "skipping an unreadable queued event: {e}"),
        }
    }
    Ok(documents)
}

/// Writes `frames` to a new journal, makes it durable and puts it in place of the old one;
/// returns it open for appending, with where each event's frame is.
fn rewrite(
    dir: &Path,
    frames: impl Iterator<Item = (String, Vec<u8>)>,
) -> std::io::Result<(File, HashMap<String, Span>)> {
    let staged = dir.join(STAGED);
    let mut file = std::io::BufWriter::new(File::create(&staged)?);
    let mut live = HashMap::new();
    let mut offset = 0u64;
    for (id, frame) in frames {
        file.write_all(&frame)?;
        let len = frame.len() as u64;
        live.insert(id, Span { offset, len });
        offset += len;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&staged, dir.join(FILE))?;
    sync_dir(dir)?;
    let file = OpenOptions::new().append(true).read(true).open(dir.join(FILE))?;
    Ok((file, live))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Target;

    fn event(id: &str) -> QueuedEvent {
        QueuedEvent::new(
            id.into(),
            Target::Function {
                name: "f".into(),
                qualifier: None,
            },
            format!(r#"{{"id":"{id}"}}"#),
        )
    }

    fn ids(mut events: Vec<QueuedEvent>) -> Vec<String> {
        events.sort_by(|a, b| a.id.cmp(&b.id));
        events.into_iter().map(|e| e.id).collect()
    }

    #[tokio::test]
    async fn what_was_stored_and_not_finished_is_there_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (journal, events) = Journal::open(dir.path()).expect("open");
        assert!(events.is_empty());
        for id in ["a", "b", "c"] {
            journal.put(&event(id)).await.expect("put");
        }
        journal.done("b").await.expect("done");
        let mut retried = event("c");
        retried.attempts = 2;
        journal.put(&retried).await.expect("retry");
        drop(journal);
        let events = pending_events(dir.path()).expect("read");
        assert_eq!(ids(events.clone()), ["a", "c"]);
        assert_eq!(events.iter().find(|e| e.id == "c").map(|e| e.attempts), Some(2));
        let (_journal, reopened) = Journal::open(dir.path()).expect("reopen");
        assert_eq!(ids(reopened), ["a", "c"]);
    }

    #[tokio::test]
    async fn one_fsync_covers_the_events_sent_while_another_ran() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (journal, _) = Journal::open(dir.path()).expect("open");
        let events: Vec<QueuedEvent> = (0..512).map(|i| event(&format!("e{i}"))).collect();
        futures::future::try_join_all(events.iter().map(|e| journal.put(e)))
            .await
            .expect("puts");
        let syncs = journal.stats().syncs.load(Ordering::Relaxed);
        assert_eq!(journal.stats().changes.load(Ordering::Relaxed), 512);
        assert!(syncs < 512 / 4, "{syncs} fsyncs for 512 events sent at once");
        // Finishing them needs no fsync of its own.
        for e in &events {
            journal.done(&e.id).await.expect("done");
        }
        assert_eq!(journal.stats().syncs.load(Ordering::Relaxed), syncs);
        drop(journal);
        assert!(pending_events(dir.path()).expect("read").is_empty());
    }

    #[tokio::test]
    async fn an_incomplete_last_write_is_left_out_and_the_rest_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (journal, _) = Journal::open(dir.path()).expect("open");
        journal.put(&event("kept")).await.expect("put");
        drop(journal);
        // A crash mid-write: half a frame at the end.
        let frame = encode(PUT, &serde_json::to_vec(&event("torn")).expect("json"));
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE))
            .expect("journal");
        file.write_all(&frame[..frame.len() / 2]).expect("append");
        drop(file);
        let (journal, events) = Journal::open(dir.path()).expect("reopen");
        assert_eq!(ids(events), ["kept"]);
        // Appends after the recovery follow whole frames.
        journal.put(&event("after")).await.expect("put");
        drop(journal);
        assert_eq!(ids(pending_events(dir.path()).expect("read")), ["after", "kept"]);
    }

    #[tokio::test]
    async fn a_journal_of_finished_events_is_rewritten_with_the_live_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (journal, _) = Journal::open_compacting_at(dir.path(), 4096).expect("open");
        journal.put(&event("live")).await.expect("put");
        for i in 0..200 {
            let id = format!("gone{i}");
            journal.put(&event(&id)).await.expect("put");
            journal.done(&id).await.expect("done");
        }
        assert!(journal.stats().compactions.load(Ordering::Relaxed) > 0);
        let len = std::fs::metadata(dir.path().join(FILE)).expect("journal").len();
        assert!(len < 2 * 4096 + 1024, "the journal is {len} bytes");
        journal.put(&event("later")).await.expect("put");
        drop(journal);
        assert_eq!(ids(pending_events(dir.path()).expect("read")), ["later", "live"]);
    }

    #[tokio::test]
    async fn documents_of_the_previous_layout_move_into_the_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = event("old");
        std::fs::write(
            dir.path().join("old.json"),
            serde_json::to_vec(&old).expect("json"),
        )
        .expect("write");
        let (_journal, events) = Journal::open(dir.path()).expect("open");
        assert_eq!(events, [old]);
        assert!(!dir.path().join("old.json").exists());
        assert_eq!(ids(pending_events(dir.path()).expect("read")), ["old"]);
    }
}
