//! The real `lambkin` binary: `invoke` on example components, and `serve` over HTTP.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn lambkin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lambkin"));
    // Each test binary's compile cache lives in cargo's scratch directory, not in the repo.
    cmd.env(
        "LAMBKIN_DATA_DIR",
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-data"),
    );
    cmd.env_remove("LAMBKIN_LOG");
    cmd
}

fn invoke(example: &str, args: &[&str]) -> Output {
    lambkin()
        .arg("invoke")
        .arg(support::example_wasm(example))
        .args(args)
        .output()
        .expect("running lambkin invoke")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn invoke_prints_the_response_on_stdout_and_the_log_on_stderr() {
    let out = invoke("hello", &["--payload", r#"{"name":"CLI"}"#]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"message\":\"Hello, CLI!\"}\n");
    let log = text(&out.stderr);
    assert!(
        log.contains("START RequestId: ") && log.contains("END RequestId: "),
        "{log}"
    );
    assert!(
        log.contains("REPORT RequestId: ") && log.contains("Init Duration: "),
        "{log}"
    );
}

#[test]
fn invoke_reads_the_payload_from_a_file_and_applies_limits_and_env() {
    let dir = tempfile::tempdir().expect("tempdir");
    let payload = dir.path().join("event.json");
    std::fs::write(&payload, r#"{"from":"file"}"#).expect("write payload");
    let arg = format!("@{}", payload.display());
    let out = invoke(
        "echo",
        &[
            "--payload",
            &arg,
            "--memory",
            "256",
            "--timeout",
            "9",
            "--env",
            "MODE=test",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(body["event"]["from"], "file");
    assert_eq!(body["environment"]["MODE"], "test");
    assert_eq!(body["environment"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(body["context"]["functionName"], "echo");
    assert!(text(&out.stderr).contains("Memory Size: 256 MB"));
}

#[test]
fn invoke_exits_non_zero_on_a_function_error() {
    let out = invoke("fail", &[]);
    assert_eq!(out.status.code(), Some(1));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("error JSON on stdout");
    assert_eq!(body["errorType"], "InvalidInputError");

    let out = invoke("spin", &["--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("error JSON on stdout");
    assert_eq!(body["errorType"], "Sandbox.Timedout");
}

#[test]
fn invoke_prints_a_stream_as_the_function_writes_it() {
    let mut child = lambkin()
        .arg("invoke")
        .arg(support::example_wasm("stream"))
        .args(["--payload", r#"{"chunks":3,"pause_ms":300}"#])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running lambkin invoke");
    let mut stdout = child.stdout.take().expect("stdout");
    // Each read as it comes, with its time; the pipe's end is the process's exit.
    let mut reads: Vec<(Instant, Vec<u8>)> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stdout.read(&mut buf).expect("read stdout");
        if n == 0 {
            break;
        }
        reads.push((Instant::now(), buf[..n].to_vec()));
    }
    let ended = Instant::now();
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert!(status.success(), "{stderr}");
    let output: Vec<u8> = reads.iter().flat_map(|(_, bytes)| bytes.clone()).collect();
    assert_eq!(text(&output), "chunk 0\nchunk 1\nchunk 2\n", "{stderr}");
    let (first_at, first) = &reads[0];
    assert!(first.starts_with(b"chunk 0\n"), "{:?}", text(first));
    // Chunk 2 is written 600 ms after chunk 0: chunk 0 must be out long before the end.
    let ahead = ended - *first_at;
    assert!(
        ahead >= Duration::from_millis(400),
        "chunk 0 came only {ahead:?} before the process ended"
    );
}

#[test]
fn invoke_refuses_bad_input_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"this is not wasm").expect("write");
    let out = lambkin().arg("invoke").arg(&bogus).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("bogus.wasm cannot be run") && err.contains("not a WebAssembly binary"),
        "{err}"
    );

    let out = invoke("hello", &["--payload", "{not json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("the payload is not valid JSON"));

    let out = invoke("hello", &["--env", "AWS_REGION=mars"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("reserved keys"),
        "{}",
        text(&out.stderr)
    );

    let out = invoke("hello", &["--memory", "64"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--memory"));

    let out = lambkin()
        .args(["invoke", "/nonexistent/fn.wasm"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("reading /nonexistent/fn.wasm"));
}

#[test]
fn invoke_compiles_once_and_then_runs_from_the_compile_cache() {
    let data = tempfile::tempdir().expect("tempdir");
    let run = || {
        let out = lambkin()
            .env("LAMBKIN_DATA_DIR", data.path())
            .arg("invoke")
            .arg(support::example_wasm("hello"))
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    run();
    let artifacts: Vec<_> = walk(&data.path().join("compiled"));
    assert_eq!(artifacts.len(), 1, "one compiled artifact: {artifacts:?}");
    let artifact = &artifacts[0];
    let sha = lambkin_sandbox::code_sha256(&support::example_bytes("hello"));
    assert!(
        artifact.ends_with(format!("{sha}.cwasm")),
        "keyed by code hash: {artifact:?}"
    );
    let written = std::fs::metadata(artifact)
        .and_then(|m| m.modified())
        .expect("mtime");

    run();
    assert_eq!(
        walk(&data.path().join("compiled")),
        artifacts,
        "nothing compiled again"
    );
    let reused = std::fs::metadata(artifact)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(written, reused, "the artifact was read, not rewritten");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn serve_answers_in_the_aws_format_and_stops_on_sigterm() {
    let port = free_port();
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = lambkin()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("LAMBKIN_DATA_DIR", data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn lambkin serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        if let Some(response) = http_get(port, "/health") {
            break response;
        }
        assert!(Instant::now() < deadline, "lambkin serve did not come up");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"ok\""), "{health}");

    let unknown = http_get(port, "/2015-03-31/functions/nope/nothing").expect("response");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    let lower = unknown.to_ascii_lowercase();
    assert!(
        lower.contains("x-amzn-errortype: unknownoperationexception"),
        "{unknown}"
    );
    assert!(lower.contains("x-amzn-requestid: "), "{unknown}");
    assert!(
        unknown.contains("\"Type\":\"User\"") && unknown.contains("\"Message\":"),
        "{unknown}"
    );

    let pid = server.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.try_wait().expect("wait") {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            break;
        }
        assert!(Instant::now() < deadline, "lambkin serve ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `lambkin serve` on `listen` with `args` and `env`, no LAMBKIN_* keys from the environment.
fn serve(listen: &str, args: &[&str], env: &[(&str, &str)], data: &std::path::Path) -> std::process::Child {
    let mut command = lambkin();
    command
        .args(["serve", "--listen", listen])
        .args(args)
        .env("LAMBKIN_DATA_DIR", data)
        .env_remove("LAMBKIN_ACCESS_KEY_ID")
        .env_remove("LAMBKIN_SECRET_ACCESS_KEY")
        .env_remove("LAMBKIN_CREDENTIALS_FILE")
        .env_remove("LAMBKIN_ALLOW_ANONYMOUS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().expect("spawn lambkin serve")
}

/// Waits for GET /health on loopback; false if the process ended first.
fn comes_up(server: &mut std::process::Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if http_get(port, "/health").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            return true;
        }
        if server.try_wait().expect("wait").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits (bounded) for the process to exit; its status and stderr.
fn exits(mut server: std::process::Child) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.try_wait().expect("wait") {
            let mut stderr = String::new();
            if let Some(mut pipe) = server.stderr.take() {
                pipe.read_to_string(&mut stderr).expect("stderr");
            }
            return (status, stderr);
        }
        if Instant::now() >= deadline {
            let _ = server.kill();
            panic!("lambkin serve did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_anonymous_server_refuses_to_listen_beyond_loopback() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let server = serve(&format!("0.0.0.0:{port}"), &[], &[], data.path());
    let (status, stderr) = exits(server);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "refusing to serve on 0.0.0.0:{port} without credentials"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-anonymous"), "{stderr}");
    assert!(http_get(port, "/health").is_none(), "nothing may listen");

    // Half a key pair is refused as clearly.
    let server = serve(
        &format!("0.0.0.0:{port}"),
        &[],
        &[("LAMBKIN_ACCESS_KEY_ID", "AKIDTEST")],
        data.path(),
    );
    let (status, stderr) = exits(server);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("go together"), "{stderr}");
    // A secret of any length is a key pair (the interop suite signs with one).
    let long = "x".repeat(100);
    let long_pair = [
        ("LAMBKIN_ACCESS_KEY_ID", "AKIDTEST"),
        ("LAMBKIN_SECRET_ACCESS_KEY", long.as_str()),
    ];
    let mut server = serve(&format!("0.0.0.0:{port}"), &[], &long_pair, data.path());
    assert!(comes_up(&mut server, port), "a 100-byte secret serves");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn allow_anonymous_or_credentials_let_a_server_listen_on_any_address() {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut server = serve(
        &format!("0.0.0.0:{port}"),
        &["--allow-anonymous"],
        &[],
        data.path(),
    );
    assert!(comes_up(&mut server, port), "--allow-anonymous serves on 0.0.0.0");
    let listed = http_get(port, "/2015-03-31/functions/").expect("response");
    assert!(
        listed.starts_with("HTTP/1.1 200"),
        "anonymous: unsigned is fine: {listed}"
    );
    server.kill().expect("kill");
    server.wait().expect("wait");

    let port = free_port();
    let keys = [
        ("LAMBKIN_ACCESS_KEY_ID", "AKIDTEST"),
        (
            "LAMBKIN_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
    ];
    let mut server = serve(&format!("0.0.0.0:{port}"), &[], &keys, data.path());
    assert!(comes_up(&mut server, port), "credentials serve on 0.0.0.0");
    let refused = http_get(port, "/2015-03-31/functions/").expect("response");
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(
        refused
            .to_ascii_lowercase()
            .contains("x-amzn-errortype: missingauthenticationtokenexception"),
        "{refused}"
    );
    server.kill().expect("kill");
    server.wait().expect("wait");
}

/// Sources run by a managed runtime, from a directory and from a zip, with `--runtime` (and
/// `--handler`), as a deployed function of that runtime runs them.
#[test]
fn invoke_runs_python_and_node_sources_with_their_runtime() {
    let examples = support::repo_root().join("examples");
    for (runtime, dir, answer) in [
        ("python3.14", "python/hello", "{\"message\": \"Hello, CLI!\"}\n"),
        ("nodejs22.x", "node/hello", "{\"message\":\"Hello, CLI!\"}\n"),
    ] {
        let out = lambkin()
            .arg("invoke")
            .arg(examples.join(dir))
            .args(["--runtime", runtime, "--payload", r#"{"name":"CLI"}"#])
            .output()
            .expect("run");
        let log = text(&out.stderr);
        assert!(out.status.success(), "{runtime}: {log}");
        assert_eq!(text(&out.stdout), answer, "{runtime}: {log}");
        assert!(log.contains("greeting CLI in hello"), "{runtime}: {log}");
        assert!(
            log.contains(&format!("INIT_START Runtime Version: {runtime}")),
            "{log}"
        );
    }

    // A zip of sources, its handler named: the function's error, and exit status 1.
    let dir = tempfile::tempdir().expect("tempdir");
    let zip_path = dir.path().join("orders.zip");
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file("orders.py", zip::write::SimpleFileOptions::default())
        .expect("zip");
    let source = std::fs::read(examples.join("python/error/lambda_function.py")).expect("read");
    std::io::Write::write_all(&mut writer, &source).expect("zip");
    std::fs::write(&zip_path, writer.finish().expect("zip").into_inner()).expect("write");
    let out = lambkin()
        .arg("invoke")
        .arg(&zip_path)
        .args(["--runtime", "python3.14", "--handler", "orders.lambda_handler"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let error: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the error as JSON");
    assert_eq!(error["errorType"], "OrderNotFoundError", "{error}");

    // Sources without a runtime, or a runtime lambkin does not have, are refused.
    let out = lambkin().arg("invoke").arg(&zip_path).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--runtime"), "{}", text(&out.stderr));
    let out = lambkin()
        .arg("invoke")
        .arg(&zip_path)
        .args(["--runtime", "cobol85"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a managed runtime"),
        "{}",
        text(&out.stderr)
    );
}

/// `--allow-net` gives a local run network: the named origin answers, and without the flag the
/// same call is refused with the rule.
#[test]
fn invoke_allow_net_opens_only_what_it_names() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head);
            let _ =
                stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlocal");
        }
    });
    let url = format!("http://127.0.0.1:{port}/");
    let payload = serde_json::json!({ "url": url }).to_string();
    let allowed = format!("--allow-net=http://127.0.0.1:{port}");
    let out = invoke("fetch", &["--payload", &payload, &allowed]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (answer["status"].as_u64(), answer["body"].as_str()),
        (Some(200), Some("local")),
        "{answer}"
    );

    let out = invoke("fetch", &["--payload", &payload]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("has no egress profile"),
        "{}",
        text(&out.stdout)
    );
    // `--allow-net` alone still refuses loopback: only an address literal names it.
    let out = invoke("fetch", &["--payload", &payload, "--allow-net"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("is a loopback address"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("\tWARN\tlambkin egress denied"),
        "{}",
        text(&out.stderr)
    );
}
