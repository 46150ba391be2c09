//! One request id per HTTP request, end to end: made by [`RequestIdLayer`] (outermost in
//! [`crate::server::app`]), carried by a tracing span so every log line made while handling the
//! request names it, handed to handlers by the [`RequestId`] extractor as the invocation's id,
//! and sent back in every response's `x-amzn-RequestId`. The same layer gives the request its
//! trace: the `X-Amzn-Trace-Id` the client sent, or a new one, handed to handlers by the
//! [`Trace`] extractor, returned on the response, and (when spans are exported) the request's
//! span, the parent of the invocation's Init and Invoke.
//!
//! A small layer rather than tower-http's `SetRequestIdLayer` / `PropagateRequestIdLayer`: those
//! keep an `x-amzn-RequestId` the client sent (the id is an invocation's, and an Event's queue
//! key, so it must be the server's own, as Lambda's is), add the header to the request (where
//! function URL events would show it), and leave a response's header alone when it has one (a
//! function URL's answer carries whatever headers the guest chose). A tower service, not
//! `axum::middleware::from_fn`: it runs on every request, and `from_fn` clones and boxes the rest
//! of the stack each time.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tracing::Instrument as _;
use tracing::instrument::Instrumented;

use crate::ApiError;
use lambkin_telemetry::Telemetry;
use lambkin_telemetry::trace::{self, KeyValue, TraceHeader, Tracer};
use std::sync::Arc;
use std::time::SystemTime;

/// The response header: `x-amzn-RequestId` (header names are case-insensitive).
pub const HEADER: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// The trace header, on the request and on the response.
pub const TRACE_HEADER: HeaderName = HeaderName::from_static("x-amzn-trace-id");

/// The trace this request runs under, and its own span in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    pub header: TraceHeader,
    pub span_id: u64,
}

impl Trace {
    /// The header an invocation of this request is given: this request's span is its parent.
    pub fn for_invocation(&self) -> String {
        self.invocation_header().to_string()
    }

    /// [`Trace::for_invocation`], unallocated.
    pub fn invocation_header(&self) -> trace::EncodedHeader {
        self.header.with_parent(self.span_id).encode()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Trace {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Trace>()
            .copied()
            .ok_or_else(|| ApiError::Service("the request has no trace".into()))
    }
}

/// This request's id (a UUID v4, as Lambda's), from the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id [`RequestIdLayer`] gave this request, if it ran.
    pub fn of(extensions: &axum::http::Extensions) -> Option<&RequestId> {
        extensions.get::<RequestId>()
    }
}

/// A fresh id for each request, a span around its handling, the id on the response; the
/// request's trace.
#[derive(Debug, Clone, Default)]
pub struct RequestIdLayer {
    pub telemetry: Telemetry,
}

impl<S> tower::Layer<S> for RequestIdLayer {
    type Service = AssignRequestId<S>;

    fn layer(&self, inner: S) -> AssignRequestId<S> {
        AssignRequestId {
            inner,
            telemetry: self.telemetry.clone(),
        }
    }
}

/// The service [`RequestIdLayer`] wraps around the API.
#[derive(Debug, Clone)]
pub struct AssignRequestId<S> {
    inner: S,
    telemetry: Telemetry,
}

impl<S> tower::Service<Request> for AssignRequestId<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = WithRequestId<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> WithRequestId<S::Future> {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        // ERROR level, so the span is enabled whenever any line is: the lines inside a span that
        // the filter turned off would not carry its fields.
        let span = tracing::error_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            path = %request.uri().path(),
        );
        let header = HeaderValue::from_str(id).ok();
        let sent = request.headers().get(TRACE_HEADER).and_then(|v| v.to_str().ok());
        let trace = Trace {
            header: self.telemetry.trace_header(sent),
            span_id: trace::new_span_id(),
        };
        let exported = self.telemetry.tracer.clone().map(|tracer| RequestSpan {
            tracer,
            start: SystemTime::now(),
            name: span_name(request.method(), request.uri().path()),
            attributes: vec![
                KeyValue::new("http.request.method", request.method().to_string()),
                KeyValue::new("url.path", request.uri().path().to_string()),
                KeyValue::new("aws.request_id", id.to_string()),
            ],
        });
        request.extensions_mut().insert(RequestId(id.to_string()));
        request.extensions_mut().insert(trace);
        WithRequestId {
            inner: self.inner.call(request).instrument(span),
            header,
            trace,
            exported,
        }
    }
}

/// The request's span, recorded when its response is ready.
struct RequestSpan {
    tracer: Arc<Tracer>,
    start: SystemTime,
    name: &'static str,
    attributes: Vec<KeyValue>,
}

/// The Lambda operation for invocations, the HTTP method for the rest.
fn span_name(method: &axum::http::Method, path: &str) -> &'static str {
    if path.ends_with("/response-streaming-invocations") {
        "InvokeWithResponseStream"
    } else if path.ends_with("/invocations") && path.starts_with("/2015-03-31/functions/") {
        "Invoke"
    } else {
        match *method {
            axum::http::Method::GET => "GET",
            axum::http::Method::PUT => "PUT",
            axum::http::Method::DELETE => "DELETE",
            axum::http::Method::POST => "POST",
            _ => "HTTP",
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AssignRequestId`]: the handler's, in the request's span, with
    /// the id added to its response.
    pub struct WithRequestId<F> {
        #[pin]
        inner: Instrumented<F>,
        header: Option<HeaderValue>,
        trace: Trace,
        exported: Option<RequestSpan>,
    }
}

impl<F, E> Future for WithRequestId<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = std::task::ready!(this.inner.poll(cx))?;
        // Replaces any value already there: a function URL's headers are the guest's to choose.
        if let Some(header) = this.header.take() {
            response.headers_mut().insert(HEADER, header);
        }
        if let Ok(trace) = HeaderValue::from_str(&this.trace.invocation_header()) {
            response.headers_mut().insert(TRACE_HEADER, trace);
        }
        if let Some(span) = this.exported.take() {
            let status = response.status();
            let mut attributes = span.attributes;
            attributes.push(KeyValue::new(
                "http.response.status_code",
                i64::from(status.as_u16()),
            ));
            span.tracer.record(trace::Span {
                header: this.trace.header,
                span_id: this.trace.span_id,
                name: span.name.into(),
                kind: trace::Kind::Server,
                start: span.start,
                end: SystemTime::now(),
                attributes,
                failed: status.is_server_error(),
            });
        }
        Poll::Ready(Ok(response))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Only a router served without the layer has none; inventing one here would split the id.
        RequestId::of(&parts.extensions)
            .cloned()
            .ok_or_else(|| ApiError::Service("the request has no request id".into()))
    }
}
