//! Execution environments through a real server (seed 003, "Lambda execution environment
//! lifecycle", "Concurrency"; seed 002): reuse of warm environments and their globals, one
//! invocation per environment (concurrent calls scale out), idle shutdown, the account-wide
//! concurrency limit, no head-of-line blocking behind a CPU-bound guest, provisioned concurrency,
//! Init failures, and the pool endpoint.

mod support;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::server::{Live, Settings, serve_with};

struct Invoked {
    status: StatusCode,
    body: Value,
    log: String,
    error_type: Option<String>,
    function_error: Option<String>,
}

impl Invoked {
    fn cold(&self) -> bool {
        self.log.contains("Init Duration")
    }

    fn environment(&self) -> String {
        self.body["environment"].as_str().unwrap_or_default().to_string()
    }
}

/// A synchronous Invoke with `X-Amz-Log-Type: Tail`.
async fn invoke(live: &Live, target: &str, payload: Value) -> Invoked {
    let response = live
        .request("POST", &format!("/2015-03-31/functions/{target}/invocations"))
        .header("X-Amz-Log-Type", "Tail")
        .body(payload.to_string())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("invoke");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let log = header("x-amz-log-result")
        .map(|b| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b)
                .expect("base64 log");
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .unwrap_or_default();
    let (error_type, function_error) = (header("x-amzn-ErrorType"), header("x-amz-function-error"));
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Invoked {
        status,
        body,
        log,
        error_type,
        function_error,
    }
}

async fn server(dir: &std::path::Path, settings: Settings) -> Live {
    let live = serve_with(dir, settings).await;
    live.deploy("counter", "counter", json!({ "Timeout": 30 })).await;
    live
}

async fn pools(live: &Live) -> Value {
    live.call("GET", "/lambkin/pools", None).await.2
}

