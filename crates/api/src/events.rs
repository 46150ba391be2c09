//! Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, Page, body, json, list, listing, target};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config",
            get(get_config)
                .put(put_config)
                .post(update_config)
                .delete(delete_config),
        )
        .route(
            "/2019-09-25/functions/{name}/event-invoke-config/list",
            get(list_configs),
        )
}

async fn put_config(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    store_config(&app, &name, &page, &bytes, false).await
}

async fn update_config(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    store_config(&app, &name, &page, &bytes, true).await
}

/// Put (replace) or Update (`merge`) share everything but the merge.
async fn store_config(
    app: &AppState,
    name: &str,
    page: &Page,
    bytes: &[u8],
    merge: bool,
) -> Result<Response, ApiError> {
    let f = target(app, name, page)?;
    let config = app
        .registry
        .put_event_invoke_config(&f.name, f.qualifier.as_deref(), body(bytes)?, merge)
        .await?;
    Ok(json(StatusCode::OK, &config))
}

async fn get_config(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let f = target(&app, &name, &page)?;
    let config = app
        .registry
        .get_event_invoke_config(&f.name, f.qualifier.as_deref())
        .await?;
    Ok(json(StatusCode::OK, &config))
}

async fn delete_config(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let f = target(&app, &name, &page)?;
    app.registry
        .delete_event_invoke_config(&f.name, f.qualifier.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_configs(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let (name, marker, max_items) = listing(&app, &name, &page)?;
    let (configs, next) = app
        .registry
        .list_event_invoke_configs(&name, marker, max_items)
        .await?;
    Ok(list("FunctionEventInvokeConfigs", configs, next))
}
