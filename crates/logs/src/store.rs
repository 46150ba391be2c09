//! The log store: `<root>/<hex group>/group.json` and, per stream, `<hex stream>/stream.json` and
//! its segments `<n>.jsonl`, one event per line (`{"t":timestamp,"i":ingestion,"s":seq,"m":…}`).
//!
//! Durability: an event is in the segment file (the page cache) once `append` returns, so a crash
//! of lambkin loses nothing written (a power loss may lose what the OS had not written back: logs
//! are not fsynced, unlike accepted events). Bounds: events past a group's retention are not returned
//! and their segments are swept; past the node's size cap the oldest segments go first. A segment
//! holds at most [`SEGMENT_BYTES`], so eviction frees space in steps of that size.
//!
//! One std mutex guards the index and the appends (no `.await` inside). Readers copy the segment
//! list they need and read the files outside it; a segment evicted meanwhile reads as empty, and a
//! line being appended meanwhile (not yet whole) is skipped.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::events::Event;
use crate::pattern::Pattern;
use crate::{LogsError, epoch_millis};

mod disk;
use disk::{insert_stream, load_stream, read_json, read_segment, write_events, write_json};

/// Largest segment file; the next event opens a new one.
pub const SEGMENT_BYTES: u64 = 1 << 20;

const DAY_MS: i64 = 86_400_000;

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

pub struct LogStore {
    root: PathBuf,
    cap_bytes: u64,
    index: Mutex<Index>,
}

#[derive(Default)]
struct Index {
    groups: BTreeMap<String, Group>,
    total_bytes: u64,
    next_seq: u64,
}

struct Group {
    dir: PathBuf,
    meta: GroupMeta,
    streams: BTreeMap<String, Stream>,
}

#[derive(Serialize, Deserialize, Clone)]
struct GroupMeta {
    name: String,
    #[serde(rename = "creationTime")]
    creation_time: i64,
    #[serde(rename = "retentionInDays", skip_serializing_if = "Option::is_none")]
    retention_days: Option<u32>,
}

#[derive(Serialize, Deserialize, Clone)]
struct StreamMeta {
    name: String,
    #[serde(rename = "creationTime")]
    creation_time: i64,
}

struct Stream {
    dir: PathBuf,
    meta: StreamMeta,
    segments: Vec<Segment>,
    last_ingestion: Option<i64>,
}

#[derive(Clone)]
struct Segment {
    path: PathBuf,
    number: u64,
    first: i64,
    last: i64,
    bytes: u64,
}

/// A log group as DescribeLogGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub name: String,
    pub creation_time: i64,
    pub retention_days: Option<u32>,
    pub stored_bytes: u64,
}

/// A log stream as DescribeLogStreams shows it.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub name: String,
    pub creation_time: i64,
    pub first_event: Option<i64>,
    pub last_event: Option<i64>,
    pub last_ingestion: Option<i64>,
    pub stored_bytes: u64,
}

/// An event read back, with where it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub stream: String,
    pub timestamp: i64,
    pub ingestion: i64,
    /// Unique in the store and increasing in the order events were written.
    pub seq: u64,
    pub message: String,
}

/// Which events a query reads.
pub struct Query<'a> {
    pub streams: &'a dyn Fn(&str) -> bool,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub pattern: Option<&'a Pattern>,
}

impl LogStore {
    /// Opens (creating) the store under `root`, reading what an earlier run left.
    pub fn open(root: impl Into<PathBuf>, cap_bytes: u64) -> Result<LogStore, LogsError> {
        Self::load(root.into(), cap_bytes, None)
    }

    /// Reads one group of a store another process keeps (for reading only: it has no cap).
    pub fn open_group(root: impl Into<PathBuf>, group: &str) -> Result<LogStore, LogsError> {
        Self::load(root.into(), u64::MAX, Some(group))
    }

