//! Errors a handler returns; the host reports them as `{"errorType","errorMessage"}`.

use std::fmt;

/// Any error a handler may return, as in the `lambda_runtime` crate. Its `errorType` is the one of
/// a [`HandlerError`] when it is one, `"Error"` otherwise.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error with an explicit Lambda `errorType`, e.g. `HandlerError::new("ValidationError", "...")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    pub error_type: String,
    pub message: String,
}

impl HandlerError {
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        HandlerError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

impl std::error::Error for HandlerError {}

/// The `errorType` and `errorMessage` an error is reported with.
pub(crate) fn describe(error: &Error) -> (String, String) {
    match error.downcast_ref::<HandlerError>() {
        Some(e) => (e.error_type.clone(), e.message.clone()),
        None => ("Error".to_string(), error.to_string()),
    }
}
