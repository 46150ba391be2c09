//! Function URL mapping, without I/O: the HTTP request as a payload-format-2.0 event, the
//! function's answer as an HTTP response, CORS headers, and the head of a streamed response.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;

use lambkin_protocol::http::{
    HttpDetails, PRELUDE_CONTENT_TYPE, Request, RequestContext, Response, split_prelude,
};
use lambkin_registry::Cors;

/// What the event needs besides the request itself.
pub struct EventContext<'a> {
    pub url_id: &'a str,
    pub domain_name: &'a str,
    pub account_id: &'a str,
    pub request_id: &'a str,
    pub source_ip: String,
    /// The path after the URL's root, starting with `/`.
    pub raw_path: &'a str,
}

/// The payload format 2.0 event Lambda sends for a function URL request.
pub fn request_event(parts: &Parts, body: &[u8], context: &EventContext<'_>) -> Value {
    let mut headers = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            );
            continue;
        }
        join(&mut headers, name.as_str().to_string(), &value);
    }
    let raw_query = parts.uri.query().unwrap_or("");
    let mut query = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        join(&mut query, key.into_owned(), &value);
    }
    let now = time::OffsetDateTime::now_utc();
    let clf =
        time::macros::format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    let user_agent = parts
        .headers
        .get("user-agent")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let (body, is_base64_encoded) = if body.is_empty() {
        (None, false)
    } else {
        let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
        match std::str::from_utf8(body) {
            Ok(text) if content_type.is_none_or(is_text) => (Some(text.to_string()), false),
            _ => (Some(base64::engine::general_purpose::STANDARD.encode(body)), true),
        }
    };
    let event = Request {
        version: "2.0".to_string(),
        route_key: "$default".to_string(),
        raw_path: context.raw_path.to_string(),
        raw_query_string: raw_query.to_string(),
        cookies,
        headers,
        query_string_parameters: query,
        request_context: RequestContext {
            account_id: context.account_id.to_string(),
            api_id: context.url_id.to_string(),
            domain_name: context.domain_name.to_string(),
            domain_prefix: context.url_id.to_string(),
            http: HttpDetails {
                method: parts.method.as_str().to_string(),
                path: context.raw_path.to_string(),
                protocol: format!("{:?}", parts.version),
                source_ip: context.source_ip.clone(),
                user_agent,
            },
            request_id: context.request_id.to_string(),
            route_key: "$default".to_string(),
            stage: "$default".to_string(),
            time: now.format(&clf).unwrap_or_default(),
            time_epoch: (now.unix_timestamp_nanos() / 1_000_000) as u64,
        },
        body,
        is_base64_encoded,
    };
    serde_json::to_value(event).expect("an event of strings serialises")
}

/// Adds `value` under `name`, after a comma when the name repeats (headers, query parameters).
fn join(map: &mut BTreeMap<String, String>, name: String, value: &str) {
    map.entry(name)
        .and_modify(|joined| {
            joined.push(',');
            joined.push_str(value);
        })
        .or_insert_with(|| value.to_string());
}

/// Content types Lambda passes as text; every other body is base64-encoded.
fn is_text(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || [
            "application/json",
            "application/xml",
            "application/javascript",
            "application/x-www-form-urlencoded",
            "application/graphql",
        ]
        .contains(&essence.as_str())
}

/// The HTTP response a function's answer stands for.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// The response mapping of function URLs: an object with `statusCode` is a response (headers,
/// cookies, body, isBase64Encoded, read as leniently as [`Response`] reads); any other JSON is a
/// 200 `application/json` body.
pub fn response_from(bytes: &[u8]) -> Result<HttpAnswer, String> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) => return Ok(json_answer(bytes)),
    };
    if !value.as_object().is_some_and(|o| o.contains_key("statusCode")) {
        return Ok(json_answer(bytes));
    }
    let response: Response = serde_json::from_value(value).map_err(|e| format!("not a response: {e}"))?;
    let mut answer = head_from(&response)?;
    answer.body = if response.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(&response.body)
            .map_err(|e| format!("body is not valid base64: {e}"))?
    } else {
        response.body.into_bytes()
    };
    if !answer.headers.contains_key("content-type") {
        answer
            .headers
            .insert("content-type", HeaderValue::from_static("application/json"));
    }
    Ok(answer)
}