    fn load(root: PathBuf, cap_bytes: u64, only: Option<&str>) -> Result<LogStore, LogsError> {
        fs::create_dir_all(&root)?;
        let mut index = Index::default();
        let dirs: Vec<PathBuf> = match only {
            Some(group) => vec![root.join(hex::encode(group))],
            None => fs::read_dir(&root)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?,
        };
        for dir in dirs {
            let Ok(meta) = read_json::<GroupMeta>(&dir.join("group.json")) else {
                continue;
            };
            let mut group = Group {
                dir: dir.clone(),
                meta,
                streams: BTreeMap::new(),
            };
            for entry in fs::read_dir(&dir)? {
                let stream_dir = entry?.path();
                let Ok(meta) = read_json::<StreamMeta>(&stream_dir.join("stream.json")) else {
                    continue;
                };
                let stream = load_stream(stream_dir, meta, &mut index)?;
                group.streams.insert(stream.meta.name.clone(), stream);
            }
            index.groups.insert(group.meta.name.clone(), group);
        }
        Ok(LogStore {
            root,
            cap_bytes,
            index: Mutex::new(index),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // Every critical section leaves the index consistent with the files (or only behind
        // them), so a panic elsewhere does not make it unusable.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn create_group(&self, name: &str) -> Result<(), LogsError> {
        let mut index = self.lock();
        if index.groups.contains_key(name) {
            return Err(LogsError::GroupExists);
        }
        self.insert_group(&mut index, name)?;
        Ok(())
    }

    fn insert_group<'i>(&self, index: &'i mut Index, name: &str) -> Result<&'i mut Group, LogsError> {
        let dir = self.root.join(hex::encode(name));
        fs::create_dir_all(&dir)?;
        let meta = GroupMeta {
            name: name.to_string(),
            creation_time: epoch_millis(SystemTime::now()),
            retention_days: None,
        };
        write_json(&dir.join("group.json"), &meta)?;
        let group = Group {
            dir,
            meta,
            streams: BTreeMap::new(),
        };
        Ok(index.groups.entry(name.to_string()).or_insert(group))
    }

    pub fn delete_group(&self, name: &str) -> Result<(), LogsError> {
        let mut index = self.lock();
        let group = index.groups.remove(name).ok_or(LogsError::GroupNotFound)?;
        let bytes: u64 = group
            .streams
            .values()
            .flat_map(|s| &s.segments)
            .map(|s| s.bytes)
            .sum();
        index.total_bytes -= bytes.min(index.total_bytes);
        fs::remove_dir_all(&group.dir)?;
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) a group's retention.
    pub fn set_retention(&self, name: &str, days: Option<u32>) -> Result<(), LogsError> {
        if let Some(days) = days
            && !RETENTION_DAYS.contains(&days)
        {
            return Err(LogsError::InvalidParameter(format!(
                "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
            )));
        }
        let mut index = self.lock();
        let group = index.groups.get_mut(name).ok_or(LogsError::GroupNotFound)?;
        group.meta.retention_days = days;
        write_json(&group.dir.join("group.json"), &group.meta)?;
        Ok(())
    }

    pub fn create_stream(&self, group: &str, stream: &str) -> Result<(), LogsError> {
        let mut index = self.lock();
        let group = index.groups.get_mut(group).ok_or(LogsError::GroupNotFound)?;
        if group.streams.contains_key(stream) {
            return Err(LogsError::StreamExists);
        }
        insert_stream(group, stream)?;
        Ok(())
    }

