//! `lambkin serve`: the HTTP front door on one listener.
//!
//! [`start`] opens everything a server needs (registry, invoker, async queue and its worker);
//! [`app`] is the router: the Lambda API (`api::router`), function URLs by Host header, the
//! engine's health, and `UnknownOperationException` in the AWS format for anything else.

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use object_store::ObjectStore;
use std::future::Future;
use std::path::PathBuf;
use tokio::net::TcpListener;

use crate::ApiError;
use crate::auth::{Authenticator, Credentials};
use lambkin_invoke::Invoker;
use lambkin_invoke::queue::AsyncQueue;
use lambkin_invoke::worker::{AsyncSettings, Worker, WorkerHandle};
use lambkin_registry::{Buckets, Registry, RegistryConfig, RegistryLimits};
use lambkin_sandbox::Sandbox;
use lambkin_telemetry::Telemetry;
use std::sync::Arc;

/// Largest request body: a 50 MB package, base64-encoded in JSON, with room to spare.
pub const MAX_BODY_BYTES: usize = 72 * 1024 * 1024;

/// Shared by every handler: one `Arc`, since axum clones the state for every extractor.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What the handlers work with.
pub struct Services {
    pub sandbox: Sandbox,
    pub registry: Arc<Registry>,
    pub invoker: Arc<Invoker>,
    /// Accepted asynchronous events, durable until delivered.
    pub events: Arc<AsyncQueue>,
    pub front_door: FrontDoor,
    /// SigV4 verification of API requests; `None` on an anonymous server.
    pub auth: Option<Authenticator>,
    /// The functions' logs, for the CloudWatch Logs operations; `None` when logs are not kept.
    pub logs: Option<Arc<lambkin_logs::LogStore>>,
    pub telemetry: Telemetry,
    /// The server's own tasks; stopped by [`run`] on shutdown, or when the services are dropped.
    background: Background,
}

/// The tasks a server runs beside its requests: async delivery, housekeeping of the pools and
/// the registry's lifecycle jobs. Dropping it stops them (none holds anything the store does not).
struct Background {
    worker: WorkerHandle,
    others: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Stops the housekeeper and the lifecycle jobs, and the worker once its deliveries in
    /// flight are done. An activation cut short is done again at the next start.
    async fn stop(&self) {
        for task in &self.others {
            task.abort();
        }
        self.worker.stop().await;
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.others {
            task.abort();
        }
    }
}

/// Settings of the front door itself.
#[derive(Debug, Clone)]
pub struct FrontDoor {
    /// How the function URLs lambkin hands out are spelled.
    pub public_url: crate::public_url::PublicUrl,
    /// Largest Event payload (Lambda: 256 KB).
    pub async_max_payload: usize,
    /// Most bytes of one streamed response (Lambda: 20 MB).
    pub stream_max_bytes: usize,
    /// Most events awaiting delivery; past it Event invocations get a 429.
    pub async_max_queue: usize,
    /// After a shutdown signal, how long requests and deliveries in flight may take to finish.
    pub shutdown_timeout: std::time::Duration,
    /// Timeouts and the cap on connections.
    pub connections: crate::connections::ConnectionLimits,
}

impl Default for FrontDoor {
    fn default() -> Self {
        FrontDoor {
            public_url: crate::public_url::PublicUrl::local(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                9001,
            ))),
            async_max_payload: 256 * 1024,
            stream_max_bytes: 20 * 1024 * 1024,
            async_max_queue: 100_000,
            shutdown_timeout: std::time::Duration::from_secs(30),
            connections: crate::connections::ConnectionLimits::default(),
        }
    }
}

/// What a server is opened on.
pub struct ServerConfig {
    pub sandbox: Sandbox,
    /// The system of record (registry documents, code, layers).
    pub store: Arc<dyn ObjectStore>,
    /// Set when other nodes share `store` (S3): how often to read their writes.
    pub store_refresh: Option<std::time::Duration>,
    pub buckets: Buckets,
    /// Local state: unpacked layers (`opt/`) and the node's async queue (`queue/`).
    pub data_dir: PathBuf,
    pub region: String,
    pub account_id: String,
    pub front_door: FrontDoor,
    pub async_settings: AsyncSettings,
    /// The account's concurrency limit.
    pub account_concurrency: u32,
    /// How long an on-demand environment may stay idle before it is shut down.
    pub idle_timeout: std::time::Duration,
    /// The access keys requests must be signed with; none: anonymous.
    pub credentials: Credentials,
    /// Caps on functions, versions and layer versions.
    pub limits: RegistryLimits,
    /// The managed runtimes (Python, Node.js) this node provides.
    pub runtimes: Vec<lambkin_registry::runtimes::ManagedRuntime>,
    /// Whether `Code.S3Bucket` `hot-reload` may name paths on this host.
    pub hot_reload: bool,
    /// The log store the sandbox's log sink writes to, read by the CloudWatch Logs operations.
    pub logs: Option<Arc<lambkin_logs::LogStore>>,
    /// The node's metrics, and the tracer spans are exported with (if any).
    pub telemetry: Telemetry,
}

