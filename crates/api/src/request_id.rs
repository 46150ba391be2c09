//! One request id per HTTP request, end to end: made by [`assign`] (outermost in
//! [`crate::server::app`]), carried by a tracing span so every log line made while handling the
//! request names it, handed to handlers by the [`RequestId`] extractor as the invocation's id,
//! and sent back in every response's `x-amzn-RequestId`.
//!
//! A small middleware rather than tower-http's `SetRequestIdLayer` / `PropagateRequestIdLayer`:
//! those keep an `x-amzn-RequestId` the client sent (the id is an invocation's, and an Event's
//! queue key, so it must be the server's own, as Lambda's is), add the header to the request
//! (where function URL events would show it), and leave a response's header alone when it has one
//! (a function URL's answer carries whatever headers the guest chose).

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::ApiError;

/// The response header: `x-amzn-RequestId` (header names are case-insensitive).
pub const HEADER: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// This request's id (a UUID v4, as Lambda's), from the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id [`assign`] gave this request, if it ran.
    pub fn of(extensions: &axum::http::Extensions) -> Option<&RequestId> {
        extensions.get::<RequestId>()
    }
}

/// Middleware: a fresh id for the request, a span around its handling, the id on the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    // ERROR level, so the span is enabled whenever any line is: the lines inside a span that the
    // filter turned off would not carry its fields.
    let span = tracing::error_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).instrument(span).await;
    // Replaces any value already there: a function URL's headers are the guest's to choose.
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Only a router served without `assign` has none; inventing one here would split the id.
        RequestId::of(&parts.extensions)
            .cloned()
            .ok_or_else(|| ApiError::Service("the request has no request id".into()))
    }
}