/// The pool of `function`'s `version` on the pool endpoint.
async fn pool(live: &Live, function: &str, version: &str) -> Value {
    let all = pools(live).await;
    all["pools"]
        .as_array()
        .and_then(|p| {
            p.iter()
                .find(|p| p["function"] == function && p["version"] == version)
                .cloned()
        })
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_environment_is_reused_with_its_globals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = server(dir.path(), Settings::default()).await;
    let first = invoke(&live, "counter", json!({})).await;
    let second = invoke(&live, "counter", json!({})).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(
        (first.body["count"].clone(), second.body["count"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(first.environment(), second.environment());
    assert_eq!(first.body["initializationType"], "on-demand");
    assert!(first.cold(), "{}", first.log);
    assert!(
        !second.cold(),
        "a warm invocation reports no Init Duration: {}",
        second.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_run_in_separate_environments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = server(dir.path(), Settings::default()).await;
    let started = Instant::now();
    let (a, b) = tokio::join!(
        invoke(&live, "counter", json!({ "sleep_ms": 400 })),
        invoke(&live, "counter", json!({ "sleep_ms": 400 }))
    );
    let elapsed = started.elapsed();
    assert_ne!(
        a.environment(),
        b.environment(),
        "one invocation at a time per environment"
    );
    assert_eq!(
        (a.body["count"].clone(), b.body["count"].clone()),
        (json!(1), json!(1))
    );
    assert!(a.cold() && b.cold());
    assert!(
        elapsed < Duration::from_millis(780),
        "they ran side by side: {elapsed:?}"
    );
    let pool = pool(&live, "counter", "$LATEST").await;
    assert_eq!(
        (pool["idle"].clone(), pool["busy"].clone()),
        (json!(2), json!(0)),
        "{pool}"
    );
    assert_eq!(pool["coldStarts"], 2, "{pool}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_environments_are_shut_down_after_the_idle_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings {
        idle_timeout: Duration::from_millis(500),
        ..Settings::default()
    };
    let live = server(dir.path(), settings).await;
    let first = invoke(&live, "counter", json!({})).await;
    assert_eq!(pool(&live, "counter", "$LATEST").await["idle"], 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool(&live, "counter", "$LATEST").await["idle"] != 0 {
        assert!(
            Instant::now() < deadline,
            "the idle environment was never shut down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let next = invoke(&live, "counter", json!({})).await;
    assert!(
        next.cold(),
        "after Shutdown the next invocation initialises again: {}",
        next.log
    );
    assert_eq!(next.body["count"], 1);
    assert_ne!(next.environment(), first.environment());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_limit_throttles_unreserved_functions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings {
        account_concurrency: 1,
        ..Settings::default()
    };
    let live = server(dir.path(), settings).await;
    let (a, b) = tokio::join!(
        invoke(&live, "counter", json!({ "sleep_ms": 400 })),
        invoke(&live, "counter", json!({ "sleep_ms": 400 }))
    );
    let (ok, throttled) = if a.status == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.body
    );
    assert_eq!(throttled.error_type.as_deref(), Some("TooManyRequestsException"));
    assert_eq!(throttled.body["Reason"], "ConcurrentInvocationLimitExceeded");
    let all = pools(&live).await;
    let counter = &all["functions"][0];
    assert_eq!(
        (counter["function"].clone(), counter["throttles"].clone()),
        (json!("counter"), json!(1))
    );
    let settings = live.call("GET", "/2016-08-19/account-settings", None).await.2;
    assert_eq!(settings["AccountLimit"]["ConcurrentExecutions"], 1, "{settings}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cpu_bound_guest_does_not_delay_other_invocations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = server(dir.path(), Settings::default()).await;
    live.deploy("spin", "spin", json!({ "Timeout": 1 })).await;
    invoke(&live, "counter", json!({})).await;
    async fn median_latency(live: &Live) -> Duration {
        let mut samples = Vec::new();
        for _ in 0..25 {
            let started = Instant::now();
            assert_eq!(invoke(live, "counter", json!({})).await.status, StatusCode::OK);
            samples.push(started.elapsed());
        }
        samples.sort();
        samples[samples.len() / 2]
    }
    let alone = median_latency(&live).await;
    let (spun, beside) = tokio::join!(invoke(&live, "spin", json!({})), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        median_latency(&live).await
    });
    assert_eq!(spun.body["errorType"], "Sandbox.Timedout", "{}", spun.body);
    // Within noise: the spinning guest yields every epoch tick (2 ms).
    let bound = (alone * 4).max(alone + Duration::from_millis(3));
    assert!(
        beside <= bound,
        "median {beside:?} beside a spinning guest vs {alone:?} alone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_concurrency_serves_without_cold_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = server(dir.path(), Settings::default()).await;
    let (status, _, published) = live
        .call("POST", "/2015-03-31/functions/counter/versions", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    let path = "/2019-09-30/functions/counter/provisioned-concurrency";
    let put = |qualifier: &str, n: u32| {
        let uri = format!("{path}?Qualifier={qualifier}");
        let live = &live;
        async move {
            live.call("PUT", &uri, Some(json!({ "ProvisionedConcurrentExecutions": n })))
                .await
        }
    };
    let (status, error, body) = put("$LATEST", 1).await;
    assert_eq!(
        (status, error.as_deref()),
        (StatusCode::BAD_REQUEST, Some("InvalidParameterValueException")),
        "{body}"
    );
    let (status, _, body) = put("1", 3).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["RequestedProvisionedConcurrentExecutions"], 3);
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready = loop {
        let (_, _, config) = live.call("GET", &format!("{path}?Qualifier=1"), None).await;
        if config["Status"] == "READY" {
            break config;
        }
        assert_ne!(config["Status"], "FAILED", "{config}");
        assert!(Instant::now() < deadline, "never READY: {config}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready["AllocatedProvisionedConcurrentExecutions"], 3, "{ready}");
    assert_eq!(ready["AvailableProvisionedConcurrentExecutions"], 3, "{ready}");
    // Three at once land on the three provisioned environments: no Init in their REPORTs.
    let calls = (0..4).map(|_| invoke(&live, "counter:1", json!({ "sleep_ms": 300 })));
    let answers = futures::future::join_all(calls).await;
    let provisioned: Vec<_> = answers
        .iter()
        .filter(|a| a.body["initializationType"] == "provisioned-concurrency")
        .collect();
    assert_eq!(
        provisioned.len(),
        3,
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    assert!(
        provisioned.iter().all(|a| !a.cold()),
        "provisioned environments were initialised ahead"
    );
    // The fourth spills over to an on-demand environment: a cold start.
    let spilled: Vec<_> = answers
        .iter()
        .filter(|a| a.body["initializationType"] == "on-demand")
        .collect();
    assert_eq!(spilled.len(), 1);
    assert!(spilled[0].cold(), "{}", spilled[0].log);
    let (_, _, listed) = live.call("GET", &format!("{path}?List=ALL"), None).await;
    assert_eq!(
        listed["ProvisionedConcurrencyConfigs"][0]["FunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:counter:1"
    );
    let (status, _, _) = live.call("DELETE", &format!("{path}?Qualifier=1"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error, _) = live.call("GET", &format!("{path}?Qualifier=1"), None).await;
    assert_eq!(
        (status, error.as_deref()),
        (
            StatusCode::NOT_FOUND,
            Some("ProvisionedConcurrencyConfigNotFoundException")
        )
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool(&live, "counter", "1").await["provisionedReady"] != 0 {
        assert!(
            Instant::now() < deadline,
            "provisioned environments outlived their config"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_init_is_reported_to_the_caller_and_in_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = serve_with(dir.path(), Settings::default()).await;
    live.deploy(
        "broken",
        "counter",
        json!({ "Environment": { "Variables": { "FAIL_INIT": "1" } } }),
    )
    .await;
    let answered = invoke(&live, "broken", json!({})).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(answered.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(
        answered.body["errorType"], "CounterInitError",
        "{}",
        answered.body
    );
    assert!(
        answered.log.contains("INIT_REPORT Init Duration:"),
        "{}",
        answered.log
    );
    assert!(answered.log.contains("Status: error"), "{}", answered.log);
    // Provisioned concurrency on it fails, and says why.
    let (status, _, _) = live
        .call("POST", "/2015-03-31/functions/broken/versions", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = "/2019-09-30/functions/broken/provisioned-concurrency?Qualifier=1";
    let (status, _, _) = live
        .call("PUT", path, Some(json!({ "ProvisionedConcurrentExecutions": 1 })))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, _, config) = live.call("GET", path, None).await;
        if config["Status"] == "FAILED" {
            assert!(
                config["StatusReason"]
                    .as_str()
                    .is_some_and(|r| r.contains("CounterInitError")),
                "{config}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never FAILED: {config}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snap_start_version_answers_its_first_call_without_init() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = serve_with(dir.path(), Settings::default()).await;
    let snap_start = json!({ "SnapStart": { "ApplyOn": "PublishedVersions" } });
    live.deploy("heavy", "init-heavy", snap_start).await;
    let (status, _, published) = live
        .call("POST", "/2015-03-31/functions/heavy/versions", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    assert_eq!(published["SnapStart"]["OptimizationStatus"], "On", "{published}");
    assert_eq!(
        (published["State"].clone(), published["StateReasonCode"].clone()),
        (json!("Pending"), json!("Creating"))
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, _, config) = live
            .call(
                "GET",
                "/2015-03-31/functions/heavy/configuration?Qualifier=1",
                None,
            )
            .await;
        if config["State"] == "Active" {
            break;
        }
        assert_eq!(config["State"], "Pending", "{config}");
        assert!(Instant::now() < deadline, "the snapshot never finished: {config}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    let first = invoke(&live, "heavy:1", json!({ "index": 3 })).await;
    let latency = started.elapsed();
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(first.body["value"].is_u64(), "{}", first.body);
    assert!(
        !first.cold(),
        "restored from the snapshot: no Init Duration: {}",
        first.log
    );
    assert!(
        first.log.starts_with("RESTORE_START Runtime Version: ")
            && first.log.contains("\tRestore Duration: ")
            && first.log.contains(" ms\tBilled Restore Duration: "),
        "a restored environment's first call reports the restore: {}",
        first.log
    );
    assert!(
        latency < Duration::from_millis(100),
        "first call took {latency:?} (Init alone is ~200 ms)"
    );
    let warm = invoke(&live, "heavy:1", json!({ "index": 4 })).await;
    assert!(!warm.log.contains("Restore Duration"), "{}", warm.log);
    // $LATEST has no snapshot: its first call pays Init.
    let latest = invoke(&live, "heavy", json!({ "index": 3 })).await;
    assert!(latest.cold(), "{}", latest.log);
}
