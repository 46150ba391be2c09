//! Capacity on a real `lambkin serve`: a burst of creates of one code compiles it once and every
//! function becomes Active within seconds; more functions than the node has environments all
//! run (idle environments of others are evicted, least recently used first); with every
//! environment busy an invocation is throttled (429), never failed as the function's error, and
//! an Event is delivered once room frees.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::process::{Reaped, body_json, comes_up, create, deploy, free_port, request, serve};

/// Runs `work(i)` for i in 0..count on `threads` threads.
fn in_parallel(count: usize, threads: usize, work: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    work(i);
                }
            });
        }
    });
}

fn invoke(port: u16, name: &str, payload: &str, headers: &str) -> String {
    let path = format!("/2015-03-31/functions/{name}/invocations");
    request(port, "POST", &path, headers, payload).expect("response")
}

fn pools(port: u16) -> serde_json::Value {
    body_json(&request(port, "GET", "/lambkin/pools", "", "").expect("pools"))
}

/// The names of the functions still Pending, from ListFunctions (all pages).
fn pending(port: u16) -> usize {
    let mut pending = 0;
    let mut marker = String::new();
    loop {
        let path = format!("/2015-03-31/functions?MaxItems=50{marker}");
        let page = body_json(&request(port, "GET", &path, "", "").expect("list"));
        let functions = page["Functions"].as_array().cloned().unwrap_or_default();
        pending += functions.iter().filter(|f| f["State"] != "Active").count();
        match page["NextMarker"].as_str() {
            Some(next) => marker = format!("&Marker={next}"),
            None => return pending,
        }
    }
}

