//! http: a function-URL handler that routes by path (payload format 2.0 in, HTTP response out).

use lambkin::http::{Request, Response, stream_response};
use lambkin::{Context, Error, HandlerError};
use serde_json::{Value, json};
use std::io::Write;
use std::str::FromStr;
use std::time::Duration;

/// Returns [`Value`] rather than [`Response`] so that one route can answer a bare JSON body.
#[lambkin::handler]
pub fn http(request: Request, _ctx: &Context) -> Result<Value, Error> {
    let response = match (request.method(), request.path()) {
        ("GET", "/" | "/hello") => hello(&request),
        ("POST", "/echo") => echo(&request)?,
        ("GET", "/cookies") => cookies(&request)?,
        ("GET", "/inspect") => Response::ok().json(&request)?,
        // Not a Response: the host answers a bare value as 200 application/json.
        ("GET", "/json") => return Ok(json!({"bare": true, "path": request.path()})),
        ("GET", "/error") => return Err(HandlerError::new("RouteError", "failed on purpose").into()),
        // The head and the chunks have gone out as they were written; nothing is left to return.
        ("GET", "/stream") => return stream(&request),
        ("GET", path) if path.starts_with("/status/") => status(&path["/status/".len()..])?,
        (method, path) => message(404, &format!("no route for {method} {path}"))?,
    };
    Ok(response.into_value())
}

/// `Hello, {name}!` for the `name` query parameter.
fn hello(request: &Request) -> Response {
    let name = request.query("name").filter(|n| !n.is_empty()).unwrap_or("world");
    Response::ok().text(format!("Hello, {name}!"))
}

/// The body back with the request's content type, byte for byte.
fn echo(request: &Request) -> Result<Response, Error> {
    let Ok(body) = request.body_bytes() else {
        return message(400, "request body is not valid base64");
    };
    let content_type = request
        .header("content-type")
        .unwrap_or("application/octet-stream");
    let response = Response::ok().header("content-type", content_type);
    Ok(match String::from_utf8(body) {
        Ok(text) => response.text(text),
        // Not text: only base64 brings arbitrary bytes back intact.
        Err(not_text) => response.binary(not_text.into_bytes()),
    })
}

/// Sets two cookies and reports the ones the request carried.
fn cookies(request: &Request) -> Result<Response, Error> {
    let mut received = serde_json::Map::new();
    for (name, value) in request.cookie_pairs() {
        // The first of a repeated name wins, as with `Request::cookie`.
        received.entry(name).or_insert_with(|| value.into());
    }
    Response::ok()
        .cookie("session=abc123; Path=/; HttpOnly")
        .cookie("theme=dark")
        .json(&json!({ "received": received }))
}

/// Answers with the status code named in the path.
fn status(code: &str) -> Result<Response, Error> {
    match code.parse::<u16>() {
        Ok(code) if (100..=599).contains(&code) => Ok(Response::new(code).text(format!("status {code}"))),
        _ => message(400, &format!("not a status code: {code}")),
    }
}

/// A streamed response: the head, then `chunks` lines `pause_ms` apart.
fn stream(request: &Request) -> Result<Value, Error> {
    let (Some(chunks), Some(pause_ms)) = (
        query_or(request, "chunks", 3u32),
        query_or(request, "pause_ms", 100u64),
    ) else {
        return Ok(message(400, "chunks and pause_ms are whole numbers")?.into_value());
    };
    let mut out = stream_response(&Response::ok().header("content-type", "text/plain"))?;
    for i in 0..chunks {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(pause_ms));
        }
        writeln!(out, "chunk {i}")?;
    }
    Ok(Value::Null)
}

/// A query parameter as a number, `default` when absent, `None` when it is not one.
fn query_or<T: FromStr>(request: &Request, name: &str, default: T) -> Option<T> {
    match request.query(name) {
        Some(text) => text.parse().ok(),
        None => Some(default),
    }
}

