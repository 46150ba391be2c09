//! Outbound networking under the operator's egress policy, on a real `lambkin serve`: the
//! `fetch` examples (Rust, Python, Node.js) call a real HTTP server, an HTTPS server whose certificate a test CA signed,
//! and a TCP echo server, all on loopback and each counting what reaches it. Allowed calls get
//! the servers' bytes back; refused ones fail inside the guest with the rule that refused them,
//! a WARN line in the function's log, and nothing reaching any server.

mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::process::{Reaped, comes_up, free_port, request, serve, wait_active};

/// A loopback server on its own thread, counting the connections that reach it.
struct Upstream {
    port: u16,
    reached: Arc<AtomicUsize>,
}

impl Upstream {
    fn start(serve_one: impl Fn(TcpStream) + Send + Sync + 'static) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let reached = Arc::new(AtomicUsize::new(0));
        let counter = reached.clone();
        let serve_one = Arc::new(serve_one);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let serve_one = serve_one.clone();
                std::thread::spawn(move || serve_one(stream));
            }
        });
        Upstream { port, reached }
    }

    fn reached(&self) -> usize {
        self.reached.load(Ordering::SeqCst)
    }
}

/// Answers one HTTP/1.1 request with what it saw: `{"method", "path", "body", "host"}`.
fn answer_http(stream: impl Read + Write, scheme: &str) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0;
    let mut chunked = false;
    let mut host = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or_default();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            "host" => host = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).is_err() {
                return;
            }
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            if reader.read_exact(&mut chunk).is_err() {
                return;
            }
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        if reader.read_exact(&mut body).is_err() {
            return;
        }
    }
    let mut parts = request_line.split_whitespace();
    let seen = json!({
        "method": parts.next(),
        "path": parts.next(),
        "host": host,
        "body": String::from_utf8_lossy(&body),
        "scheme": scheme,
    })
    .to_string();
    let stream = reader.get_mut();
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Upstream: {scheme}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{seen}",
        seen.len()
    );
    let _ = stream.flush();
}

/// A CA and a certificate it signed for 127.0.0.1: the TLS server's configuration and the CA's
/// PEM for the policy to trust.
fn test_tls() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "lambkin egress test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key")).expect("CA");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("key der");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .expect("server config");
    (Arc::new(config), ca.pem())
}

/// What one invocation answered: status, whether it is a function error, the body, the log.
struct Answer {
    status: u16,
    function_error: bool,
    body: Value,
    log: String,
}

fn invoke(port: u16, name: &str, event: Value) -> Answer {
    let path = format!("/2015-03-31/functions/{name}/invocations");
    let response = request(
        port,
        "POST",
        &path,
        "X-Amz-Log-Type: Tail\r\n",
        &event.to_string(),
    )
    .expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    let status = head[9..12].parse().expect("status");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.trim().to_string())
    };
    let log = header("X-Amz-Log-Result")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Answer {
        status,
        function_error: header("X-Amz-Function-Error").is_some(),
        body: serde_json::from_str(body).unwrap_or_else(|_| json!(body)),
        log,
    }
}

/// The fetch example of a runtime: its code as a zip, and its handler.
fn fetch_example(runtime: &str) -> (Vec<u8>, &'static str) {
    let (dir, file, handler) = match runtime {
        "provided.al2023" => return (support::example_bytes("fetch"), "fetch.wasm"),
        "python3.14" => (
            "python/fetch",
            "lambda_function.py",
            "lambda_function.lambda_handler",
        ),
        _ => ("node/fetch", "index.mjs", "index.handler"),
    };
    let source =
        std::fs::read(support::repo_root().join("examples").join(dir).join(file)).expect("example source");
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file(file, zip::write::SimpleFileOptions::default())
        .expect("zip");
    writer.write_all(&source).expect("zip");
    (writer.finish().expect("zip").into_inner(), handler)
}

fn create(port: u16, name: &str, egress: Option<&str>, timeout: u32) {
    create_on(port, "provided.al2023", name, egress, timeout);
}

fn create_on(port: u16, runtime: &str, name: &str, egress: Option<&str>, timeout: u32) {
    let (code, handler) = fetch_example(runtime);
    let mut body = json!({
        "FunctionName": name,
        "Role": support::server::ROLE,
        "Runtime": runtime,
        "Handler": handler,
        "Timeout": timeout,
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(code) },
    });
    if let Some(profile) = egress {
        body["Tags"] = json!({ "lambkin:egress": profile });
    }
    let created = request(port, "POST", "/2015-03-31/functions", "", &body.to_string()).expect("response");
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    wait_active(port, name);
}

