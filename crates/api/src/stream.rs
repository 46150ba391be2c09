//! InvokeWithResponseStream `POST /2021-11-15/functions/{name}/response-streaming-invocations`:
//! the body is `application/vnd.amazon.eventstream` (framed by aws-smithy-eventstream), one
//! `PayloadChunk` event per chunk as the guest writes it, then `InvokeComplete` with ErrorCode /
//! ErrorDetails for a function error (mid-stream ones included) and LogResult for `Tail`.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue as FrameValue, Message};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use std::convert::Infallible;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use super::invoke::{InvokeParams, log_tail};
use super::{ApiError, FunctionRef, Page};
use crate::extract::{HeadersAndBody, Path, Query};
use crate::request_id::{RequestId, Trace};
use crate::server::AppState;
use lambkin_invoke::stream::StreamEvent;
use lambkin_registry::model::InvocationType;
use lambkin_sandbox::InvokeRequest;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/2021-11-15/functions/{name}/response-streaming-invocations",
        post(invoke_with_response_stream),
    )
}

/// One event of the stream, framed (prelude, headers, payload, CRCs).
fn event(event_type: &'static str, content_type: &'static str, payload: Bytes) -> Bytes {
    let message = Message::new(payload)
        .add_header(Header::new(":message-type", FrameValue::String("event".into())))
        .add_header(Header::new(":event-type", FrameValue::String(event_type.into())))
        .add_header(Header::new(
            ":content-type",
            FrameValue::String(content_type.into()),
        ));
    let mut frame = Vec::new();
    match write_message_to(&message, &mut frame) {
        Ok(()) => Bytes::from(frame),
        // Only a header or payload over the format's limits fails, and streams are capped.
        Err(e) => {
            tracing::error!("could not frame a stream event: {e}");
            Bytes::new()
        }
    }
}

fn chunk(payload: Bytes) -> Bytes {
    event("PayloadChunk", "application/octet-stream", payload)
}

async fn invoke_with_response_stream(
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
        Some(InvocationType::RequestResponse) => {}
        Some(InvocationType::DryRun) => {
            app.invoker.check(&function.name, qualifier).await?;
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        Some(InvocationType::Event) | None => {
            let other = &params.invocation_type;
            return Err(ApiError::InvalidParameterValue(format!(
                "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, DryRun]"
            )));
        }
    }
    let ready = app.invoker.prepare(&function.name, qualifier).await?;
    let executed_version = ready.executed_version.clone();
    let request = InvokeRequest {
        payload: params.payload,
        client_context: params.client_context,
        request_id: Some(request_id),
        trace_id: Some(trace.for_invocation()),
        ..InvokeRequest::default()
    };
    let mut stream = ready.stream(request, app.front_door.stream_max_bytes);
    let (frames, body) = mpsc::channel::<Bytes>(32);
    let tail = params.tail;
    let invocation = async move {
        // A client that went away stops receiving; the function still finishes.
        while let Some(next) = stream.next().await {
            match next {
                StreamEvent::Chunk(bytes) => {
                    let _ = frames.send(chunk(bytes)).await;
                }
                StreamEvent::CutOff => {}
                StreamEvent::End(outcome) => {
                    let mut complete = json!({});
                    match outcome.result {
                        Ok(rest) if rest.is_empty() => {}
                        Ok(rest) => {
                            let _ = frames.send(chunk(Bytes::from(rest))).await;
                        }
                        Err(error) => {
                            complete["ErrorCode"] = json!(error.error_type);
                            complete["ErrorDetails"] = json!(error.error_message);
                        }
                    }
                    if tail {
                        complete["LogResult"] = json!(log_tail(&outcome.log));
                    }
                    let completion = Bytes::from(complete.to_string());
                    let _ = frames
                        .send(event("InvokeComplete", "application/json", completion))
                        .await;
                }
            }
        }
    };
    // In the request's span: the invocation outlives the handler, but its log lines are the request's.
    tokio::spawn(invocation.in_current_span());
    let stream = futures::stream::unfold(body, |mut body| async move {
        body.recv().await.map(|frame| (Ok::<_, Infallible>(frame), body))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    if let Ok(version) = HeaderValue::from_str(&executed_version) {
        headers.insert("x-amz-executed-version", version);
    }
    Ok(response)
}
