//! Errors a handler returns; the host reports them as `{"errorType","errorMessage"}`. The types
//! are the protocol's, so that its helpers (`Request::body_bytes`, ...) fail with them too.

pub use lambkin_protocol::error::{Error, HandlerError};

/// The `errorType` and `errorMessage` an error is reported with.
pub(crate) fn describe(error: &Error) -> (String, String) {
    match error.downcast_ref::<HandlerError>() {
        Some(e) => (e.error_type.clone(), e.message.clone()),
        None => ("Error".to_string(), error.to_string()),
    }
}
