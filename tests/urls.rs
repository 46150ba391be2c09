//! Function URLs through a real HTTP client (reqwest) against a spawned `lambkin serve`, with the
//! `http` example: buffered responses by path and by Host header, the payload format 2.0 event,
//! cookies, base64 bodies, CORS, streamed responses (chunks as the function writes them),
//! AuthType AWS_IAM, and the 6 MB request limit.

mod support;

use lambkin_api::public_url::PublicUrl;
use lambkin_api::server::FrontDoor;
use lambkin_invoke::worker::AsyncSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::server::{Live, client, serve, url_id};

/// Longest any one request may take here.
const BOUND: Duration = Duration::from_secs(30);

/// A server with the `http` example as `web` and a URL for it with `config` (AuthType NONE and
/// InvokeMode BUFFERED unless `config` says otherwise). Returns the server, the URL config and
/// the URL's path-form base (`<server>/lambda-url/<id>`).
async fn web(dir: &std::path::Path, config: Value) -> (Live, Value, String) {
    let live = serve(dir, FrontDoor::default(), AsyncSettings::default()).await;
    live.deploy("web", "http", json!({})).await;
    let mut body = json!({ "AuthType": "NONE", "InvokeMode": "BUFFERED" });
    if let (Some(body), Some(config)) = (body.as_object_mut(), config.as_object()) {
        body.extend(config.clone());
    }
    let url = live.create_url("web", body).await;
    let base = live.url_by_path(&url);
    (live, url, base)
}

