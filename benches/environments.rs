//! Execution environments (issue #5's figures):
//! - `cold_start/init-heavy/{on-demand,snap-start}`: a new environment of `init-heavy` (Init
//!   builds a table for ~200 ms) plus one invocation, without and with a SnapStart snapshot;
//! - `cold_start/hello/snap-start`: the same for `hello` restored from its snapshot;
//! - `fresh_environments/{1,2}_threads`: 1024 cold starts of `hello` (start, invoke, drop) taken
//!   one at a time by four tasks per worker of a tokio runtime with one or two worker threads —
//!   how cold starts scale with cores; before them, the median ratio of paired 1- and 2-worker
//!   rounds is printed as `fresh environments, 2 vs 1 workers: …x`;
//! - `fresh_environments/floor_{1,2}_threads`: the same cold starts through bare wasmtime on the
//!   same engine (`lambkin_sandbox::floor`), and before them lambkin's figure as a multiple of
//!   the floor's, from alternating rounds: `fresh environments vs floor, N workers: …x`;
//! - before the benchmarks, the resident memory one idle `hello` environment adds (RSS growth
//!   over 500 idle environments, divided by 500), printed as `idle environment: … KiB`.
//!
//! Each part gets its own `Sandbox` (engine and pooling allocator), so no part starts from the
//! slots another left behind: after the 500 idle environments and `init-heavy`'s cold starts on
//! the same engine, the 2-worker figure was ~15% lower (README, Benchmarks).
//!
//! Run: `cargo bench -p lambkin-host --bench environments`

#[path = "support/paired.rs"]
mod paired;
#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lambkin_sandbox::floor::Floor;
use lambkin_sandbox::{
    ExecutionEnvironment, FunctionSpec, Initialization, InvokeRequest, PreparedFunction, Sandbox,
    SandboxConfig,
};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
        .block_on(sandbox.snapshot(support::example_bytes(example).into(), spec))
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

fn new_sandbox() -> Sandbox {
    let sandbox = Sandbox::new(SandboxConfig {
        compile_cache_dir: Some(std::env::temp_dir().join("lambkin-bench-compiled")),
        environments_dir: None,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    assert!(
        sandbox.uses_pooling_allocator(),
        "benchmarks assume the pooling allocator"
    );
    sandbox
}

fn environments(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    // Memory: idle environments that each served one invocation, as a warm pool holds them.
    let burst_sandbox = new_sandbox();
    let hello_wasm = support::example_bytes("hello");
    let hello = prepare(&burst_sandbox, &hello_wasm, "hello", false);
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

    let sandbox = new_sandbox();
    let heavy = prepare(
        &sandbox,
        &support::example_bytes("init-heavy"),
        "init-heavy",
        false,
    );
    let heavy_snapshot = snapshot(&runtime, &sandbox, "init-heavy");
    let hello_snapshot = snapshot(&runtime, &sandbox, "hello");
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

    drop((
        heavy,
        heavy_snapshot,
        hello_snapshot,
        sandbox,
        hello,
        burst_sandbox,
    ));
    let sandbox = new_sandbox();
    let hello = prepare(&sandbox, &hello_wasm, "hello", false);
    let floor =
        Arc::new(Floor::new(&sandbox, &sandbox.load(&hello_wasm).expect("compiles")).expect("links bare"));
    let pools = [1usize, 2].map(|threads| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("tokio runtime");
        (threads, runtime)
    });
    let lambkin = {
        let hello = hello.clone();
        move || {
            let hello = hello.clone();
            async move { cold_start(&hello, Initialization::OnDemand).await }
        }
    };
    let bare = move || {
        let floor = floor.clone();
        async move {
            let mut instance = floor.start().await.expect("floor init");
            instance
                .call(br#"{"name":"bench","index":7}"#, "bench")
                .await
                .expect("floor handle");
        }
    };
    const ROUNDS: usize = 15;
    const COUNT: u64 = 16_384;
    type Batch<'a> = &'a dyn Fn(&tokio::runtime::Runtime, usize, u64);
    let rate = |(threads, pool): &(usize, tokio::runtime::Runtime), start: Batch| {
        let started = Instant::now();
        start(pool, *threads, COUNT);
        COUNT as f64 / started.elapsed().as_secs_f64()
    };
    let lambkin_batch = |pool: &tokio::runtime::Runtime, threads, count| {
        fresh_environments(pool, threads, count, lambkin.clone())
    };
    let floor_batch = |pool: &tokio::runtime::Runtime, threads, count| {
        fresh_environments(pool, threads, count, bare.clone())
    };
    let scaling = paired::paired(
        ROUNDS,
        || rate(&pools[1], &lambkin_batch),
        || rate(&pools[0], &lambkin_batch),
    );
    eprintln!(
        "fresh environments, 2 vs 1 workers: {scaling}; medians {:.0}/s and {:.0}/s",
        scaling.median_b, scaling.median_a
    );
    for pool in &pools {
        // Rates: the floor's over lambkin's is lambkin's time as a multiple of the floor's.
        let vs_floor = paired::paired(ROUNDS, || rate(pool, &floor_batch), || rate(pool, &lambkin_batch));
        eprintln!(
            "fresh environments vs floor, {} workers: {vs_floor}; medians {:.0}/s (lambkin) and {:.0}/s (floor)",
            pool.0, vs_floor.median_b, vs_floor.median_a
        );
    }

    let batch = 1024u64;
    let mut group = c.benchmark_group("fresh_environments");
    group.throughput(Throughput::Elements(batch));
    for (name, start) in [("", &lambkin_batch as Batch), ("floor_", &floor_batch)] {
        for (threads, pool) in &pools {
            group.bench_function(format!("{name}{threads}_threads"), |b| {
                b.iter_custom(|iterations| {
                    let started = Instant::now();
                    for _ in 0..iterations {
                        start(pool, *threads, batch);
                    }
                    started.elapsed()
                })
            });
        }
    }
    group.finish();
}

/// `count` cold starts by `start` on `pool`. Four tasks per worker take the next cold start
/// from one shared counter until all are done: a worker never idles while another still has a
/// share queued (cold starts of `hello` don't yield, so a fixed share per task would leave one
/// worker finishing a task on its own at the end).
fn fresh_environments<F, Fut>(pool: &tokio::runtime::Runtime, threads: usize, count: u64, start: F)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    pool.block_on(async {
        let handles: Vec<_> = (0..4 * threads)
            .map(|_| {
                let (start, next) = (start.clone(), next.clone());
                tokio::spawn(async move {
                    while next.fetch_add(1, Ordering::Relaxed) < count {
                        start().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("cold start task");
        }
    });
}

criterion_group!(benches, environments);
criterion_main!(benches);
