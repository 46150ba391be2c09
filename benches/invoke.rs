//! Invocation latency of the `hello` example:
//! - `cold_invocation/hello`: a new execution environment from the function's cached InstancePre,
//!   Init, one invocation, and the environment's teardown;
//! - `warm_invocation/hello`: one more invocation on an environment that is already running.
//!
//! Run: `cargo bench -p lambkin-host --bench invoke`

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use lambkin_sandbox::{ExecutionEnvironment, FunctionSpec, InvokeRequest, Sandbox, SandboxConfig};

fn request() -> InvokeRequest {
    InvokeRequest {
        payload: bytes::Bytes::from_static(br#"{"name":"bench"}"#),
        request_id: Some("bench".to_string()),
        trace_id: Some("Root=1-00000000-000000000000000000000000".to_string()),
        ..InvokeRequest::default()
    }
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
    eprintln!("pooling allocator: {}", sandbox.uses_pooling_allocator());

    c.bench_function("cold_invocation/hello", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let Ok(mut env) = ExecutionEnvironment::start(&hello).await else {
                    panic!("init failed")
                };
                let invocation = env.invoke(request()).await;
                assert!(invocation.result.is_ok());
            })
        })
    });

    let Ok(mut env) = runtime.block_on(ExecutionEnvironment::start(&hello)) else {
        panic!("init failed")
    };
    c.bench_function("warm_invocation/hello", |b| {
        b.iter(|| {
            let invocation = runtime.block_on(env.invoke(request()));
            assert!(invocation.result.is_ok());
        })
    });
}

criterion_group!(benches, invocation);
criterion_main!(benches);
