//! Synchronous invocation through the real router: Invoke with RequestResponse and DryRun,
//! executed versions, weighted aliases, function errors, log tails, client context, limits.

mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};
use support::server::{b64, call, create, create_body, open, send, settled};

struct Invoked {
    status: StatusCode,
    executed_version: Option<String>,
    function_error: Option<String>,
    log: Option<String>,
    error_type: Option<String>,
    body: Value,
}

async fn invoke(app: &Router, target: &str, payload: &str, headers: &[(&str, &str)]) -> Invoked {
    let mut request = Request::builder()
        .method("POST")
        .uri(match target.split_once('?') {
            Some((name, query)) => format!("/2015-03-31/functions/{name}/invocations?{query}"),
            None => format!("/2015-03-31/functions/{target}/invocations"),
        });
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (status, headers, bytes) = send(
        app,
        request.body(Body::from(payload.to_string())).expect("request"),
    )
    .await;
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let log = text("x-amz-log-result").map(|b| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .expect("base64"),
        )
        .expect("utf8")
    });
    Invoked {
        status,
        executed_version: text("x-amz-executed-version"),
        function_error: text("x-amz-function-error"),
        log,
        error_type: text("x-amzn-ErrorType"),
        body: if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON")
        },
    }
}

/// Creates `name` from an example and waits until it is Active.
async fn deploy(app: &Router, name: &str, example: &str, extra: Value) {
    let mut body = create_body(name, extra);
    body["Code"]["ZipFile"] = json!(b64(&support::example_bytes(example)));
    let (status, _, config) = call(app, "POST", "/2015-03-31/functions", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{config}");
    assert_eq!(settled(app, name).await["State"], "Active");
}

#[tokio::test]
async fn request_response_round_trip_with_executed_version_and_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    create(&app, "hi").await;
    let out = invoke(&app, "hi", r#"{"name":"Ada"}"#, &[("X-Amz-Log-Type", "Tail")]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.body, json!({"message": "Hello, Ada!"}));
    assert_eq!(out.executed_version.as_deref(), Some("$LATEST"));
    assert_eq!(out.function_error, None);
    let log = out.log.expect("a log tail");
    assert!(
        log.contains("START RequestId: ") && log.contains("REPORT RequestId: "),
        "{log}"
    );
    // Without Tail, no log.
    let out = invoke(&app, "hi", "{}", &[]).await;
    assert_eq!((out.body, out.log), (json!({"message": "Hello, world!"}), None));
    // An empty payload is the empty object.
    assert_eq!(invoke(&app, "hi", "", &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_warm_environment_is_reused_between_invocations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    deploy(&app, "tmpfn", "tmp", json!({})).await;
    let first = invoke(&app, "tmpfn", r#"{"leave":"one"}"#, &[]).await;
    assert_eq!(first.body["previous"], Value::Null);
    let second = invoke(&app, "tmpfn", r#"{"leave":"two"}"#, &[("X-Amz-Log-Type", "Tail")]).await;
    assert_eq!(
        second.body["previous"], "one",
        "the same environment, its /tmp kept"
    );
    assert!(
        !second.log.expect("log").contains("Init Duration"),
        "a warm start"
    );
}

#[tokio::test]
async fn function_errors_are_unhandled_with_the_lambda_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    deploy(&app, "failing", "fail", json!({})).await;
    let out = invoke(&app, "failing", "{}", &[]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert_eq!(out.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(out.body["errorType"], "InvalidInputError");
    assert_eq!(out.body["errorMessage"], "the event was refused on purpose");

    deploy(&app, "spinning", "spin", json!({ "Timeout": 1 })).await;
    let out = invoke(&app, "spinning", "{}", &[]).await;
    assert_eq!(out.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(out.body["errorType"], "Sandbox.Timedout");
    // The crashed environment was dropped: the next call starts a fresh one and works as well.
    let out = invoke(&app, "spinning", "{}", &[]).await;
    assert_eq!(out.body["errorType"], "Sandbox.Timedout");
}

#[tokio::test]
async fn client_context_reaches_the_guest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    deploy(&app, "echoing", "echo", json!({})).await;
    let context = r#"{"custom":{"tenant":"t-1"}}"#;
    let encoded = base64::engine::general_purpose::STANDARD.encode(context);
    let out = invoke(
        &app,
        "echoing",
        r#"{"k":1}"#,
        &[("X-Amz-Client-Context", encoded.as_str())],
    )
    .await;
    assert_eq!(out.body["context"]["clientContext"], context);
    assert_eq!(
        out.body["context"]["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:echoing"
    );
    let bad = invoke(&app, "echoing", "{}", &[("X-Amz-Client-Context", "not base64!")]).await;
    assert_eq!(
        (bad.status, bad.error_type.as_deref()),
        (StatusCode::BAD_REQUEST, Some("InvalidRequestContentException"))
    );
}

#[tokio::test]
async fn versions_aliases_and_weighted_routing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    deploy(
        &app,
        "routed",
        "echo",
        json!({ "Environment": { "Variables": { "COLOR": "blue" } } }),
    )
    .await;
    call(
        &app,
        "POST",
        "/2015-03-31/functions/routed/versions",
        Some(json!({})),
    )
    .await;
    call(
        &app,
        "PUT",
        "/2015-03-31/functions/routed/configuration",
        Some(json!({ "Environment": { "Variables": { "COLOR": "green" } } })),
    )
    .await;
    call(
        &app,
        "POST",
        "/2015-03-31/functions/routed/versions",
        Some(json!({})),
    )
    .await;

    let v1 = invoke(&app, "routed:1", "{}", &[]).await;
    assert_eq!(v1.executed_version.as_deref(), Some("1"));
    assert_eq!(v1.body["environment"]["COLOR"], "blue");
    let v2 = invoke(&app, "routed?Qualifier=2", "{}", &[]).await;
    assert_eq!(v2.body["environment"]["COLOR"], "green");
    assert_eq!(v2.body["context"]["functionVersion"], "2");

    let alias = json!({ "Name": "live", "FunctionVersion": "1", "RoutingConfig": { "AdditionalVersionWeights": { "2": 0.3 } } });
    call(&app, "POST", "/2015-03-31/functions/routed/aliases", Some(alias)).await;
    let mut on_second = 0;
    for _ in 0..1000 {
        let out = invoke(&app, "routed:live", "{}", &[]).await;
        match out.executed_version.as_deref() {
            Some("2") => on_second += 1,
            Some("1") => {}
            other => panic!("unexpected executed version {other:?}"),
        }
    }
    assert!(
        (250..=350).contains(&on_second),
        "weight 0.3 sent {on_second} of 1000 calls to version 2"
    );
    let out = invoke(&app, "routed:live", "{}", &[]).await;
    assert!(
        out.body["context"]["invokedFunctionArn"]
            .as_str()
            .is_some_and(|a| a.ends_with(":routed:live"))
    );
}

#[tokio::test]
async fn bad_requests_dry_runs_and_states() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path()).await;
    create(&app, "checked").await;
    let dry = invoke(&app, "checked", "{}", &[("X-Amz-Invocation-Type", "DryRun")]).await;
    assert_eq!(dry.status, StatusCode::NO_CONTENT);
    let missing = invoke(&app, "nobody", "{}", &[("X-Amz-Invocation-Type", "DryRun")]).await;
    assert_eq!(missing.error_type.as_deref(), Some("ResourceNotFoundException"));

    let not_json = invoke(&app, "checked", "{not json", &[]).await;
    assert_eq!(
        (not_json.status, not_json.error_type.as_deref()),
        (StatusCode::BAD_REQUEST, Some("InvalidRequestContentException"))
    );
    let big = format!("\"{}\"", "x".repeat(6 * 1024 * 1024));
    let too_big = invoke(&app, "checked", &big, &[]).await;
    assert_eq!(
        (too_big.status, too_big.error_type.as_deref()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("RequestEntityTooLargeException")
        )
    );
    let bad_type = invoke(&app, "checked", "{}", &[("X-Amz-Invocation-Type", "Sometimes")]).await;
    assert_eq!(
        bad_type.error_type.as_deref(),
        Some("InvalidParameterValueException")
    );

    let broken = create_body(
        "broken",
        json!({ "Code": { "ZipFile": b64(b"\0asm\x0d\0\x01\0garbage") } }),
    );
    call(&app, "POST", "/2015-03-31/functions", Some(broken)).await;
    settled(&app, "broken").await;
    let out = invoke(&app, "broken", "{}", &[]).await;
    assert_eq!(
        (out.status, out.error_type.as_deref()),
        (StatusCode::BAD_GATEWAY, Some("InvalidZipFileException"))
    );
}

/// Hot reload (`Code.S3Bucket` `hot-reload`, `S3Key` a local path): the function runs the path
/// as it is now, so replacing the component takes effect on the next invocation, no redeploy.
#[tokio::test]
async fn hot_reload_code_runs_the_path_as_it_is_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    let code = tempfile::tempdir().expect("tempdir");
    let component = code.path().join("function.wasm");
    std::fs::copy(support::example_wasm("hello"), &component).expect("copy");
    let app = open(dir.path()).await;
    let hot_reload =
        |key: &str| json!({ "Code": { "S3Bucket": "hot-reload", "S3Key": key }, "Handler": "function.wasm" });

    let directory = code.path().to_str().expect("a UTF-8 path").to_string();
    let (status, error, created) = call(
        &app,
        "POST",
        "/2015-03-31/functions",
        Some(create_body("live", hot_reload(&directory))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{error:?} {created}");
    assert_eq!(
        created["CodeSha256"], "hot-reloading-hash-not-available",
        "{created}"
    );
    assert_eq!(settled(&app, "live").await["State"], "Active");

    let first = invoke(&app, "live", r#"{"name":"Ada"}"#, &[]).await;
    assert_eq!(first.body, json!({ "message": "Hello, Ada!" }));
    // Unchanged code keeps its warm environment.
    let again = invoke(&app, "live", r#"{"name":"Ada"}"#, &[("X-Amz-Log-Type", "Tail")]).await;
    assert!(
        !again.log.as_deref().unwrap_or_default().contains("Init Duration"),
        "{:?}",
        again.log
    );

    std::fs::copy(support::example_wasm("echo"), &component).expect("copy");
    let edited = invoke(&app, "live", r#"{"name":"Ada"}"#, &[("X-Amz-Log-Type", "Tail")]).await;
    assert_eq!(edited.status, StatusCode::OK);
    assert_eq!(edited.body["event"], json!({ "name": "Ada" }), "{}", edited.body);
    assert!(
        edited
            .log
            .as_deref()
            .unwrap_or_default()
            .contains("Init Duration"),
        "a new environment: {:?}",
        edited.log
    );

    // A path that is relative or absent is refused as a bad parameter.
    for key in ["relative/dir", "/no/such/lambkin/dir"] {
        let (status, error, body) = call(
            &app,
            "POST",
            "/2015-03-31/functions",
            Some(create_body("bad-path", hot_reload(key))),
        )
        .await;
        assert_eq!(
            (status, error.as_deref()),
            (StatusCode::BAD_REQUEST, Some("InvalidParameterValueException")),
            "{key}: {body}"
        );
    }
}

/// Where the operator has not allowed hot reload, a local path is refused.
#[tokio::test]
async fn hot_reload_is_refused_where_it_is_not_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = support::server::Settings {
        hot_reload: false,
        ..Default::default()
    };
    let app = lambkin_api::server::app(support::server::start_with(dir.path(), settings).await);
    let code = std::env::temp_dir().to_str().expect("a UTF-8 path").to_string();
    let body = create_body(
        "live",
        json!({ "Code": { "S3Bucket": "hot-reload", "S3Key": code }, "Handler": "function.wasm" }),
    );
    let (status, error, body) = call(&app, "POST", "/2015-03-31/functions", Some(body)).await;
    assert_eq!(
        (status, error.as_deref()),
        (StatusCode::BAD_REQUEST, Some("InvalidParameterValueException")),
        "{body}"
    );
    assert!(
        body["Message"]
            .as_str()
            .unwrap_or_default()
            .contains("--allow-hot-reload"),
        "{body}"
    );
}
