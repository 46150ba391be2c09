//! # lambkin-api
//!
//! The front door: the AWS Lambda REST API, one router per resource family, one error type
//! rendering the AWS wire format, and the request plumbing they share (identifiers, bodies,
//! pagination); SigV4; function URLs; [`server::app`] and [`server::run`].
//!
//! # Layout
//! - [`server`]: the whole router on one listener, and the services it is opened on.
//! - [`connections`]: the listener's connections: header and body timeouts, the cap.
//! - [`auth`]: SigV4 verification and the secure defaults of an anonymous server.
//! - [`error`]: [`ApiError`], the AWS wire error, and the domain errors it is made from.
//! - `extract`: the routers' extractors, whose rejections are [`ApiError`]s.
//! - `functions`, `versions`, `settings`, `layers`, `events`, `url_configs`, `provisioned`,
//!   `tags`, `policies`, `code_signing`, `event_sources`: the control plane's routers, one per
//!   resource family.
//! - `invoke`, `stream`: Invoke and InvokeWithResponseStream.
//! - `logs`: the CloudWatch Logs operations over the node's log store.
//! - [`url_gateway`], `url_event`: function URLs (routing, payload format 2.0 mapping);
//!   [`public_url`]: how the URLs handed out are spelled.
//! - [`request_id`]: one id per HTTP request: its log span, its invocation, its response header.
//! - [`fuzzing`]: hostile-input entry points for the fuzz targets of `fuzz/`.

pub mod auth;
mod code_signing;
pub mod connections;
pub mod error;
mod event_sources;
mod events;
mod extract;
mod functions;
pub mod fuzzing;
pub(crate) mod invoke;
mod layers;
pub(crate) mod logs;
mod policies;
pub(crate) mod provisioned;
pub mod public_url;
pub mod request_id;
pub mod server;
pub(crate) mod settings;
mod stream;
mod tags;
mod url_configs;
mod url_event;
pub mod url_gateway;
mod versions;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use error::ApiError;
pub use lambkin_registry::FunctionRef;

use crate::server::AppState;

/// Every route of the Lambda API, and function URLs by path.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(functions::router())
        .merge(versions::router())
        .merge(settings::router())
        .merge(layers::router())
        .merge(invoke::router())
        .merge(stream::router())
        .merge(events::router())
        .merge(url_configs::router())
        .merge(provisioned::router())
        .merge(tags::router())
        .merge(policies::router())
        .merge(code_signing::router())
        .merge(event_sources::router())
        .merge(url_gateway::router())
        .merge(logs::router())
}

/// Parses a JSON request body (an empty body is `{}`).
pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::InvalidParameterValue(format!("Could not parse request body: {e}")))
}

/// A JSON response with the model's status code.
pub(crate) fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    (status, axum::Json(value)).into_response()
}

/// A list operation's response: `{"<key>": [...], "NextMarker": ...}`.
pub(crate) fn list<T: serde::Serialize>(key: &str, items: Vec<T>, next_marker: Option<String>) -> Response {
    let mut response = serde_json::json!({ key: items });
    if let Some(next) = next_marker {
        response["NextMarker"] = serde_json::json!(next);
    }
    json(StatusCode::OK, &response)
}

/// The function and qualifier (path, or `?Qualifier=`) a sub-resource request names.
pub(crate) fn target(app: &AppState, name: &str, page: &Page) -> Result<FunctionRef, ApiError> {
    Ok(FunctionRef::parse(
        name,
        page.qualifier.as_deref(),
        &app.registry,
    )?)
}

/// What the List operations of a function's configurations read: the function (unqualified),
/// `Marker`, and `MaxItems` capped at the model's 50.
pub(crate) fn listing<'a>(
    app: &AppState,
    name: &str,
    page: &'a Page,
) -> Result<(String, Option<&'a str>, usize), ApiError> {
    let name = FunctionRef::parse(name, None, &app.registry)?.unqualified()?;
    Ok((name, page.marker.as_deref(), page.max_items()?.min(50)))
}

/// `Marker` / `MaxItems` of the list operations.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Page {
    pub marker: Option<String>,
    pub max_items: Option<String>,
    pub function_version: Option<String>,
    pub qualifier: Option<String>,
}

impl Page {
    /// MaxItems within the model's 1..=10000 (default 50).
    pub fn max_items(&self) -> Result<usize, ApiError> {
        match &self.max_items {
            None => Ok(50),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=10_000).contains(&n) => Ok(n),
                _ => Err(ApiError::InvalidParameterValue(format!(
                    "1 validation error detected: Value '{text}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"
                ))),
            },
        }
    }
}
