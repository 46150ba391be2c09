//! Every invoke limit, through a real HTTP client against a spawned `lambkin serve`: the 6 MiB
//! synchronous payload, JSON-only payloads, the Event payload limit, the 6 MB response limit,
//! the cap on a streamed response, reserved concurrency (1 and 0), and asynchronous retries
//! ending with the invocation record at an OnFailure webhook.

mod support;

use lambkin_api::server::FrontDoor;
use lambkin_invoke::worker::AsyncSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::server::{Live, answer, assert_error, serve};
use tokio::sync::mpsc;

/// Lambda's synchronous payload limit, 6 MB as 6 MiB.
const SYNC_LIMIT: usize = 6 * 1024 * 1024;
/// Longest any one wait may take here.
const BOUND: Duration = Duration::from_secs(30);

async fn server(dir: &std::path::Path) -> Live {
    serve(dir, FrontDoor::default(), AsyncSettings::default()).await
}

/// Invoke `name` with a raw payload and `X-Amz-Invocation-Type`.
async fn invoke(
    live: &Live,
    name: &str,
    invocation_type: &str,
    payload: impl Into<reqwest::Body>,
) -> reqwest::Response {
    live.request("POST", &format!("/2015-03-31/functions/{name}/invocations"))
        .header("X-Amz-Invocation-Type", invocation_type)
        .body(payload)
        .timeout(BOUND)
        .send()
        .await
        .expect("response")
}

