//! What goes over the wire besides the operations themselves: streamed chunks leave as the
//! function writes them on a kept-alive connection (TCP_NODELAY), and a request axum cannot take
//! apart (query, path, body) is answered in the AWS error format, never axum's `text/plain`.

mod support;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use lambkin_api::server::FrontDoor;
use lambkin_invoke::worker::AsyncSettings;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any one read may take here.
const BOUND: Duration = Duration::from_secs(30);

/// The acceptance bar: a chunk arrives this soon after the guest writes it.
const PROMPT: Duration = Duration::from_millis(10);

/// One HTTP/1.1 connection on a raw socket, so arrival times are the socket's, not a client
/// library's buffering.
struct Connection {
    socket: TcpStream,
    buffered: Vec<u8>,
    /// When the last read returned.
    read_at: Instant,
}

/// A chunked response as it arrived: the head, then each chunk with the time its last byte came.
struct Arrival {
    head: String,
    head_at: Instant,
    chunks: Vec<(Instant, Vec<u8>)>,
}

impl Arrival {
    /// When the decoded body first contained `needle`.
    fn when(&self, needle: &[u8]) -> Instant {
        let mut body = Vec::new();
        for (at, chunk) in &self.chunks {
            body.extend_from_slice(chunk);
            if body.windows(needle.len()).any(|w| w == needle) {
                return *at;
            }
        }
        panic!(
            "{:?} never arrived in {:?}",
            String::from_utf8_lossy(needle),
            String::from_utf8_lossy(&body)
        );
    }
}

impl Connection {
    async fn open(port: u16) -> Connection {
        let socket = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        // The client's side sends its request at once; what is measured is the server's side.
        socket.set_nodelay(true).expect("TCP_NODELAY on the client");
        Connection {
            socket,
            buffered: Vec::new(),
            read_at: Instant::now(),
        }
    }

    async fn read_more(&mut self) {
        let mut buf = [0u8; 64 * 1024];
        let n = tokio::time::timeout(BOUND, self.socket.read(&mut buf))
            .await
            .expect("data within the bound")
            .expect("read");
        assert!(n > 0, "the server closed the connection");
        self.read_at = Instant::now();
        self.buffered.extend_from_slice(&buf[..n]);
    }

    /// Bytes up to and including `delimiter`, reading until they are there.
    async fn until(&mut self, delimiter: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = self
                .buffered
                .windows(delimiter.len())
                .position(|w| w == delimiter)
            {
                return self.buffered.drain(..at + delimiter.len()).collect();
            }
            self.read_more().await;
        }
    }

    async fn exactly(&mut self, n: usize) -> Vec<u8> {
        while self.buffered.len() < n {
            self.read_more().await;
        }
        self.buffered.drain(..n).collect()
    }

    /// POSTs `body` to `path` and reads the whole chunked response.
    async fn post(&mut self, path: &str, body: &Value) -> Arrival {
        let body = body.to_string();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.socket
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let head = String::from_utf8(self.until(b"\r\n\r\n").await).expect("a UTF-8 head");
        let head_at = self.read_at;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
            "{head}"
        );
        let mut chunks = Vec::new();
        loop {
            let line = self.until(b"\r\n").await;
            let size = std::str::from_utf8(&line[..line.len() - 2])
                .ok()
                .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or(s).trim(), 16).ok())
                .unwrap_or_else(|| panic!("a chunk size, got {line:?}"));
            if size == 0 {
                assert_eq!(self.until(b"\r\n").await, b"\r\n", "no trailers");
                break;
            }
            let data = self.exactly(size + 2).await;
            chunks.push((self.read_at, data[..size].to_vec()));
        }
        Arrival {
            head,
            head_at,
            chunks,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `stream` example writes `chunk 0` as it starts and each further chunk `pause_ms` after the
/// one before; on a kept-alive connection each must arrive within [`PROMPT`] of its write.
/// Without TCP_NODELAY on the server's socket, Nagle's algorithm holds a write back while the
/// one before is unacknowledged, and the client delays its ACK by ~40 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_chunks_arrive_as_written_on_a_kept_alive_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = support::server::serve(dir.path(), FrontDoor::default(), AsyncSettings::default()).await;
    live.deploy("stream", "stream", json!({})).await;
    let path = "/2021-11-15/functions/stream/response-streaming-invocations";

    let mut connection = Connection::open(live.port).await;
    // The first request on the connection warms an environment, and the client's TCP leaves
    // its quick-ACK start: from here on it delays ACKs, as a long-lived SDK connection does.
    let warm = connection
        .post(path, &json!({ "chunks": 1, "pause_ms": 0 }))
        .await;
    warm.when(b"chunk 0\n");

    let pause = 200.0;
    let streamed = connection
        .post(path, &json!({ "chunks": 3, "pause_ms": pause as u64 }))
        .await;
    assert!(
        streamed.head.contains("application/vnd.amazon.eventstream"),
        "{}",
        streamed.head
    );
    let first = streamed.when(b"chunk 0\n");
    let after_head = ms(first - streamed.head_at);
    let second = ms(streamed.when(b"chunk 1\n") - first);
    let third = ms(streamed.when(b"chunk 2\n") - first);
    eprintln!(
        "chunk 0 {after_head:.1} ms after the head; chunk 1 {second:.1} ms and chunk 2 {third:.1} ms \
         after chunk 0"
    );
    let prompt = ms(PROMPT);
    assert!(
        after_head < prompt,
        "chunk 0 arrived {after_head:.1} ms after the response head"
    );
    assert!(
        (second - pause).abs() < prompt && (third - 2.0 * pause).abs() < prompt,
        "chunks 1 and 2 arrived {second:.1} ms and {third:.1} ms after chunk 0 \
         (written {pause} ms and {} ms after it)",
        2.0 * pause
    );
}

