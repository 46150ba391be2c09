//! The error a function fails with, shared so that the SDK's helpers here fail as handlers do.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Any error a handler may return, as in the `lambda_runtime` crate. Its `errorType` is the one of
/// a [`HandlerError`] when it is one, `"Error"` otherwise.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error with an explicit Lambda `errorType`, e.g. `HandlerError::new("ValidationError", "...")`.
/// Serialises as Lambda's error object, `{"errorType","errorMessage"}`: the `responsePayload` of a
/// failed invocation's [record](crate::record::InvocationRecord) reads as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerError {
    #[serde(rename = "errorType")]
    pub error_type: String,
    #[serde(rename = "errorMessage")]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_handler_error_is_lambdas_error_object() {
        let error = HandlerError::new("InvalidInputError", "no");
        let value = json!({"errorType": "InvalidInputError", "errorMessage": "no"});
        assert_eq!(serde_json::to_value(&error).expect("value"), value);
        // A stack trace, as the host adds for a trap, is read past.
        let traced = json!({"errorType": "InvalidInputError", "errorMessage": "no", "stackTrace": []});
        assert_eq!(
            serde_json::from_value::<HandlerError>(traced).expect("error"),
            error
        );
        assert_eq!(error.to_string(), "InvalidInputError: no");
    }
}
