//! # lambkin-protocol
//!
//! The formats the lambkin host and the functions it runs exchange as JSON, defined once so that
//! the host (`lambkin-invoke`, `lambkin-api`) and the guest SDK (`lambkin`) cannot drift apart.
//! Serde only: no I/O, nothing of wasmtime or of HTTP servers, and it builds for
//! `wasm32-wasip2`.
//!
//! # Layout
//! - [`http`]: function URLs: the payload format 2.0 [`http::Request`] event, the
//!   [`http::Response`] object, and the prelude that heads a streamed response
//!   ([`http::write_prelude`], [`http::split_prelude`]).
//! - [`record`]: the [`record::InvocationRecord`] that asynchronous destinations receive.
//! - [`error`]: [`HandlerError`], Lambda's `{"errorType","errorMessage"}`, and [`Error`].

pub mod error;
pub mod http;
pub mod record;

pub use error::{Error, HandlerError};