fn json_answer(bytes: &[u8]) -> HttpAnswer {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    HttpAnswer {
        status: StatusCode::OK,
        headers,
        body: bytes.to_vec(),
    }
}

/// Status, headers and cookies of a response object (or of a stream's prelude).
fn head_from(response: &Response) -> Result<HttpAnswer, String> {
    let status = StatusCode::from_u16(response.status_code)
        .map_err(|_| format!("statusCode is not an HTTP status: {}", response.status_code))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &response.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header {name}: {e}"))?;
        let value = HeaderValue::from_str(value).map_err(|e| format!("header {name}: {e}"))?;
        headers.append(name, value);
    }
    for cookie in &response.cookies {
        let value = HeaderValue::from_str(cookie).map_err(|e| format!("cookie: {e}"))?;
        headers.append("set-cookie", value);
    }
    Ok(HttpAnswer {
        status,
        headers,
        body: Vec::new(),
    })
}

/// How much of a stream is searched for a prelude before it is taken as all body.
pub const MAX_PRELUDE_BYTES: usize = 64 * 1024;

/// What a stream is without a Content-Type of its own, as on Lambda.
const STREAM_CONTENT_TYPE: &str = "application/octet-stream";

/// The head of a streamed response, once the first bytes tell: `Some((head, body_so_far))`, or
/// `None` while a prelude may still be arriving. `finished` means no more bytes will come.
///
/// A stream whose Content-Type (`content_type`, what the function set) is Lambda's
/// http-integration-response starts with a prelude (a JSON head, eight NUL bytes, the body);
/// another type is all body, answered with that type. A function that set none is read as
/// Lambda's runtimes write: a prelude if the first bytes are one, else all body.
pub fn stream_head(
    content_type: Option<&str>,
    buffered: &[u8],
    finished: bool,
) -> Option<(HttpAnswer, Vec<u8>)> {
    let plain = |content_type: &str| {
        let value = HeaderValue::from_str(content_type)
            .unwrap_or_else(|_| HeaderValue::from_static(STREAM_CONTENT_TYPE));
        let mut headers = HeaderMap::new();
        headers.insert("content-type", value);
        let head = HttpAnswer {
            status: StatusCode::OK,
            headers,
            body: Vec::new(),
        };
        Some((head, buffered.to_vec()))
    };
    match content_type {
        Some(PRELUDE_CONTENT_TYPE) => {}
        Some(other) => return plain(other),
        None if buffered.first().is_some_and(|b| *b != b'{') => return plain(STREAM_CONTENT_TYPE),
        None => {}
    }
    if let Some((prelude, body)) = split_prelude(buffered) {
        // Through a Value, as a response object is read: a repeated key is the last one.
        let head = serde_json::from_slice::<Value>(prelude)
            .ok()
            .and_then(|v| serde_json::from_value::<Response>(v).ok());
        if let Some(head) = head.as_ref().and_then(|h| head_from(h).ok()) {
            return Some((head, body.to_vec()));
        }
        return plain(STREAM_CONTENT_TYPE);
    }
    if finished || buffered.len() > MAX_PRELUDE_BYTES {
        return plain(STREAM_CONTENT_TYPE);
    }
    None
}

/// Whether `origin` may see the response under `cors`.
fn allowed_origin(cors: &Cors, origin: &str) -> Option<String> {
    let origins = cors.allow_origins.as_deref().unwrap_or_default();
    let credentials = cors.allow_credentials == Some(true);
    if origins.iter().any(|o| o == "*") {
        return Some(if credentials {
            origin.to_string()
        } else {
            "*".to_string()
        });
    }
    origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(origin))
        .then(|| origin.to_string())
}

