//! Invocation latency of the `hello` example, and wasmtime's own floor beside it:
//! - `cold_invocation/hello`: a new execution environment from the function's cached InstancePre,
//!   Init, one invocation, and the environment's teardown;
//! - `warm_invocation/hello`: one more invocation on an environment that is already running;
//! - `cold_invocation/floor`, `warm_invocation/floor`: the same on the same engine through bare
//!   wasmtime (`lambkin_sandbox::floor`: InstancePre → instantiate → init → handle, no lambkin
//!   code). Before the benchmarks, lambkin's figures as multiples of the floor's, from rounds
//!   that alternate the two, are printed as `cold start vs floor: …x` and `warm invoke vs floor: …x`.
//!
//! Run: `cargo bench -p lambkin-host --bench invoke`

#[path = "support/paired.rs"]
mod paired;
#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use lambkin_sandbox::floor::Floor;
use lambkin_sandbox::{ExecutionEnvironment, FunctionSpec, InvokeRequest, Sandbox, SandboxConfig};
use std::time::Instant;

const EVENT: &[u8] = br#"{"name":"bench"}"#;

fn request() -> InvokeRequest {
    InvokeRequest {
        payload: bytes::Bytes::from_static(EVENT),
        request_id: Some("bench".to_string()),
        trace_id: Some("Root=1-00000000-000000000000000000000000".to_string()),
        ..InvokeRequest::default()
    }
}

/// Nanoseconds per iteration of `count` runs of `f`.
fn per_iteration(count: u32, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..count {
        f();
    }
    started.elapsed().as_nanos() as f64 / f64::from(count)
}

fn invocation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cache = std::env::temp_dir().join("lambkin-bench-compiled");
    let sandbox = Sandbox::new(SandboxConfig {
        compile_cache_dir: Some(cache),
        environments_dir: None,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    let code = sandbox
        .load(&support::example_bytes("hello"))
        .expect("hello compiles");
    let hello = sandbox
        .prepare(&code, FunctionSpec::new("hello", "us-east-1", "000000000000"))
        .expect("hello links");
    let floor = Floor::new(&sandbox, &code).expect("hello links bare");
    eprintln!("pooling allocator: {}", sandbox.uses_pooling_allocator());

    let lambkin_cold = || async {
        let Ok(mut env) = ExecutionEnvironment::start(&hello).await else {
            panic!("init failed")
        };
        let invocation = env.invoke(request()).await;
        assert!(invocation.result.is_ok());
    };
    let floor_cold = || async {
        let mut instance = floor.start().await.expect("floor init");
        instance.call(EVENT, "bench").await.expect("floor handle");
    };
    let Ok(mut env) = runtime.block_on(ExecutionEnvironment::start(&hello)) else {
        panic!("init failed")
    };
    let mut instance = runtime.block_on(floor.start()).expect("floor init");

    let cold = paired::paired(
        15,
        || per_iteration(2000, || runtime.block_on(lambkin_cold())),
        || per_iteration(2000, || runtime.block_on(floor_cold())),
    );
    eprintln!(
        "cold start vs floor: {cold}; medians {:.1} µs and {:.1} µs",
        cold.median_a / 1e3,
        cold.median_b / 1e3
    );
    let warm = paired::paired(
        15,
        || {
            per_iteration(20_000, || {
                assert!(runtime.block_on(env.invoke(request())).result.is_ok())
            })
        },
        || {
            per_iteration(20_000, || {
                runtime
                    .block_on(instance.call(EVENT, "bench"))
                    .expect("floor handle");
            })
        },
    );
    eprintln!(
        "warm invoke vs floor: {warm}; medians {:.2} µs and {:.2} µs",
        warm.median_a / 1e3,
        warm.median_b / 1e3
    );

    c.bench_function("cold_invocation/hello", |b| {
        b.iter(|| runtime.block_on(lambkin_cold()))
    });
    c.bench_function("cold_invocation/floor", |b| {
        b.iter(|| runtime.block_on(floor_cold()))
    });
    c.bench_function("warm_invocation/hello", |b| {
        b.iter(|| {
            let invocation = runtime.block_on(env.invoke(request()));
            assert!(invocation.result.is_ok());
        })
    });
    c.bench_function("warm_invocation/floor", |b| {
        b.iter(|| {
            runtime
                .block_on(instance.call(EVENT, "bench"))
                .expect("floor handle")
        })
    });
}

criterion_group!(benches, invocation);
criterion_main!(benches);
