//! The registry under concurrency, over real HTTP: a store that is slow for one function delays
//! nobody else, reserved concurrency holds while unrelated writes change the registry, and the
//! function cap holds for creates that overlap.

mod support;

use object_store::local::LocalFileSystem;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::server::{self, Live, Settings};
use support::store::{Fault, FaultyStore};

/// How long a write of the slow function's record takes while the store is armed.
const SLOW_WRITE: Duration = Duration::from_secs(3);
/// What any other request may take meanwhile (they take milliseconds).
const PROMPT: Duration = Duration::from_secs(1);

/// Times one request; asserts it answered `expected` promptly.
async fn prompt(live: &Live, what: &str, method: &str, path: &str, body: Option<serde_json::Value>) {
    let started = Instant::now();
    let (status, error, reply) = live.call(method, path, body).await;
    let took = started.elapsed();
    assert!(status.is_success(), "{what}: {status} {error:?} {reply}");
    assert!(
        took < PROMPT,
        "{what} took {took:?} while another function's write was slow"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_store_write_for_one_function_delays_no_one_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("store")).expect("mkdir");
    let armed = Arc::new(AtomicBool::new(false));
    let store = FaultyStore {
        inner: LocalFileSystem::new_with_prefix(dir.path().join("store")).expect("store"),
        key_prefix: "functions/slow.json".into(),
        armed: armed.clone(),
        fault: Fault::Slow(SLOW_WRITE),
    };
    let live = server::serve_with(
        dir.path(),
        Settings {
            store: Some(Arc::new(store)),
            ..Settings::default()
        },
    )
    .await;
    live.deploy("slow", "hello", json!({})).await;
    live.deploy("fast", "hello", json!({})).await;
    let url = live.create_url("fast", json!({ "AuthType": "NONE" })).await;
    let invoke = |name: &str| format!("/2015-03-31/functions/{name}/invocations");
    prompt(&live, "warm-up", "POST", &invoke("fast"), Some(json!({}))).await;
    prompt(&live, "warm-up", "POST", &invoke("slow"), Some(json!({}))).await;

    armed.store(true, Ordering::SeqCst);
    let slow_write = {
        let (base, http) = (live.base.clone(), live.http.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let response = http
                .put(format!("{base}/2015-03-31/functions/slow/configuration"))
                .header("content-type", "application/json")
                .body(json!({ "Description": "changed" }).to_string())
                .send()
                .await
                .expect("response");
            (response.status(), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    prompt(
        &live,
        "Invoke of another function",
        "POST",
        &invoke("fast"),
        Some(json!({})),
    )
    .await;
    prompt(
        &live,
        "Invoke of the slow function itself",
        "POST",
        &invoke("slow"),
        Some(json!({})),
    )
    .await;
    let started = Instant::now();
    let fetched = live
        .http
        .get(live.url_by_path(&url))
        .send()
        .await
        .expect("URL response");
    assert_eq!(fetched.status(), StatusCode::OK);
    assert!(
        started.elapsed() < PROMPT,
        "the function URL waited for another function's write"
    );
    let slow_path = "/2015-03-31/functions/slow/configuration";
    let started = Instant::now();
    let (_, _, before) = live.call("GET", slow_path, None).await;
    assert!(
        started.elapsed() < PROMPT,
        "a read waited for the write in flight"
    );
    assert_eq!(
        before["Description"], "",
        "a read sees the record as last stored: {before}"
    );
    prompt(&live, "ListFunctions", "GET", "/2015-03-31/functions", None).await;
    prompt(
        &live,
        "a write of another function",
        "PUT",
        "/2015-03-31/functions/fast/configuration",
        Some(json!({ "Description": "quick" })),
    )
    .await;

    let (status, took) = slow_write.await.expect("slow write");
    assert_eq!(status, StatusCode::OK);
    assert!(took >= SLOW_WRITE, "the store was not slow: {took:?}");
    let (_, _, after) = live.call("GET", slow_path, None).await;
    assert_eq!(after["Description"], "changed", "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_holds_under_unrelated_registry_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = server::serve_with(dir.path(), Settings::default()).await;
    live.deploy("busy", "counter", json!({})).await;
    live.deploy("other", "hello", json!({})).await;
    let (status, _, reply) = live
        .call(
            "PUT",
            "/2017-10-31/functions/busy/concurrency",
            Some(json!({ "ReservedConcurrentExecutions": 1 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");

    // Unrelated writes, as fast as they go, for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let writes = {
        let (base, http, stop) = (live.base.clone(), live.http.clone(), stop.clone());
        tokio::spawn(async move {
            let mut count = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let response = http
                    .put(format!("{base}/2015-03-31/functions/other/configuration"))
                    .header("content-type", "application/json")
                    .body(json!({ "Description": format!("write {count}") }).to_string())
                    .send()
                    .await
                    .expect("response");
                assert!(response.status().is_success(), "{}", response.status());
                count += 1;
            }
            count
        })
    };

    let invoke = live.url("/2015-03-31/functions/busy/invocations");
    for round in 0..5 {
        let first = {
            let (http, invoke) = (live.http.clone(), invoke.clone());
            tokio::spawn(async move {
                let response = http
                    .post(invoke)
                    .body(json!({ "sleep_ms": 1200 }).to_string())
                    .send()
                    .await
                    .expect("response");
                response.status()
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, error, body) =
            server::answer(live.http.post(&invoke).body("{}").send().await.expect("response")).await;
        assert_eq!(
            (status, error.as_deref()),
            (StatusCode::TOO_MANY_REQUESTS, Some("TooManyRequestsException")),
            "round {round}: a second invocation ran beside the first under ReservedConcurrentExecutions=1: {body}"
        );
        assert_eq!(
            body["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded",
            "{body}"
        );
        assert_eq!(first.await.expect("first"), StatusCode::OK, "round {round}");
    }
    stop.store(true, Ordering::SeqCst);
    let count = writes.await.expect("writer");
    assert!(count >= 10, "only {count} unrelated writes happened meanwhile");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_cap_holds_for_creates_that_overlap() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("store")).expect("mkdir");
    // Every create stores its code first, slowly: all of them are in flight at once.
    let store = FaultyStore {
        inner: LocalFileSystem::new_with_prefix(dir.path().join("store")).expect("store"),
        key_prefix: "code/".into(),
        armed: Arc::new(AtomicBool::new(true)),
        fault: Fault::Slow(SLOW_WRITE),
    };
    let live = server::serve_with(
        dir.path(),
        Settings {
            store: Some(Arc::new(store)),
            limits: lambkin_registry::RegistryLimits {
                max_functions: 3,
                ..Default::default()
            },
            ..Settings::default()
        },
    )
    .await;
    let wasm = server::b64(&support::example_bytes("hello"));
    let creates = (0..8).map(|i| {
        let mut body = server::create_body(&format!("f{i}"), json!({}));
        body["Code"]["ZipFile"] = json!(wasm);
        let live = &live;
        async move { live.call("POST", "/2015-03-31/functions", Some(body)).await }
    });
    let answers = futures::future::join_all(creates).await;
    let created = answers
        .iter()
        .filter(|(status, _, _)| *status == StatusCode::CREATED)
        .count();
    for (status, error, reply) in &answers {
        assert!(
            *status == StatusCode::CREATED
                || (*status == StatusCode::BAD_REQUEST
                    && error.as_deref() == Some("CodeStorageExceededException")),
            "{status} {error:?} {reply}"
        );
    }
    let statuses: Vec<_> = answers.iter().map(|(status, _, _)| status.as_u16()).collect();
    assert_eq!(created, 3, "exactly the cap is created: {statuses:?}");
    let (_, _, listed) = live.call("GET", "/2015-03-31/functions", None).await;
    let listed = listed["Functions"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, 3);
}
