//! Isolation (issue #6), through a real server: the `escape` example tries every way out it knows
//! and each attempt must fail the way the sandbox fails it. One function never sees another's
//! `/tmp`, environment variables or logs; no guest reaches a host path (by name, by `..`, through
//! symlinks, hard links or renames), a socket, a name lookup or the host's environment; the layers
//! at `/opt` are read-only.
//!
//! Every expectation names the exact outcome of each attempt (the error the guest saw), and the
//! set of attempts made must be exactly the expected one, so a guest that silently stops trying,
//! or an attempt that starts to work, fails the test. Attempts inside `/tmp` that must work are
//! the controls: they show the failures are the sandbox's, not a broken filesystem.

mod support;

use axum::http::StatusCode;
use base64::Engine as _;
use lambkin_api::server::FrontDoor;
use lambkin_invoke::worker::AsyncSettings;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use support::server::{Live, b64, serve};

/// What the guest sees for a path no preopen covers (wasi-libc: ENOENT).
const NO_SUCH_PATH: &str = "No such file or directory (os error 44)";
/// What the guest sees for `..` or a symlink leaving its preopen, an absolute symlink target, or a
/// write to the read-only `/opt` (wasmtime-wasi / cap-std: EPERM).
const NOT_PERMITTED: &str = "Operation not permitted (os error 63)";
/// What the guest sees for a socket (wasmtime-wasi's `allow_tcp(false)`, `allow_udp(false)`:
/// EACCES).
const ACCESS_DENIED: &str = "Permission denied (os error 2)";
/// What the guest sees for a name lookup (`allow_ip_name_lookup(false)`).
const NO_NAME_LOOKUP: &str = "failed to lookup address information: Non-recoverable error";
/// chmod: WASI has no permissions to set.
const NOT_IMPLEMENTED: &str = "Function not implemented (os error 52)";
const NOT_A_DIRECTORY: &str = "Not a directory (os error 54)";
const IS_A_DIRECTORY: &str = "Is a directory (os error 31)";
/// The attempt worked (only ever expected of the controls inside `/tmp` and reads of `/opt`).
const SUCCEEDS: &str = "succeeds";

/// The `..`s the guest climbs with (`examples/escape`'s `UP_TO_ROOT`).
const UP: &str = "../../../../../../../../../../../..";

/// The layer attached where `/opt` matters.
const GREETING: &[u8] = b"hello from a layer";

/// A server whose data directory is outside the system's temporary directory (so that no host
/// path the guest is given starts with `/tmp`), with `bait.txt` in it for the guest to go after.
async fn server() -> (tempfile::TempDir, Live) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    std::fs::write(dir.path().join("bait.txt"), b"bait").expect("bait");
    let live = serve(dir.path(), FrontDoor::default(), AsyncSettings::default()).await;
    (dir, live)
}

/// Deploys `escape` as `name` with these variables (and layers), a timeout to spare.
async fn deploy(live: &Live, name: &str, variables: Value, layers: &[String]) {
    let extra = json!({
        "Environment": { "Variables": variables },
        "Layers": layers,
        "Timeout": 30,
    });
    live.deploy(name, "escape", extra).await;
}