/// The error a refused call ends with: its message, after checking the log's WARN line.
fn refused(answer: &Answer) -> String {
    assert!(answer.function_error, "{} {}", answer.status, answer.body);
    let message = answer.body["errorMessage"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        answer
            .log
            .lines()
            .any(|l| l.contains("\tWARN\tlambkin egress denied ")),
        "a refused connection is a WARN line in the function's log: {}",
        answer.log
    );
    message
}

#[test]
fn guests_reach_what_their_profile_allows_and_nothing_else() {
    let http = Upstream::start(|stream| answer_http(stream, "http"));
    let (tls, ca_pem) = test_tls();
    let https = Upstream::start(move |stream| {
        let connection = rustls::ServerConnection::new(tls.clone()).expect("TLS session");
        answer_http(rustls::StreamOwned::new(connection, stream), "https");
    });
    let echo = Upstream::start(|mut stream| {
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received);
        let _ = stream.write_all(&received);
    });
    // Accepts and never answers.
    let hang = Upstream::start(|stream| {
        std::thread::sleep(Duration::from_secs(30));
        drop(stream);
    });

    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("ca.pem"), ca_pem).expect("CA file");
    let port = free_port();
    let policy = format!(
        r#"
[profiles.test]
http = ["http://127.0.0.1:{http}", "https://127.0.0.1:{https}", "http://127.0.0.1:{hang}"]
tcp = ["127.0.0.1:{echo}"]
ca_files = ["ca.pem"]

# 127.0.0.1 by address on any port (not lambkin's own listener), and a name for it.
[profiles.loopback]
http = ["http://127.0.0.1:*", "http://localhost:*"]

# The test server, with responses capped at 16 bytes.
[profiles.tiny]
http = ["http://127.0.0.1:{http}"]
max_response_bytes = 16

# Every origin and destination by wildcard: names none of the refused ranges.
[profiles.wide]
http = ["http://*:*"]
tcp = ["0.0.0.0/0:*"]
"#,
        http = http.port,
        https = https.port,
        hang = hang.port,
        echo = echo.port,
    );
    let policy_file = data.path().join("egress.toml");
    std::fs::write(&policy_file, policy).expect("policy file");
    let server = Reaped(serve(
        port,
        &data.path().join("data"),
        &["--egress-policy", policy_file.to_str().expect("utf-8 path")],
    ));
    comes_up(port);
    create(port, "net-test", Some("test"), 3);
    create(port, "net-none", None, 3);
    create(port, "net-loopback", Some("loopback"), 3);
    create(port, "net-wide", Some("wide"), 3);
    create(port, "net-slow", Some("test"), 1);
    create(port, "net-tiny", Some("tiny"), 3);
    create(port, "net-missing", Some("missing"), 3);

    // Allowed: the servers' own bytes come back, a request body goes out.
    let got = invoke(
        port,
        "net-test",
        json!({"url": format!("http://127.0.0.1:{}/hello?x=1", http.port), "method": "POST", "body": "ping"}),
    );
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(!got.function_error, "{}", got.body);
    assert_eq!(got.body["status"], 200, "{}", got.body);
    assert_eq!(got.body["headers"]["x-upstream"], "http", "{}", got.body);
    let seen: Value = serde_json::from_str(got.body["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/hello?x=1");
    assert_eq!(seen["body"], "ping");
    assert_eq!(seen["host"], format!("127.0.0.1:{}", http.port));
    assert_eq!(http.reached(), 1);

    let got = invoke(
        port,
        "net-test",
        json!({"url": format!("https://127.0.0.1:{}/secure", https.port)}),
    );
    assert!(!got.function_error, "{}", got.body);
    assert_eq!(got.body["headers"]["x-upstream"], "https", "{}", got.body);
    let seen: Value = serde_json::from_str(got.body["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(
        (seen["scheme"].as_str(), seen["path"].as_str()),
        (Some("https"), Some("/secure"))
    );
    assert_eq!(https.reached(), 1);

    let got = invoke(
        port,
        "net-test",
        json!({"tcp": format!("127.0.0.1:{}", echo.port), "send": "hello over tcp"}),
    );
    assert!(!got.function_error, "{}", got.body);
    assert_eq!(got.body["received"], "hello over tcp");
    assert_eq!(echo.reached(), 1);

    // Refused, and nothing reaches a server.
    let message = refused(&invoke(
        port,
        "net-none",
        json!({"url": format!("http://127.0.0.1:{}/", http.port)}),
    ));
    assert!(message.contains("has no egress profile"), "{message}");
    let tcp_refusal = invoke(
        port,
        "net-none",
        json!({"tcp": format!("127.0.0.1:{}", echo.port)}),
    );
    let message = refused(&tcp_refusal);
    assert!(message.contains("connecting to 127.0.0.1"), "{message}");
    // The WARN line names the connection refused, not the implicit bind before it.
    assert!(
        tcp_refusal.log.contains(&format!(
            "lambkin egress denied tcp://127.0.0.1:{}: the function has no egress profile",
            echo.port
        )),
        "{}",
        tcp_refusal.log
    );
    let message = refused(&invoke(
        port,
        "net-test",
        json!({"url": format!("http://127.0.0.1:{}/", echo.port)}),
    ));
    assert!(message.contains("no http pattern of profile"), "{message}");
    let message = refused(&invoke(
        port,
        "net-wide",
        json!({"url": "http://169.254.169.254/latest/meta-data/"}),
    ));
    assert!(
        message.contains("169.254.169.254 is a link-local address"),
        "{message}"
    );
    let message = refused(&invoke(
        port,
        "net-loopback",
        json!({"url": format!("http://127.0.0.1:{port}/2015-03-31/functions")}),
    ));
    assert!(message.contains("lambkin's own listener"), "{message}");
    let message = refused(&invoke(
        port,
        "net-loopback",
        json!({"url": format!("http://localhost:{}/", http.port)}),
    ));
    assert!(message.contains("is a loopback address"), "{message}");
    let message = refused(&invoke(
        port,
        "net-wide",
        json!({"tcp": format!("127.0.0.1:{}", echo.port)}),
    ));
    assert!(message.contains("connecting to 127.0.0.1"), "{message}");
    assert_eq!(
        (http.reached(), https.reached(), echo.reached()),
        (1, 1, 1),
        "a refused call reached a server"
    );
    let pools =
        support::process::body_json(&request(port, "GET", "/lambkin/pools", "", "").expect("response"));
    assert_eq!(
        pools["egress_denials"], 7,
        "every refusal is counted once: {pools}"
    );
    // The same name by address, allowed: the profile's loopback rule does work.
    let got = invoke(
        port,
        "net-loopback",
        json!({"url": format!("http://127.0.0.1:{}/", http.port)}),
    );
    assert!(!got.function_error, "{}", got.body);
    assert_eq!(http.reached(), 2);

    // A tag naming a profile the policy lacks: no network, and Init says why.
    let got = invoke(
        port,
        "net-missing",
        json!({"url": format!("http://127.0.0.1:{}/", http.port)}),
    );
    assert!(refused(&got).contains("has no egress profile"), "{}", got.body);
    assert!(
        got.log
            .contains("the operator's policy has no profile \"missing\""),
        "{}",
        got.log
    );

    // A profile's cap on response bytes: the body past it is an error, not a truncation.
    let got = invoke(
        port,
        "net-tiny",
        json!({"url": format!("http://127.0.0.1:{}/long/enough/to/pass/the/cap", http.port)}),
    );
    assert!(got.function_error, "{}", got.body);
    assert!(
        got.body["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("response body size exceeds limit: 16 bytes"),
        "{}",
        got.body
    );
    assert_eq!(http.reached(), 3);

    // A tag set later applies to the function's next environments.
    let tagged = request(
        port,
        "POST",
        "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:net-none",
        "",
        &json!({"Tags": {"lambkin:egress": "test"}}).to_string(),
    )
    .expect("response");
    assert!(tagged.starts_with("HTTP/1.1 204"), "{tagged}");
    let got = invoke(
        port,
        "net-none",
        json!({"url": format!("http://127.0.0.1:{}/", http.port)}),
    );
    assert!(!got.function_error, "{}", got.body);
    assert_eq!(http.reached(), 4);

    // The function's Timeout covers the wait on an upstream that never answers.
    let started = Instant::now();
    let got = invoke(
        port,
        "net-slow",
        json!({"url": format!("http://127.0.0.1:{}/", hang.port)}),
    );
    let took = started.elapsed();
    assert!(got.function_error, "{}", got.body);
    assert_eq!(got.body["errorType"], "Sandbox.Timedout", "{}", got.body);
    assert!(
        took >= Duration::from_millis(1000) && took <= Duration::from_millis(1200),
        "Timeout=1 ended the call after {took:?}"
    );
    // The environment was dropped: the next call starts a new one.
    let again = invoke(
        port,
        "net-slow",
        json!({"url": format!("http://127.0.0.1:{}/", http.port)}),
    );
    assert!(!again.function_error, "{}", again.body);
    assert!(again.log.contains("Init Duration"), "{}", again.log);

    managed_runtimes_reach_the_same_servers(port, &http, &https, &echo);
    drop(server);
}

/// Python's urllib.request and socket, Node's fetch and net, through the runtimes' wasi:http and
/// wasi:sockets: the same bytes
/// back over http and https, the same refusals.
fn managed_runtimes_reach_the_same_servers(port: u16, http: &Upstream, https: &Upstream, echo: &Upstream) {
    for runtime in ["python3.14", "nodejs22.x"] {
        let allowed = format!("net-{}", &runtime[..4]);
        let bare = format!("net-{}-none", &runtime[..4]);
        // The runtime compiles on its first function: give it time.
        create_on(port, runtime, &allowed, Some("test"), 30);
        create_on(port, runtime, &bare, None, 30);
        let before = (http.reached(), https.reached());
        let got = invoke(
            port,
            &allowed,
            json!({"url": format!("http://127.0.0.1:{}/from/{runtime}", http.port), "method": "POST", "body": "hi", "headers": {"content-type": "text/plain"}}),
        );
        assert!(!got.function_error, "{runtime}: {} {}", got.body, got.log);
        assert_eq!(got.body["status"], 200, "{runtime}: {}", got.body);
        assert_eq!(
            got.body["headers"]["x-upstream"], "http",
            "{runtime}: {}",
            got.body
        );
        let seen: Value = serde_json::from_str(got.body["body"].as_str().expect("body")).expect("JSON");
        assert_eq!(
            (
                seen["method"].as_str(),
                seen["path"].as_str(),
                seen["body"].as_str()
            ),
            (
                Some("POST"),
                Some(format!("/from/{runtime}").as_str()),
                Some("hi")
            ),
            "{runtime}: {seen}"
        );
        let got = invoke(
            port,
            &allowed,
            json!({"url": format!("https://127.0.0.1:{}/tls", https.port)}),
        );
        assert!(!got.function_error, "{runtime}: {} {}", got.body, got.log);
        assert_eq!(
            got.body["headers"]["x-upstream"], "https",
            "{runtime}: {}",
            got.body
        );
        assert_eq!(
            (http.reached(), https.reached()),
            (before.0 + 1, before.1 + 1),
            "{runtime}"
        );

        let refusal = invoke(
            port,
            &bare,
            json!({"url": format!("http://127.0.0.1:{}/", http.port)}),
        );
        refused(&refusal);
        let refusal = invoke(
            port,
            &allowed,
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        );
        let message = refused(&refusal);
        if runtime.starts_with("python") {
            // urllib's URLError carries the host's words.
            assert_eq!(refusal.body["errorType"], "URLError", "{}", refusal.body);
            assert!(
                message.contains("lambkin egress denied http://169.254.169.254:80: no http pattern"),
                "{message}"
            );
        } else {
            // StarlingMonkey's error has no words from the host: the message points to the log.
            assert_eq!(refusal.body["errorType"], "TypeError", "{}", refusal.body);
            assert!(
                message.starts_with("fetch failed: ")
                    && message.contains("the function's log names the rule"),
                "{message}"
            );
        }
        assert_eq!(
            (http.reached(), https.reached()),
            (before.0 + 1, before.1 + 1),
            "{runtime}: a refused call reached a server"
        );
        // TCP: Python's socket module is wasi-libc's, Node's net is the runtime's; both over
        // wasi:sockets.
        let echoed = echo.reached();
        let send = format!("{runtime} over tcp");
        let got = invoke(
            port,
            &allowed,
            json!({"tcp": format!("127.0.0.1:{}", echo.port), "send": send}),
        );
        assert!(!got.function_error, "{runtime}: {} {}", got.body, got.log);
        assert_eq!(got.body["received"], send.as_str(), "{runtime}");
        // Without a profile: Python's socket looks even an address literal up first, and
        // without a TCP rule there are no name lookups; Node's net connects to a literal at
        // once and is refused there.
        let refusal = invoke(
            port,
            &bare,
            json!({"tcp": format!("127.0.0.1:{}", echo.port), "send": "x"}),
        );
        if runtime.starts_with("python") {
            assert_eq!(refusal.body["errorType"], "gaierror", "{}", refusal.body);
        } else {
            let message = refused(&refusal);
            assert!(
                message.contains(&format!("connect EACCES 127.0.0.1:{}", echo.port))
                    && message.contains("egress policy"),
                "{message}"
            );
        }
        // A destination outside the profile's TCP rules: refused at connect.
        let reached = http.reached();
        let refusal = invoke(
            port,
            &allowed,
            json!({"tcp": format!("127.0.0.1:{}", http.port), "send": "x"}),
        );
        let message = refused(&refusal);
        if runtime.starts_with("python") {
            assert_eq!(refusal.body["errorType"], "PermissionError", "{}", refusal.body);
        } else {
            assert!(message.contains("EACCES"), "{message}");
        }
        assert_eq!(
            (echo.reached(), http.reached()),
            (echoed + 1, reached),
            "{runtime}: a refused connection reached a server"
        );
    }
}
