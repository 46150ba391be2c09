//! stream: streams `chunks` chunks with `pause_ms` between them (response streaming).

use serde::Deserialize;
use std::io::Write;

#[derive(Deserialize)]
#[serde(default)]
pub struct Event {
    pub chunks: u32,
    pub pause_ms: u64,
}

impl Default for Event {
    fn default() -> Self {
        Event {
            chunks: 3,
            pause_ms: 100,
        }
    }
}

#[lambkin::handler]
pub fn stream(event: Event, _ctx: &lambkin::Context) -> Result<(), lambkin::Error> {
    let mut out = lambkin::stream();
    for i in 0..event.chunks {
        if i > 0 {
            std::thread::sleep(std::time::Duration::from_millis(event.pause_ms));
        }
        writeln!(out, "chunk {i}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn streams_every_chunk_natively() {
        let event = super::Event {
            chunks: 2,
            pause_ms: 0,
        };
        super::stream(event, &lambkin::Context::default()).unwrap();
        let written = lambkin::ResponseStream::take_written();
        assert_eq!(written, b"chunk 0\nchunk 1\n");
    }
}
