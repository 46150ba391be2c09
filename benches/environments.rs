//! Execution environments (issue #5's figures):
//! - `cold_start/init-heavy/{on-demand,snap-start}`: a new environment of `init-heavy` (Init
//!   builds a table for ~200 ms) plus one invocation, without and with a SnapStart snapshot;
//! - `cold_start/hello/snap-start`: the same for `hello` restored from its snapshot;
//! - `fresh_environments/{1,2}_threads`: 256 cold starts of `hello` (start, invoke, drop) by four
//!   tasks per worker of a tokio runtime with one or two worker threads — how cold starts scale
//!   with cores;
//! - before the benchmarks, the resident memory one idle `hello` environment adds (RSS growth
//!   over 500 idle environments, divided by 500), printed as `idle environment: … KiB`.
//!
//! Run: `cargo bench -p lambkin-host --bench environments`

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lambkin_host::sandbox::{
    ExecutionEnvironment, FunctionSpec, Initialization, InvokeRequest, PreparedFunction, Sandbox,
    SandboxConfig,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn request() -> InvokeRequest {
    InvokeRequest {
        payload: bytes::Bytes::from_static(br#"{"name":"bench","index":7}"#),
        request_id: Some("bench".to_string()),
        trace_id: Some("Root=1-00000000-000000000000000000000000".to_string()),
        ..InvokeRequest::default()
    }
}

fn prepare(sandbox: &Sandbox, wasm: &[u8], example: &str, restored: bool) -> Arc<PreparedFunction> {
    let code = sandbox.load(wasm).expect("compiles");
    let mut spec = FunctionSpec::new(example, "us-east-1", "000000000000");
    spec.restored = restored;
    sandbox.prepare(&code, spec).expect("links")
}

/// The function as published with SnapStart: Init run once, the snapshot prepared.
fn snapshot(runtime: &tokio::runtime::Runtime, sandbox: &Sandbox, example: &str) -> Arc<PreparedFunction> {
    let spec = FunctionSpec::new(example, "us-east-1", "000000000000");
    let wasm = runtime
        .block_on(sandbox.snapshot(&support::example_bytes(example), spec))
        .expect("snapshot");
    prepare(sandbox, &wasm, example, true)
}

async fn cold_start(function: &Arc<PreparedFunction>, kind: Initialization) {
    let Ok(mut env) = ExecutionEnvironment::start_as(function, kind).await else {
        panic!("start failed")
    };
    let invocation = env.invoke(request()).await;
    assert!(invocation.result.is_ok(), "{:?}", invocation.result);
}

/// Resident set size of this process, in bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn environments(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let sandbox = Sandbox::new(SandboxConfig {
        compile_cache_dir: Some(std::env::temp_dir().join("lambkin-bench-compiled")),
        environments_dir: None,
    })
    .expect("sandbox");
    eprintln!("pooling allocator: {}", sandbox.uses_pooling_allocator());
    let hello = prepare(&sandbox, &support::example_bytes("hello"), "hello", false);
    let heavy = prepare(
        &sandbox,
        &support::example_bytes("init-heavy"),
        "init-heavy",
        false,
    );
    let heavy_snapshot = snapshot(&runtime, &sandbox, "init-heavy");
    let hello_snapshot = snapshot(&runtime, &sandbox, "hello");

    // Memory: idle environments that each served one invocation, as a warm pool holds them.
    let idle_count = 500;
    runtime.block_on(cold_start(&hello, Initialization::OnDemand));
    let before = rss_bytes();
    let idle: Vec<ExecutionEnvironment> = runtime.block_on(async {
        let mut idle = Vec::new();
        for _ in 0..idle_count {
            let Ok(mut env) = ExecutionEnvironment::start(&hello).await else {
                panic!("start failed")
            };
            assert!(env.invoke(request()).await.result.is_ok());
            idle.push(env);
        }
        idle
    });
    let per_environment = rss_bytes().saturating_sub(before) / idle_count as u64;
    eprintln!(
        "idle environment: {:.1} KiB resident beyond the shared code ({idle_count} idle hello environments)",
        per_environment as f64 / 1024.0
    );
    drop(idle);

    let mut group = c.benchmark_group("cold_start");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.bench_function("init-heavy/on-demand", |b| {
        b.iter(|| runtime.block_on(cold_start(&heavy, Initialization::OnDemand)))
    });
    group.finish();
    let mut group = c.benchmark_group("cold_start");
    group.bench_function("init-heavy/snap-start", |b| {
        b.iter(|| runtime.block_on(cold_start(&heavy_snapshot, Initialization::SnapStart)))
    });
    group.bench_function("hello/snap-start", |b| {
        b.iter(|| runtime.block_on(cold_start(&hello_snapshot, Initialization::SnapStart)))
    });
    group.finish();

    let batch = 256u64;
    let mut group = c.benchmark_group("fresh_environments");
    group.throughput(Throughput::Elements(batch));
    for threads in [1usize, 2] {
        let pool = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("tokio runtime");
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|iterations| {
                let started = Instant::now();
                for _ in 0..iterations {
                    pool.block_on(async {
                        // Four tasks per worker, each starting its share of environments one
                        // after another: the workers do the cold starts, not task bookkeeping.
                        let tasks = 4 * threads as u64;
                        let handles: Vec<_> = (0..tasks)
                            .map(|_| {
                                let hello = hello.clone();
                                tokio::spawn(async move {
                                    for _ in 0..batch / tasks {
                                        cold_start(&hello, Initialization::OnDemand).await;
                                    }
                                })
                            })
                            .collect();
                        for handle in handles {
                            handle.await.expect("cold start task");
                        }
                    });
                }
                started.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, environments);
criterion_main!(benches);
