//! The functions family: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
//! DeleteFunction, UpdateFunctionCode, UpdateFunctionConfiguration.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::json;

use super::{ApiError, FunctionRef, Page, body, json, list};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/2015-03-31/functions", get(list_functions).post(create_function))
        .route(
            "/2015-03-31/functions/",
            get(list_functions).post(create_function),
        )
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_configuration).put(update_configuration),
        )
        .route("/2015-03-31/functions/{name}/code", put(update_code))
}

async fn create_function(State(app): State<AppState>, RawBody(bytes): RawBody) -> Result<Response, ApiError> {
    let input = body(&bytes)?;
    let config = app.registry.create_function(input).await?;
    Ok(json(StatusCode::CREATED, &config))
}

async fn get_function(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let function = FunctionRef::parse(&name, page.qualifier.as_deref(), &app.registry)?;
    let (config, concurrency, wasm_sha256) = app
        .registry
        .get_function(&function.name, function.qualifier.as_deref())
        .await?;
    let mut response = json!({
        "Configuration": config,
        "Code": { "RepositoryType": "S3", "Location": format!("lambkin://code/{wasm_sha256}.wasm") },
    });
    if let Some(reserved) = concurrency {
        response["Concurrency"] = json!({ "ReservedConcurrentExecutions": reserved });
    }
    let tags = app
        .registry
        .list_tags(&app.registry.function_arn(&function.name))?;
    if !tags.is_empty() {
        response["Tags"] = json!(tags);
    }
    Ok(json(StatusCode::OK, &response))
}

async fn get_configuration(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let function = FunctionRef::parse(&name, page.qualifier.as_deref(), &app.registry)?;
    let (config, _, _) = app
        .registry
        .get_function(&function.name, function.qualifier.as_deref())
        .await?;
    Ok(json(StatusCode::OK, &config))
}

async fn list_functions(State(app): State<AppState>, Query(page): Query<Page>) -> Result<Response, ApiError> {
    let all_versions = match page.function_version.as_deref() {
        None => false,
        Some("ALL") => true,
        Some(other) => {
            return Err(ApiError::InvalidParameterValue(format!(
                "1 validation error detected: Value '{other}' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]"
            )));
        }
    };
    let (functions, next) = app
        .registry
        .list_functions(all_versions, page.marker.as_deref(), page.max_items()?)
        .await;
    Ok(list("Functions", functions, next))
}

async fn delete_function(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let function = FunctionRef::parse(&name, page.qualifier.as_deref(), &app.registry)?;
    app.registry
        .delete_function(&function.name, function.qualifier.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn update_code(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    let config = app.registry.update_function_code(&name, body(&bytes)?).await?;
    Ok(json(StatusCode::OK, &config))
}

async fn update_configuration(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    let config = app
        .registry
        .update_function_configuration(&name, body(&bytes)?)
        .await?;
    Ok(json(StatusCode::OK, &config))
}
