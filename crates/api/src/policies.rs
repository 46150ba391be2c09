//! AddPermission, RemovePermission and GetPolicy under `/2015-03-31/functions/{name}/policy`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, FunctionRef, Page, body, json, target};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/2015-03-31/functions/{name}/policy",
            get(get_policy).post(add_permission),
        )
        .route(
            "/2015-03-31/functions/{name}/policy/{statement_id}",
            delete(remove_permission),
        )
}

async fn add_permission(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let f = target(&app, &name, &page)?;
    let statement = app
        .registry
        .add_permission(&f.name, f.qualifier.as_deref(), body(&bytes)?)
        .await?;
    Ok(json(StatusCode::CREATED, &json!({ "Statement": statement })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RemoveQuery {
    qualifier: Option<String>,
    revision_id: Option<String>,
}

async fn remove_permission(
    State(app): State<AppState>,
    Path((name, statement_id)): Path<(String, String)>,
    Query(query): Query<RemoveQuery>,
) -> Result<Response, ApiError> {
    let f = FunctionRef::parse(&name, query.qualifier.as_deref(), &app.registry)?;
    app.registry
        .remove_permission(
            &f.name,
            f.qualifier.as_deref(),
            &statement_id,
            query.revision_id.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_policy(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let f = target(&app, &name, &page)?;
    let (policy, revision_id) = app.registry.get_policy(&f.name, f.qualifier.as_deref())?;
    Ok(json(
        StatusCode::OK,
        &json!({ "Policy": policy, "RevisionId": revision_id }),
    ))
}
