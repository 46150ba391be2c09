//! Create/Get/Update/Delete/ListFunctionUrlConfig(s) under `/2021-10-31/functions/{name}/url`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{ApiError, FunctionRef, Page, body, json, list, listing, target};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;
use lambkin_registry::UrlConfig;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/2021-10-31/functions/{name}/url",
            get(get_url).post(create_url).put(update_url).delete(delete_url),
        )
        .route("/2021-10-31/functions/{name}/urls", get(list_urls))
}

/// The FunctionUrl handed out: the node's public form (by default its listener, by path).
pub fn function_url(app: &AppState, url_id: &str) -> String {
    app.front_door.public_url.of(url_id)
}

/// `FunctionUrlConfig` of the service model (`LastModifiedTime` except on create).
fn render(app: &AppState, name: &str, qualifier: &str, config: &UrlConfig, modified: bool) -> Value {
    let mut out = json!({
        "FunctionUrl": function_url(app, &config.url_id),
        "FunctionArn": app.registry.url_function_arn(name, qualifier),
        "AuthType": config.auth_type,
        "CreationTime": config.creation_time,
        "InvokeMode": config.invoke_mode,
    });
    if let Some(cors) = &config.cors {
        out["Cors"] = json!(cors);
    }
    if modified {
        out["LastModifiedTime"] = json!(config.last_modified_time);
    }
    out
}

fn qualifier_of(f: &FunctionRef) -> &str {
    f.qualifier.as_deref().unwrap_or("$LATEST")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Get,
    Update,
}

/// Create (201, no LastModifiedTime yet), Get and Update (200) differ only in the registry call.
async fn answer(app: &AppState, name: &str, page: &Page, op: Op, bytes: &[u8]) -> Result<Response, ApiError> {
    let f = target(app, name, page)?;
    let qualifier = f.qualifier.as_deref();
    let (status, config) = match op {
        Op::Create => (
            StatusCode::CREATED,
            app.registry.create_url(&f.name, qualifier, body(bytes)?).await?,
        ),
        Op::Get => (StatusCode::OK, app.registry.get_url(&f.name, qualifier).await?),
        Op::Update => (
            StatusCode::OK,
            app.registry.update_url(&f.name, qualifier, body(bytes)?).await?,
        ),
    };
    let rendered = render(app, &f.name, qualifier_of(&f), &config, op != Op::Create);
    Ok(json(status, &rendered))
}

async fn create_url(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    answer(&app, &name, &page, Op::Create, &bytes).await
}

async fn get_url(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    answer(&app, &name, &page, Op::Get, &[]).await
}

async fn update_url(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    answer(&app, &name, &page, Op::Update, &bytes).await
}

async fn delete_url(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let f = target(&app, &name, &page)?;
    app.registry.delete_url(&f.name, f.qualifier.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_urls(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let (name, marker, max_items) = listing(&app, &name, &page)?;
    let (configs, next) = app.registry.list_urls(&name, marker, max_items).await?;
    let rendered: Vec<Value> = configs
        .iter()
        .map(|(qualifier, config)| render(&app, &name, qualifier, config, true))
        .collect();
    Ok(list("FunctionUrlConfigs", rendered, next))
}
