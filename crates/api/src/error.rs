//! Errors in the AWS wire format: the status code of the service model, `x-amzn-ErrorType`,
//! and a body `{"Type":"User","Message":"..."}`; `x-amzn-RequestId` is the request's own, set on
//! every response by [`crate::request_id::RequestIdLayer`].

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lambkin_invoke::{InvokeError, QueueError};
use lambkin_registry::RegistryError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceConflict(String),
    #[error("{0}")]
    ProvisionedConcurrencyConfigNotFound(String),
    #[error("{0}")]
    CodeSigningConfigNotFound(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    RequestEntityTooLarge(String),
    #[error("{0}")]
    InvalidRequestContent(String),
    #[error("{0}")]
    InvalidZipFile(String),
    #[error("{0}")]
    UnknownOperation(String),
    /// A throttle: the message and the model's `Reason`
    /// (`ReservedFunctionConcurrentInvocationLimitExceeded`, `ConcurrentInvocationLimitExceeded`).
    #[error("{0}")]
    TooManyRequests(String, &'static str),
    /// A cap on what the account may store (functions, versions, layer versions) is reached.
    #[error("{0}")]
    CodeStorageExceeded(String),
    /// A request that is not signed by a known key: 403 with the code AWS gives
    /// (`UnrecognizedClientException`, `InvalidSignatureException`, ...).
    #[error("{1}")]
    NotAuthenticated(&'static str, String),
    #[error("{0}")]
    Service(String),
}

impl ApiError {
    /// The error code (`x-amzn-ErrorType`) and HTTP status of the service model.
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::InvalidParameterValue(_) => ("InvalidParameterValueException", StatusCode::BAD_REQUEST),
            ApiError::ResourceNotFound(_) => ("ResourceNotFoundException", StatusCode::NOT_FOUND),
            ApiError::ResourceConflict(_) => ("ResourceConflictException", StatusCode::CONFLICT),
            ApiError::ProvisionedConcurrencyConfigNotFound(_) => (
                "ProvisionedConcurrencyConfigNotFoundException",
                StatusCode::NOT_FOUND,
            ),
            ApiError::CodeSigningConfigNotFound(_) => {
                ("CodeSigningConfigNotFoundException", StatusCode::NOT_FOUND)
            }
            ApiError::PreconditionFailed(_) => {
                ("PreconditionFailedException", StatusCode::PRECONDITION_FAILED)
            }
            ApiError::RequestEntityTooLarge(_) => {
                ("RequestEntityTooLargeException", StatusCode::PAYLOAD_TOO_LARGE)
            }
            ApiError::InvalidRequestContent(_) => ("InvalidRequestContentException", StatusCode::BAD_REQUEST),
            ApiError::InvalidZipFile(_) => ("InvalidZipFileException", StatusCode::BAD_GATEWAY),
            ApiError::UnknownOperation(_) => ("UnknownOperationException", StatusCode::NOT_FOUND),
            ApiError::TooManyRequests(..) => ("TooManyRequestsException", StatusCode::TOO_MANY_REQUESTS),
            ApiError::CodeStorageExceeded(_) => ("CodeStorageExceededException", StatusCode::BAD_REQUEST),
            ApiError::NotAuthenticated(code, _) => (code, StatusCode::FORBIDDEN),
            ApiError::Service(_) => ("ServiceException", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::Service(_) | ApiError::InvalidZipFile(_) => "Service",
            _ => "User",
        }
    }
}

/// What a caller is told of a failure of lambkin's own (the detail is in the server's log).
pub const SERVICE_MESSAGE: &str =
    "lambkin could not complete the request; its log has the details under this request's x-amzn-RequestId";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        let message = match &self {
            // A failure of lambkin's own (its store, a task): the detail names server paths and
            // internals, so it goes to the server's log, in the request's span, and the caller
            // gets the request id to quote.
            ApiError::Service(detail) => {
                tracing::error!("the request failed: {detail}");
                SERVICE_MESSAGE.to_string()
            }
            other => other.to_string(),
        };
        let mut body = serde_json::json!({ "Type": self.kind(), "Message": message });
        if let ApiError::TooManyRequests(_, reason) = &self {
            body["Reason"] = serde_json::json!(reason);
        }
        let mut response = (status, axum::Json(body)).into_response();
        // No `x-amzn-RequestId` here: `RequestIdLayer` sets the request's own on the way out.
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(code));
        response
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(m) => ApiError::InvalidParameterValue(m),
            RegistryError::NotFound(m) => ApiError::ResourceNotFound(m),
            RegistryError::ProvisionedConfigNotFound(m) => ApiError::ProvisionedConcurrencyConfigNotFound(m),
            RegistryError::CodeSigningConfigNotFound(m) => ApiError::CodeSigningConfigNotFound(m),
            RegistryError::Conflict(m) | RegistryError::Raced(m) => ApiError::ResourceConflict(m),
            RegistryError::PreconditionFailed(m) => ApiError::PreconditionFailed(m),
            RegistryError::TooLarge(m) => ApiError::RequestEntityTooLarge(m),
            RegistryError::InvalidPackage(m) => ApiError::InvalidZipFile(m),
            RegistryError::StorageExceeded(m) => ApiError::CodeStorageExceeded(m),
            RegistryError::Storage(m) => ApiError::Service(m),
        }
    }
}

impl From<InvokeError> for ApiError {
    fn from(e: InvokeError) -> Self {
        match e {
            InvokeError::Registry(e) => e.into(),
            InvokeError::Throttled(reason) => {
                ApiError::TooManyRequests("Rate Exceeded.".into(), reason.as_str())
            }
            InvokeError::Unrunnable(m) => ApiError::InvalidZipFile(m),
            InvokeError::Internal(m) => ApiError::Service(m),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        ApiError::Service(e.to_string())
    }
}
