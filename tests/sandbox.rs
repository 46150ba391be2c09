//! The sandbox driven with real components built from examples/: Lambda's semantics and limits.

mod support;

use lambkin_sandbox::{
    ExecutionEnvironment, FunctionSpec, Initialization, Invocation, InvokeRequest, PreparedFunction, Sandbox,
    SandboxConfig, SandboxError, Streamed,
};
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// One sandbox (one engine, one epoch ticker) for the whole test binary, as in the server.
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        Sandbox::new(SandboxConfig {
            compile_cache_dir: Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("compiled")),
            environments_dir: None,
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    })
}

fn function(example: &str, configure: impl FnOnce(&mut FunctionSpec)) -> Arc<PreparedFunction> {
    let code = sandbox()
        .load(&support::example_bytes(example))
        .expect("example compiles");
    let mut spec = FunctionSpec::new(example, "eu-west-1", "123456789012");
    configure(&mut spec);
    sandbox().prepare(&code, spec).expect("example links")
}

async fn start(function: &Arc<PreparedFunction>) -> ExecutionEnvironment {
    match ExecutionEnvironment::start(function).await {
        Ok(env) => env,
        Err(failure) => panic!("init failed: {:?}\n{}", failure.error, failure.log),
    }
}

async fn invoke(env: &mut ExecutionEnvironment, payload: Value) -> Invocation {
    env.invoke(InvokeRequest {
        payload: serde_json::to_vec(&payload).expect("json").into(),
        ..InvokeRequest::default()
    })
    .await
}

fn body(invocation: &Invocation) -> Value {
    match &invocation.result {
        Ok(body) => serde_json::from_slice(body).expect("response is JSON"),
        Err(e) => panic!("unexpected function error {e:?}\n{}", invocation.log),
    }
}

#[tokio::test]
async fn hello_round_trips_and_logs_in_lambdas_format() {
    let hello = function("hello", |_| {});
    let mut env = start(&hello).await;

    let first = invoke(&mut env, json!({"name": "Ada"})).await;
    assert_eq!(body(&first), json!({"message": "Hello, Ada!"}));
    let id = &first.request_id;
    assert!(
        first.log.starts_with("INIT_START Runtime Version: lambkin:"),
        "{}",
        first.log
    );
    assert!(
        first
            .log
            .contains(&format!("START RequestId: {id} Version: $LATEST\n"))
    );
    assert!(first.log.contains(&format!("END RequestId: {id}\n")));
    let report = first.log.lines().last().expect("a REPORT line");
    assert!(
        report.starts_with(&format!("REPORT RequestId: {id}\tDuration: ")),
        "{report}"
    );
    assert!(
        report.contains("\tBilled Duration: ") && report.contains("\tMemory Size: 128 MB\tMax Memory Used: ")
    );
    assert!(
        report.contains("\tInit Duration: "),
        "a cold start reports Init: {report}"
    );

    // The same environment again: a warm start, no Init.
    let second = invoke(&mut env, json!({})).await;
    assert_eq!(body(&second), json!({"message": "Hello, world!"}));
    assert!(second.report.init_duration.is_none());
    assert!(!second.log.contains("Init Duration") && !second.log.contains("INIT_START"));
}