/// Opens the registry and the async queue and starts the queue's worker.
pub async fn start(config: ServerConfig) -> anyhow::Result<AppState> {
    let auth = Authenticator::new(&config.credentials, &config.region);
    let (registry, lifecycle_jobs) = Registry::open(RegistryConfig {
        store: config.store,
        buckets: config.buckets,
        opt_root: config.data_dir.join("opt"),
        task_root: config.data_dir.join("task"),
        runtimes: config.runtimes,
        hot_reload: config.hot_reload,
        runtime_version_arn: lambkin_sandbox::runtime_version_arn(&config.region),
        region: config.region,
        account_id: config.account_id,
        account_concurrency: config.account_concurrency,
        limits: config.limits,
        refresh_every: config.store_refresh,
    })
    .await
    .context("opening the registry")?;
    let queue_dir = config.data_dir.join("queue");
    let events = AsyncQueue::open(&queue_dir)
        .await
        .with_context(|| format!("opening the async queue at {}", queue_dir.display()))?;
    let lifecycle =
        lambkin_invoke::lifecycle::spawn(registry.clone(), config.sandbox.clone(), lifecycle_jobs);
    let invoker = Arc::new(Invoker::new(
        registry.clone(),
        config.sandbox.clone(),
        config.telemetry.clone(),
    ));
    let housekeeper = invoker.spawn_housekeeping(config.idle_timeout);
    let worker = Worker::spawn(
        events.clone(),
        invoker.clone(),
        registry.clone(),
        config.async_settings,
    )?;
    let background = Background {
        worker,
        others: vec![lifecycle, housekeeper],
    };
    Ok(AppState(Arc::new(Services {
        sandbox: config.sandbox,
        registry,
        invoker,
        events,
        front_door: config.front_door,
        auth,
        logs: config.logs,
        telemetry: config.telemetry,
        background,
    })))
}

/// The whole HTTP API. The layers wrap the router as one service (outermost first: request ids,
/// function URLs by Host, SigV4 on a signed server, the body limit, oversized bodies in the AWS
/// format), not each route: `Router::layer` would box every layer into every route, and each
/// request would clone and allocate through all of them.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .route("/health", get(health))
        .route("/lambkin/pools", get(pools))
        .route("/metrics", get(metrics))
        .merge(crate::router())
        // After the merge: it applies to the routes there are. axum's own 405 has an empty body.
        .method_not_allowed_fallback(unknown_operation)
        .fallback(unknown_operation)
        .with_state(state.clone());
    // An anonymous server checks no signatures: no layer to pass through on every request.
    let signatures = state
        .auth
        .is_some()
        .then(|| axum::middleware::from_fn_with_state(state.clone(), crate::auth::require_signature));
    let stack = tower::ServiceBuilder::new()
        // Outermost: every response, the middlewares' own included, carries the request's id.
        .layer(crate::request_id::RequestIdLayer {
            telemetry: state.telemetry.clone(),
        })
        .layer(crate::url_gateway::UrlHostLayer { app: state })
        .option_layer(signatures)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower::util::MapResponseLayer::new(aws_error_for_oversized_bodies))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets requests in
/// flight finish and stops the background work, for at most the front door's
/// `shutdown_timeout`.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let services = state.clone();
    let drain = state.front_door.shutdown_timeout;
    let limits = state.front_door.connections.clone();
    let (signal, stop) = tokio::sync::watch::channel(false);
    let mut server = std::pin::pin!(crate::connections::serve(listener, app(state), limits, stop));
    tokio::select! {
        () = &mut server => return Ok(()),
        () = shutdown => {}
    }
    // No new connections from here; requests and deliveries in flight get `drain` to finish.
    tracing::info!(drain_seconds = drain.as_secs(), "shutting down");
    let _ = signal.send(true);
    let finished = tokio::time::timeout(drain, async {
        tokio::join!(&mut server, services.background.stop());
    })
    .await;
    if finished.is_err() {
        tracing::warn!("requests or deliveries still in flight after the shutdown timeout: cut off");
    }
    Ok(())
}

async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "status": "ok",
        "runtimeVersion": lambkin_sandbox::RUNTIME_VERSION,
        "poolingAllocator": state.sandbox.uses_pooling_allocator(),
        "asyncQueueDepth": state.events.depth(),
    }))
}

/// lambkin's own view of its execution environments: per function version, environments
/// initialising, idle and busy, provisioned ones, cold starts; per function, invocations
/// running and throttles; the node's budget of environments and its evictions; how many
/// compiles ran.
async fn pools(axum::extract::State(state): axum::extract::State<AppState>) -> axum::Json<serde_json::Value> {
    let (pools, functions, environments) = state.invoker.report().await;
    axum::Json(serde_json::json!({
        "pools": pools,
        "functions": functions,
        "environments": environments,
        "compiles": state.sandbox.compiles(),
        "egress_denials": state.sandbox.egress_denials(),
    }))
}

/// Prometheus metrics: what was counted, and the gauges as they are now.
async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut snapshot = state.invoker.metrics_snapshot();
    snapshot.queue_depth = state.events.depth() as u64;
    snapshot.egress_denied = state.sandbox.egress_denials();
    let text = state.telemetry.metrics.render(&snapshot);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            lambkin_telemetry::metrics::CONTENT_TYPE,
        )],
        text,
    )
        .into_response()
}

/// axum refuses a body over the limit with a plain-text 413; clients expect the AWS format.
fn aws_error_for_oversized_bodies(response: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
        && !response.headers().contains_key("x-amzn-ErrorType")
    {
        return ApiError::RequestEntityTooLarge(format!(
            "Request must be smaller than {MAX_BODY_BYTES} bytes for the operation"
        ))
        .into_response();
    }
    response
}

async fn unknown_operation(uri: axum::http::Uri) -> ApiError {
    ApiError::UnknownOperation(format!("lambkin does not implement {} yet", uri.path()))
}
