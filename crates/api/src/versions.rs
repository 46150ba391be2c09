//! The versions and aliases family: PublishVersion, ListVersionsByFunction,
//! Create/Get/Update/Delete/ListAliases.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, FunctionRef, Page, body, json, list};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;
use lambkin_registry::validate;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/2015-03-31/functions/{name}/versions",
            get(list_versions).post(publish_version),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases",
            get(list_aliases).post(create_alias),
        )
        .route(
            "/2015-03-31/functions/{name}/aliases/{alias}",
            get(get_alias).put(update_alias).delete(delete_alias),
        )
}

fn function_name(app: &AppState, id: &str) -> Result<String, ApiError> {
    Ok(FunctionRef::parse(id, None, &app.registry)?.unqualified()?)
}

async fn publish_version(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = function_name(&app, &name)?;
    let config = app.registry.publish_version(&name, body(&bytes)?).await?;
    Ok(json(StatusCode::CREATED, &config))
}

async fn list_versions(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let name = function_name(&app, &name)?;
    let (versions, next) = app
        .registry
        .list_versions(&name, page.marker.as_deref(), page.max_items()?)
        .await?;
    Ok(list("Versions", versions, next))
}

async fn create_alias(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = function_name(&app, &name)?;
    let alias = app.registry.create_alias(&name, body(&bytes)?).await?;
    Ok(json(StatusCode::CREATED, &alias))
}

async fn get_alias(
    State(app): State<AppState>,
    Path((name, alias)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let name = function_name(&app, &name)?;
    validate::alias_name(&alias)?;
    Ok(json(
        StatusCode::OK,
        &app.registry.get_alias(&name, &alias).await?,
    ))
}

async fn update_alias(
    State(app): State<AppState>,
    Path((name, alias)): Path<(String, String)>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = function_name(&app, &name)?;
    validate::alias_name(&alias)?;
    let updated = app.registry.update_alias(&name, &alias, body(&bytes)?).await?;
    Ok(json(StatusCode::OK, &updated))
}

async fn delete_alias(
    State(app): State<AppState>,
    Path((name, alias)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let name = function_name(&app, &name)?;
    validate::alias_name(&alias)?;
    app.registry.delete_alias(&name, &alias).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_aliases(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let name = function_name(&app, &name)?;
    let (aliases, next) = app
        .registry
        .list_aliases(
            &name,
            page.function_version.as_deref(),
            page.marker.as_deref(),
            page.max_items()?,
        )
        .await?;
    Ok(list("Aliases", aliases, next))
}
