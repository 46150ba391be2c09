//! `lambkin serve` on SIGTERM: it stops accepting, lets the invocation in flight finish and
//! exits 0; the drain is bounded by `--shutdown-timeout`; the async queue keeps what it held.

mod support;

use base64::Engine as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn serve(port: u16, data: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_lambkin"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .env("LAMBKIN_DATA_DIR", data)
        .env("LAMBKIN_ASYNC_TIME_SCALE", "0.001")
        .env_remove("LAMBKIN_LOG")
        .env_remove("LAMBKIN_ACCESS_KEY_ID")
        .env_remove("LAMBKIN_SECRET_ACCESS_KEY")
        .env_remove("LAMBKIN_CREDENTIALS_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn lambkin serve")
}

/// One HTTP/1.1 request on a new connection; the whole response as text, or None when nobody
/// answers.
fn request(port: u16, method: &str, path: &str, headers: &str, body: &str) -> Option<String> {
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

fn comes_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(port, "GET", "/health", "", "").is_none_or(|r| !r.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "lambkin serve did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CreateFunction from the `counter` example, then waits until it is Active.
fn deploy_counter(port: u16, name: &str) {
    let zip = base64::engine::general_purpose::STANDARD.encode(support::example_bytes("counter"));
    let body = serde_json::json!({
        "FunctionName": name,
        "Role": "arn:aws:iam::000000000000:role/lambda-role",
        "Runtime": "provided.al2023",
        "Handler": "counter.wasm",
        "Code": { "ZipFile": zip },
    })
    .to_string();
    let created = request(port, "POST", "/2015-03-31/functions", "", &body).expect("response");
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let path = format!("/2015-03-31/functions/{name}/configuration");
    while !request(port, "GET", &path, "", "").is_some_and(|r| r.contains("\"State\":\"Active\"")) {
        assert!(Instant::now() < deadline, "{name} never became Active");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminate(server: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
}

/// Waits (bounded) for the process to exit; its status and how long that took.
fn exits(server: &mut Child, within: Duration) -> (std::process::ExitStatus, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = server.try_wait().expect("wait") {
            return (status, started.elapsed());
        }
        if started.elapsed() > within {
            let _ = server.kill();
            panic!("lambkin serve did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_lets_the_running_invocation_finish_and_exits_0() {
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let mut server = serve(port, data.path(), &[]);
    comes_up(port);
    deploy_counter(port, "busy");

    let invocation = std::thread::spawn(move || {
        let started = Instant::now();
        let response = request(
            port,
            "POST",
            "/2015-03-31/functions/busy/invocations",
            "",
            r#"{"sleep_ms":1500}"#,
        );
        (response, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(400));
    terminate(&server);
    std::thread::sleep(Duration::from_millis(200));
    // Stopped accepting: a new connection is refused (or closed without an answer).
    let late = request(port, "GET", "/health", "", "");
    assert!(
        late.is_none() || late.as_deref() == Some(""),
        "served after SIGTERM: {late:?}"
    );

    let (response, took) = invocation.join().expect("invocation thread");
    let response = response.expect("the invocation in flight was answered");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains("\"count\":1"),
        "the function ran to its end: {response}"
    );
    assert!(
        !response.to_ascii_lowercase().contains("x-amz-function-error"),
        "{response}"
    );
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    let (status, _) = exits(&mut server, Duration::from_secs(10));
    assert!(status.success(), "a graceful shutdown exits 0, got {status}");
}

#[test]
fn the_drain_is_bounded_by_the_shutdown_timeout() {
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let mut server = serve(port, data.path(), &["--shutdown-timeout", "1"]);
    comes_up(port);
    deploy_counter(port, "stuck");
    let invocation = std::thread::spawn(move || {
        request(
            port,
            "POST",
            "/2015-03-31/functions/stuck/invocations",
            "X-Amz-Invocation-Type: RequestResponse\r\n",
            r#"{"sleep_ms":20000}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(400));
    terminate(&server);
    let (status, took) = exits(&mut server, Duration::from_secs(10));
    assert!(
        status.success(),
        "exits 0 after the drain timed out, got {status}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "the drain took {took:?} with --shutdown-timeout 1"
    );
    // The connection was cut: no answer for the invocation that could not finish.
    let response = invocation.join().expect("invocation thread");
    assert!(response.as_deref().is_none_or(str::is_empty), "{response:?}");
}

#[test]
fn events_accepted_before_sigterm_are_delivered_after_a_restart() {
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let mut server = serve(port, data.path(), &["--shutdown-timeout", "1"]);
    comes_up(port);
    deploy_counter(port, "later");
    let reserved = request(
        port,
        "PUT",
        "/2017-10-31/functions/later/concurrency",
        "",
        r#"{"ReservedConcurrentExecutions":1}"#,
    )
    .expect("response");
    assert!(reserved.starts_with("HTTP/1.1 200"), "{reserved}");
    // One at a time, each holding its environment for a while: most are still queued at SIGTERM.
    let mut ids = Vec::new();
    for _ in 0..20 {
        let accepted = request(
            port,
            "POST",
            "/2015-03-31/functions/later/invocations",
            "X-Amz-Invocation-Type: Event\r\n",
            r#"{"sleep_ms":300}"#,
        )
        .expect("response");
        assert!(accepted.starts_with("HTTP/1.1 202"), "{accepted}");
        ids.push(accepted);
    }
    terminate(&server);
    let (status, _) = exits(&mut server, Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let queued = std::fs::read_dir(data.path().join("queue"))
        .expect("queue directory")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    assert!(
        queued > 0 && queued <= ids.len(),
        "{queued} events left queued of {}",
        ids.len()
    );

    // The same data directory again: the queue is read back whole and drains.
    let port = free_port();
    let mut server = serve(port, data.path(), &[]);
    comes_up(port);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = request(port, "GET", "/health", "", "").expect("health");
        if health.contains("\"asyncQueueDepth\":0") {
            break;
        }
        assert!(Instant::now() < deadline, "the queue never drained: {health}");
        std::thread::sleep(Duration::from_millis(50));
    }
    terminate(&server);
    let (status, _) = exits(&mut server, Duration::from_secs(10));
    assert!(status.success(), "{status}");
}