/// PublishLayerVersion of a layer holding `config/greeting.txt`; returns its version ARN.
async fn publish_greeting_layer(live: &Live) -> String {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("config/greeting.txt", zip::write::SimpleFileOptions::default())
        .expect("zip entry");
    zip.write_all(GREETING).expect("zip write");
    let zip = zip.finish().expect("zip").into_inner();
    let body = json!({ "Content": { "ZipFile": b64(&zip) }, "CompatibleRuntimes": ["provided.al2023"] });
    let (status, _, version) = live
        .call("POST", "/2018-10-31/layers/greeting/versions", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    version["LayerVersionArn"]
        .as_str()
        .expect("LayerVersionArn")
        .to_string()
}

struct Invoked {
    /// The response body as it came.
    raw: String,
    body: Value,
    /// The log tail (`X-Amz-Log-Type: Tail`).
    log: String,
}

impl Invoked {
    fn environment(&self) -> BTreeMap<String, String> {
        serde_json::from_value(self.body["environment"].clone()).expect("environment")
    }

    /// Each attempt's outcome: its error, or [`SUCCEEDS`].
    fn outcomes(&self) -> BTreeMap<String, String> {
        let mut outcomes = BTreeMap::new();
        for attempt in self.body["attempts"].as_array().expect("attempts") {
            let name = attempt["attempt"].as_str().expect("name").to_string();
            let outcome = match attempt["succeeded"].as_bool().expect("succeeded") {
                true => SUCCEEDS.to_string(),
                false => attempt["error"].as_str().expect("error").to_string(),
            };
            assert!(outcomes.insert(name.clone(), outcome).is_none(), "{name} twice");
        }
        outcomes
    }

    /// The output of an attempt that succeeded.
    fn output(&self, name: &str) -> &str {
        let attempts = self.body["attempts"].as_array().expect("attempts");
        let attempt = attempts
            .iter()
            .find(|a| a["attempt"] == name)
            .unwrap_or_else(|| panic!("no attempt {name}"));
        attempt["output"].as_str().unwrap_or_else(|| panic!("{attempt}"))
    }
}

/// A synchronous Invoke of `name` with a log tail; the function must not fail.
async fn invoke(live: &Live, name: &str, event: Value) -> Invoked {
    let response = live
        .request("POST", &format!("/2015-03-31/functions/{name}/invocations"))
        .header("X-Amz-Log-Type", "Tail")
        .body(event.to_string())
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("invoke");
    let status = response.status();
    let function_error = response.headers().get("x-amz-function-error").cloned();
    let log = response
        .headers()
        .get("x-amz-log-result")
        .map(|b| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .expect("base64 log");
            String::from_utf8(bytes).expect("UTF-8 log")
        })
        .expect("a log tail");
    let raw = response.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "{raw}");
    assert!(function_error.is_none(), "{raw}\n{log}");
    let body: Value = serde_json::from_str(&raw).expect("JSON");
    assert_no_host_file_content(&raw);
    Invoked { raw, body, log }
}

/// No line of the host's /etc/passwd ever reaches a guest's answer.
fn assert_no_host_file_content(raw: &str) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("the host has /etc/passwd");
    for line in passwd.lines().filter(|l| !l.trim().is_empty()) {
        assert!(!raw.contains(line), "/etc/passwd leaked: {line}");
    }
    assert!(!raw.contains("root:x:0:0"), "/etc/passwd leaked");
}

/// Asserts that the attempts made are exactly the expected ones, each with its outcome.
///
/// `expected` lists, per outcome, the attempts that must end that way. `read|list /x` stands for
/// `read /x` and `list /x`; `{data}` is the data directory, `{up}` the guest's climb to the root,
/// and any other `{key}` is looked up in `vars`.
fn assert_outcomes(invoked: &Invoked, expected: &[(&str, &[&str])], vars: &[(&str, &str)]) {
    let mut wanted = BTreeMap::new();
    for (outcome, patterns) in expected {
        for pattern in *patterns {
            let mut text = pattern.replace("{up}", UP);
            for (key, value) in vars {
                text = text.replace(&format!("{{{key}}}"), value);
            }
            let (verbs, rest) = text.split_once(' ').expect("verb and object");
            for verb in verbs.split('|') {
                let name = format!("{verb} {rest}");
                assert!(
                    wanted.insert(name.clone(), outcome.to_string()).is_none(),
                    "{name} is expected twice"
                );
            }
        }
    }
    let got = invoked.outcomes();
    let mut wrong = Vec::new();
    for (name, outcome) in &wanted {
        match got.get(name) {
            Some(seen) if seen == outcome => {}
            Some(seen) => wrong.push(format!("{name}: expected {outcome}, got {seen}")),
            None => wrong.push(format!("{name}: never attempted")),
        }
    }
    for (name, seen) in &got {
        if !wanted.contains_key(name) {
            wrong.push(format!("{name}: unexpected attempt ({seen})"));
        }
    }
    assert!(wrong.is_empty(), "{}\n\n{}", wrong.join("\n"), invoked.body);
}