/// `{"message": ...}` with a status code.
fn message(status: u16, text: &str) -> Result<Response, Error> {
    Response::new(status).json(&json!({ "message": text }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambkin::ResponseStream;

    fn request(method: &str, path: &str, query: &[(&str, &str)]) -> Request {
        let mut request = Request {
            version: "2.0".into(),
            route_key: "$default".into(),
            raw_path: path.into(),
            ..Request::default()
        };
        request.request_context.http.method = method.into();
        request.request_context.http.path = path.into();
        for (name, value) in query {
            request
                .query_string_parameters
                .insert(name.to_string(), value.to_string());
        }
        request
    }

    fn call(request: Request) -> Value {
        http(request, &Context::default()).expect("a response")
    }

    #[test]
    fn routes_by_path_natively() {
        let status_of = |method, path| call(request(method, path, &[]))["statusCode"].clone();
        assert_eq!(status_of("GET", "/"), 200);
        assert_eq!(status_of("GET", "/hello"), 200);
        assert_eq!(status_of("GET", "/cookies"), 200);
        assert_eq!(status_of("GET", "/inspect"), 200);
        assert_eq!(status_of("POST", "/echo"), 200);
        assert_eq!(status_of("GET", "/status/418"), 418);
        assert_eq!(status_of("GET", "/status/abc"), 400);
        assert_eq!(status_of("GET", "/status/1000"), 400);
        assert_eq!(status_of("GET", "/status/"), 400);
        assert_eq!(status_of("GET", "/nope"), 404);
        assert_eq!(status_of("POST", "/hello"), 404);
        assert_eq!(status_of("GET", "/echo"), 404);
        // A bare value has no status code: the host makes it a 200.
        assert_eq!(status_of("GET", "/json"), Value::Null);

        let e = http(request("GET", "/error", &[]), &Context::default()).unwrap_err();
        let e = e.downcast_ref::<HandlerError>().expect("a HandlerError");
        assert_eq!(
            (e.error_type.as_str(), e.message.as_str()),
            ("RouteError", "failed on purpose")
        );
    }

    #[test]
    fn says_hello_by_name() {
        let response = call(request("GET", "/hello", &[("name", "Ada")]));
        assert_eq!(response["body"], "Hello, Ada!");
        assert_eq!(response["headers"]["content-type"], "text/plain; charset=utf-8");
        assert_eq!(call(request("GET", "/", &[]))["body"], "Hello, world!");
    }

    #[test]
    fn echoes_binary_bodies_byte_for_byte() {
        let mut upload = request("POST", "/echo", &[]);
        upload.headers.insert("content-type".into(), "image/png".into());
        // 0x00 0x01 0xff 0x80: not UTF-8.
        upload.body = Some("AAH/gA==".into());
        upload.is_base64_encoded = true;
        let response = call(upload);
        assert_eq!(response["isBase64Encoded"], true);
        assert_eq!(response["body"], "AAH/gA==");
        assert_eq!(response["headers"]["content-type"], "image/png");

        let mut text = request("POST", "/echo", &[]);
        text.headers
            .insert("content-type".into(), "application/json".into());
        text.body = Some(r#"{"a":1}"#.into());
        let response = call(text);
        assert_eq!(response["isBase64Encoded"], false);
        assert_eq!(response["body"], r#"{"a":1}"#);
        assert_eq!(response["headers"]["content-type"], "application/json");

        let mut untyped = request("POST", "/echo", &[]);
        untyped.body = Some("plain".into());
        let response = call(untyped);
        assert_eq!(response["headers"]["content-type"], "application/octet-stream");

        let mut broken = request("POST", "/echo", &[]);
        broken.body = Some("%%%".into());
        broken.is_base64_encoded = true;
        assert_eq!(call(broken)["statusCode"], 400);
    }

    #[test]
    fn answers_a_bare_json_value() {
        assert_eq!(
            call(request("GET", "/json", &[])),
            json!({"bare": true, "path": "/json"})
        );
    }

    #[test]
    fn sets_and_reports_cookies() {
        let mut with_cookies = request("GET", "/cookies", &[]);
        with_cookies.cookies = vec!["a=1".into(), "b=two".into()];
        let response = call(with_cookies);
        assert_eq!(
            response["cookies"],
            json!(["session=abc123; Path=/; HttpOnly", "theme=dark"])
        );
        assert_eq!(response["headers"]["content-type"], "application/json");
        let body: Value = serde_json::from_str(response["body"].as_str().expect("a body")).expect("JSON");
        assert_eq!(body, json!({"received": {"a": "1", "b": "two"}}));
    }

    #[test]
    fn inspects_the_request() {
        let mut inspected = request("GET", "/inspect", &[("x", "1")]);
        inspected.headers.insert("user-agent".into(), "test".into());
        let response = call(inspected.clone());
        let body: Value = serde_json::from_str(response["body"].as_str().expect("a body")).expect("JSON");
        assert_eq!(body["rawPath"], "/inspect");
        assert_eq!(body["requestContext"]["http"]["method"], "GET");
        assert_eq!(body["queryStringParameters"]["x"], "1");
        assert_eq!(
            serde_json::from_value::<Request>(body).expect("a request"),
            inspected
        );
    }

    #[test]
    fn says_status_codes() {
        let response = call(request("GET", "/status/201", &[]));
        assert_eq!(
            (response["statusCode"].clone(), response["body"].clone()),
            (json!(201), json!("status 201"))
        );
    }

    #[test]
    fn answers_unknown_routes_with_404() {
        let response = call(request("DELETE", "/things/1", &[]));
        assert_eq!(response["statusCode"], 404);
        assert_eq!(response["body"], r#"{"message":"no route for DELETE /things/1"}"#);
    }

    #[test]
    fn streams_a_head_then_chunks() {
        ResponseStream::take_written();
        let response = call(request("GET", "/stream", &[("chunks", "2"), ("pause_ms", "0")]));
        assert_eq!(response, Value::Null);
        let mut expected =
            br#"{"statusCode":200,"headers":{"content-type":"text/plain"},"cookies":[]}"#.to_vec();
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(b"chunk 0\nchunk 1\n");
        assert_eq!(ResponseStream::take_written(), expected);

        assert_eq!(
            call(request("GET", "/stream", &[("chunks", "many")]))["statusCode"],
            400
        );
        assert!(
            ResponseStream::take_written().is_empty(),
            "nothing streamed before the 400"
        );
    }
}