/// A request's answer as it comes back from the router: status, headers, body.
async fn answer(request: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = support::server::open(dir.path()).await;
    support::server::send(&app, request).await
}

async fn get(uri: &str) -> (StatusCode, HeaderMap, Bytes) {
    answer(Request::get(uri).body(Body::empty()).expect("request")).await
}

/// An AWS error: the status and `x-amzn-ErrorType` expected, a JSON `{"Type","Message"}` body.
fn assert_aws_error(
    (status, headers, body): (StatusCode, HeaderMap, Bytes),
    expected_status: StatusCode,
    code: &str,
) {
    let text = String::from_utf8_lossy(&body);
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("application/json"), "{status} {text}");
    let error_type = headers.get("x-amzn-ErrorType").and_then(|v| v.to_str().ok());
    assert_eq!((status, error_type), (expected_status, Some(code)), "{text}");
    let body: Value = serde_json::from_slice(&body).expect("a JSON body");
    assert_eq!(body["Type"], "User", "{body}");
    assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn a_query_axum_cannot_deserialize_is_an_invalid_parameter_value() {
    let bad = StatusCode::BAD_REQUEST;
    let code = "InvalidParameterValueException";
    assert_aws_error(
        get("/2015-03-31/functions/x?Qualifier=1&Qualifier=2").await,
        bad,
        code,
    );
    assert_aws_error(
        get("/2015-03-31/functions/x/configuration?Qualifier=1&Qualifier=2").await,
        bad,
        code,
    );
    assert_aws_error(get("/2018-10-31/layers?MaxItems=1&MaxItems=2").await, bad, code);
    // A number that is not one was already refused by lambkin itself; still in the format.
    assert_aws_error(get("/2015-03-31/functions?MaxItems=ten").await, bad, code);
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf8_is_an_invalid_parameter_value() {
    let bad = StatusCode::BAD_REQUEST;
    let code = "InvalidParameterValueException";
    assert_aws_error(get("/2015-03-31/functions/%FF").await, bad, code);
    assert_aws_error(get("/2015-03-31/functions/%C3%28/configuration").await, bad, code);
    assert_aws_error(get("/2015-03-31/functions/f/aliases/%80").await, bad, code);
    assert_aws_error(get("/2018-10-31/layers/%FE/versions/1").await, bad, code);
    let invoke = Request::post("/2015-03-31/functions/%FF/invocations")
        .body(Body::from("{}"))
        .expect("request");
    assert_aws_error(answer(invoke).await, bad, code);
    assert_aws_error(get("/lambda-url/%FF").await, bad, code);
}

#[tokio::test]
async fn a_body_that_cannot_be_read_is_an_aws_error() {
    // A body that breaks off part way, as a malformed chunked upload does.
    let broken = || {
        Body::from_stream(futures::stream::iter([
            Ok(Bytes::from_static(b"{\"Fun")),
            Err(std::io::Error::other("the client went away")),
        ]))
    };
    for uri in [
        "/2015-03-31/functions",
        "/2015-03-31/functions/f/invocations",
        "/2021-11-15/functions/f/response-streaming-invocations",
    ] {
        let request = Request::post(uri).body(broken()).expect("request");
        assert_aws_error(
            answer(request).await,
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
        );
    }
    // Over the body limit, a megabyte at a time.
    let megabyte = Bytes::from(vec![b' '; 1 << 20]);
    let chunks = lambkin_api::server::MAX_BODY_BYTES / megabyte.len() + 1;
    let oversized =
        futures::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(megabyte.clone())));
    let request = Request::post("/2015-03-31/functions")
        .body(Body::from_stream(oversized))
        .expect("request");
    assert_aws_error(
        answer(request).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLargeException",
    );
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_an_unknown_operation() {
    let request = Request::delete("/2015-03-31/functions")
        .body(Body::empty())
        .expect("request");
    assert_aws_error(
        answer(request).await,
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failure_is_a_service_exception_that_shows_no_server_path() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use support::store::{Fault, FaultyStore};
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("store")).expect("mkdir");
    // As a read-only data directory makes the local store fail: the error names the file.
    let store = FaultyStore {
        inner: object_store::local::LocalFileSystem::new_with_prefix(dir.path().join("store"))
            .expect("store"),
        key_prefix: "code/".into(),
        armed: Arc::new(AtomicBool::new(true)),
        fault: Fault::Fail("/var/lib/lambkin/data/code/4f2a.wasm#1: Read-only file system (os error 30)"),
    };
    let live = support::server::serve_with(
        dir.path(),
        support::server::Settings {
            store: Some(Arc::new(store)),
            ..Default::default()
        },
    )
    .await;
    let mut body = support::server::create_body("refused", json!({}));
    body["Code"]["ZipFile"] = json!(support::server::b64(&support::example_bytes("hello")));
    let (status, error, reply) = live.call("POST", "/2015-03-31/functions", Some(body)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{reply}");
    assert_eq!(error.as_deref(), Some("ServiceException"), "{reply}");
    let message = reply["Message"].as_str().unwrap_or_default();
    assert_eq!(message, lambkin_api::error::SERVICE_MESSAGE);
    assert!(!reply.to_string().contains("/var/lib"), "{reply}");
}
