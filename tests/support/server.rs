//! The real router on a real object store in a directory, driven with `oneshot`.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use lambkin_host::invoke::worker::AsyncSettings;
use lambkin_host::registry::Buckets;
use lambkin_host::sandbox::{Sandbox, SandboxConfig};
use lambkin_host::server::{self, AppState, FrontDoor, ServerConfig};
use object_store::local::LocalFileSystem;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

pub const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

fn sandbox() -> Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            Sandbox::new(SandboxConfig {
                compile_cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("api-compiled")),
                environments_dir: None,
            })
            .expect("sandbox")
        })
        .clone()
}

pub async fn open(dir: &Path) -> Router {
    server::app(start(dir, FrontDoor::default(), AsyncSettings::default()).await)
}

/// Opens a server's state on `dir` (a real object store in a directory) with these settings.
pub async fn start(dir: &Path, front_door: FrontDoor, async_settings: AsyncSettings) -> AppState {
    let local = |sub: &str| {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        Arc::new(LocalFileSystem::new_with_prefix(dir.join(sub)).expect("store"))
            as Arc<dyn object_store::ObjectStore>
    };
    server::start(ServerConfig {
        sandbox: sandbox(),
        store: local("store"),
        buckets: Buckets::Local(local("buckets")),
        data_dir: dir.to_path_buf(),
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        front_door,
        async_settings,
    })
    .await
    .expect("server state")
}

/// One request; returns the status, the `x-amzn-ErrorType` (if any) and the JSON body.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    call_raw(app, method, uri, body).await
}

/// One request, as it comes back: status, headers, body bytes.
pub async fn send(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, axum::body::Bytes) {
    let response = app.clone().oneshot(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    (parts.status, parts.headers, bytes)
}

pub async fn call_raw(
    app: &Router,
    method: &str,
    uri: &str,
    body: Body,
) -> (StatusCode, Option<String>, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(body)
        .expect("request");
    let (status, headers, bytes) = send(app, request).await;
    let error = headers
        .get("x-amzn-ErrorType")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, error, json)
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn create_body(name: &str, extra: Value) -> Value {
    let mut body = json!({
        "FunctionName": name,
        "Role": ROLE,
        "Runtime": "provided.al2023",
        "Handler": "hello.wasm",
        "Code": { "ZipFile": b64(&super::example_bytes("hello")) },
    });
    if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    body
}

/// Creates a function from `hello` and waits until it is Active (updates are refused before).
pub async fn create(app: &Router, name: &str) -> Value {
    let (status, error, body) = call(
        app,
        "POST",
        "/2015-03-31/functions",
        Some(create_body(name, json!({}))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{error:?} {body}");
    assert_eq!(settled(app, name).await["State"], "Active");
    body
}

/// Asserts an AWS error: the status and `x-amzn-ErrorType` of the model, and a message.
pub fn assert_error(result: (StatusCode, Option<String>, Value), status: StatusCode, code: &str) {
    let (got_status, got_code, body) = result;
    assert_eq!((got_status, got_code.as_deref()), (status, Some(code)), "{body}");
    assert_eq!(body["Type"], "User", "{body}");
    assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

/// Polls GetFunctionConfiguration until the state leaves Pending.
pub async fn settled(app: &Router, name: &str) -> Value {
    for _ in 0..300 {
        let (_, _, config) = call(
            app,
            "GET",
            &format!("/2015-03-31/functions/{name}/configuration"),
            None,
        )
        .await;
        if config["State"] != "Pending" && config["LastUpdateStatus"] != "InProgress" {
            return config;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{name} never settled");
}
