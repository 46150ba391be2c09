//! # lambkin-host
//!
//! A self-hosted serverless platform that speaks the AWS Lambda API and runs every function as a
//! WebAssembly component in a wasmtime sandbox.
//!
//! # Layout
//! - [`config`]: the command line and its `LAMBKIN_*` environment variables.
//! - [`sandbox`]: engine, compile cache, execution environments and Lambda's limits
//!   (memory, timeout, `/tmp` size), guest logs in Lambda's format.
//! - [`local`]: `lambkin invoke`, one function run once in a fresh environment.
//! - [`registry`]: functions, versions, aliases and settings, persisted on object_store.
//! - [`invoke`]: running a function version for the front door (prepared revisions, warm pool).
//! - [`api`]: the Lambda REST API routers and the AWS error wire format.
//! - [`auth`]: SigV4 verification of API requests and the secure defaults of an anonymous server.
//! - [`fuzzing`]: hostile-input entry points for the fuzz targets of `fuzz/` and their corpus replay.
//! - [`server`]: `lambkin serve`, the HTTP front door: [`server::app`] and [`server::run`].

pub mod api;
pub mod auth;
pub mod config;
pub mod fuzzing;
pub mod invoke;
pub mod local;
pub mod registry;
pub mod sandbox;
pub mod server;
