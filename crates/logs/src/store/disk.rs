//! The store's files: segments appended and read back, the small JSON documents of groups and
//! streams, and what an earlier run left.

use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{Group, Index, SEGMENT_BYTES, Segment, Stream, StreamMeta};
use crate::events::Event;
use crate::{LogsError, epoch_millis};

#[derive(Deserialize)]
pub(super) struct Line {
    pub(super) t: i64,
    pub(super) i: i64,
    pub(super) s: u64,
    pub(super) m: String,
}

/// A [`Line`] as it is written, borrowing its message.
#[derive(Serialize)]
struct LineRef<'a> {
    t: i64,
    i: i64,
    s: u64,
    m: &'a str,
}

/// Writes the events to the stream's newest segment (a new one when it would pass
/// [`SEGMENT_BYTES`]) and returns the bytes written.
pub(super) fn write_events(
    group: &mut Group,
    stream: &str,
    events: &[Event],
    create: bool,
    now: i64,
    first_seq: u64,
) -> Result<u64, LogsError> {
    if !group.streams.contains_key(stream) {
        if !create {
            return Err(LogsError::StreamNotFound);
        }
        insert_stream(group, stream)?;
    }
    let stream = group.streams.get_mut(stream).ok_or(LogsError::StreamNotFound)?;
    let mut text = Vec::with_capacity(events.iter().map(|e| e.message.len() + 64).sum());
    for (n, event) in events.iter().enumerate() {
        let line = LineRef {
            t: event.timestamp,
            i: now,
            s: first_seq + n as u64,
            m: &event.message,
        };
        serde_json::to_writer(&mut text, &line).map_err(std::io::Error::other)?;
        text.push(b'\n');
    }
    let bytes = text.len() as u64;
    let fits = stream
        .segments
        .last()
        .is_some_and(|s| s.bytes == 0 || s.bytes + bytes <= SEGMENT_BYTES);
    if !fits {
        let number = stream.segments.last().map_or(1, |s| s.number + 1);
        stream.segments.push(Segment {
            path: stream.dir.join(format!("{number:08}.jsonl")),
            number,
            first: i64::MAX,
            last: i64::MIN,
            bytes: 0,
        });
    }
    let segment = stream.segments.last_mut().ok_or(LogsError::StreamNotFound)?;
    let mut file = OpenOptions::new().create(true).append(true).open(&segment.path)?;
    file.write_all(&text)?;
    segment.bytes += bytes;
    for event in events {
        segment.first = segment.first.min(event.timestamp);
        segment.last = segment.last.max(event.timestamp);
    }
    stream.last_ingestion = Some(now);
    Ok(bytes)
}

pub(super) fn insert_stream(group: &mut Group, name: &str) -> Result<(), LogsError> {
    let dir = group.dir.join(hex::encode(name));
    fs::create_dir_all(&dir)?;
    let meta = StreamMeta {
        name: name.to_string(),
        creation_time: epoch_millis(SystemTime::now()),
    };
    write_json(&dir.join("stream.json"), &meta)?;
    group.streams.insert(
        name.to_string(),
        Stream {
            dir,
            meta,
            segments: Vec::new(),
            last_ingestion: None,
        },
    );
    Ok(())
}

/// A stream as an earlier run left it: its segments in order, their time spans and sizes.
pub(super) fn load_stream(dir: PathBuf, meta: StreamMeta, index: &mut Index) -> Result<Stream, LogsError> {
    let mut segments = Vec::new();
    let mut last_ingestion = None;
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok());
        let Some(number) = number else {
            continue;
        };
        let bytes = fs::metadata(&path)?.len();
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for line in read_segment(&path) {
            first = first.min(line.t);
            last = last.max(line.t);
            last_ingestion = last_ingestion.max(Some(line.i));
            index.next_seq = index.next_seq.max(line.s + 1);
        }
        index.total_bytes += bytes;
        segments.push(Segment {
            path,
            number,
            first,
            last,
            bytes,
        });
    }
    segments.sort_by_key(|s| s.number);
    Ok(Stream {
        dir,
        meta,
        segments,
        last_ingestion,
    })
}

/// A segment's whole lines; a missing file (evicted meanwhile) has none.
pub(super) fn read_segment(path: &Path) -> Vec<Line> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect()
}

pub(super) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, LogsError> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| LogsError::Io(std::io::Error::other(e)))
}

/// Writes a small document whole: to a temporary name, then renamed over the old one.
pub(super) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), LogsError> {
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, serde_json::to_vec(value).map_err(std::io::Error::other)?)?;
    fs::rename(&tmp, path)?;
    Ok(())
}
