//! fetch: calls what its event names — an HTTP request (`url`, optional `method`, `headers`,
//! `body`) or a TCP exchange (`tcp` as `host:port`, `send`, read until the peer closes) — and
//! answers what came back. It reaches only what the function's egress profile allows.

use lambkin::fetch::{Method, Request};
use lambkin::{Context, Error};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};

#[derive(Deserialize)]
pub struct Event {
    url: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    tcp: Option<String>,
    send: Option<String>,
}

#[lambkin::handler]
pub fn fetch(event: Event, _ctx: &Context) -> Result<Value, Error> {
    match (&event.url, &event.tcp) {
        (Some(url), None) => http(url, &event),
        (None, Some(address)) => tcp(address, event.send.as_deref().unwrap_or_default()),
        _ => Err("the event names either `url` or `tcp`".into()),
    }
}

fn http(url: &str, event: &Event) -> Result<Value, Error> {
    let method = Method::from_bytes(event.method.as_deref().unwrap_or("GET").as_bytes())?;
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in &event.headers {
        request = request.header(name, value);
    }
    let body = event.body.clone().unwrap_or_default().into_bytes();
    let response = lambkin::fetch::send(request.body(body)?)?;
    let headers: BTreeMap<&str, &str> = response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    Ok(json!({
        "status": response.status().as_u16(),
        "headers": headers,
        "body": String::from_utf8_lossy(response.body()),
    }))
}

fn tcp(address: &str, send: &str) -> Result<Value, Error> {
    let mut stream =
        std::net::TcpStream::connect(address).map_err(|e| format!("connecting to {address}: {e}"))?;
    stream.write_all(send.as_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut received = String::new();
    stream.read_to_string(&mut received)?;
    Ok(json!({ "received": received }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_names_one_destination() {
        let event: Event = serde_json::from_value(json!({})).unwrap();
        let error = fetch(event, &Context::default()).unwrap_err();
        assert!(error.to_string().contains("either `url` or `tcp`"));
        // Natively there is no wasi:http: the call fails, it does not hang.
        let event: Event = serde_json::from_value(json!({"url": "http://127.0.0.1:1/"})).unwrap();
        assert!(fetch(event, &Context::default()).is_err());
    }
}
