//! TagResource, UntagResource and ListTags under `/2017-03-31/tags/{ARN}`.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

use super::{ApiError, body, json};
use crate::extract::{Path, RawBody};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/2017-03-31/tags/{arn}",
        get(list_tags).post(tag_resource).delete(untag_resource),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    tags: Option<BTreeMap<String, String>>,
}

async fn tag_resource(
    State(app): State<AppState>,
    Path(arn): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let input: TagInput = body(&bytes)?;
    let tags = input
        .tags
        .ok_or_else(|| ApiError::InvalidParameterValue("Tags is required".into()))?;
    app.registry.tag_resource(&arn, tags).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn untag_resource(
    State(app): State<AppState>,
    Path(arn): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    // `tagKeys` repeats, one per key: read the query as pairs.
    let keys: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(name, _)| name == "tagKeys")
        .map(|(_, key)| key.into_owned())
        .collect();
    if keys.is_empty() {
        return Err(ApiError::InvalidParameterValue("TagKeys is required".into()));
    }
    app.registry.untag_resource(&arn, &keys).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_tags(State(app): State<AppState>, Path(arn): Path<String>) -> Result<Response, ApiError> {
    let tags = app.registry.list_tags(&arn)?;
    Ok(json(StatusCode::OK, &json!({ "Tags": tags })))
}
