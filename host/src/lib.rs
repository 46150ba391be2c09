//! # lambkin
//!
//! A self-hosted serverless platform that speaks the AWS Lambda API and runs every function as a
//! WebAssembly component in a wasmtime sandbox. This crate is the `lambkin` binary's: its command
//! line and the commands; the layers it puts together are crates of their own, each depending
//! only on those below it:
//!
//! ```text
//! lambkin-api       axum routers, SigV4, function URLs, the AWS wire format; `serve`'s app
//!   lambkin-invoke  environment pools, concurrency, the async queue and delivery, activation, snapshots
//!     lambkin-registry  functions, versions, aliases, configs on object_store (no HTTP, no wasm)
//!     lambkin-sandbox   engine, compile cache, execution environments, Lambda's limits
//!       lambkin-egress  the operator's egress policy, checked connects, TLS
//!       lambkin-logs    log groups, streams and events on disk (CloudWatch Logs' model)
//! ```
//!
//! # Layout
//! - [`config`]: the command line and its `LAMBKIN_*` environment variables.
//! - [`local`]: `lambkin invoke`, one function run once in a fresh environment.
//! - [`logs`]: `lambkin logs`, a function's log group read from the node's log store.
//! - [`serve`]: `lambkin serve`, the server opened from its flags.
//! - [`runtimes`]: the managed runtimes (Python, Node.js) the binary embeds, unpacked for use.
//! - [`staging`]: the half-written store files a crash leaves, removed at start-up.

pub mod config;
pub mod local;
pub mod logs;
pub mod runtimes;
pub mod serve;
pub mod staging;
