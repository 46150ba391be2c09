//! The real router on a real object store in a directory, driven with `oneshot` — or served on a
//! loopback port ([`serve`]) for tests that need a real HTTP client.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use lambkin_api::public_url::PublicUrl;
use lambkin_api::server::{self, AppState, FrontDoor, ServerConfig};
use lambkin_invoke::worker::AsyncSettings;
use lambkin_registry::Buckets;
use lambkin_sandbox::{Sandbox, SandboxConfig};
use object_store::local::LocalFileSystem;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt;

pub const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

fn sandbox() -> Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            Sandbox::new(SandboxConfig {
                compile_cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("api-compiled")),
                environments_dir: None,
                ..SandboxConfig::default()
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
    start_with(
        dir,
        Settings {
            front_door,
            async_settings,
            ..Settings::default()
        },
    )
    .await
}

/// What a test may set on a server (the rest as `lambkin serve` defaults it).
pub struct Settings {
    pub front_door: FrontDoor,
    pub async_settings: AsyncSettings,
    pub account_concurrency: u32,
    pub idle_timeout: std::time::Duration,
    /// Keys requests must be signed with (none: an anonymous server).
    pub credentials: lambkin_api::auth::Credentials,
    pub limits: lambkin_registry::RegistryLimits,
    /// The system of record (default: a local store in the test's directory).
    pub store: Option<Arc<dyn object_store::ObjectStore>>,
    /// Managed runtimes (none by default).
    pub runtimes: Vec<lambkin_registry::runtimes::ManagedRuntime>,
    /// Whether hot-reload code (local paths) is accepted (as on a loopback listener).
    pub hot_reload: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            front_door: FrontDoor::default(),
            async_settings: AsyncSettings::default(),
            account_concurrency: lambkin_registry::ACCOUNT_CONCURRENCY,
            idle_timeout: std::time::Duration::from_secs(600),
            credentials: Default::default(),
            limits: Default::default(),
            runtimes: Vec::new(),
            hot_reload: true,
            store: None,
        }
    }
}

pub async fn start_with(dir: &Path, settings: Settings) -> AppState {
    let local = |sub: &str| {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        Arc::new(LocalFileSystem::new_with_prefix(dir.join(sub)).expect("store"))
            as Arc<dyn object_store::ObjectStore>
    };
    server::start(ServerConfig {
        sandbox: sandbox(),
        store: settings.store.unwrap_or_else(|| local("store")),
        store_refresh: None,
        buckets: Buckets::Local(local("buckets")),
        data_dir: dir.to_path_buf(),
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        front_door: settings.front_door,
        async_settings: settings.async_settings,
        account_concurrency: settings.account_concurrency,
        idle_timeout: settings.idle_timeout,
        credentials: settings.credentials,
        limits: settings.limits,
        runtimes: settings.runtimes,
        hot_reload: settings.hot_reload,
        telemetry: Default::default(),
        logs: Some(Arc::new(
            lambkin_logs::LogStore::open(dir.join("logs"), 1 << 30).expect("log store"),
        )),
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
    // A body that is not JSON (a streaming function's bytes, buffered) comes back as a string.
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
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

/// A real server (`server::run`) on a loopback port; stopped when dropped.
pub struct Live {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub port: u16,
    /// A client for `base` (no proxy).
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

/// Serves `dir` on 127.0.0.1 at a port of the system's choosing (`front_door.public_url` is set
/// to it, so function URLs name it).
pub async fn serve(dir: &Path, front_door: FrontDoor, async_settings: AsyncSettings) -> Live {
    serve_with(
        dir,
        Settings {
            front_door,
            async_settings,
            ..Settings::default()
        },
    )
    .await
}

pub async fn serve_with(dir: &Path, mut settings: Settings) -> Live {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("local address");
    let port = address.port();
    if settings.front_door.public_url == FrontDoor::default().public_url {
        settings.front_door.public_url = PublicUrl::local(address);
    }
    let state = start_with(dir, settings).await;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        server::run(listener, state, shutdown).await.expect("serving");
    });
    Live {
        base: format!("http://127.0.0.1:{port}"),
        port,
        http: client(reqwest::Client::builder()),
        stop: Some(stop),
    }
}

/// A client that goes straight to the loopback server, whatever proxy the environment names, and
/// says who it is (as curl and browsers do).
pub fn client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder
        .no_proxy()
        .user_agent("lambkin-tests")
        .build()
        .expect("HTTP client")
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Live {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `path` on this server.
    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.http.request(method, self.url(path))
    }

    /// One API request over HTTP, answered as [`call`] answers.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        answer(request.send().await.expect("response")).await
    }

    /// CreateFunction from `examples/<example>` over HTTP, then polls until it is Active.
    pub async fn deploy(&self, name: &str, example: &str, extra: Value) {
        let mut body = create_body(name, extra);
        body["Code"]["ZipFile"] = json!(b64(&super::example_bytes(example)));
        let (status, _, config) = self.call("POST", "/2015-03-31/functions", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{config}");
        let path = format!("/2015-03-31/functions/{name}/configuration");
        // Generous: on a fresh clone the compile cache is cold, and tests compile side by side.
        for _ in 0..6000 {
            let (_, _, config) = self.call("GET", &path, None).await;
            match config["State"].as_str() {
                Some("Active") => return,
                Some("Pending") => tokio::time::sleep(Duration::from_millis(20)).await,
                _ => panic!("{name} did not become Active: {config}"),
            }
        }
        panic!("{name} was still Pending after 120 s");
    }

    /// CreateFunctionUrlConfig for `name` ($LATEST) with `config` (AuthType, InvokeMode, Cors);
    /// returns the FunctionUrlConfig.
    pub async fn create_url(&self, name: &str, config: Value) -> Value {
        let path = format!("/2021-10-31/functions/{name}/url");
        let (status, error, created) = self.call("POST", &path, Some(config)).await;
        assert_eq!(status, StatusCode::CREATED, "{error:?} {created}");
        created
    }

    /// The path form of a function URL: `<base>/lambda-url/<id>`, to which a path is appended.
    pub fn url_by_path(&self, url_config: &Value) -> String {
        self.url(&format!("/lambda-url/{}", url_id(url_config)))
    }
}

/// A response as [`call`] answers: status, `x-amzn-ErrorType` (if any), the JSON body.
pub async fn answer(response: reqwest::Response) -> (StatusCode, Option<String>, Value) {
    let status = response.status();
    let error = response
        .headers()
        .get("x-amzn-ErrorType")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.expect("body");
    // A body that is not JSON (a streaming function's bytes, buffered) comes back as a string.
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, error, json)
}

/// The id of a function URL: the first label of `FunctionUrl`'s host.
pub fn url_id(url_config: &Value) -> String {
    let url = url_config["FunctionUrl"].as_str().expect("FunctionUrl");
    match url.split_once("/lambda-url/") {
        Some((_, rest)) => rest.trim_end_matches('/').to_string(),
        None => {
            let host = url.split_once("://").expect("a URL").1;
            host.split('.').next().expect("a host").to_string()
        }
    }
}
