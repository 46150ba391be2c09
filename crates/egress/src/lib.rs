//! lambkin's outbound network policy. A guest reaches the network only through a profile of the
//! operator's policy file, picked by its function's `lambkin:egress` tag (the registry's); with none it has no
//! network.
//!
//! # Layout
//!
//! - [`policy`]: the policy file and its profiles: what a connection is checked against. Pure,
//!   unit-tested.
//! - `rules`: HTTP origin patterns, TCP blocks, and the ranges refused unless a rule names them
//!   (loopback, link-local, unspecified, lambkin's own listener).
//! - [`connect`]: a connection to an HTTP origin a profile allows — the name checked, each
//!   resolved address checked, TLS with the profile's trust.
//! - `tls`: rustls client configurations (system roots plus a profile's CA files).
//!
//! The sandbox plugs these into wasi:http (`WasiHttpHooks::send_request`) and wasi:sockets
//! (`socket_addr_check`); nothing here knows of wasmtime.

pub mod connect;
pub mod policy;
mod rules;
mod tls;

pub use connect::{ConnectError, Connection, Origin, connect_origin};
pub use policy::{Denial, Policy, PolicyError, Profile, Refused};
