//! A real `lambkin serve` process for the tests that need one (signals, open files): spawned on
//! a port of its own, talked to over plain HTTP/1.1 sockets.

use base64::Engine as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub fn serve(port: u16, data: &std::path::Path, args: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lambkin"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args);
    server_settings(&mut command, data)
        .spawn()
        .expect("spawn lambkin serve")
}

/// `lambkin serve` started from a shell that first runs `ulimit <limit>` (e.g. `-n 1024`: soft
/// and hard, as a strict service manager would leave it).
pub fn serve_under_ulimit(port: u16, data: &std::path::Path, limit: &str) -> Child {
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(format!(
            r#"ulimit {limit} && exec "$0" serve --listen "127.0.0.1:$1""#
        ))
        .arg(env!("CARGO_BIN_EXE_lambkin"))
        .arg(port.to_string());
    server_settings(&mut shell, data)
        .spawn()
        .expect("spawn lambkin serve")
}

/// What every test server runs with: `data` as its data directory, anonymous, fast async
/// retries, no output.
pub fn server_settings<'a>(command: &'a mut Command, data: &std::path::Path) -> &'a mut Command {
    command
        .env("LAMBKIN_DATA_DIR", data)
        .env("LAMBKIN_ASYNC_TIME_SCALE", "0.001")
        .env_remove("LAMBKIN_LOG")
        .env_remove("LAMBKIN_ACCESS_KEY_ID")
        .env_remove("LAMBKIN_SECRET_ACCESS_KEY")
        .env_remove("LAMBKIN_CREDENTIALS_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

/// One HTTP/1.1 request on a new connection; the whole response as text, or None when nobody
/// answers.
pub fn request(port: u16, method: &str, path: &str, headers: &str, body: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

pub fn comes_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(port, "GET", "/health", "", "").is_none_or(|r| !r.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "lambkin serve did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CreateFunction from `example`, then waits until it is Active.
pub fn deploy(port: u16, example: &str, name: &str) {
    create(port, example, name);
    wait_active(port, name);
}

/// CreateFunction from `example` (Pending until its code is checked).
pub fn create(port: u16, example: &str, name: &str) {
    let zip = base64::engine::general_purpose::STANDARD.encode(super::example_bytes(example));
    let body = serde_json::json!({
        "FunctionName": name,
        "Role": "arn:aws:iam::000000000000:role/lambda-role",
        "Runtime": "provided.al2023",
        "Handler": format!("{example}.wasm"),
        "Code": { "ZipFile": zip },
    })
    .to_string();
    let created = request(port, "POST", "/2015-03-31/functions", "", &body).expect("response");
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
}

/// Waits (bounded) until `name` is Active.
pub fn wait_active(port: u16, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let path = format!("/2015-03-31/functions/{name}/configuration");
    while !request(port, "GET", &path, "", "").is_some_and(|r| r.contains("\"State\":\"Active\"")) {
        assert!(Instant::now() < deadline, "{name} never became Active");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The JSON body of a response `request` returned.
pub fn body_json(response: &str) -> serde_json::Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
}

/// A server process, killed and reaped when dropped, a failing test's included.
pub struct Reaped(pub Child);

impl std::ops::Deref for Reaped {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
