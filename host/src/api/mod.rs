//! The AWS Lambda REST API's wire format, shared by every router.

pub mod error;

pub use error::ApiError;
