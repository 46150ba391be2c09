//! Hostile connections on a real `lambkin serve`: idle connections past the cap cannot lock a new
//! client out (the one idle the longest is closed to make room), slowloris headers, a stalled
//! body and an idle kept-alive connection are cut off after their timeouts, and a body the
//! server cannot read is refused in the AWS format.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::process::{Reaped, comes_up, free_port, request, serve, serve_under_ulimit};

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Reads until the server closes the connection; what it sent, and when it closed.
fn read_until_closed(stream: &mut TcpStream) -> (String, Instant) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server neither answered nor closed: {e}"),
        }
    }
    (String::from_utf8_lossy(&received).into_owned(), Instant::now())
}

/// Whether the server has closed `stream` (without waiting long).
fn is_closed(mut stream: &TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let mut buffer = [0u8; 1];
    match stream.read(&mut buffer) {
        Ok(0) => true,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
        _ => false,
    }
}

/// `/health` on a new connection, and how long it took.
fn timed_health(port: u16) -> (String, Duration) {
    let started = Instant::now();
    let response = request(port, "GET", "/health", "", "").expect("an answer");
    (response, started.elapsed())
}

#[test]
fn eleven_hundred_idle_connections_do_not_lock_a_new_client_out() {
    // The test opens 1,100 sockets itself.
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the test's open-files limit");

    // Under the default cap, every idle connection is held and a new client served beside them.
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let server = Reaped(serve(port, data.path(), &[]));
    comes_up(port);
    let idle: Vec<TcpStream> = (0..1100).map(|_| connect(port)).collect();
    let (response, took) = timed_health(port);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(took < Duration::from_secs(1), "served in {took:?}");
    drop(idle);
    drop(server);

    // Under a limit of 1,024 open files (soft and hard: nothing to raise) the cap is a quarter
    // of it; past the cap the connection idle the longest is closed for each newcomer.
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let _server = Reaped(serve_under_ulimit(port, data.path(), "-n 1024"));
    comes_up(port);
    let idle: Vec<TcpStream> = (0..1100).map(|_| connect(port)).collect();
    let (response, took) = timed_health(port);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(took < Duration::from_secs(1), "served in {took:?}");
    // The oldest idle connections made room; the newest are still open.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !is_closed(&idle[0]) {
        assert!(
            Instant::now() < deadline,
            "the idlest connection was never closed"
        );
    }
    let open_at_end = idle[1000..].iter().filter(|s| !is_closed(s)).count();
    assert!(
        open_at_end > 50,
        "the newest idle connections stay open ({open_at_end} of 100)"
    );
}

#[test]
fn slow_headers_a_stalled_body_and_idle_keep_alive_are_cut_off_after_their_timeouts() {
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let _server = Reaped(serve(
        port,
        data.path(),
        &["--header-timeout", "2", "--body-timeout", "2"],
    ));
    comes_up(port);

    std::thread::scope(|scope| {
        // Slowloris: a header line every 300 ms, never the blank line that ends them.
        let slowloris = scope.spawn(|| {
            let mut stream = connect(port);
            let started = Instant::now();
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                .expect("write");
            while started.elapsed() < Duration::from_secs(8) {
                std::thread::sleep(Duration::from_millis(300));
                if stream.write_all(b"X-Slow: yes\r\n").is_err() || is_closed(&stream) {
                    return started.elapsed();
                }
            }
            panic!("slowloris still connected after 8 s");
        });
        // A body shorter than its Content-Length.
        let stalled = scope.spawn(|| {
            let mut stream = connect(port);
            let started = Instant::now();
            stream
                .write_all(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Fun")
                .expect("write");
            let (response, closed) = read_until_closed(&mut stream);
            (response, closed - started)
        });
        // A kept-alive connection that goes quiet after its first request.
        let quiet = scope.spawn(|| {
            let mut stream = connect(port);
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("write");
            let mut first = [0u8; 15];
            stream.read_exact(&mut first).expect("the first response");
            let answered = Instant::now();
            let (_, closed) = read_until_closed(&mut stream);
            (String::from_utf8_lossy(&first).into_owned(), closed - answered)
        });
        // Meanwhile others are served as usual.
        let (response, took) = timed_health(port);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(took < Duration::from_secs(1), "served in {took:?}");

        let took = slowloris.join().expect("slowloris");
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
            "slowloris cut off after {took:?}"
        );
        let (response, took) = stalled.join().expect("stalled");
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        assert!(
            response.contains("x-amzn-errortype: InvalidRequestContentException"),
            "{response}"
        );
        assert!(response.contains("application/json"), "{response}");
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
            "the stalled body was refused after {took:?}"
        );
        let (first, idle) = quiet.join().expect("quiet");
        assert_eq!(first, "HTTP/1.1 200 OK");
        assert!(
            idle >= Duration::from_millis(1500) && idle < Duration::from_secs(5),
            "the idle connection was closed after {idle:?}"
        );
    });
}

#[test]
fn a_body_the_server_cannot_read_is_refused_in_the_aws_format() {
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let _server = Reaped(serve(port, data.path(), &[]));
    comes_up(port);
    for path in ["/2015-03-31/functions", "/2015-03-31/functions/any/invocations"] {
        let mut stream = connect(port);
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nnot-hex\r\nabc\r\n0\r\n\r\n"
        )
        .expect("write");
        let (response, _) = read_until_closed(&mut stream);
        assert!(response.starts_with("HTTP/1.1 400"), "{path}: {response}");
        assert!(
            response.contains("content-type: application/json"),
            "{path}: {response}"
        );
        assert!(
            response.contains("x-amzn-errortype: InvalidRequestContentException"),
            "{path}: {response}"
        );
    }
}
