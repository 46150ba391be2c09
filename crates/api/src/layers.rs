//! The layers family: PublishLayerVersion, GetLayerVersion, ListLayerVersions,
//! DeleteLayerVersion, ListLayers; AddLayerVersionPermission, GetLayerVersionPolicy,
//! RemoveLayerVersionPermission.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, body, json, list};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;
use lambkin_registry::layers::layer_name;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/2018-10-31/layers", get(list_layers))
        .route("/2018-10-31/layers/", get(list_layers))
        .route(
            "/2018-10-31/layers/{name}/versions",
            get(list_layer_versions).post(publish_layer_version),
        )
        .route(
            "/2018-10-31/layers/{name}/versions/{number}",
            get(get_layer_version).delete(delete_layer_version),
        )
        .route(
            "/2018-10-31/layers/{name}/versions/{number}/policy",
            get(get_layer_version_policy).post(add_layer_version_permission),
        )
        .route(
            "/2018-10-31/layers/{name}/versions/{number}/policy/{statement_id}",
            delete(remove_layer_version_permission),
        )
}

/// The `RevisionId` query parameter of the permission calls.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RevisionQuery {
    revision_id: Option<String>,
}

async fn add_layer_version_permission(
    State(app): State<AppState>,
    Path((name, number)): Path<(String, String)>,
    Query(query): Query<RevisionQuery>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let (statement, revision_id) = app
        .registry
        .add_layer_version_permission(
            &layer_name(&name)?,
            version_number(&number)?,
            body(&bytes)?,
            query.revision_id.as_deref(),
        )
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &json!({ "Statement": statement, "RevisionId": revision_id }),
    ))
}

async fn get_layer_version_policy(
    State(app): State<AppState>,
    Path((name, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (policy, revision_id) = app
        .registry
        .get_layer_version_policy(&layer_name(&name)?, version_number(&number)?)?;
    Ok(json(
        StatusCode::OK,
        &json!({ "Policy": policy, "RevisionId": revision_id }),
    ))
}

async fn remove_layer_version_permission(
    State(app): State<AppState>,
    Path((name, number, statement_id)): Path<(String, String, String)>,
    Query(query): Query<RevisionQuery>,
) -> Result<Response, ApiError> {
    app.registry
        .remove_layer_version_permission(
            &layer_name(&name)?,
            version_number(&number)?,
            &statement_id,
            query.revision_id.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LayerQuery {
    marker: Option<String>,
    max_items: Option<String>,
    compatible_runtime: Option<String>,
}

impl LayerQuery {
    fn max_items(&self) -> Result<usize, ApiError> {
        super::Page {
            max_items: self.max_items.clone(),
            ..super::Page::default()
        }
        .max_items()
    }
}

fn version_number(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::InvalidParameterValue(format!(
            "Layer version number must be a positive integer, got {text}"
        ))
    })
}

async fn publish_layer_version(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = layer_name(&name)?;
    let version = app.registry.publish_layer_version(&name, body(&bytes)?).await?;
    Ok(json(StatusCode::CREATED, &version))
}

async fn get_layer_version(
    State(app): State<AppState>,
    Path((name, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let name = layer_name(&name)?;
    let version = app
        .registry
        .get_layer_version(&name, version_number(&number)?)
        .await?;
    Ok(json(StatusCode::OK, &version))
}

async fn delete_layer_version(
    State(app): State<AppState>,
    Path((name, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let name = layer_name(&name)?;
    app.registry
        .delete_layer_version(&name, version_number(&number)?)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_layer_versions(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<LayerQuery>,
) -> Result<Response, ApiError> {
    let name = layer_name(&name)?;
    let (versions, next) = app
        .registry
        .list_layer_versions(
            &name,
            query.compatible_runtime.as_deref(),
            query.marker.as_deref(),
            query.max_items()?,
        )
        .await;
    Ok(list("LayerVersions", versions, next))
}

async fn list_layers(
    State(app): State<AppState>,
    Query(query): Query<LayerQuery>,
) -> Result<Response, ApiError> {
    let (layers, next) = app
        .registry
        .list_layers(
            query.compatible_runtime.as_deref(),
            query.marker.as_deref(),
            query.max_items()?,
        )
        .await;
    Ok(list("Layers", layers, next))
}
