//! `lambkin serve`: the HTTP front door on one listener.
//!
//! The control plane (`api::router`), the engine's health, and `UnknownOperationException` in the
//! AWS format for every operation lambkin does not implement yet.

use axum::Router;
use axum::routing::get;
use std::future::Future;
use tokio::net::TcpListener;

use crate::api::ApiError;
use crate::registry::Registry;
use crate::sandbox::Sandbox;
use std::sync::Arc;

/// Largest request body: a 50 MB package, base64-encoded in JSON, with room to spare.
const MAX_BODY_BYTES: usize = 72 * 1024 * 1024;

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub sandbox: Sandbox,
    pub registry: Arc<Registry>,
    pub invoker: Arc<crate::invoke::Invoker>,
}

/// The whole HTTP API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .merge(crate::api::router())
        .fallback(unknown_operation)
        .layer(axum::middleware::map_response(aws_error_for_oversized_bodies))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "status": "ok",
        "runtimeVersion": crate::sandbox::RUNTIME_VERSION,
        "poolingAllocator": state.sandbox.uses_pooling_allocator(),
    }))
}

/// axum refuses a body over the limit with a plain-text 413; clients expect the AWS format.
async fn aws_error_for_oversized_bodies(response: axum::response::Response) -> axum::response::Response {
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
