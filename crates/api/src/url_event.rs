//! Function URL mapping, without I/O: the HTTP request as a payload-format-2.0 event, the
//! function's answer as an HTTP response, CORS headers, and the head of a streamed response.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::Engine as _;
use serde_json::{Map, Value, json};

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
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| json!(c)),
            );
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), json!(value));
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or("");
    let mut query = Map::new();
    for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(key.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key.into_owned(), json!(value));
            }
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let clf =
        time::macros::format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    let user_agent = parts
        .headers
        .get("user-agent")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": context.raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.url_id,
            "domainName": context.domain_name,
            "domainPrefix": context.url_id,
            "http": {
                "method": parts.method.as_str(),
                "path": context.raw_path,
                "protocol": format!("{:?}", parts.version),
                "sourceIp": context.source_ip,
                "userAgent": user_agent,
            },
            "requestId": context.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format(&clf).unwrap_or_default(),
            "timeEpoch": (now.unix_timestamp_nanos() / 1_000_000) as u64,
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !body.is_empty() {
        let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
        match std::str::from_utf8(body) {
            Ok(text) if content_type.is_none_or(is_text) => event["body"] = json!(text),
            _ => {
                event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
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
/// cookies, body, isBase64Encoded); any other JSON is a 200 `application/json` body.
pub fn response_from(bytes: &[u8]) -> Result<HttpAnswer, String> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(_) => return Ok(json_answer(bytes)),
    };
    let Some(object) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        return Ok(json_answer(bytes));
    };
    let mut answer = head_from(object)?;
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if object.get("isBase64Encoded") == Some(&json!(true)) => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("body is not valid base64: {e}"))?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    if !answer.headers.contains_key("content-type") {
        answer
            .headers
            .insert("content-type", HeaderValue::from_static("application/json"));
    }
    answer.body = body;
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
fn head_from(object: &Map<String, Value>) -> Result<HttpAnswer, String> {
    let status = object
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| format!("statusCode is not an HTTP status: {:?}", object.get("statusCode")))?;
    let mut headers = HeaderMap::new();
    if let Some(Value::Object(map)) = object.get("headers") {
        for (name, value) in map {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header {name}: {e}"))?;
            let value = HeaderValue::from_str(&text).map_err(|e| format!("header {name}: {e}"))?;
            headers.append(name, value);
        }
    }
    if let Some(Value::Array(cookies)) = object.get("cookies") {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            let value = HeaderValue::from_str(cookie).map_err(|e| format!("cookie: {e}"))?;
            headers.append("set-cookie", value);
        }
    }
    Ok(HttpAnswer {
        status,
        headers,
        body: Vec::new(),
    })
}

/// Lambda's HTTP response stream: a JSON prelude (status, headers, cookies), eight NUL bytes,
/// then the body.
const PRELUDE_DELIMITER: [u8; 8] = [0; 8];
/// How much of a stream is searched for a prelude before it is taken as all body.
pub const MAX_PRELUDE_BYTES: usize = 64 * 1024;

/// The head of a streamed response, once the first bytes tell: `Some((head, body_so_far))`, or
/// `None` while a prelude may still be arriving. `finished` means no more bytes will come.
pub fn stream_head(buffered: &[u8], finished: bool) -> Option<(HttpAnswer, Vec<u8>)> {
    let plain = || {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
        let head = HttpAnswer {
            status: StatusCode::OK,
            headers,
            body: Vec::new(),
        };
        Some((head, buffered.to_vec()))
    };
    if buffered.first().is_some_and(|b| *b != b'{') {
        return plain();
    }
    if let Some(at) = buffered
        .windows(PRELUDE_DELIMITER.len())
        .position(|w| w == PRELUDE_DELIMITER)
    {
        let prelude = serde_json::from_slice::<Value>(&buffered[..at]).ok();
        if let Some(head) = prelude
            .as_ref()
            .and_then(Value::as_object)
            .and_then(|o| head_from(o).ok())
        {
            return Some((head, buffered[at + PRELUDE_DELIMITER.len()..].to_vec()));
        }
        return plain();
    }
    if finished || buffered.len() > MAX_PRELUDE_BYTES {
        return plain();
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
    fn a_stream_prelude_is_found_or_the_stream_is_all_body() {
        let mut stream = br#"{"statusCode":202,"headers":{"content-type":"text/plain"}}"#.to_vec();
        assert!(stream_head(&stream, false).is_none());
        stream.extend_from_slice(&[0; 8]);
        stream.extend_from_slice(b"body");
        let (head, body) = stream_head(&stream, false).expect("head");
        assert_eq!(
            (head.status, body.as_slice()),
            (StatusCode::ACCEPTED, b"body".as_slice())
        );
        let (head, body) = stream_head(b"plain", false).expect("plain");
        assert_eq!(
            (head.status, body.as_slice()),
            (StatusCode::OK, b"plain".as_slice())
        );
        assert!(stream_head(b"{\"partial", true).is_some());
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
