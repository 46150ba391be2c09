//! `lambkin serve` on SIGTERM: it stops accepting, lets the invocation in flight finish and
//! exits 0; the drain is bounded by `--shutdown-timeout`; the async queue keeps what it held.

mod support;

use std::process::{Child, Command};
use std::time::{Duration, Instant};
use support::process::{comes_up, deploy, free_port, request, serve};

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
    deploy(port, "counter", "busy");

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
    deploy(port, "counter", "stuck");
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
    deploy(port, "counter", "later");
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
    let queued = lambkin_invoke::journal::pending_events(&data.path().join("queue"))
        .expect("the queue's journal")
        .len();
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