    /// Appends events to a stream, creating the group and stream as Lambda's log agent does when
    /// `create` is set (else a missing one is an error, as for PutLogEvents).
    pub fn append(&self, group: &str, stream: &str, events: &[Event], create: bool) -> Result<(), LogsError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = epoch_millis(SystemTime::now());
        let mut index = self.lock();
        if !index.groups.contains_key(group) {
            if !create {
                return Err(LogsError::GroupNotFound);
            }
            self.insert_group(&mut index, group)?;
        }
        let first_seq = index.next_seq;
        let target = index.groups.get_mut(group).ok_or(LogsError::GroupNotFound)?;
        let bytes = write_events(target, stream, events, create, now, first_seq)?;
        index.next_seq += events.len() as u64;
        index.total_bytes += bytes;
        self.enforce_cap(&mut index);
        Ok(())
    }

    /// Drops the oldest segments (by their newest event) until the store fits its cap.
    fn enforce_cap(&self, index: &mut Index) {
        while index.total_bytes > self.cap_bytes {
            let oldest = index
                .groups
                .iter()
                .flat_map(|(g, group)| {
                    group.streams.iter().flat_map(move |(s, stream)| {
                        stream
                            .segments
                            .iter()
                            .enumerate()
                            .map(move |(n, seg)| (seg.last, g.clone(), s.clone(), n))
                    })
                })
                .min_by_key(|(last, ..)| *last);
            let Some((_, group, stream, n)) = oldest else {
                return;
            };
            let removed = index
                .groups
                .get_mut(&group)
                .and_then(|g| g.streams.get_mut(&stream))
                .map(|s| s.segments.remove(n));
            if let Some(segment) = removed {
                index.total_bytes -= segment.bytes.min(index.total_bytes);
                if let Err(e) = fs::remove_file(&segment.path) {
                    tracing::warn!(path = %segment.path.display(), "cannot remove a log segment: {e}");
                }
            }
        }
    }

    /// Removes the segments whose every event is past its group's retention.
    pub fn sweep(&self) {
        let now = epoch_millis(SystemTime::now());
        let mut index = self.lock();
        let mut freed = 0;
        for group in index.groups.values_mut() {
            let Some(days) = group.meta.retention_days else {
                continue;
            };
            let cutoff = now - i64::from(days) * DAY_MS;
            for stream in group.streams.values_mut() {
                stream.segments.retain(|segment| {
                    let keep = segment.last >= cutoff;
                    if !keep {
                        freed += segment.bytes;
                        let _ = fs::remove_file(&segment.path);
                    }
                    keep
                });
            }
        }
        index.total_bytes -= freed.min(index.total_bytes);
    }

    /// The groups whose name starts with `prefix`, by name.
    pub fn groups(&self, prefix: &str) -> Vec<GroupInfo> {
        let index = self.lock();
        index
            .groups
            .range(prefix.to_string()..)
            .take_while(|(name, _)| name.starts_with(prefix))
            .map(|(_, group)| GroupInfo {
                name: group.meta.name.clone(),
                creation_time: group.meta.creation_time,
                retention_days: group.meta.retention_days,
                stored_bytes: group
                    .streams
                    .values()
                    .flat_map(|s| &s.segments)
                    .map(|s| s.bytes)
                    .sum(),
            })
            .collect()
    }

    /// The streams of `group` whose name starts with `prefix`, by name.
    pub fn streams(&self, group: &str, prefix: &str) -> Result<Vec<StreamInfo>, LogsError> {
        let index = self.lock();
        let group = index.groups.get(group).ok_or(LogsError::GroupNotFound)?;
        Ok(group
            .streams
            .range(prefix.to_string()..)
            .take_while(|(name, _)| name.starts_with(prefix))
            .map(|(_, stream)| StreamInfo {
                name: stream.meta.name.clone(),
                creation_time: stream.meta.creation_time,
                first_event: stream.segments.iter().map(|s| s.first).min(),
                last_event: stream.segments.iter().map(|s| s.last).max(),
                last_ingestion: stream.last_ingestion,
                stored_bytes: stream.segments.iter().map(|s| s.bytes).sum(),
            })
            .collect())
    }

    /// Whether `group` has a stream named `stream`.
    pub fn has_stream(&self, group: &str, stream: &str) -> Result<bool, LogsError> {
        let index = self.lock();
        let group = index.groups.get(group).ok_or(LogsError::GroupNotFound)?;
        Ok(group.streams.contains_key(stream))
    }

    /// The events of `group` that `query` selects, ordered by time and then by when they were
    /// written; events past the group's retention are left out.
    pub fn events(&self, group: &str, query: &Query<'_>) -> Result<Vec<StoredEvent>, LogsError> {
        let (segments, cutoff) = {
            let index = self.lock();
            let group = index.groups.get(group).ok_or(LogsError::GroupNotFound)?;
            let cutoff = group
                .meta
                .retention_days
                .map(|days| epoch_millis(SystemTime::now()) - i64::from(days) * DAY_MS);
            let start = query.start.max(cutoff);
            let segments: Vec<(String, Segment)> = group
                .streams
                .iter()
                .filter(|(name, _)| (query.streams)(name))
                .flat_map(|(name, stream)| stream.segments.iter().map(move |s| (name.clone(), s.clone())))
                .filter(|(_, s)| start.is_none_or(|t| s.last >= t) && query.end.is_none_or(|t| s.first <= t))
                .collect();
            (segments, start)
        };
        let mut out = Vec::new();
        for (stream, segment) in segments {
            for line in read_segment(&segment.path) {
                let in_range = cutoff.is_none_or(|t| line.t >= t) && query.end.is_none_or(|t| line.t <= t);
                if in_range && query.pattern.is_none_or(|p| p.matches(&line.m)) {
                    out.push(StoredEvent {
                        stream: stream.clone(),
                        timestamp: line.t,
                        ingestion: line.i,
                        seq: line.s,
                        message: line.m,
                    });
                }
            }
        }
        out.sort_by_key(|e| (e.timestamp, e.seq));
        Ok(out)
    }
}