#[test]
fn fifteen_hundred_functions_of_one_code_compile_once_and_all_run_on_a_thousand_environments() {
    const FUNCTIONS: usize = 1500;
    const ENVIRONMENTS: u64 = 1000;
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let _server = Reaped(serve(port, data.path(), &["--max-environments", "1000"]));
    comes_up(port);

    // A cold compile cache: the first create's activation compiles, every other one shares it.
    let started = Instant::now();
    in_parallel(FUNCTIONS, 8, |i| create(port, "hello", &format!("fn{i}")));
    let created = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending(port) > 0 {
        assert!(Instant::now() < deadline, "functions still Pending after 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let active = started.elapsed();
    println!(
        "{FUNCTIONS} creates of one code on a cold cache: {:.1} s ({:.0}/s), all Active after {:.1} s",
        created.as_secs_f64(),
        FUNCTIONS as f64 / created.as_secs_f64(),
        active.as_secs_f64()
    );
    assert_eq!(pools(port)["compiles"], 1, "one compile for one code");

    let failures = AtomicUsize::new(0);
    in_parallel(FUNCTIONS, 8, |i| {
        let response = invoke(port, &format!("fn{i}"), "{}", "");
        if !response.starts_with("HTTP/1.1 200") || response.contains("X-Amz-Function-Error") {
            eprintln!("fn{i}: {response}");
            failures.fetch_add(1, Ordering::Relaxed);
        }
    });
    assert_eq!(failures.load(Ordering::Relaxed), 0, "every invocation succeeds");

    let report = pools(port);
    let environments = &report["environments"];
    assert_eq!(environments["limit"], ENVIRONMENTS, "{environments}");
    assert!(
        environments["live"].as_u64() <= Some(ENVIRONMENTS),
        "{environments}"
    );
    let evictions = environments["evictions"].as_u64().expect("evictions");
    assert!(evictions >= FUNCTIONS as u64 - ENVIRONMENTS, "{environments}");
    let by_pool: u64 = report["pools"]
        .as_array()
        .expect("pools")
        .iter()
        .map(|p| p["evictions"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        by_pool, evictions,
        "each eviction is counted on the pool it came from"
    );
    // The least recently used went first: the functions invoked first are cold again, the
    // last ones still warm.
    let idle = |name: String| {
        report["pools"]
            .as_array()
            .expect("pools")
            .iter()
            .find(|p| p["function"] == name.as_str())
            .map_or(0, |p| p["idle"].as_u64().unwrap_or(0))
    };
    assert!(
        (0..100).all(|i| idle(format!("fn{i}")) == 0),
        "the first invoked were evicted"
    );
    assert!(
        (1400..FUNCTIONS).all(|i| idle(format!("fn{i}")) == 1),
        "the last invoked are warm"
    );
}

#[test]
fn with_every_environment_busy_an_invocation_is_throttled_and_an_event_waits_for_room() {
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    let _server = Reaped(serve(port, data.path(), &["--max-environments", "2"]));
    comes_up(port);
    deploy(port, "counter", "busy");
    deploy(port, "hello", "other");

    std::thread::scope(|scope| {
        let holders: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| invoke(port, "busy", r#"{"sleep_ms": 1500}"#, "")))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while pools(port)["environments"]["live"] != 2 {
            assert!(Instant::now() < deadline, "the two environments never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        let throttled = invoke(port, "other", "{}", "");
        assert!(throttled.starts_with("HTTP/1.1 429"), "{throttled}");
        assert!(!throttled.contains("X-Amz-Function-Error"), "{throttled}");
        assert!(throttled.contains("TooManyRequestsException"), "{throttled}");
        let error = body_json(&throttled);
        assert_eq!(error["Reason"], "ConcurrentInvocationLimitExceeded", "{error}");

        // An Event is accepted and delivered once an environment is free.
        let queued = invoke(port, "other", "{}", "X-Amz-Invocation-Type: Event\r\n");
        assert!(queued.starts_with("HTTP/1.1 202"), "{queued}");
        for holder in holders {
            let held = holder.join().expect("holder");
            assert!(held.starts_with("HTTP/1.1 200"), "{held}");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = pools(port);
        let ran = report["pools"]
            .as_array()
            .expect("pools")
            .iter()
            .any(|p| p["function"] == "other" && p["coldStarts"] == 1);
        if ran {
            let throttles = report["functions"]
                .as_array()
                .expect("functions")
                .iter()
                .find(|f| f["function"] == "other")
                .map(|f| f["throttles"].clone());
            assert!(throttles.and_then(|t| t.as_u64()) >= Some(1), "{report}");
            break;
        }
        assert!(Instant::now() < deadline, "the event never ran: {report}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The server's open file descriptors.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |fds| fds.count())
}

#[test]
fn under_a_limit_of_1024_open_files_2000_invocations_of_1100_functions_all_succeed() {
    const FUNCTIONS: usize = 1100;
    let (port, data) = (free_port(), tempfile::tempdir().expect("tempdir"));
    // Soft and hard limit both: nothing to raise, as under a strict service manager.
    let server = Reaped(support::process::serve_under_ulimit(port, data.path(), "-n 1024"));
    comes_up(port);
    let pid = server.id();

    in_parallel(FUNCTIONS, 8, |i| {
        let example = ["hello", "echo", "counter"][i % 3];
        create(port, example, &format!("fn{i}"));
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending(port) > 0 {
        assert!(Instant::now() < deadline, "functions still Pending after 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let failures = AtomicUsize::new(0);
    let most_open = AtomicUsize::new(0);
    in_parallel(2000, 8, |i| {
        let response = invoke(port, &format!("fn{}", (i * 7) % FUNCTIONS), "{}", "");
        if !response.starts_with("HTTP/1.1 200") || response.contains("X-Amz-Function-Error") {
            eprintln!("invocation {i}: {response}");
            failures.fetch_add(1, Ordering::Relaxed);
        }
        if i % 50 == 0 {
            most_open.fetch_max(open_files(pid), Ordering::Relaxed);
        }
    });
    assert_eq!(failures.load(Ordering::Relaxed), 0, "every invocation succeeds");
    let environments = pools(port)["environments"].clone();
    // One descriptor per environment: half the limit goes to them.
    assert_eq!(environments["limit"], 512, "{environments}");
    let most_open = most_open.load(Ordering::Relaxed);
    println!("most open files seen: {most_open}; environments: {environments}");
    assert!(
        most_open < 1024 - 256,
        "descriptors stay well inside the limit: {most_open}"
    );
}