/// Every file under `dir` (recursively), relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("read_dir").flatten() {
            let path = entry.path();
            if entry.file_type().expect("file type").is_dir() {
                stack.push(path.clone());
            }
            let relative = path.strip_prefix(dir).expect("under dir");
            files.insert(relative.to_string_lossy().into_owned());
        }
    }
    files
}

/// The bait is untouched and nothing the guest tried to create exists on the host.
fn assert_host_untouched(data: &Path) {
    assert_eq!(std::fs::read(data.join("bait.txt")).expect("bait"), b"bait");
    let planted: Vec<String> = files_under(data)
        .into_iter()
        .filter(|f| f.contains("lambkin-escape") || f.contains("stolen"))
        .collect();
    assert!(planted.is_empty(), "written on the host: {planted:?}");
    for path in ["/lambkin-escape.txt", "/etc/lambkin-escape.txt"] {
        assert!(!Path::new(path).exists(), "{path} was written");
    }
}

/// What lambkin sets in every guest's environment (crates/sandbox/src/env_vars.rs), for a function
/// `name` of the test server (us-east-1, 128 MB, `$LATEST`, on demand). The log stream name varies.
fn lambkin_variables(name: &str) -> BTreeMap<String, String> {
    [
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        (
            "LD_LIBRARY_PATH",
            "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        ),
        ("_HANDLER", "hello.wasm"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{name}")),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Asserts a guest's environment is exactly lambkin's variables plus `configured`, and that not
/// one of the host's own variables (this test process's) is among them.
fn assert_environment(invoked: &Invoked, name: &str, configured: &[(&str, &str)]) {
    let mut seen = invoked.environment();
    let stream = seen
        .remove("AWS_LAMBDA_LOG_STREAM_NAME")
        .expect("a log stream name");
    assert!(stream.contains("/[$LATEST]"), "{stream}");
    let mut expected = lambkin_variables(name);
    expected.extend(configured.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    assert_eq!(seen, expected);
    assert_eq!(invoked.body["args"], json!([]), "no arguments either");

    let host: BTreeMap<String, String> = std::env::vars().collect();
    // Cargo runs tests with its variables set: the comparison below has something to find.
    assert!(host.contains_key("CARGO_MANIFEST_DIR") && host.contains_key("PATH"));
    for (key, value) in &host {
        if !lambkin_variables(name).contains_key(key) {
            assert!(!seen.contains_key(key), "the host's {key} reached the guest");
        }
        // A host value (a path, a user name...) may not turn up in any guest value, unless it is
        // one lambkin sets itself.
        let lambkin_value = lambkin_variables(name).values().any(|v| v == value);
        if value.len() >= 6 && !lambkin_value {
            for (guest_key, guest_value) in &seen {
                assert!(
                    !guest_value.contains(value.as_str()),
                    "the host's {key} is in the guest's {guest_key}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_function_never_sees_anothers_tmp_variables_or_logs() {
    let (_dir, live) = server().await;
    let alpha_secret = format!("alpha-{}", uuid::Uuid::new_v4());
    let bravo_secret = format!("bravo-{}", uuid::Uuid::new_v4());
    deploy(
        &live,
        "alpha",
        json!({ "SECRET": alpha_secret, "ONLY_ALPHA": "1" }),
        &[],
    )
    .await;
    deploy(&live, "bravo", json!({ "BRAVO_SETTING": "b" }), &[]).await;

    // A leaves its secret in /tmp and in its log; its log tail has it (the channel works).
    let a = invoke(&live, "alpha", json!({ "hunt": true, "secret": alpha_secret })).await;
    assert_eq!(a.body["found"], json!([]), "a fresh /tmp is empty");
    assert_eq!(
        a.log.matches(&format!("my secret is {alpha_secret}\n")).count(),
        2,
        "{}",
        a.log
    );
    assert_environment(&a, "alpha", &[("SECRET", &alpha_secret), ("ONLY_ALPHA", "1")]);

    // B, while A's environment (and its /tmp) is alive: no trace of A anywhere.
    let b = invoke(&live, "bravo", json!({ "hunt": true, "secret": bravo_secret })).await;
    assert_eq!(b.body["found"], json!([]), "B found someone's secret");
    assert!(!b.raw.contains(&alpha_secret), "A's secret reached B: {}", b.raw);
    assert!(!b.log.contains(&alpha_secret), "A's log reached B's: {}", b.log);
    assert!(
        b.log.contains(&format!("my secret is {bravo_secret}\n")),
        "{}",
        b.log
    );
    assert_environment(&b, "bravo", &[("BRAVO_SETTING", "b")]);

    // Each warm environment still holds its own secret, and only its own: the hunt does find
    // what is there to find.
    let a = invoke(&live, "alpha", json!({ "hunt": true })).await;
    assert_eq!(
        a.body["found"],
        json!([{ "path": "/tmp/secret.txt", "content": alpha_secret }])
    );
    assert!(!a.raw.contains(&bravo_secret) && !a.log.contains(&bravo_secret));
    assert!(
        !a.log.contains(&alpha_secret),
        "a log tail holds one invocation: {}",
        a.log
    );
    let b = invoke(&live, "bravo", json!({ "hunt": true })).await;
    assert_eq!(
        b.body["found"],
        json!([{ "path": "/tmp/secret.txt", "content": bravo_secret }])
    );
    assert!(!b.raw.contains(&alpha_secret) && !b.log.contains(&alpha_secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_host_path_is_reachable_by_name_or_by_climbing_out_of_tmp() {
    let (dir, live) = server().await;
    // With a layer, `/opt/..` is a real preopen to climb out of.
    let layer = publish_greeting_layer(&live).await;
    deploy(&live, "paths", json!({}), &[layer]).await;
    let data = dir.path().to_str().expect("UTF-8 path");
    let out = invoke(
        &live,
        "paths",
        json!({ "attempt": ["paths", "traversal"], "data_dir": data }),
    )
    .await;
    assert_outcomes(
        &out,
        &[
            (
                NO_SUCH_PATH,
                &[
                    // Named directly: no preopen covers them.
                    "read|list|stat /",
                    "read|list|stat /etc",
                    "read|list|stat /etc/passwd",
                    "read|list|stat /proc/self/environ",
                    "read|list|stat /proc/self/mem",
                    "read|list|stat /root",
                    "read|list|stat /home",
                    "read|list|stat {data}",
                    "read|list|stat {data}/bait.txt",
                    "open for writing /etc/passwd",
                    "open for writing /proc/self/mem",
                    "open for writing {data}/bait.txt",
                    "create /lambkin-escape.txt",
                    "create /etc/lambkin-escape.txt",
                    "create {data}/lambkin-escape.txt",
                    "create dir {data}/lambkin-escape-dir",
                    "remove {data}/bait.txt",
                    // Relative to the initial working directory (`/`, which is no preopen).
                    "read|list etc/passwd",
                    "read|list ../etc/passwd",
                    "read|list .",
                    "read|list ..",
                ],
            ),
            (
                NOT_PERMITTED,
                &[
                    // Up out of /opt.
                    "read|list|stat /opt/..",
                    "read|list|stat /opt/../etc/passwd",
                    // Up out of /tmp.
                    "read|list /tmp/..",
                    "stat /tmp/..",
                    "read|list /tmp/../etc/passwd",
                    "read|list /tmp/../../../../etc/passwd",
                    "read|list /tmp/./../",
                    "read|list /tmp/{up}/etc/passwd",
                    "read|list /tmp/{up}{data}",
                    "read|list|stat /tmp/{up}{data}/bait.txt",
                    "open for writing /tmp/{up}{data}/bait.txt",
                    "create /tmp/{up}{data}/lambkin-escape.txt",
                    "create /tmp/../lambkin-escape.txt",
                    "create dir /tmp/../lambkin-escape-dir",
                    "read|list /tmp/sub/../..",
                    "read /tmp/sub/../../etc/passwd",
                    // Relative to /tmp as the working directory.
                    "read|list .. (cwd /tmp)",
                    "read|list ../.. (cwd /tmp)",
                    "read|list ../etc/passwd (cwd /tmp)",
                    "read|list ../../../../etc/passwd (cwd /tmp)",
                    "create ../lambkin-escape.txt (cwd /tmp)",
                ],
            ),
            (
                SUCCEEDS,
                &[
                    "create /tmp/control.txt",
                    "create dir /tmp/sub",
                    "read /tmp/sub/../control.txt",
                    "set current dir /tmp",
                    "read control.txt (cwd /tmp)",
                    "list . (cwd /tmp)",
                ],
            ),
        ],
        &[("data", data)],
    );
    // The controls saw /tmp and only /tmp.
    assert_eq!(out.output("list . (cwd /tmp)"), "control.txt, sub");
    assert_eq!(
        out.output("read control.txt (cwd /tmp)"),
        "written by the escape example"
    );
    assert_host_untouched(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_hard_links_and_renames_never_lead_out_of_tmp() {
    let (dir, live) = server().await;
    deploy(&live, "links", json!({}), &[]).await;
    let data = dir.path().to_str().expect("UTF-8 path");
    let out = invoke(
        &live,
        "links",
        json!({ "attempt": ["symlinks", "links"], "data_dir": data }),
    )
    .await;
    assert_outcomes(
        &out,
        &[
            (
                NOT_PERMITTED,
                &[
                    // A symlink with an absolute target cannot even be made.
                    "symlink /tmp/l1 -> /etc",
                    "symlink /tmp/l2 -> /etc/passwd",
                    "symlink /tmp/l4 -> /proc/self",
                    "symlink /tmp/l6 -> /",
                    "symlink /tmp/l7 -> /tmp/..",
                    "symlink /tmp/l-data -> {data}",
                    "symlink /tmp/l3/lambkin-escape-link -> /tmp",
                    "symlink /tmp/l-data/lambkin-escape-link -> /tmp",
                    // Relative ones that climb out can be made, but never followed.
                    "read|list|stat /tmp/l3",
                    "read|list /tmp/l5",
                    "open for writing /tmp/l5",
                    "read|list /tmp/l-root",
                    "read|list /tmp/l-root/etc/passwd",
                    "read|list /tmp/l-root{data}/bait.txt",
                    "open for writing /tmp/l-root{data}/bait.txt",
                    "create /tmp/l-root{data}/lambkin-escape.txt",
                    "read|list|stat /tmp/c1",
                    "read|list /tmp/c1/etc/passwd",
                    "read|list /tmp/sub/up",
                    "read|list /tmp/sub/up/etc/passwd",
                    "create /tmp/l3/lambkin-escape.txt",
                    "create /tmp/c1/lambkin-escape.txt",
                    "create /tmp/sub/up/lambkin-escape.txt",
                    "create dir /tmp/l3/lambkin-escape-dir",
                    // Hard links and renames out of /tmp, or into it from outside, by `..`
                    // or through a climbing symlink.
                    "hard link /tmp/{up}{data}/bait.txt -> /tmp/hard-1",
                    "hard link /tmp/hl-root{data}/bait.txt -> /tmp/hard-2",
                    "hard link /tmp/../etc/passwd -> /tmp/hard-4",
                    "hard link /tmp/control.txt -> /tmp/{up}{data}/lambkin-escape.txt",
                    "hard link /tmp/control.txt -> /tmp/hl-root{data}/lambkin-escape.txt",
                    "hard link /tmp/control.txt -> /tmp/hl-up/lambkin-escape.txt",
                    "hard link /tmp/control.txt -> /tmp/../lambkin-escape.txt",
                    "rename /tmp/{up}{data}/bait.txt -> /tmp/stolen-1",
                    "rename /tmp/hl-root{data}/bait.txt -> /tmp/stolen-2",
                    "rename /tmp/../etc/passwd -> /tmp/stolen-4",
                    "rename /tmp/to-move.txt -> /tmp/{up}{data}/lambkin-escape.txt",
                    "rename /tmp/to-move.txt -> /tmp/hl-root{data}/lambkin-escape.txt",
                    "rename /tmp/to-move.txt -> /tmp/hl-up/lambkin-escape.txt",
                    "rename /tmp/to-move.txt -> /tmp/../lambkin-escape.txt",
                    "rename /tmp/movable -> /tmp/{up}{data}/lambkin-escape-dir",
                    "rename /tmp/movable -> /tmp/hl-up/lambkin-escape-dir",
                ],
            ),
            (
                NO_SUCH_PATH,
                &[
                    // The absolute links were never made.
                    "read|list|stat /tmp/l1",
                    "read|list /tmp/l1/passwd",
                    "read|list|stat /tmp/l2",
                    "open for writing /tmp/l2",
                    "read|list /tmp/l4",
                    "read|list /tmp/l4/environ",
                    "read|list /tmp/l4/mem",
                    "read|list /tmp/l6",
                    "read|list /tmp/l6/etc/passwd",
                    "read|list /tmp/l7",
                    "read|list|stat /tmp/l-data",
                    "read|list /tmp/l-data/bait.txt",
                    "open for writing /tmp/l-data/bait.txt",
                    "create /tmp/l1/lambkin-escape.txt",
                    "create /tmp/l6/lambkin-escape.txt",
                    "create /tmp/l-data/lambkin-escape.txt",
                    "create dir /tmp/l-data/lambkin-escape-dir",
                    "remove /tmp/l-data/bait.txt",
                    // Host paths named directly.
                    "hard link {data}/bait.txt -> /tmp/hard-0",
                    "hard link /etc/passwd -> /tmp/hard-3",
                    "hard link /tmp/control.txt -> {data}/lambkin-escape.txt",
                    "rename {data}/bait.txt -> /tmp/stolen-0",
                    "rename /etc/passwd -> /tmp/stolen-3",
                    "rename /tmp/to-move.txt -> {data}/lambkin-escape.txt",
                ],
            ),
            (
                SUCCEEDS,
                &[
                    "create /tmp/control.txt",
                    "create dir /tmp/sub",
                    // Making a link is harmless: it is following it that must fail.
                    "symlink /tmp/l3 -> ..",
                    "symlink /tmp/l5 -> ../../../../etc/passwd",
                    "symlink /tmp/l-root -> {up}",
                    "symlink /tmp/c3 -> ..",
                    "symlink /tmp/c2 -> c3",
                    "symlink /tmp/c1 -> c2",
                    "symlink /tmp/sub/up -> ../..",
                    // Controls: links that stay inside /tmp work.
                    "symlink /tmp/inside -> control.txt",
                    "symlink /tmp/here -> .",
                    "symlink /tmp/sub/back -> ../control.txt",
                    "read /tmp/inside",
                    "list /tmp/here",
                    "read /tmp/here/control.txt",
                    "read /tmp/sub/back",
                    "create /tmp/here/through-here.txt",
                    "create /tmp/to-move.txt",
                    "create dir /tmp/movable",
                    "hard link /tmp/control.txt -> /tmp/control-link.txt",
                    "rename /tmp/to-move.txt -> /tmp/moved.txt",
                ],
            ),
            (
                NOT_A_DIRECTORY,
                &[
                    "list /tmp/inside",
                    "list /tmp/here/control.txt",
                    "list /tmp/sub/back",
                ],
            ),
            (IS_A_DIRECTORY, &["read /tmp/here"]),
        ],
        &[("data", data)],
    );
    assert_eq!(out.output("read /tmp/sub/back"), "written by the escape example");
    assert_host_untouched(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_and_name_lookup_is_refused() {
    let (_dir, live) = server().await;
    // Something the test owns listens here too, so that a connection would be seen.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listener_port = listener.local_addr().expect("address").port();
    deploy(&live, "sockets", json!({}), &[]).await;
    let event = json!({ "attempt": ["sockets"], "ports": [live.port, listener_port] });
    let out = invoke(&live, "sockets", event).await;
    let (server_port, listener_port) = (live.port.to_string(), listener_port.to_string());
    assert_outcomes(
        &out,
        &[
            (
                ACCESS_DENIED,
                &[
                    "tcp connect 127.0.0.1:{server}",
                    "tcp connect 127.0.0.1:{listener}",
                    "tcp connect [::1]:{server}",
                    "tcp connect 1.1.1.1:53",
                    "tcp listen 127.0.0.1:0",
                    "tcp listen 0.0.0.0:8080",
                    "udp bind 127.0.0.1:0",
                    "udp send to 127.0.0.1:{server}",
                    "udp send to 127.0.0.1:{listener}",
                    "udp send to 1.1.1.1:53",
                ],
            ),
            (NO_NAME_LOOKUP, &["dns localhost:80", "dns example.com:443"]),
            (SUCCEEDS, &["create /tmp/control.txt"]),
        ],
        &[("server", &server_port), ("listener", &listener_port)],
    );
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(listener.accept().is_err(), "a connection reached the host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_at_opt_refuse_every_write() {
    let (dir, live) = server().await;
    let layer = publish_greeting_layer(&live).await;
    deploy(&live, "layered", json!({}), &[layer]).await;
    let out = invoke(&live, "layered", json!({ "attempt": ["opt"] })).await;
    let file = "/opt/config/greeting.txt";
    assert_outcomes(
        &out,
        &[
            (
                NOT_PERMITTED,
                &[
                    "create /opt/new.txt",
                    "create /opt/config/new.txt",
                    "open for writing {file}",
                    "append to {file}",
                    "truncate {file}",
                    "create {file}",
                    "remove {file}",
                    "remove dir /opt/config",
                    "create dir /opt/newdir",
                    "rename {file} -> /opt/config/moved.txt",
                    "rename {file} -> /tmp/stolen.txt",
                    "rename /tmp/plant.txt -> /opt/plant.txt",
                    "hard link {file} -> /tmp/greeting-link.txt",
                    "hard link /tmp/plant.txt -> /opt/plant-link.txt",
                    "symlink /opt/link -> /tmp",
                    "set modified time {file}",
                    // An absolute target: refused whatever it names.
                    "symlink /tmp/opt-link -> /opt",
                ],
            ),
            (NOT_IMPLEMENTED, &["set permissions {file}"]),
            (NO_SUCH_PATH, &["create /tmp/opt-link/new.txt"]),
            (
                SUCCEEDS,
                &[
                    "create /tmp/control.txt",
                    "read {file}",
                    "list /opt",
                    "create /tmp/plant.txt",
                    "read {file} again",
                ],
            ),
        ],
        &[("file", file)],
    );
    assert_eq!(out.output("list /opt"), "config");
    assert_eq!(out.output(&format!("read {file} again")), "hello from a layer");
    // On the host, the unpacked layer is as it was published.
    let opt_root = dir.path().join("opt");
    let unpacked: Vec<_> = std::fs::read_dir(&opt_root)
        .expect("the layers were unpacked")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    assert_eq!(unpacked.len(), 1, "{unpacked:?}");
    assert_eq!(
        files_under(&unpacked[0]),
        BTreeSet::from(["config".to_string(), "config/greeting.txt".to_string()])
    );
    assert_eq!(
        std::fs::read(unpacked[0].join("config/greeting.txt")).expect("read"),
        GREETING
    );
}
