//! Outgoing HTTP from a function, through wasi:http (on [`wstd`]'s client). Where a function may
//! connect is the operator's egress policy — the profile its `lambkin:egress` tag names; with
//! none it has no network, and a refused request fails with an error that names the rule.
//!
//! ```no_run
//! # fn run() -> Result<(), lambkin::Error> {
//! let response = lambkin::fetch::get("https://api.example.com/status")?;
//! assert!(response.status().is_success());
//! let text = String::from_utf8_lossy(response.body());
//! # Ok(()) }
//! ```
//!
//! Calls block the handler until the whole response has arrived; the function's Timeout covers
//! the wait. Natively (unit tests) there is no wasi:http: every call fails.

use crate::Error;

pub use http::{Method, Request, Response, StatusCode};

/// `GET url`, the response read to its end.
pub fn get(url: &str) -> Result<Response<Vec<u8>>, Error> {
    let request = Request::get(url).body(Vec::new())?;
    send(request)
}

/// Sends `request` and reads the response to its end. A body goes with its Content-Length
/// (many servers refuse a chunked upload).
pub fn send(mut request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, Error> {
    let length = request.body().len();
    if length > 0 && !request.headers().contains_key(http::header::CONTENT_LENGTH) {
        request
            .headers_mut()
            .insert(http::header::CONTENT_LENGTH, length.into());
    }
    imp::send(request)
}

#[cfg(all(target_os = "wasi", target_env = "p2"))]
mod imp {
    use super::*;
    use wstd::http::{Body, Client};

    pub(super) fn send(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, Error> {
        wstd::runtime::block_on(async move {
            let response = Client::new().send(request.map(Body::from)).await?;
            let (parts, mut body) = response.into_parts();
            let bytes = body.contents().await?.to_vec();
            Ok::<_, wstd::http::Error>(Response::from_parts(parts, bytes))
        })
        .map_err(|e| format!("{e:#}").into())
    }
}

#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
mod imp {
    use super::*;

    pub(super) fn send(request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, Error> {
        Err(format!(
            "{} {}: outgoing HTTP runs only in lambkin (wasm32-wasip2)",
            request.method(),
            request.uri()
        )
        .into())
    }
}
