//! Put/Get/Delete/ListProvisionedConcurrencyConfig(s) under
//! `/2019-09-30/functions/{name}/provisioned-concurrency` (seed 002). The registry keeps what
//! was requested; the counts and the status come from the environment pools that allocate it.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, Page, body, json, list, listing, target};
use crate::extract::{Path, Query, RawBody};
use crate::server::AppState;
use lambkin_registry::model::ProvisionedConfig;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/2019-09-30/functions/{name}/provisioned-concurrency",
        get(get_config).put(put_config).delete(delete_config),
    )
}

/// PutProvisionedConcurrencyConfig's body.
#[derive(Deserialize)]
pub(crate) struct Input {
    #[serde(rename = "ProvisionedConcurrentExecutions")]
    pub requested: Option<u32>,
}

/// The query of GET: `?Qualifier=` for one configuration, `?List=ALL` for all of them.
#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "List")]
    list: Option<String>,
}

/// `ProvisionedConcurrencyConfig` as the service model returns it.
async fn render(app: &AppState, name: &str, qualifier: &str, config: &ProvisionedConfig) -> Value {
    let status = app
        .invoker
        .provisioned_status(name, qualifier, config.requested)
        .await;
    let mut out = json!({
        "RequestedProvisionedConcurrentExecutions": config.requested,
        "AllocatedProvisionedConcurrentExecutions": status.allocated,
        "AvailableProvisionedConcurrentExecutions": status.available,
        "Status": status.status,
        "LastModified": config.last_modified,
    });
    if let Some(reason) = status.reason {
        out["StatusReason"] = json!(reason);
    }
    out
}

async fn put_config(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    RawBody(bytes): RawBody,
) -> Result<Response, ApiError> {
    let f = target(&app, &name, &page)?;
    let input: Input = body(&bytes)?;
    let qualifier = f.qualifier.as_deref();
    let config = app
        .registry
        .put_provisioned(&f.name, qualifier, input.requested)
        .await?;
    app.invoker.allocate_provisioned().await;
    let rendered = render(&app, &f.name, qualifier.unwrap_or_default(), &config).await;
    Ok(json(StatusCode::ACCEPTED, &rendered))
}

async fn get_config(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    Query(listing): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if listing.list.is_some() {
        return list_configs(&app, &name, &page).await;
    }
    let f = target(&app, &name, &page)?;
    let qualifier = f.qualifier.as_deref();
    let config = app.registry.get_provisioned(&f.name, qualifier).await?;
    let rendered = render(&app, &f.name, qualifier.unwrap_or_default(), &config).await;
    Ok(json(StatusCode::OK, &rendered))
}

async fn delete_config(
    State(app): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let f = target(&app, &name, &page)?;
    app.registry
        .delete_provisioned(&f.name, f.qualifier.as_deref())
        .await?;
    app.invoker.allocate_provisioned().await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_configs(app: &AppState, name: &str, page: &Page) -> Result<Response, ApiError> {
    let (name, marker, max_items) = listing(app, name, page)?;
    let (configs, next) = app.registry.list_provisioned(&name, marker, max_items).await?;
    let mut rendered = Vec::with_capacity(configs.len());
    for (qualifier, config) in &configs {
        let mut item = render(app, &name, qualifier, config).await;
        item["FunctionArn"] = json!(format!("{}:{qualifier}", app.registry.function_arn(&name)));
        rendered.push(item);
    }
    Ok(list("ProvisionedConcurrencyConfigs", rendered, next))
}
