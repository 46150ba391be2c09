//! A guest's outgoing HTTP GET against native Rust's, interleaved in one run: a loopback HTTP
//! server (axum) answers `GET /` with 2 bytes, and each round times, per request,
//! - `guest GET`: a warm invocation of `examples/fetch` doing the GET through wasi:http under
//!   an egress profile (a new connection per request, as the guest's client makes);
//! - `guest no-op`: a warm invocation of `examples/hello` (the invocation's own cost);
//! - `reqwest GET, new connection`: reqwest with connection reuse off (the same work);
//! - `reqwest GET, pooled`: reqwest reusing its connection (for scale).
//!
//! Run: `cargo bench -p lambkin-host --bench egress` (`EGRESS_BENCH_ROUNDS`, default 15, of 200
//! requests each). The figure is each variant's median per-request time over the rounds.

#[path = "../tests/support/mod.rs"]
mod support;

use lambkin_egress::Policy;
use lambkin_sandbox::{ExecutionEnvironment, FunctionSpec, InvokeRequest, Sandbox, SandboxConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PER_ROUND: u32 = 200;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    runtime.spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://127.0.0.1:{port}/");

    let policy = Policy::parse(
        &format!("[profiles.bench]\nhttp = [\"http://127.0.0.1:{port}\"]\n"),
        std::path::Path::new("."),
    )
    .expect("policy");
    let sandbox = Sandbox::new(SandboxConfig {
        compile_cache_dir: Some(std::env::temp_dir().join("lambkin-bench-compiled")),
        egress_policy: Arc::new(policy),
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    let prepare = |example: &str, egress: Option<&str>| {
        let code = sandbox.load(&support::example_bytes(example)).expect("compiles");
        let mut spec = FunctionSpec::new(example, "us-east-1", "000000000000");
        spec.egress_profile = egress.map(str::to_string);
        sandbox.prepare(&code, spec).expect("links")
    };
    let fetch = prepare("fetch", Some("bench"));
    let hello = prepare("hello", None);
    let start = |function| {
        runtime
            .block_on(ExecutionEnvironment::start(function))
            .unwrap_or_else(|failure| panic!("Init failed: {}", failure.log))
    };
    let mut fetch_env = start(&fetch);
    let mut hello_env = start(&hello);
    let get_payload = bytes::Bytes::from(serde_json::json!({ "url": url }).to_string());
    let request = |payload: &bytes::Bytes| InvokeRequest {
        payload: payload.clone(),
        request_id: Some("bench".into()),
        trace_id: Some("Root=1-00000000-000000000000000000000000".into()),
        ..InvokeRequest::default()
    };
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let pooled = reqwest::Client::new();

    let rounds: usize = std::env::var("EGRESS_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let names = [
        "guest GET",
        "guest no-op",
        "reqwest GET, new connection",
        "reqwest GET, pooled",
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let hello_payload = bytes::Bytes::from_static(br#"{"name":"bench"}"#);
    for round in 0..=rounds {
        let mut timed = [Duration::ZERO; 4];
        let started = Instant::now();
        for i in 0..PER_ROUND {
            let invocation = runtime.block_on(fetch_env.invoke(request(&get_payload)));
            assert!(
                invocation.result.is_ok(),
                "round {round} call {i}: {:?} {}",
                invocation.result,
                invocation.log
            );
        }
        timed[0] = started.elapsed();
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            let invocation = runtime.block_on(hello_env.invoke(request(&hello_payload)));
            assert!(invocation.result.is_ok());
        }
        timed[1] = started.elapsed();
        for (slot, client) in [(2, &fresh), (3, &pooled)] {
            let started = Instant::now();
            for _ in 0..PER_ROUND {
                let body = runtime.block_on(async { client.get(&url).send().await?.bytes().await });
                assert_eq!(body.expect("GET").as_ref(), b"ok");
            }
            timed[slot] = started.elapsed();
        }
        // The first round warms every path up and is not counted.
        if round > 0 {
            for (all, t) in samples.iter_mut().zip(timed) {
                all.push(t / PER_ROUND);
            }
        }
    }
    let median = |all: &mut Vec<Duration>| {
        all.sort();
        all[all.len() / 2]
    };
    let medians: Vec<Duration> = samples.iter_mut().map(median).collect();
    println!("{rounds} interleaved rounds of {PER_ROUND} requests; median per request:");
    for (name, m) in names.iter().zip(&medians) {
        println!("  {name:<30} {:>8.1} µs", m.as_secs_f64() * 1e6);
    }
    let guest = medians[0].as_secs_f64() * 1e6;
    for (label, native) in [("new connection each", medians[2]), ("pooled", medians[3])] {
        let native = native.as_secs_f64() * 1e6;
        let target = 2.0 * native + 100.0;
        let verdict = if guest <= target { "met" } else { "missed" };
        println!(
            "guest GET / native GET ({label}): {:.2}x; target guest <= 2 x native + 100 µs = {target:.1} µs: {verdict}",
            guest / native
        );
    }
}