#[tokio::test]
async fn echo_sees_the_invocation_context() {
    let echo = function("echo", |spec| {
        spec.memory_mb = 256;
        spec.timeout = Duration::from_secs(7);
    });
    let mut env = start(&echo).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let invocation = env
        .invoke(InvokeRequest {
            payload: br#"{"k":[1,2,3]}"#.to_vec().into(),
            request_id: Some("req-42".into()),
            invoked_function_arn: Some("arn:aws:lambda:eu-west-1:123456789012:function:echo:live".into()),
            client_context: Some(r#"{"custom":{"a":"b"}}"#.into()),
            trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into()),
            stream: None,
        })
        .await;
    let out = body(&invocation);
    assert_eq!(out["event"], json!({"k": [1, 2, 3]}));
    let ctx = &out["context"];
    assert_eq!(ctx["requestId"], "req-42");
    assert_eq!(invocation.request_id, "req-42");
    assert_eq!(ctx["functionName"], "echo");
    assert_eq!(ctx["functionVersion"], "$LATEST");
    assert_eq!(ctx["memoryLimitMb"], 256);
    assert_eq!(
        ctx["invokedFunctionArn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:echo:live"
    );
    assert_eq!(ctx["clientContext"], r#"{"custom":{"a":"b"}}"#);
    assert_eq!(
        ctx["xrayTraceId"],
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    );
    assert_eq!(ctx["logGroupName"], "/aws/lambda/echo");
    let deadline = ctx["deadlineMs"].as_u64().expect("deadline");
    assert!(
        deadline >= before + 6_900 && deadline <= before + 8_000,
        "deadline {deadline} vs now {before}"
    );
    assert_eq!(
        ctx["logStreamName"],
        out["environment"]["AWS_LAMBDA_LOG_STREAM_NAME"]
    );
}

#[tokio::test]
async fn reserved_environment_variables_are_present() {
    let echo = function("echo", |spec| {
        spec.memory_mb = 512;
        spec.environment.insert("GREETING".into(), "bonjour".into());
    });
    let mut env = start(&echo).await;
    let vars = body(&invoke(&mut env, json!({})).await)["environment"].clone();
    assert_eq!(vars["GREETING"], "bonjour");
    assert_eq!(vars["AWS_LAMBDA_FUNCTION_NAME"], "echo");
    assert_eq!(vars["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "512");
    assert_eq!(vars["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(vars["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert_eq!(vars["AWS_REGION"], "eu-west-1");
    assert_eq!(vars["AWS_DEFAULT_REGION"], "eu-west-1");
    assert_eq!(vars["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/echo");
    assert_eq!(vars["_HANDLER"], "echo");
    assert_eq!(vars["TZ"], ":UTC");
    assert_eq!(vars["LANG"], "en_US.UTF-8");
    assert!(
        vars["AWS_LAMBDA_LOG_STREAM_NAME"]
            .as_str()
            .is_some_and(|s| s.contains("[$LATEST]"))
    );
    // Nothing of the host's own environment leaks in.
    assert!(
        vars.get("HOME").is_none() && vars.get("CARGO").is_none(),
        "{vars}"
    );
}

#[tokio::test]
async fn a_handled_error_keeps_its_type_and_the_environment() {
    let fail = function("fail", |_| {});
    let mut env = start(&fail).await;
    let invocation = invoke(&mut env, json!({})).await;
    let error = invocation.result.expect_err("fail fails");
    assert_eq!(error.error_type, "InvalidInputError");
    assert_eq!(error.error_message, "the event was refused on purpose");
    assert!(
        invocation.log.contains("about to fail on purpose\n"),
        "stdout is in the log"
    );
    assert!(
        env.is_reusable(),
        "a handled error does not reset the environment"
    );
}

#[tokio::test]
async fn a_panic_is_an_exit_error_the_caller_sees_and_the_host_survives() {
    let panic = function("panic", |_| {});
    let mut env = start(&panic).await;
    let error = invoke(&mut env, json!({})).await.result.expect_err("panic fails");
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(
        error.error_message.contains("the function panicked on purpose"),
        "{}",
        error.error_message
    );
    assert!(!env.is_reusable(), "a crash resets the environment");
    let again = invoke(&mut env, json!({}))
        .await
        .result
        .expect_err("never runs again");
    assert!(
        again.error_message.ends_with("reset by an earlier error"),
        "{}",
        again.error_message
    );

    let mut fresh = start(&panic).await;
    let error = invoke(&mut fresh, json!({"how": "overflow"}))
        .await
        .result
        .expect_err("overflow fails");
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(
        error
            .error_message
            .ends_with("Runtime exited with error: stack overflow"),
        "{}",
        error.error_message
    );
}

#[tokio::test]
async fn spin_is_stopped_at_its_timeout() {
    let spin = function("spin", |spec| spec.timeout = Duration::from_secs(1));
    let mut env = start(&spin).await;
    let started = Instant::now();
    let invocation = invoke(&mut env, json!({})).await;
    let elapsed = started.elapsed();
    let error = invocation.result.expect_err("spin never returns");
    assert_eq!(error.error_type, "Sandbox.Timedout");
    assert_eq!(
        error.error_message,
        format!(
            "RequestId: {} Error: Task timed out after 1.00 seconds",
            invocation.request_id
        )
    );
    assert!(elapsed >= Duration::from_secs(1), "stopped early: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1200), "stopped late: {elapsed:?}");
    assert!(!env.is_reusable());
}

#[tokio::test]
async fn hog_runs_out_of_memory_and_a_fresh_environment_works() {
    let hog = function("hog", |spec| spec.memory_mb = 128);
    let mut env = start(&hog).await;
    let invocation = invoke(&mut env, json!({})).await;
    let error = invocation.result.as_ref().expect_err("hog exceeds 128 MB");
    assert_eq!(error.error_type, "Runtime.OutOfMemory");
    assert!(
        invocation.report.max_memory_used_mb <= 128,
        "{:?}",
        invocation.report
    );
    assert!(
        invocation.report.max_memory_used_mb >= 100,
        "{:?}",
        invocation.report
    );
    assert!(!env.is_reusable());

    let mut fresh = start(&hog).await;
    let ok = invoke(&mut fresh, json!({"mb": 16})).await;
    assert_eq!(body(&ok), json!({"allocated_mb": 16}));
}

#[tokio::test]
async fn tmp_is_capped_at_ephemeral_storage() {
    let tmp = function("tmp", |spec| spec.ephemeral_storage_mb = 1);
    let mut env = start(&tmp).await;
    let out = body(&invoke(&mut env, json!({"fill_bytes": 3 << 20})).await);
    let written = out["fill"]["written"].as_u64().expect("written");
    assert!(written <= 1 << 20, "wrote {written} bytes into a 1 MB /tmp");
    assert!(written >= 512 << 10, "the cap is 1 MB, not less: {written}");
    assert!(out["fill"]["error"].is_string(), "{out}");

    // With /tmp full, the next file cannot even start: no space left.
    let out = body(&invoke(&mut env, json!({"fill_bytes": 1024, "fill_file": "more.bin"})).await);
    let error = out["fill"]["error"].as_str().expect("refused");
    assert!(error.contains("No space left on device"), "{error}");
    assert!(
        env.is_reusable(),
        "a full /tmp is the guest's problem, not a crash"
    );
}

#[tokio::test]
async fn tmp_persists_within_an_environment_and_never_across() {
    let tmp = function("tmp", |_| {});
    let mut env = start(&tmp).await;
    assert_eq!(
        body(&invoke(&mut env, json!({"leave": "first"})).await)["previous"],
        Value::Null
    );
    assert_eq!(
        body(&invoke(&mut env, json!({"leave": "second"})).await)["previous"],
        "first"
    );
    let mut other = start(&tmp).await;
    assert_eq!(
        body(&invoke(&mut other, json!({})).await)["previous"],
        Value::Null
    );
}

#[tokio::test]
async fn the_guest_sees_no_host_path_outside_tmp() {
    let tmp = function("tmp", |_| {});
    let mut env = start(&tmp).await;
    let host_paths = [
        "/",
        "/etc",
        "/etc/passwd",
        "/proc/self/environ",
        "..",
        "/tmp/..",
        "/tmp/../etc",
        "/home",
        ".",
    ];
    let probe: Vec<&str> = host_paths.iter().copied().chain(["/tmp"]).collect();
    let out = body(&invoke(&mut env, json!({"leave": "x", "probe": probe})).await);
    let probes = out["probes"].as_array().expect("probes");
    for (path, result) in probe.iter().zip(probes) {
        if *path == "/tmp" {
            assert_eq!(
                result["entries"], 1,
                "/tmp is visible and holds the marker: {result}"
            );
        } else {
            assert!(
                result["entries"].is_null() && result["bytes"].is_null(),
                "{path} is visible: {result}"
            );
        }
    }
}

/// Lambda answers a plain Invoke of a streaming function with what it wrote, buffered.
#[tokio::test]
async fn a_stream_invoked_without_a_stream_is_the_buffered_response() {
    let stream = function("stream", |_| {});
    let mut env = start(&stream).await;
    let invocation = env
        .invoke(InvokeRequest {
            payload: br#"{"chunks":3,"pause_ms":0}"#.to_vec().into(),
            ..InvokeRequest::default()
        })
        .await;
    assert_eq!(
        invocation.result.as_deref().expect("answers"),
        b"chunk 0\nchunk 1\nchunk 2\n"
    );
    // The next invocation starts with nothing buffered.
    let again = env
        .invoke(InvokeRequest {
            payload: br#"{"chunks":1,"pause_ms":0}"#.to_vec().into(),
            ..InvokeRequest::default()
        })
        .await;
    assert_eq!(again.result.as_deref().expect("answers"), b"chunk 0\n");
}

#[tokio::test]
async fn stream_chunks_arrive_as_they_are_written() {
    let stream = function("stream", |_| {});
    let mut env = start(&stream).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let receiver = tokio::spawn(async move {
        let mut arrivals = Vec::new();
        while let Some(item) = rx.recv().await {
            if let Streamed::Chunk(chunk) = item {
                arrivals.push((Instant::now(), chunk));
            }
        }
        arrivals
    });
    let invocation = env
        .invoke(InvokeRequest {
            payload: br#"{"chunks":3,"pause_ms":150}"#.to_vec().into(),
            stream: Some(tx),
            ..InvokeRequest::default()
        })
        .await;
    assert_eq!(
        invocation.result.as_deref().expect("streams"),
        b"",
        "everything went to the stream"
    );
    let arrivals = receiver.await.expect("receiver");
    let chunks: Vec<&[u8]> = arrivals.iter().map(|(_, c)| c.as_ref()).collect();
    assert_eq!(chunks, [b"chunk 0\n".as_slice(), b"chunk 1\n", b"chunk 2\n"]);
    for pair in arrivals.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= Duration::from_millis(120),
            "chunks were held back: gap {gap:?}"
        );
    }
}

#[tokio::test]
async fn init_heavy_pays_init_once_per_environment() {
    let heavy = function("init-heavy", |_| {});
    let mut env = start(&heavy).await;
    let first = invoke(&mut env, json!({"index": 5})).await;
    let init = first.report.init_duration.expect("cold start");
    assert!(init >= Duration::from_millis(190), "init took {init:?}");
    let second = invoke(&mut env, json!({"index": 5})).await;
    assert_eq!(body(&first), body(&second));
    assert!(
        second.report.duration < Duration::from_millis(20),
        "{:?}",
        second.report
    );
}

#[test]
fn invalid_wasm_is_refused_with_a_clear_error() {
    let garbage = sandbox().load(b"definitely not wasm").err().expect("refused");
    assert!(matches!(garbage, SandboxError::InvalidCode(_)));
    assert!(
        garbage.to_string().contains("not a WebAssembly binary"),
        "{garbage}"
    );

    // A core module (not a component) with nothing in it.
    let core = sandbox().load(b"\0asm\x01\0\0\0").err().expect("refused");
    assert!(
        core.to_string().starts_with("invalid WebAssembly component"),
        "{core}"
    );

    // A component truncated half way.
    let mut truncated = support::example_bytes("hello");
    truncated.truncate(truncated.len() / 2);
    let error = sandbox().load(&truncated).err().expect("refused");
    assert!(matches!(error, SandboxError::InvalidCode(_)), "{error}");
}

#[tokio::test]
async fn the_guest_cannot_open_sockets() {
    // Something really listens here: only the sandbox stands in the way.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let tmp = function("tmp", |_| {});
    let mut env = start(&tmp).await;
    let out = body(&invoke(&mut env, json!({"connect": [address]})).await);
    for connection in out["connections"].as_array().expect("connections") {
        assert_eq!(connection["connected"], false, "{connection}");
        assert!(connection["error"].is_string(), "{connection}");
    }
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(listener.accept().is_err(), "no connection reached the host");
}

#[tokio::test]
async fn layers_are_mounted_read_only_at_opt() {
    let opt = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(opt.path().join("config")).expect("mkdir");
    std::fs::write(opt.path().join("config/greeting.txt"), b"hello from a layer").expect("write");
    let opt_dir = opt.path().to_path_buf();
    let tmp = function("tmp", move |spec| spec.opt_dir = Some(opt_dir));
    let mut env = start(&tmp).await;
    let out = body(
        &invoke(
            &mut env,
            json!({
                "probe": ["/opt", "/opt/config/greeting.txt", "/opt/.."],
                "create": ["/opt/new.txt", "/opt/config/greeting.txt", "/tmp/ok.txt"],
            }),
        )
        .await,
    );
    let probes = &out["probes"];
    assert_eq!(probes[0]["entries"], 1, "{probes}");
    assert_eq!(probes[1]["bytes"], "hello from a layer".len(), "{probes}");
    assert!(probes[2]["entries"].is_null(), "no way up from /opt: {probes}");
    let created = &out["created"];
    assert_eq!(created[0]["created"], false, "{created}");
    assert_eq!(created[1]["created"], false, "{created}");
    assert_eq!(created[2]["created"], true, "/tmp stays writable: {created}");
    let untouched = std::fs::read(opt.path().join("config/greeting.txt")).expect("read");
    assert_eq!(untouched, b"hello from a layer");
    assert!(!opt.path().join("new.txt").exists());
}

/// A SnapStart snapshot of `example` (Init run once), prepared to restore from.
async fn restored(example: &str, configure: impl FnOnce(&mut FunctionSpec)) -> Arc<PreparedFunction> {
    let mut spec = FunctionSpec::new(example, "eu-west-1", "123456789012");
    configure(&mut spec);
    let snapshot = sandbox()
        .snapshot(support::example_bytes(example).into(), spec.clone())
        .await
        .expect("snapshot");
    spec.restored = true;
    let code = sandbox().load(&snapshot).expect("the snapshot compiles");
    sandbox().prepare(&code, spec).expect("the snapshot links")
}

#[tokio::test]
async fn a_snapshot_restores_what_init_built_without_running_init() {
    let heavy = restored("init-heavy", |_| {}).await;
    let started = Instant::now();
    let mut env = ExecutionEnvironment::start_as(&heavy, Initialization::SnapStart)
        .await
        .expect("restored");
    let restore = started.elapsed();
    assert!(
        restore < Duration::from_millis(50),
        "Init (~200 ms) ran again: {restore:?}"
    );
    let first = invoke(&mut env, json!({"index": 5})).await;
    assert!(first.report.init_duration.is_none(), "{}", first.log);
    assert!(!first.log.contains("INIT_START"), "{}", first.log);
    // The table Init built is there, the same in every environment restored from the snapshot.
    let mut other = ExecutionEnvironment::start_as(&heavy, Initialization::SnapStart)
        .await
        .expect("restored");
    assert_eq!(body(&first), body(&invoke(&mut other, json!({"index": 5})).await));
    assert!(body(&first)["rounds"].as_u64().is_some_and(|r| r >= 1));
}

#[tokio::test]
async fn a_restored_environment_says_snap_start() {
    let echo = restored("echo", |_| {}).await;
    let mut env = ExecutionEnvironment::start_as(&echo, Initialization::SnapStart)
        .await
        .expect("restored");
    let answer = body(&invoke(&mut env, json!({})).await);
    assert_eq!(
        answer["environment"]["AWS_LAMBDA_INITIALIZATION_TYPE"],
        "snap-start"
    );
}

/// A snapshot of the `counter` example with `variable=1`: the bytes, or why it was refused.
async fn counter_snapshot(variable: Option<&str>) -> Result<Vec<u8>, String> {
    let mut spec = FunctionSpec::new("counter", "eu-west-1", "123456789012");
    if let Some(variable) = variable {
        spec.environment.insert(variable.into(), "1".into());
    }
    sandbox()
        .snapshot(support::example_bytes("counter").into(), spec)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_snapshot_of_an_init_that_keeps_a_file_open_is_refused() {
    // A restored environment would hold a handle the host no longer has: its first use traps.
    let error = counter_snapshot(Some("HOLD_FILE_IN_INIT"))
        .await
        .expect_err("refused");
    assert!(
        error.starts_with("Runtime.SnapshotError: Init left WASI resources open"),
        "{error}"
    );
    // The same Init without the file is snapshotted.
    let snapshot = counter_snapshot(None).await.expect("snapshot");
    assert!(!snapshot.is_empty());
}

#[tokio::test]
async fn a_snapshot_of_a_failing_init_is_refused_with_its_error() {
    let error = counter_snapshot(Some("FAIL_INIT")).await.expect_err("refused");
    assert!(
        error.starts_with("CounterInitError: Init refused on purpose"),
        "{error}"
    );
}

#[tokio::test]
async fn a_recycled_tmp_directory_never_shows_what_the_last_environment_left() {
    // Its own sandbox, so that this test alone takes and returns its directories: after the
    // first few rounds every environment gets a directory another one used.
    let sandbox = Sandbox::new(SandboxConfig::default()).expect("sandbox");
    let code = sandbox.load(&support::example_bytes("tmp")).expect("compiles");
    let tmp = sandbox
        .prepare(&code, FunctionSpec::new("tmp", "eu-west-1", "123456789012"))
        .expect("links");
    for round in 0..48 {
        let mut env = start(&tmp).await;
        let event = if round % 2 == 0 {
            // Leaves a file behind (created through wasi:filesystem open-at with CREATE).
            json!({ "leave": format!("secret {round}") })
        } else {
            // Touches nothing: its directory goes back without a clean-up.
            json!({})
        };
        let seen = body(&invoke(&mut env, event).await);
        assert_eq!(
            seen["previous"],
            Value::Null,
            "round {round} saw another environment's /tmp"
        );
        drop(env);
        // Let the recycler (every 10 ms) take the directory back.
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

#[test]
fn a_burst_of_loads_of_one_code_compiles_it_once_and_shares_it() {
    // A sandbox of its own, on an empty compile cache: every load would have to compile.
    let cache = tempfile::tempdir().expect("tempdir");
    let sandbox = Sandbox::new(SandboxConfig {
        compile_cache_dir: Some(cache.path().to_path_buf()),
        environments_dir: None,
        ..SandboxConfig::default()
    })
    .expect("sandbox");
    let wasm = support::example_bytes("hello");
    let loads: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| sandbox.load(&wasm).expect("compiles")))
            .collect();
        threads.into_iter().map(|t| t.join().expect("thread")).collect()
    });
    assert_eq!(sandbox.compiles(), 1, "one compile for eight loads");
    assert!(
        loads.iter().all(|code| Arc::ptr_eq(code, &loads[0])),
        "one shared module"
    );

    // Once nothing holds it, the next load reads the compile cache: still one compile.
    drop(loads);
    let again = sandbox.load(&wasm).expect("loads");
    assert_eq!(sandbox.compiles(), 1);
    drop(again);
}