/// The CORS headers of an actual (non-preflight) response.
pub fn cors_headers(cors: &Cors, origin: Option<&str>, headers: &mut HeaderMap) {
    let Some(allowed) = origin.and_then(|o| allowed_origin(cors, o)) else {
        return;
    };
    insert(headers, "access-control-allow-origin", &allowed);
    headers.append("vary", HeaderValue::from_static("Origin"));
    if cors.allow_credentials == Some(true) {
        insert(headers, "access-control-allow-credentials", "true");
    }
    if let Some(expose) = cors.expose_headers.as_ref().filter(|e| !e.is_empty()) {
        insert(headers, "access-control-expose-headers", &expose.join(","));
    }
}

/// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`): the allowed
/// origin, methods, headers and max age when the request is allowed, none of them otherwise.
pub fn preflight_headers(cors: &Cors, request: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let text = |name: &str| request.get(name).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(method)) = (text("origin"), text("access-control-request-method")) else {
        return headers;
    };
    let methods = cors.allow_methods.as_deref().unwrap_or_default();
    let method_ok = methods.iter().any(|m| m == "*" || m.eq_ignore_ascii_case(method));
    let Some(allowed) = allowed_origin(cors, origin).filter(|_| method_ok) else {
        return headers;
    };
    insert(&mut headers, "access-control-allow-origin", &allowed);
    headers.append("vary", HeaderValue::from_static("Origin"));
    insert(&mut headers, "access-control-allow-methods", &methods.join(","));
    let allow_headers = cors.allow_headers.as_deref().unwrap_or_default();
    let requested = text("access-control-request-headers");
    let allow = if allow_headers.iter().any(|h| h == "*") {
        requested.map(str::to_string)
    } else {
        (!allow_headers.is_empty()).then(|| allow_headers.join(","))
    };
    if let Some(allow) = allow {
        insert(&mut headers, "access-control-allow-headers", &allow);
    }
    if let Some(age) = cors.max_age {
        insert(&mut headers, "access-control-max-age", &age.to_string());
    }
    if cors.allow_credentials == Some(true) {
        insert(&mut headers, "access-control-allow-credentials", "true");
    }
    headers
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = axum::http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("request").into_parts().0
    }

    fn context<'a>(raw_path: &'a str) -> EventContext<'a> {
        EventContext {
            url_id: "abc",
            domain_name: "abc.lambda-url.us-east-1.localhost",
            account_id: "000000000000",
            request_id: "rid",
            source_ip: "127.0.0.1".into(),
            raw_path,
        }
    }

    #[test]
    fn the_event_has_format_2_0() {
        let parts = parts(
            "POST",
            "/p/q?a=1&a=2&b=x%20y",
            &[
                ("cookie", "s=1; t=2"),
                ("x-multi", "one"),
                ("x-multi", "two"),
                ("content-type", "application/json"),
            ],
        );
        let event = request_event(&parts, br#"{"k":1}"#, &context("/p/q"));
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["rawPath"], "/p/q");
        assert_eq!(event["rawQueryString"], "a=1&a=2&b=x%20y");
        assert_eq!(event["queryStringParameters"], json!({"a": "1,2", "b": "x y"}));
        assert_eq!(event["cookies"], json!(["s=1", "t=2"]));
        assert_eq!(event["headers"]["x-multi"], "one,two");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["requestContext"]["http"]["protocol"], "HTTP/1.1");
        assert_eq!(event["body"], r#"{"k":1}"#);
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn binary_bodies_are_base64() {
        let parts = parts("POST", "/", &[("content-type", "image/png")]);
        let event = request_event(&parts, &[0, 159, 146, 150], &context("/"));
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "AJ+Slg==");
    }

    #[test]
    fn responses_map_like_lambda() {
        let bare = response_from(br#"{"a":1}"#).expect("bare");
        assert_eq!(
            (bare.status, bare.body.as_slice()),
            (StatusCode::OK, br#"{"a":1}"#.as_slice())
        );
        let full = response_from(
            br#"{"statusCode":201,"headers":{"x":"y"},"cookies":["a=1","b=2"],"body":"aGk=","isBase64Encoded":true}"#,
        )
        .expect("full");
        assert_eq!(full.status, StatusCode::CREATED);
        assert_eq!(full.body, b"hi");
        assert_eq!(full.headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(full.headers["x"], "y");
        assert!(response_from(br#"{"statusCode":"nope"}"#).is_err());
    }

    #[test]
    fn an_event_leaves_out_what_the_request_lacks() {
        let event = request_event(&parts("GET", "/", &[]), b"", &context("/"));
        let keys: Vec<_> = event
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "headers",
                "isBase64Encoded",
                "rawPath",
                "rawQueryString",
                "requestContext",
                "routeKey",
                "version"
            ]
        );
        assert_eq!(event["headers"], json!({}));
        assert_eq!(event["requestContext"]["http"]["userAgent"], "");
        assert!(event["requestContext"]["timeEpoch"].is_u64());
    }

    #[test]
    fn responses_are_read_leniently() {
        let odd = response_from(
            br#"{"statusCode":200,"headers":{"x-n":5},"cookies":["a=1",2],"body":{"k":1},"isBase64Encoded":true}"#,
        )
        .expect("odd");
        assert_eq!(odd.headers["x-n"], "5");
        assert_eq!(odd.headers.get_all("set-cookie").iter().count(), 1);
        assert_eq!(odd.headers["content-type"], "application/json");
        assert_eq!(
            odd.body, br#"{"k":1}"#,
            "a body that is not a string is its JSON text"
        );
        for json_body in [
            b"[1]".as_slice(),
            b"\"text\"",
            b"{\"no\":\"status\"}",
            b"not json",
        ] {
            assert_eq!(response_from(json_body).expect("a JSON body").body, json_body);
        }
        assert!(response_from(br#"{"statusCode":1000}"#).is_err());
        assert!(response_from(br#"{"statusCode":200,"body":"%%","isBase64Encoded":true}"#).is_err());
    }

    #[test]
    fn a_stream_prelude_is_found_or_the_stream_is_all_body() {
        let mut stream = br#"{"statusCode":202,"headers":{"content-type":"text/plain"}}"#.to_vec();
        assert!(stream_head(None, &stream, false).is_none());
        stream.extend_from_slice(&[0; 8]);
        stream.extend_from_slice(b"body");
        for content_type in [None, Some(PRELUDE_CONTENT_TYPE)] {
            let (head, body) = stream_head(content_type, &stream, false).expect("head");
            assert_eq!(
                (head.status, body.as_slice()),
                (StatusCode::ACCEPTED, b"body".as_slice())
            );
        }
        let (head, body) = stream_head(None, b"plain", false).expect("plain");
        assert_eq!(
            (head.status, body.as_slice()),
            (StatusCode::OK, b"plain".as_slice())
        );
        assert_eq!(head.headers["content-type"], "application/octet-stream");
        assert!(stream_head(None, b"{\"partial", true).is_some());
    }

    #[test]
    fn a_stream_of_another_content_type_is_all_body_with_that_type() {
        let mut stream = br#"{"statusCode":202}"#.to_vec();
        stream.extend_from_slice(&[0; 8]);
        let (head, body) = stream_head(Some("text/csv"), &stream, false).expect("at once");
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.headers["content-type"], "text/csv");
        assert_eq!(body, stream, "the bytes are the body, prelude-shaped or not");
        let (head, _) = stream_head(Some("bad\nvalue"), b"x", false).expect("plain");
        assert_eq!(head.headers["content-type"], "application/octet-stream");
    }

    #[test]
    fn cors_allows_listed_origins_only() {
        let cors = Cors {
            allow_origins: Some(vec!["https://a.example".into()]),
            allow_methods: Some(vec!["GET".into()]),
            allow_headers: Some(vec!["content-type".into()]),
            max_age: Some(60),
            ..Cors::default()
        };
        let request = |origin: &str, method: &str| {
            let mut h = HeaderMap::new();
            h.insert("origin", HeaderValue::from_str(origin).expect("origin"));
            h.insert(
                "access-control-request-method",
                HeaderValue::from_str(method).expect("m"),
            );
            h
        };
        let ok = preflight_headers(&cors, &request("https://a.example", "GET"));
        assert_eq!(ok["access-control-allow-origin"], "https://a.example");
        assert_eq!(ok["access-control-max-age"], "60");
        assert!(preflight_headers(&cors, &request("https://b.example", "GET")).is_empty());
        assert!(preflight_headers(&cors, &request("https://a.example", "DELETE")).is_empty());
    }
}
