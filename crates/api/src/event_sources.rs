//! Event source mappings: lambkin polls no streams or queues, so it has none. ListEventSourceMappings
//! answers an empty list (tools read it before they change anything); creating one is refused
//! with a clear error rather than accepted and never run.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::{ApiError, json};
use crate::extract::Path;
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/2015-03-31/event-source-mappings",
            get(list_mappings).post(create_mapping),
        )
        .route(
            "/2015-03-31/event-source-mappings/",
            get(list_mappings).post(create_mapping),
        )
        .route(
            "/2015-03-31/event-source-mappings/{uuid}",
            get(no_mapping).put(no_mapping).delete(no_mapping),
        )
}

async fn list_mappings() -> Response {
    json(StatusCode::OK, &json!({ "EventSourceMappings": [] }))
}

async fn create_mapping() -> ApiError {
    ApiError::InvalidParameterValue(
        "lambkin has no event sources: it polls no streams or queues. Invoke the function directly, or asynchronously with InvocationType Event".into(),
    )
}

async fn no_mapping(Path(uuid): Path<String>) -> ApiError {
    ApiError::ResourceNotFound(format!(
        "The resource you requested does not exist. (event source mapping {uuid})"
    ))
}
