//! `lambkin logs <function> [--follow]` against a real `lambkin serve`: the log group the server
//! keeps, read from the same data directory, printed as `aws logs tail` prints it.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::process::{Reaped, comes_up, deploy, free_port, request, serve};

fn invoke(port: u16, name: &str, secret: &str) {
    let path = format!("/2015-03-31/functions/{name}/invocations");
    let body = serde_json::json!({ "secret": secret }).to_string();
    let response = request(port, "POST", &path, "", &body).expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

fn logs(data: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lambkin"));
    command.arg("logs").args(args).env("LAMBKIN_DATA_DIR", data);
    command
}

#[test]
fn logs_prints_the_group_and_follows_new_invocations() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let _server = Reaped(serve(port, data.path(), &[]));
    comes_up(port);
    deploy(port, "escape", "chatty");

    // Before the first invocation there is no group to print.
    let none = logs(data.path(), &["chatty"]).output().expect("lambkin logs");
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no log group /aws/lambda/chatty"));

    invoke(port, "chatty", "first-marker");
    let deadline = Instant::now() + Duration::from_secs(10);
    let printed = loop {
        let out = logs(data.path(), &["chatty"]).output().expect("lambkin logs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("REPORT RequestId:") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines: Vec<&str> = printed.lines().collect();
    assert!(
        lines.iter().any(|l| l.contains(" START RequestId: ")),
        "{printed}"
    );
    let secret = lines
        .iter()
        .find(|l| l.ends_with("my secret is first-marker"))
        .unwrap_or_else(|| panic!("the function's line is missing: {printed}"));
    // `<time> <stream> <message>`, the stream as Lambda names it.
    let fields: Vec<&str> = secret.splitn(3, ' ').collect();
    assert!(fields[0].contains('T') && fields[0].ends_with('Z'), "{secret}");
    assert!(fields[1].contains("/[$LATEST]"), "{secret}");

    // --follow prints an invocation made after it started.
    let mut follower = logs(data.path(), &["chatty", "--follow", "--since", "0s"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("lambkin logs --follow");
    let stdout = follower.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    invoke(port, "chatty", "second-marker");
    let invoked = Instant::now();
    let mut seen = Vec::new();
    let found = loop {
        match lines_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.ends_with("my secret is second-marker") => break true,
            Ok(line) => seen.push(line),
            Err(_) if invoked.elapsed() > Duration::from_secs(10) => break false,
            Err(_) => {}
        }
    };
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(
        found,
        "--follow did not print the new invocation within 10 s: {seen:?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("first-marker")),
        "--since 0s printed an older invocation: {seen:?}"
    );
}
