//! Invoke `POST /2015-03-31/functions/{name}/invocations`: RequestResponse (200), Event (202,
//! once the event is durably queued) and DryRun (204). `X-Amz-Executed-Version` on every sync
//! response; `X-Amz-Function-Error: Unhandled` with the
//! `{"errorType","errorMessage"}` body for any function error; `X-Amz-Log-Type: Tail` returns the
//! last 4 KB of the log in `X-Amz-Log-Result`; `X-Amz-Client-Context` reaches the guest.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;

use super::{ApiError, FunctionRef, Page};
use crate::extract::{HeadersAndBody, Path, Query};
use crate::request_id::{RequestId, Trace};
use crate::server::AppState;
use lambkin_invoke::MAX_SYNC_PAYLOAD_BYTES;
use lambkin_invoke::queue::{QueuedEvent, Target};
use lambkin_registry::model::InvocationType;
use lambkin_sandbox::InvokeRequest;

/// How much of the log `X-Amz-Log-Result` carries.
const LOG_TAIL_BYTES: usize = 4 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/2015-03-31/functions/{name}/invocations", post(invoke))
}

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::InvalidParameterValue(format!("{name} is not valid text")))
        })
        .transpose()
}

/// `X-Amz-Client-Context`: base64 of a JSON object, decoded for the guest's context.
fn client_context(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(encoded) = header(headers, "x-amz-client-context")? else {
        return Ok(None);
    };
    let refused = || {
        ApiError::InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.".into())
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| refused())?;
    let text = String::from_utf8(decoded).map_err(|_| refused())?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(value) if value.is_object() => Ok(Some(text)),
        _ => Err(refused()),
    }
}

/// What every invoke request carries besides the function: checked once for both Invoke and
/// InvokeWithResponseStream.
pub(crate) struct InvokeParams {
    pub invocation_type: String,
    pub tail: bool,
    pub payload: Bytes,
    pub client_context: Option<String>,
}

impl InvokeParams {
    pub fn parse(headers: &HeaderMap, payload: Bytes) -> Result<InvokeParams, ApiError> {
        let invocation_type = header(headers, "x-amz-invocation-type")?
            .unwrap_or("RequestResponse")
            .to_string();
        let tail = match header(headers, "x-amz-log-type")?.unwrap_or("None") {
            "None" => false,
            "Tail" => true,
            other => {
                return Err(ApiError::InvalidParameterValue(format!(
                    "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [Tail, None]"
                )));
            }
        };
        if payload.len() > MAX_SYNC_PAYLOAD_BYTES {
            return Err(too_large(&payload, &invocation_type, MAX_SYNC_PAYLOAD_BYTES));
        }
        let payload = if payload.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            payload
        };
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
            return Err(ApiError::InvalidRequestContent(format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            )));
        }
        Ok(InvokeParams {
            invocation_type,
            tail,
            payload,
            client_context: client_context(headers)?,
        })
    }
}

fn too_large(payload: &[u8], invocation_type: &str, limit: usize) -> ApiError {
    ApiError::RequestEntityTooLarge(format!(
        "{} byte payload is too large for the {invocation_type} invocation type (limit {limit} bytes)",
        payload.len()
    ))
}

/// `X-Amz-Log-Result`: base64 of the log's last 4 KB.
pub(super) fn log_tail(log: &str) -> String {
    let log = log.as_bytes();
    base64::engine::general_purpose::STANDARD.encode(&log[log.len().saturating_sub(LOG_TAIL_BYTES)..])
}

async fn invoke(
    State(app): State<AppState>,
    RequestId(request_id): RequestId,
    trace: Trace,
    Path(name): Path<String>,
    Query(page): Query<Page>,
    HeadersAndBody(headers, payload): HeadersAndBody,
) -> Result<Response, ApiError> {
    let function = FunctionRef::parse(&name, page.qualifier.as_deref(), &app.registry)?;
    let params = InvokeParams::parse(&headers, payload)?;
    let qualifier = function.qualifier.as_deref();
    match InvocationType::parse(&params.invocation_type) {
        Some(InvocationType::DryRun) => {
            app.invoker.check(&function.name, qualifier).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Some(InvocationType::RequestResponse) => {
            // The response's id, so START/END/REPORT and the guest's context name it too.
            let request = InvokeRequest {
                payload: params.payload,
                client_context: params.client_context,
                request_id: Some(request_id),
                trace_id: Some(trace.for_invocation()),
                ..InvokeRequest::default()
            };
            let outcome = app.invoker.invoke(&function.name, qualifier, request).await?;
            let (body, failed) = match outcome.result {
                Ok(body) => (body, false),
                Err(error) => (error.to_json().to_string().into_bytes(), true),
            };
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            if let Ok(version) = HeaderValue::from_str(&outcome.executed_version) {
                headers.insert("x-amz-executed-version", version);
            }
            if failed {
                headers.insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
            }
            if params.tail
                && let Ok(value) = HeaderValue::from_str(&log_tail(&outcome.log))
            {
                headers.insert("x-amz-log-result", value);
            }
            Ok(response)
        }
        Some(InvocationType::Event) => {
            let limit = app.front_door.async_max_payload;
            if params.payload.len() > limit {
                return Err(too_large(&params.payload, "Event", limit));
            }
            app.invoker.check(&function.name, qualifier).await?;
            let (depth, most) = (app.events.depth(), app.front_door.async_max_queue);
            if depth >= most {
                return Err(ApiError::TooManyRequests(
                    format!(
                        "The asynchronous event queue is full ({depth} events awaiting delivery, --async-max-queue={most}); retry later"
                    ),
                    "CallerRateLimitExceeded",
                ));
            }
            let payload = String::from_utf8(params.payload.to_vec()).map_err(|_| {
                ApiError::InvalidRequestContent("Could not parse request body into json: not UTF-8".into())
            })?;
            let target = Target::Function {
                name: function.name.clone(),
                qualifier: function.qualifier.clone(),
            };
            // The event is keyed by the request's id: the 202's `x-amzn-RequestId` and the delivery's.
            let mut event = QueuedEvent::new(request_id, target, payload);
            event.trace = Some(trace.for_invocation());
            app.events.enqueue(event).await?;
            app.telemetry.metrics.async_event_received(&function.name);
            Ok(StatusCode::ACCEPTED.into_response())
        }
        None => Err(ApiError::InvalidParameterValue(format!(
            "1 validation error detected: Value '{}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            params.invocation_type,
            InvocationType::ALL.join(", ")
        ))),
    }
}
