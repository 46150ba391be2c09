//! What a deployed version holds follows the registry, on a real `lambkin serve`: versions of one
//! code share one compiled module (one open file, not one per version), and deleting functions
//! gives back their pools and their compiled code's open files; the server raises its own limit
//! on open files.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::process::{comes_up, deploy, free_port, request, serve, serve_under_ulimit};

/// The server's open files that are compiled modules of its compile cache.
fn open_compiled_modules(pid: u32, data: &Path) -> usize {
    let compiled = data.join("compiled");
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's fd table")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target.starts_with(&compiled))
        .count()
}

fn invoke(port: u16, name: &str) {
    let path = format!("/2015-03-31/functions/{name}/invocations");
    let response = request(port, "POST", &path, "", "{}").expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

/// Waits (bounded) until `done` holds.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn versions_of_one_code_share_one_module_and_deletes_release_it() {
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let mut server = serve(port, data.path(), &[]);
    comes_up(port);
    let pid = server.id();

    for i in 0..12 {
        deploy(port, "hello", &format!("same{i}"));
        invoke(port, &format!("same{i}"));
    }
    for example in ["echo", "counter"] {
        deploy(port, example, example);
        invoke(port, example);
    }
    // Activation loads code too, but lets it go: count once the deploys are what is left.
    eventually("one open module per code (3), not per version", || {
        open_compiled_modules(pid, data.path()) == 3
    });
    let pools = request(port, "GET", "/lambkin/pools", "", "").expect("pools");
    assert_eq!(pools.matches("\"version\":").count(), 14, "{pools}");

    for name in (0..12)
        .map(|i| format!("same{i}"))
        .chain(["echo".into(), "counter".into()])
    {
        let path = format!("/2015-03-31/functions/{name}");
        let deleted = request(port, "DELETE", &path, "", "").expect("response");
        assert!(deleted.starts_with("HTTP/1.1 204"), "{deleted}");
    }
    eventually("deleted functions keep no module open", || {
        open_compiled_modules(pid, data.path()) == 0
    });
    let pools = request(port, "GET", "/lambkin/pools", "", "").expect("pools");
    assert!(
        !pools.contains("\"version\":"),
        "deleted functions keep no pool: {pools}"
    );

    let _ = server.kill();
    let _ = server.wait();
}

/// The soft and hard limits on open files of process `pid`.
fn open_files_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn serve_raises_its_open_files_limit_to_the_hard_limit() {
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    // Started as a service manager with a low default would start it.
    let mut server = serve_under_ulimit(port, data.path(), "-Sn 256");
    comes_up(port);
    let (soft, hard) = open_files_limits(server.id());
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        hard > 256,
        "this machine's hard limit ({hard}) leaves nothing to raise"
    );
    assert_eq!(soft, hard, "the soft limit is raised to the hard one");
}
