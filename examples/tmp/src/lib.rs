//! tmp: writes and reads /tmp, reports what a previous invocation left there, how much it could
//! write, which other paths it could see and which addresses it could connect to.

use serde::Deserialize;
use serde_json::{Value, json};
use std::fs;
use std::io::Write;

const MARKER: &str = "/tmp/lambkin-tmp-example.txt";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Event {
    /// Text to leave in /tmp for the next invocation.
    pub leave: Option<String>,
    /// Bytes to try writing to `fill_file` (default fill.bin) in /tmp, 64 KiB at a time.
    pub fill_bytes: Option<u64>,
    pub fill_file: Option<String>,
    /// Paths to try to list or read.
    pub probe: Vec<String>,
    /// Addresses (`ip:port`) to try to open a TCP connection to.
    pub connect: Vec<String>,
    /// Files to try to create (outside /tmp this must fail).
    pub create: Vec<String>,
}

#[lambkin::handler]
pub fn tmp(event: Event, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    let previous = fs::read_to_string(MARKER).ok();
    if let Some(text) = &event.leave {
        fs::write(MARKER, text)?;
    }
    let fill_path = format!("/tmp/{}", event.fill_file.as_deref().unwrap_or("fill.bin"));
    let fill = event.fill_bytes.map(|bytes| fill(&fill_path, bytes));
    let probes: Vec<Value> = event.probe.iter().map(|p| probe(p)).collect();
    let connections: Vec<Value> = event.connect.iter().map(|a| connect(a)).collect();
    let created: Vec<Value> = event
        .create
        .iter()
        .map(|path| {
            let result = fs::write(path, b"written by the tmp example");
            json!({ "path": path, "created": result.is_ok(), "error": result.err().map(|e| e.to_string()) })
        })
        .collect();
    Ok(
        json!({ "previous": previous, "fill": fill, "probes": probes, "connections": connections, "created": created }),
    )
}

fn fill(path: &str, target: u64) -> Value {
    let chunk = vec![7u8; 64 * 1024];
    let mut written: u64 = 0;
    let result = (|| -> std::io::Result<()> {
        let mut file = fs::File::create(path)?;
        while written < target {
            let n = chunk.len().min((target - written) as usize);
            file.write_all(&chunk[..n])?;
            written += n as u64;
        }
        file.flush()
    })();
    json!({
        "written": written,
        "error": result.err().map(|e| e.to_string()),
    })
}

fn probe(path: &str) -> Value {
    let listed = fs::read_dir(path).map(|d| d.count());
    let read = fs::read(path).map(|b| b.len());
    json!({
        "path": path,
        "entries": listed.as_ref().ok(),
        "bytes": read.as_ref().ok(),
        "error": listed.err().map(|e| e.to_string()),
    })
}

fn connect(address: &str) -> Value {
    let result = std::net::TcpStream::connect(address);
    json!({
        "address": address,
        "connected": result.is_ok(),
        "error": result.err().map(|e| e.to_string()),
    })
}
