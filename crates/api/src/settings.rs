//! Concurrency, runtime management and account settings: PutFunctionConcurrency,
//! GetFunctionConcurrency, DeleteFunctionConcurrency, Put/GetRuntimeManagementConfig,
//! Get/PutFunctionRecursionConfig, GetAccountSettings.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, FunctionRef, Page, body, json};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;
use lambkin_registry::model::RuntimeManagement;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            put(put_concurrency).delete(delete_concurrency),
        )
        .route("/2019-09-30/functions/{name}/concurrency", get(get_concurrency))
        .route(
            "/2021-07-20/functions/{name}/runtime-management-config",
            get(get_runtime_management).put(put_runtime_management),
        )
        .route(
            "/2024-08-31/functions/{name}/recursion-config",
            get(get_recursion).put(put_recursion),
        )
        .route("/2016-08-19/account-settings", get(account_settings))
        .route("/2016-08-19/account-settings/", get(account_settings))
}

#[derive(Deserialize)]
struct ConcurrencyInput {
    #[serde(rename = "ReservedConcurrentExecutions")]
    reserved: Option<u32>,
}

/// PutFunctionConcurrency's body: `ReservedConcurrentExecutions`, required.
pub(crate) fn reserved_concurrency(bytes: &[u8]) -> Result<u32, ApiError> {
    let input: ConcurrencyInput = body(bytes)?;
    input
        .reserved
        .ok_or_else(|| ApiError::InvalidParameterValue("ReservedConcurrentExecutions is required".into()))
}

async fn put_concurrency(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    let reserved = reserved_concurrency(&bytes)?;
    let reserved = app.registry.put_concurrency(&name, reserved).await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "ReservedConcurrentExecutions": reserved }),
    ))
}

async fn get_concurrency(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    let response = match app.registry.get_concurrency(&name).await? {
        Some(reserved) => json!({ "ReservedConcurrentExecutions": reserved }),
        None => json!({}),
    };
    Ok(json(StatusCode::OK, &response))
}

async fn delete_concurrency(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    app.registry.delete_concurrency(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeManagementInput {
    update_runtime_on: Option<String>,
    runtime_version_arn: Option<String>,
}

/// Runtime management applies to $LATEST or a published version, not to an alias.
fn runtime_target(app: &AppState, name: &str, page: &Page) -> Result<String, ApiError> {
    let function = FunctionRef::parse(name, page.qualifier.as_deref(), &app.registry)?;
    match function.qualifier.as_deref() {
        None | Some("$LATEST") => Ok(function.name),
        Some(q) if q.chars().all(|c| c.is_ascii_digit()) => Ok(function.name),
        Some(q) => Err(ApiError::InvalidParameterValue(format!(
            "Runtime management configuration applies to $LATEST or a version, not the alias {q}"
        ))),
    }
}

async fn put_runtime_management(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = runtime_target(&app, &name, &page)?;
    let input: RuntimeManagementInput = body(&bytes)?;
    let on = input
        .update_runtime_on
        .ok_or_else(|| ApiError::InvalidParameterValue("UpdateRuntimeOn is required".into()))?;
    let config = app
        .registry
        .put_runtime_management(&name, &on, input.runtime_version_arn)
        .await?;
    Ok(runtime_management_response(&app, &name, config))
}

async fn get_runtime_management(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let name = runtime_target(&app, &name, &page)?;
    let config = app.registry.get_runtime_management(&name).await?;
    Ok(runtime_management_response(&app, &name, config))
}

/// Put/GetRuntimeManagementConfig's response.
fn runtime_management_response(app: &AppState, name: &str, config: RuntimeManagement) -> Response {
    let mut response = json!({
        "UpdateRuntimeOn": config.update_runtime_on,
        "FunctionArn": app.registry.function_arn(name),
    });
    if let Some(arn) = config.runtime_version_arn {
        response["RuntimeVersionArn"] = json!(arn);
    }
    json(StatusCode::OK, &response)
}

async fn account_settings(State(app): State<AppState>) -> Response {
    json(StatusCode::OK, &app.registry.account_settings().await)
}

async fn get_recursion(State(app): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    let recursive_loop = app.registry.recursion_config(&name)?;
    Ok(json(StatusCode::OK, &json!({ "RecursiveLoop": recursive_loop })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecursionInput {
    recursive_loop: Option<String>,
}

async fn put_recursion(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    let input: RecursionInput = body(&bytes)?;
    let recursive_loop = input
        .recursive_loop
        .ok_or_else(|| ApiError::InvalidParameterValue("RecursiveLoop is required".into()))?;
    app.registry.set_recursion_config(&name, &recursive_loop).await?;
    Ok(json(StatusCode::OK, &json!({ "RecursiveLoop": recursive_loop })))
}
