//! Code signing configurations: Create/Get/Update/Delete/ListCodeSigningConfig(s),
//! ListFunctionsByCodeSigningConfig, and a function's Get/Put/DeleteFunctionCodeSigningConfig.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, FunctionRef, Page, body, json, list};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/2020-04-22/code-signing-configs",
            get(list_configs).post(create_config),
        )
        .route(
            "/2020-04-22/code-signing-configs/",
            get(list_configs).post(create_config),
        )
        .route(
            "/2020-04-22/code-signing-configs/{arn}",
            get(get_config).put(update_config).delete(delete_config),
        )
        .route(
            "/2020-04-22/code-signing-configs/{arn}/functions",
            get(list_functions),
        )
        .route(
            "/2020-06-30/functions/{name}/code-signing-config",
            get(get_code_signing)
                .put(put_code_signing)
                .delete(delete_code_signing),
        )
}

async fn create_config(State(app): State<AppState>, RawBody(bytes): RawBody) -> Result<Response, ApiError> {
    let config = app.registry.create_code_signing_config(body(&bytes)?).await?;
    Ok(json(StatusCode::CREATED, &json!({ "CodeSigningConfig": config })))
}

async fn get_config(State(app): State<AppState>, Path(arn): Path<String>) -> Result<Response, ApiError> {
    let config = app.registry.get_code_signing_config(&arn)?;
    Ok(json(StatusCode::OK, &json!({ "CodeSigningConfig": config })))
}

async fn update_config(
    State(app): State<AppState>,
    Path(arn): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let config = app
        .registry
        .update_code_signing_config(&arn, body(&bytes)?)
        .await?;
    Ok(json(StatusCode::OK, &json!({ "CodeSigningConfig": config })))
}

async fn delete_config(State(app): State<AppState>, Path(arn): Path<String>) -> Result<Response, ApiError> {
    app.registry.delete_code_signing_config(&arn).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_configs(State(app): State<AppState>, Query(page): Query<Page>) -> Result<Response, ApiError> {
    let (configs, next) = app
        .registry
        .list_code_signing_configs(page.marker.as_deref(), page.max_items()?);
    Ok(list("CodeSigningConfigs", configs, next))
}

async fn list_functions(
    State(app): State<AppState>,
    Path(arn): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let (arns, next) = app.registry.list_functions_by_code_signing_config(
        &arn,
        page.marker.as_deref(),
        page.max_items()?,
    )?;
    Ok(list("FunctionArns", arns, next))
}

/// Without a configuration Lambda answers an empty ARN, not a 404.
async fn get_code_signing(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    let arn = app.registry.code_signing_config(&name)?.unwrap_or_default();
    Ok(json(
        StatusCode::OK,
        &json!({ "CodeSigningConfigArn": arn, "FunctionName": name }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CodeSigningInput {
    code_signing_config_arn: Option<String>,
}

async fn put_code_signing(
    State(app): State<AppState>,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    let input: CodeSigningInput = body(&bytes)?;
    let arn = input
        .code_signing_config_arn
        .ok_or_else(|| ApiError::InvalidParameterValue("CodeSigningConfigArn is required".into()))?;
    app.registry
        .set_code_signing_config(&name, Some(arn.clone()))
        .await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "CodeSigningConfigArn": arn, "FunctionName": name }),
    ))
}

async fn delete_code_signing(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let name = FunctionRef::parse(&name, None, &app.registry)?.unqualified()?;
    app.registry.set_code_signing_config(&name, None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