/// GET `url`, bounded; returns status, headers and body.
async fn get(http: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Fetched {
    let mut request = http.get(url).timeout(BOUND);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    fetched(request.send().await.expect("response")).await
}

struct Fetched {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

async fn fetched(response: reqwest::Response) -> Fetched {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    Fetched {
        status,
        headers,
        body,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_responses_by_path_and_by_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, url, base) = web(dir.path(), json!({})).await;
    let function_url = url["FunctionUrl"].as_str().expect("FunctionUrl");
    let id = url_id(&url);
    // The FunctionUrl handed out names the listener and the path form, so any client can call it.
    assert_eq!(function_url, format!("{base}/"));
    assert_eq!(base, format!("http://127.0.0.1:{}/lambda-url/{id}", live.port));

    let hello = get(&live.http, &format!("{function_url}hello?name=Ada"), &[]).await;
    assert_eq!((hello.status, hello.text()), (StatusCode::OK, "Hello, Ada!"));
    assert!(
        hello
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        hello.headers
    );
    assert!(hello.header("x-amzn-RequestId").is_some());

    // The Host-header form, its host resolved to the server.
    let host = format!("{id}.lambda-url.us-east-1.localhost");
    let by_host =
        client(reqwest::Client::builder().resolve(&host, SocketAddr::from(([127, 0, 0, 1], live.port))));
    let host_url = format!("http://{host}:{}/", live.port);
    let hello = get(&by_host, &format!("{host_url}hello?name=Grace"), &[]).await;
    assert_eq!((hello.status, hello.text()), (StatusCode::OK, "Hello, Grace!"));
    let root = get(&by_host, &host_url, &[]).await;
    assert_eq!((root.status, root.text()), (StatusCode::OK, "Hello, world!"));

    // A bare JSON value is a 200 application/json body.
    let bare = get(&live.http, &format!("{base}/json"), &[]).await;
    assert_eq!(bare.status, StatusCode::OK);
    assert_eq!(bare.header("content-type"), Some("application/json"));
    assert_eq!(bare.json(), json!({"bare": true, "path": "/json"}));

    let teapot = get(&live.http, &format!("{base}/status/418"), &[]).await;
    assert_eq!(
        (teapot.status, teapot.text()),
        (StatusCode::IM_A_TEAPOT, "status 418")
    );

    let failed = get(&live.http, &format!("{base}/error"), &[]).await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY);
    assert_eq!(failed.json(), json!({"Message": "Internal Server Error"}));

    let unknown = get(&live.http, &live.url("/lambda-url/nosuchurl/hello"), &[]).await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);
    let unknown_host = client(reqwest::Client::builder().resolve(
        "nosuchurl.lambda-url.us-east-1.localhost",
        SocketAddr::from(([127, 0, 0, 1], live.port)),
    ));
    let unknown = get(
        &unknown_host,
        &format!("http://nosuchurl.lambda-url.us-east-1.localhost:{}/", live.port),
        &[],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);

    let (status, _, _) = live.call("DELETE", "/2021-10-31/functions/web/url", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deleted = get(&live.http, &format!("{base}/hello"), &[]).await;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN);
    let deleted = get(&by_host, &host_url, &[]).await;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_url_template_is_handed_out_and_served_by_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let front_door = FrontDoor {
        public_url: PublicUrl::parse("http://{id}.fn.example.test/").expect("a template"),
        ..FrontDoor::default()
    };
    let live = serve(dir.path(), front_door, AsyncSettings::default()).await;
    live.deploy("web", "http", json!({})).await;
    let url = live
        .create_url("web", json!({ "AuthType": "NONE", "InvokeMode": "BUFFERED" }))
        .await;
    let id = url_id(&url);
    let host = format!("{id}.fn.example.test");
    assert_eq!(url["FunctionUrl"], format!("http://{host}/"));

    // The proxy in front keeps the Host header; lambkin answers on its own port.
    let at_proxy =
        client(reqwest::Client::builder().resolve(&host, SocketAddr::from(([127, 0, 0, 1], live.port))));
    let hello = get(
        &at_proxy,
        &format!("http://{host}:{}/hello?name=Ada", live.port),
        &[],
    )
    .await;
    assert_eq!((hello.status, hello.text()), (StatusCode::OK, "Hello, Ada!"));
    let by_path = get(
        &live.http,
        &format!("{}/hello?name=Bo", live.url_by_path(&url)),
        &[],
    )
    .await;
    assert_eq!((by_path.status, by_path.text()), (StatusCode::OK, "Hello, Bo!"));
    // Another host under the same domain is not a URL id; the API answers it.
    let other = client(reqwest::Client::builder().resolve(
        "a.b.fn.example.test",
        SocketAddr::from(([127, 0, 0, 1], live.port)),
    ));
    let other = get(
        &other,
        &format!("http://a.b.fn.example.test:{}/hello", live.port),
        &[],
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_receives_a_payload_format_2_0_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, url, base) = web(dir.path(), json!({})).await;
    let inspected = get(
        &live.http,
        &format!("{base}/inspect?a=1&a=2&b=x%20y"),
        &[
            ("X-Custom-Header", "Some Value"),
            ("User-Agent", "lambkin-tests/1"),
            ("Cookie", "s=1; t=two"),
        ],
    )
    .await;
    assert_eq!(inspected.status, StatusCode::OK);
    let event = inspected.json();
    let id = url_id(&url);
    assert_eq!(event["version"], "2.0", "{event}");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/inspect");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%20y");
    assert_eq!(event["queryStringParameters"], json!({"a": "1,2", "b": "x y"}));
    assert_eq!(event["cookies"], json!(["s=1", "t=two"]));
    let headers = event["headers"].as_object().expect("headers");
    assert_eq!(headers["x-custom-header"], "Some Value");
    assert_eq!(headers["user-agent"], "lambkin-tests/1");
    assert!(!headers.contains_key("cookie"), "cookies travel in `cookies`");
    assert!(
        headers.keys().all(|k| *k == k.to_ascii_lowercase()),
        "header names are lowercase: {headers:?}"
    );
    let context = &event["requestContext"];
    assert_eq!(context["apiId"], id.as_str());
    assert_eq!(context["domainPrefix"], id.as_str());
    assert_eq!(
        context["domainName"],
        format!("{id}.lambda-url.us-east-1.localhost")
    );
    assert_eq!(context["accountId"], "000000000000");
    assert_eq!(context["http"]["method"], "GET");
    assert_eq!(context["http"]["path"], "/inspect");
    assert_eq!(context["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(context["http"]["userAgent"], "lambkin-tests/1");
    assert_eq!(
        Some(context["requestId"].as_str().expect("requestId")),
        inspected.header("x-amzn-RequestId")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_user_agent_reaches_the_function() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_live, _, base) = web(dir.path(), json!({})).await;
    // reqwest sends no User-Agent unless told to.
    let bare = reqwest::Client::builder().no_proxy().build().expect("client");
    let hello = get(&bare, &format!("{base}/hello?name=Ada"), &[]).await;
    assert_eq!((hello.status, hello.text()), (StatusCode::OK, "Hello, Ada!"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_set_and_received() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, _, base) = web(dir.path(), json!({})).await;
    let answered = get(
        &live.http,
        &format!("{base}/cookies"),
        &[("Cookie", "a=1; b=two")],
    )
    .await;
    assert_eq!(answered.status, StatusCode::OK);
    let set: Vec<&str> = answered
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("text"))
        .collect();
    assert_eq!(set, ["session=abc123; Path=/; HttpOnly", "theme=dark"]);
    assert_eq!(answered.header("content-type"), Some("application/json"));
    assert_eq!(answered.json(), json!({"received": {"a": "1", "b": "two"}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_text_bodies_come_back_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, _, base) = web(dir.path(), json!({})).await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        let request = live
            .http
            .post(format!("{base}/echo"))
            .timeout(BOUND)
            .header("content-type", content_type)
            .body(body);
        async move { fetched(request.send().await.expect("response")).await }
    };

    // Not UTF-8: base64 in the event, base64 in the response, raw bytes on the wire.
    let binary: Vec<u8> = (0..=255u8).collect();
    let echoed = post("application/octet-stream", binary.clone()).await;
    assert_eq!(echoed.status, StatusCode::OK);
    assert_eq!(echoed.header("content-type"), Some("application/octet-stream"));
    assert_eq!(echoed.body, binary);

    let text = "héllo, wörld ✓ 🦀\n\"quoted\" \\ tab\t";
    let echoed = post("text/plain; charset=utf-8", text.as_bytes().to_vec()).await;
    assert_eq!(echoed.status, StatusCode::OK);
    assert_eq!(echoed.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(echoed.text(), text);

    // UTF-8 that arrives as a binary type still round-trips.
    let echoed = post("application/octet-stream", text.as_bytes().to_vec()).await;
    assert_eq!(echoed.body, text.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflights_and_actual_responses_follow_the_url_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cors = json!({
        "AllowOrigins": ["https://app.example"],
        "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["content-type"],
        "ExposeHeaders": ["x-trace"],
        "MaxAge": 600,
        "AllowCredentials": true,
    });
    let (live, url, base) = web(dir.path(), json!({ "Cors": cors })).await;
    assert_eq!(url["Cors"]["MaxAge"], 600, "{url}");
    let preflight = |origin: &'static str| {
        let request = live
            .http
            .request(reqwest::Method::OPTIONS, format!("{base}/echo"))
            .timeout(BOUND)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type");
        async move { fetched(request.send().await.expect("response")).await }
    };

    let allowed = preflight("https://app.example").await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(allowed.header("access-control-allow-methods"), Some("GET,POST"));
    assert_eq!(
        allowed.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(allowed.header("access-control-max-age"), Some("600"));
    assert_eq!(allowed.header("access-control-allow-credentials"), Some("true"));

    let other = preflight("https://evil.example").await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(other.header("access-control-allow-methods"), None);

    let actual = get(
        &live.http,
        &format!("{base}/hello"),
        &[("Origin", "https://app.example")],
    )
    .await;
    assert_eq!((actual.status, actual.text()), (StatusCode::OK, "Hello, world!"));
    assert_eq!(
        actual.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(actual.header("access-control-expose-headers"), Some("x-trace"));
    assert_eq!(actual.header("access-control-allow-credentials"), Some("true"));

    let no_origin = get(&live.http, &format!("{base}/hello"), &[]).await;
    assert_eq!(no_origin.status, StatusCode::OK);
    assert_eq!(no_origin.header("access-control-allow-origin"), None);
    assert_eq!(no_origin.header("access-control-expose-headers"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_stream_url_sends_chunks_as_the_function_writes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, _, base) = web(dir.path(), json!({ "InvokeMode": "RESPONSE_STREAM" })).await;
    // A first call prepares the function and leaves a warm environment.
    let warm = get(&live.http, &format!("{base}/hello"), &[]).await;
    assert_eq!((warm.status, warm.text()), (StatusCode::OK, "Hello, world!"));

    let started = Instant::now();
    let mut response = tokio::time::timeout(
        BOUND,
        live.http
            .get(format!("{base}/stream?chunks=3&pause_ms=300"))
            .send(),
    )
    .await
    .expect("the head within the bound")
    .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/plain")
    );
    assert!(headers.get("content-length").is_none(), "{headers:?}");
    assert_eq!(
        headers.get("transfer-encoding").and_then(|v| v.to_str().ok()),
        Some("chunked")
    );
    let mut body = Vec::new();
    let mut first_chunk_at = None;
    while let Some(chunk) = tokio::time::timeout(BOUND, response.chunk())
        .await
        .expect("each chunk within the bound")
        .expect("a chunk")
    {
        first_chunk_at.get_or_insert_with(|| (started.elapsed(), chunk.clone()));
        body.extend_from_slice(&chunk);
    }
    let total = started.elapsed();
    let (first_at, first) = first_chunk_at.expect("at least one chunk");
    assert!(
        first.starts_with(b"chunk 0\n") && !first.ends_with(b"chunk 2\n"),
        "the first chunk came alone: {first:?}"
    );
    assert!(
        first_at < Duration::from_millis(250),
        "the first chunk took {first_at:?}"
    );
    assert!(
        total >= Duration::from_millis(550),
        "the whole stream took {total:?}"
    );
    assert_eq!(body, b"chunk 0\nchunk 1\nchunk 2\n");

    // A function error before anything was streamed is a 502.
    let failed = get(&live.http, &format!("{base}/error"), &[]).await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffered_url_collects_a_streamed_response() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, _, base) = web(dir.path(), json!({ "InvokeMode": "BUFFERED" })).await;
    let collected = get(&live.http, &format!("{base}/stream?chunks=3&pause_ms=10"), &[]).await;
    assert_eq!(collected.status, StatusCode::OK);
    assert_eq!(collected.header("content-type"), Some("text/plain"));
    assert_eq!(
        collected.header("content-length"),
        Some("24"),
        "buffered: one body of known length"
    );
    assert_eq!(collected.text(), "chunk 0\nchunk 1\nchunk 2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffered_url_refuses_a_stream_over_6_mb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = serve(dir.path(), FrontDoor::default(), AsyncSettings::default()).await;
    // A long timeout: the 502 below can only come from the 6 MB cap, not from a timeout.
    live.deploy("web", "http", json!({ "Timeout": 300 })).await;
    let url = live
        .create_url("web", json!({ "AuthType": "NONE", "InvokeMode": "BUFFERED" }))
        .await;
    let base = live.url_by_path(&url);
    // 700 000 chunks of "chunk N\n" are about 8.7 MB: past Lambda's 6 MB buffered response.
    let answered = get(
        &live.http,
        &format!("{base}/stream?chunks=700000&pause_ms=0"),
        &[],
    )
    .await;
    assert_eq!(answered.status, StatusCode::BAD_GATEWAY);
    assert!(answered.body.len() < 1024, "{} bytes", answered.body.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_iam_urls_refuse_unsigned_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, _, base) = web(dir.path(), json!({ "AuthType": "AWS_IAM" })).await;
    let unsigned = get(&live.http, &format!("{base}/hello"), &[]).await;
    assert_eq!(unsigned.status, StatusCode::FORBIDDEN);
    // Only the signed/unsigned distinction is asserted: lambkin does not verify SigV4 signatures
    // yet (issue #6), so any SigV4-shaped Authorization header gets through.
    let authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, \
                         SignedHeaders=host;x-amz-date, Signature=0123456789abcdef";
    let signed = get(
        &live.http,
        &format!("{base}/hello?name=Signed"),
        &[
            ("Authorization", authorization),
            ("X-Amz-Date", "20240101T000000Z"),
        ],
    )
    .await;
    assert_eq!((signed.status, signed.text()), (StatusCode::OK, "Hello, Signed!"));
    let other_scheme = get(
        &live.http,
        &format!("{base}/hello"),
        &[("Authorization", "Bearer x")],
    )
    .await;
    assert_eq!(other_scheme.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_over_6_mb_is_413() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (live, _, base) = web(dir.path(), json!({})).await;
    let too_big = vec![b'x'; 6 * 1024 * 1024 + 1];
    let refused = live
        .http
        .post(format!("{base}/echo"))
        .timeout(BOUND)
        .header("content-type", "text/plain")
        .body(too_big)
        .send()
        .await
        .expect("a response, not a broken connection");
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // 5 MiB still reaches the function (and its echo stays under the 6 MB response limit).
    let fits = live
        .http
        .post(format!("{base}/echo"))
        .timeout(BOUND)
        .header("content-type", "text/plain")
        .body(vec![b'y'; 5 * 1024 * 1024])
        .send()
        .await
        .expect("response");
    let fits = fetched(fits).await;
    assert_eq!(fits.status, StatusCode::OK);
    assert_eq!(fits.body.len(), 5 * 1024 * 1024);
}
