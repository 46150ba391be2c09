//! The routers' extractors: axum's, with [`ApiError`] as the rejection, so a request axum cannot
//! take apart (a duplicate query parameter, a path segment that is not UTF-8, a body over the
//! limit) is answered in the AWS format instead of axum's `text/plain`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// `axum::extract::Query`, rejected as `InvalidParameterValueException`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Query(value) = axum::extract::Query::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// `axum::extract::Path`, rejected as `InvalidParameterValueException`.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(value) = axum::extract::Path::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

/// The request body as bytes (within `DefaultBodyLimit`), rejected in the AWS format.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Ok(RawBody(Bytes::from_request(request, state).await?))
    }
}

/// The request's headers and its whole body, as [`RawBody`] reads it: the headers moved out of
/// the request rather than cloned, as the `HeaderMap` extractor would.
pub struct HeadersAndBody(pub axum::http::HeaderMap, pub Bytes);

impl<S: Send + Sync> FromRequest<S> for HeadersAndBody {
    type Rejection = ApiError;

    async fn from_request(mut request: Request, state: &S) -> Result<Self, ApiError> {
        let headers = std::mem::take(request.headers_mut());
        Ok(HeadersAndBody(
            headers,
            Bytes::from_request(request, state).await?,
        ))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::InvalidParameterValue(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // A 5xx is a route whose pattern does not match its handler: lambkin's fault.
        if rejection.status().is_server_error() {
            ApiError::Service(rejection.body_text())
        } else {
            ApiError::InvalidParameterValue(rejection.body_text())
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::RequestEntityTooLarge(format!(
                "Request must be smaller than {} bytes for the operation",
                crate::server::MAX_BODY_BYTES
            ))
        } else {
            // A body that broke off or was framed wrongly (chunked encoding, say).
            ApiError::InvalidRequestContent(rejection.body_text())
        }
    }
}
