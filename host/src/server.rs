//! `lambkin serve`: the HTTP front door on one listener.
//!
//! So far it serves the engine's health and answers every Lambda operation it does not implement
//! yet with `UnknownOperationException` in the AWS format; the control plane and the invoke API
//! are routers added here (`app`) as they land.

use axum::Router;
use axum::routing::get;
use std::future::Future;
use tokio::net::TcpListener;

use crate::api::ApiError;
use crate::sandbox::Sandbox;

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub sandbox: Sandbox,
}

/// The whole HTTP API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .fallback(unknown_operation)
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

async fn unknown_operation(uri: axum::http::Uri) -> ApiError {
    ApiError::UnknownOperation(format!("lambkin does not implement {} yet", uri.path()))
}