/// `{"name":"Ada","pad":"xxx…"}` of exactly `len` bytes.
fn padded(len: usize) -> String {
    let frame = r#"{"name":"Ada","pad":""}"#;
    let payload = format!(r#"{{"name":"Ada","pad":"{}"}}"#, "x".repeat(len - frame.len()));
    assert_eq!(payload.len(), len);
    payload
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_payloads_of_6_mib_are_accepted_and_larger_or_non_json_ones_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = server(dir.path()).await;
    live.deploy("greeter", "hello", json!({})).await;

    let (status, error, body) =
        answer(invoke(&live, "greeter", "RequestResponse", padded(SYNC_LIMIT)).await).await;
    assert_eq!((status, error), (StatusCode::OK, None), "{body}");
    assert_eq!(body, json!({"message": "Hello, Ada!"}));

    let refused = answer(invoke(&live, "greeter", "RequestResponse", padded(SYNC_LIMIT + 1)).await).await;
    assert_error(
        refused,
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLargeException",
    );

    let not_json = answer(invoke(&live, "greeter", "RequestResponse", "{\"name\": oops").await).await;
    assert_error(
        not_json,
        StatusCode::BAD_REQUEST,
        "InvalidRequestContentException",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_payloads_over_the_async_limit_are_413() {
    let dir = tempfile::tempdir().expect("tempdir");
    let front_door = FrontDoor {
        async_max_payload: 1024,
        ..FrontDoor::default()
    };
    let live = serve(dir.path(), front_door, AsyncSettings::default()).await;
    live.deploy("greeter", "hello", json!({})).await;

    let at_limit = invoke(&live, "greeter", "Event", padded(1024)).await;
    assert_eq!(at_limit.status(), StatusCode::ACCEPTED);
    assert!(at_limit.headers().contains_key("x-amzn-RequestId"));

    let over = answer(invoke(&live, "greeter", "Event", padded(1025)).await).await;
    assert_error(
        over,
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLargeException",
    );
    // The async limit is the Event type's only: the same payload is fine synchronously.
    let (status, _, body) = answer(invoke(&live, "greeter", "RequestResponse", padded(1025)).await).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"message": "Hello, Ada!"}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_over_6_mb_is_function_response_size_too_large() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = server(dir.path()).await;
    live.deploy("echoing", "echo", json!({ "MemorySize": 512 })).await;
    // `echo` returns its event re-serialized, and serde_json writes the float `1e15` as
    // `1000000000000000.0`: a 2.5 MB request (5 bytes an element) comes back as a 9.5 MB
    // response (19 bytes an element). A long string could not do it: its echo is no longer than
    // the request, which must itself stay under 6 MiB.
    let elements = 500_000;
    let payload = format!("[{}]", vec!["1e15"; elements].join(","));
    assert!(payload.len() < SYNC_LIMIT && elements * 19 > SYNC_LIMIT);
    let response = invoke(&live, "echoing", "RequestResponse", payload).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("x-amz-function-error")
            .and_then(|v| v.to_str().ok()),
        Some("Unhandled")
    );
    let (_, _, body) = answer(response).await;
    assert_eq!(body["errorType"], "Function.ResponseSizeTooLarge", "{body}");

    // The same function answers normally under the limit.
    let (status, _, body) = answer(invoke(&live, "echoing", "RequestResponse", "[1e15]").await).await;
    assert_eq!((status, &body["event"]), (StatusCode::OK, &json!([1e15])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_over_its_cap_completes_with_response_size_too_large() {
    let dir = tempfile::tempdir().expect("tempdir");
    let front_door = FrontDoor {
        stream_max_bytes: 64,
        ..FrontDoor::default()
    };
    let live = serve(dir.path(), front_door, AsyncSettings::default()).await;
    live.deploy("streamer", "stream", json!({})).await;
    let stream = |chunks: u32| {
        let request = live
            .request(
                "POST",
                "/2021-11-15/functions/streamer/response-streaming-invocations",
            )
            .body(json!({ "chunks": chunks, "pause_ms": 0 }).to_string())
            .timeout(BOUND);
        async move {
            let response = request.send().await.expect("response");
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/vnd.amazon.eventstream")
            );
            support::event_stream(response.bytes().await.expect("body"))
        }
    };

    // 20 chunks of "chunk N\n" are 170 bytes: the eight that fit in 64 go out, then the error.
    let capped = stream(20).await;
    let (last, complete) = capped.last().expect("events");
    assert_eq!(last, "InvokeComplete");
    let complete: Value = serde_json::from_slice(complete).expect("InvokeComplete JSON");
    assert_eq!(
        complete["ErrorCode"], "Function.ResponseSizeTooLarge",
        "{complete}"
    );
    let streamed: Vec<u8> = capped[..capped.len() - 1]
        .iter()
        .inspect(|(event_type, _)| assert_eq!(event_type, "PayloadChunk"))
        .flat_map(|(_, payload)| payload.to_vec())
        .collect();
    let expected: String = (0..8).map(|i| format!("chunk {i}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&streamed), expected);

    // Exactly at the cap is fine: 8 chunks of 8 bytes.
    let fits = stream(8).await;
    let (last, complete) = fits.last().expect("events");
    assert_eq!(
        (last.as_str(), complete.as_ref()),
        ("InvokeComplete", b"{}".as_slice())
    );
    assert_eq!(fits.len(), 9, "eight chunks and the completion");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_throttles_sync_invokes_with_429() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = server(dir.path()).await;
    live.deploy("slow", "stream", json!({})).await;
    let reserve = |n: u32| {
        live.call(
            "PUT",
            "/2017-10-31/functions/slow/concurrency",
            Some(json!({ "ReservedConcurrentExecutions": n })),
        )
    };
    let (status, _, body) = reserve(1).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"ReservedConcurrentExecutions": 1}))
    );
    // Warm: the environment exists before the two calls race.
    let (status, _, _) = answer(invoke(&live, "slow", "RequestResponse", r#"{"chunks":1}"#).await).await;
    assert_eq!(status, StatusCode::OK);

    let slow_call = || async {
        answer(invoke(&live, "slow", "RequestResponse", r#"{"chunks":2,"pause_ms":600}"#).await).await
    };
    let (a, b) = tokio::join!(slow_call(), slow_call());
    let (ran, throttled) = if a.0 == StatusCode::OK { (a, b) } else { (b, a) };
    assert_eq!(ran.0, StatusCode::OK, "{}", ran.2);
    assert_eq!(
        throttled.2["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
    assert_error(
        throttled,
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequestsException",
    );

    // Once the slot is free again, a call runs.
    let (status, _, _) = answer(invoke(&live, "slow", "RequestResponse", r#"{"chunks":1}"#).await).await;
    assert_eq!(status, StatusCode::OK);

    assert_eq!(reserve(0).await.0, StatusCode::OK);
    for _ in 0..3 {
        let refused = answer(invoke(&live, "slow", "RequestResponse", r#"{"chunks":1}"#).await).await;
        assert_eq!(
            refused.2["Reason"],
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        );
        assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException");
    }
}

/// A webhook on a loopback port: every JSON body POSTed to `/` comes out of the receiver.
async fn webhook() -> (String, mpsc::UnboundedReceiver<Value>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (records, received) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            let _ = records.send(serde_json::from_slice(&body).expect("a JSON record"));
            StatusCode::OK
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.expect("webhook") });
    (format!("http://{address}/"), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_failures_are_retried_then_recorded_at_the_on_failure_destination() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Minutes become milliseconds: the retry after a function error waits 60 ms, not 60 s.
    let settings = AsyncSettings {
        time_scale: 0.001,
        workers: 4,
    };
    let live = serve(dir.path(), FrontDoor::default(), settings).await;
    live.deploy("failing", "fail", json!({})).await;
    let (destination, mut records) = webhook().await;
    let (status, error, config) = live
        .call(
            "PUT",
            "/2019-09-25/functions/failing/event-invoke-config",
            Some(json!({
                "MaximumRetryAttempts": 1,
                "DestinationConfig": { "OnFailure": { "Destination": destination } },
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{error:?} {config}");

    let accepted = invoke(&live, "failing", "Event", r#"{"order":42}"#).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let request_id = accepted
        .headers()
        .get("x-amzn-RequestId")
        .and_then(|v| v.to_str().ok())
        .expect("x-amzn-RequestId")
        .to_string();

    let record = tokio::time::timeout(BOUND, records.recv())
        .await
        .expect("a record within the bound")
        .expect("a record");
    let context = &record["requestContext"];
    assert_eq!(context["condition"], "RetriesExhausted", "{record}");
    assert_eq!(
        context["approximateInvokeCount"], 2,
        "the first try and one retry"
    );
    assert_eq!(context["requestId"], request_id.as_str());
    assert!(
        context["functionArn"]
            .as_str()
            .is_some_and(|arn| arn.contains(":function:failing")),
        "{record}"
    );
    assert_eq!(record["requestPayload"], json!({"order": 42}));
    assert_eq!(record["responseContext"]["functionError"], "Unhandled");
    assert_eq!(record["responsePayload"]["errorType"], "InvalidInputError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_async_queue_refuses_events_with_429_and_loses_none_it_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let front_door = FrontDoor {
        async_max_queue: 3,
        ..FrontDoor::default()
    };
    // One delivery at a time, each holding its environment for 300 ms: the queue fills.
    let async_settings = AsyncSettings {
        workers: 1,
        ..AsyncSettings::default()
    };
    let live = serve(dir.path(), front_door, async_settings).await;
    live.deploy("slow", "counter", json!({})).await;
    let slow = json!({ "sleep_ms": 300 }).to_string();
    for _ in 0..3 {
        assert_eq!(
            invoke(&live, "slow", "Event", slow.clone()).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let full = invoke(&live, "slow", "Event", slow.clone()).await;
    let (status, error, body) = answer(full).await;
    assert_eq!(
        (status, error.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("TooManyRequestsException")),
        "{body}"
    );
    assert_eq!(body["Reason"], "CallerRateLimitExceeded", "{body}");
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.contains("queue is full")),
        "{body}"
    );
    // Synchronous calls are not queued: unaffected.
    let sync = invoke(&live, "slow", "RequestResponse", "{}").await;
    assert_eq!(sync.status(), StatusCode::OK);

    // The three accepted events are delivered, and then there is room again.
    let deadline = std::time::Instant::now() + BOUND;
    loop {
        let (_, _, health) = live.call("GET", "/health", None).await;
        if health["asyncQueueDepth"] == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "events never delivered: {health}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        invoke(&live, "slow", "Event", slow).await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_on_functions_versions_and_layers_are_code_storage_exceeded() {
    use support::server::{Settings, serve_with};
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings {
        limits: lambkin_registry::RegistryLimits {
            max_functions: 2,
            max_versions: 1,
            max_layer_versions: 1,
        },
        ..Settings::default()
    };
    let live = serve_with(dir.path(), settings).await;
    live.deploy("one", "hello", json!({})).await;
    live.deploy("two", "hello", json!({})).await;
    let mut third = support::server::create_body("three", json!({}));
    third["Code"]["ZipFile"] = json!(support::server::b64(&support::example_bytes("hello")));
    let refused = live
        .call("POST", "/2015-03-31/functions", Some(third.clone()))
        .await;
    assert_error(
        refused.clone(),
        StatusCode::BAD_REQUEST,
        "CodeStorageExceededException",
    );
    assert!(
        refused.2["Message"]
            .as_str()
            .is_some_and(|m| m.contains("--max-functions=2")),
        "{}",
        refused.2
    );
    let (status, _, _) = live.call("GET", "/2015-03-31/functions/three", None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing of the refused function is kept"
    );
    let (status, _, _) = live.call("DELETE", "/2015-03-31/functions/two", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, created) = live.call("POST", "/2015-03-31/functions", Some(third)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "room again after a delete: {created}"
    );

    let publish = "/2015-03-31/functions/one/versions";
    let (status, _, version) = live.call("POST", publish, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    // Republishing an unchanged $LATEST is the same version, not a new one: allowed.
    let (status, _, again) = live.call("POST", publish, Some(json!({}))).await;
    assert_eq!(
        (status, &again["Version"]),
        (StatusCode::CREATED, &version["Version"])
    );
    let configuration = "/2015-03-31/functions/one/configuration";
    let (status, _, _) = live
        .call("PUT", configuration, Some(json!({ "Description": "changed" })))
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = live.call("POST", publish, Some(json!({}))).await;
    assert_error(second, StatusCode::BAD_REQUEST, "CodeStorageExceededException");

    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer
        .start_file("greeting.txt", zip::write::SimpleFileOptions::default())
        .expect("zip");
    std::io::Write::write_all(&mut writer, b"hi").expect("zip");
    let layer = writer.finish().expect("zip").into_inner();
    let body = json!({ "Content": { "ZipFile": support::server::b64(&layer) } });
    let (status, _, first) = live
        .call("POST", "/2018-10-31/layers/a/versions", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let other = live
        .call("POST", "/2018-10-31/layers/b/versions", Some(body))
        .await;
    assert_error(other, StatusCode::BAD_REQUEST, "CodeStorageExceededException");
}
