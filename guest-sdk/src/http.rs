//! Function URLs: the payload format 2.0 request a handler receives and the HTTP response it returns.
//!
//! A handler takes a [`Request`] and returns a [`Response`] (or any other JSON value, which Lambda
//! answers as `200 application/json`). On a `RESPONSE_STREAM` function URL, [`stream_response`]
//! sends the status line and headers first and returns the writer for the body.

use crate::{Error, HandlerError, ResponseStream};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A function URL request (payload format version 2.0).
#[derive(Deserialize, Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Request {
    pub version: String,
    pub route_key: String,
    pub raw_path: String,
    pub raw_query_string: String,
    /// The `Cookie` header split into `name=value` entries.
    #[serde(deserialize_with = "null_as_default")]
    pub cookies: Vec<String>,
    /// Header names are lowercase; repeated headers are joined with commas.
    #[serde(deserialize_with = "lowercase_keys")]
    pub headers: BTreeMap<String, String>,
    /// Decoded query parameters; a repeated parameter's values are joined with commas.
    #[serde(deserialize_with = "null_as_default")]
    pub query_string_parameters: BTreeMap<String, String>,
    pub request_context: RequestContext,
    /// The body as sent, or base64 of it when `is_base64_encoded`; see [`Request::body_bytes`].
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

/// `requestContext` of a function URL request.
#[derive(Deserialize, Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestContext {
    pub account_id: String,
    pub api_id: String,
    pub domain_name: String,
    pub domain_prefix: String,
    pub http: HttpDetails,
    pub request_id: String,
    pub route_key: String,
    pub stage: String,
    /// E.g. `12/Mar/2020:19:03:58 +0000`.
    pub time: String,
    /// Milliseconds since the Unix epoch.
    pub time_epoch: u64,
}

/// `requestContext.http`: the request line and the caller.
#[derive(Deserialize, Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpDetails {
    pub method: String,
    pub path: String,
    pub protocol: String,
    pub source_ip: String,
    /// Empty when the caller sent no `User-Agent`.
    #[serde(deserialize_with = "null_as_default")]
    pub user_agent: String,
}

impl Request {
    /// The HTTP method, e.g. `GET`.
    pub fn method(&self) -> &str {
        &self.request_context.http.method
    }

    /// The path as requested (`rawPath`), e.g. `/orders/7`.
    pub fn path(&self) -> &str {
        &self.raw_path
    }

    /// A header's value; `name` is case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// A query parameter's (decoded) value.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_string_parameters.get(name).map(String::as_str)
    }

    /// A cookie's value, the first one when the name repeats.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookie_pairs()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    /// Every cookie as `(name, value)`, in the order they were sent. An entry without `=` is a
    /// cookie with an empty name, as browsers send it.
    pub fn cookie_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        // An entry may still hold several cookies when the request was built from a raw header.
        self.cookies
            .iter()
            .flat_map(|entry| entry.split(';'))
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) => (name.trim(), value.trim()),
                None => ("", pair),
            })
    }

    /// The body's bytes: base64-decoded when `is_base64_encoded`, empty when there is none.
    pub fn body_bytes(&self) -> Result<Vec<u8>, Error> {
        let Some(body) = &self.body else {
            return Ok(Vec::new());
        };
        if !self.is_base64_encoded {
            return Ok(body.as_bytes().to_vec());
        }
        base64_decode(body)
            .ok_or_else(|| HandlerError::new("InvalidBody", "request body is not valid base64").into())
    }

    /// The body as text; an error when it is not UTF-8.
    pub fn body_text(&self) -> Result<String, Error> {
        String::from_utf8(self.body_bytes()?)
            .map_err(|_| HandlerError::new("InvalidBody", "request body is not UTF-8").into())
    }
}

/// A function URL response, built as `Response::ok().header(..).text(..)`. Serialises to the
/// `{"statusCode","headers","cookies","body","isBase64Encoded"}` object Lambda expects.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status_code: u16,
    /// Names are lowercase (the builder lowercases them).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `Set-Cookie` values, one per cookie.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cookies: Vec<String>,
    /// Text, or base64 of the bytes when `is_base64_encoded`.
    pub body: String,
    pub is_base64_encoded: bool,
}

impl Response {
    /// An empty response with this status code.
    pub fn new(status: u16) -> Self {
        Response {
            status_code: status,
            headers: BTreeMap::new(),
            cookies: Vec::new(),
            body: String::new(),
            is_base64_encoded: false,
        }
    }

    /// An empty `200 OK`.
    pub fn ok() -> Self {
        Self::new(200)
    }

    /// Sets a header, replacing an earlier value of the same (case-insensitive) name.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.insert(name.to_ascii_lowercase(), value.into());
        self
    }

    /// Adds a `Set-Cookie`, e.g. `"session=abc; Path=/; HttpOnly"`.
    pub fn cookie(mut self, cookie: impl Into<String>) -> Self {
        self.cookies.push(cookie.into());
        self
    }

    /// A text body; `content-type` is `text/plain; charset=utf-8` unless one was set.
    pub fn text(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self.is_base64_encoded = false;
        self.default_content_type("text/plain; charset=utf-8")
    }

    /// A JSON body; `content-type` is `application/json` unless one was set.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self, Error> {
        self.body = serde_json::to_string(body)?;
        self.is_base64_encoded = false;
        Ok(self.default_content_type("application/json"))
    }

    /// A binary body, sent base64-encoded; `content-type` is `application/octet-stream` unless one
    /// was set.
    pub fn binary(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = base64_encode(body.as_ref());
        self.is_base64_encoded = true;
        self.default_content_type("application/octet-stream")
    }

    /// The response as the JSON object Lambda expects, for a handler returning [`Value`].
    pub fn into_value(self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("statusCode".into(), self.status_code.into());
        if !self.headers.is_empty() {
            let headers = self.headers.into_iter().map(|(k, v)| (k, Value::String(v)));
            object.insert("headers".into(), Value::Object(headers.collect()));
        }
        if !self.cookies.is_empty() {
            object.insert("cookies".into(), self.cookies.into());
        }
        object.insert("body".into(), self.body.into());
        object.insert("isBase64Encoded".into(), self.is_base64_encoded.into());
        Value::Object(object)
    }

    fn default_content_type(mut self, content_type: &str) -> Self {
        self.headers
            .entry("content-type".into())
            .or_insert_with(|| content_type.into());
        self
    }
}

/// Between the JSON head of a streamed HTTP response and its body (Lambda's `HttpResponseStream`).
pub const STREAM_DELIMITER: [u8; 8] = [0; 8];

/// Starts a streamed HTTP response (a `RESPONSE_STREAM` function URL): sends `head`'s status,
/// headers and cookies as the first chunk and returns the writer for the body, where each
/// `write!` is one chunk. A body already set on `head` is sent in that first chunk. The handler
/// then returns `()` or [`Value::Null`].
///
/// The first chunk is `{"statusCode":..,"headers":{..},"cookies":[..]}` followed by eight NUL
/// bytes; the host takes everything after them as the body.
pub fn stream_response(head: &Response) -> Result<ResponseStream, Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Head<'a> {
        status_code: u16,
        headers: &'a BTreeMap<String, String>,
        cookies: &'a [String],
    }
    // serde_json escapes control characters, so the head itself never holds a NUL byte.
    let mut chunk = serde_json::to_vec(&Head {
        status_code: head.status_code,
        headers: &head.headers,
        cookies: &head.cookies,
    })?;
    chunk.extend_from_slice(&STREAM_DELIMITER);
    if head.is_base64_encoded {
        let body = base64_decode(&head.body)
            .ok_or_else(|| HandlerError::new("InvalidBody", "response body is not valid base64"))?;
        chunk.extend_from_slice(&body);
    } else {
        chunk.extend_from_slice(head.body.as_bytes());
    }
    let out = crate::stream();
    out.send(&chunk);
    Ok(out)
}

/// Lambda may send `null` for an empty list, map or string; read it as empty.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Header names are case-insensitive: lowercase them, as Lambda does, joining any that collide.
fn lowercase_keys<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: BTreeMap<String, String> = null_as_default(deserializer)?;
    let mut headers = BTreeMap::new();
    for (name, value) in raw {
        headers
            .entry(name.to_ascii_lowercase())
            .and_modify(|joined: &mut String| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert_with(|| value.clone());
    }
    Ok(headers)
}

const BASE64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4), as Lambda encodes binary bodies.
fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        // A group of k bytes gives k + 1 characters; '=' pads to four.
        for i in 0..4 {
            if i <= group.len() {
                let sextet = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(BASE64_ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64; padding may be left off. `None` for anything else (other alphabets,
/// whitespace, misplaced `=`, a length no encoder produces).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let data = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(bytes);
    let padded = data.len() != bytes.len();
    if (padded && !bytes.len().is_multiple_of(4)) || data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    for group in data.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in group.iter().enumerate() {
            n |= u32::from(base64_value(c)?) << (18 - 6 * i);
        }
        // k characters carry k - 1 whole bytes.
        out.extend_from_slice(&n.to_be_bytes()[1..group.len()]);
    }
    Some(out)
}

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A function URL event as Lambda sends it (POST with a binary body).
    const EVENT: &str = r#"{
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/upload/photo",
        "rawQueryString": "size=large&tag=a&tag=b&q=hello%20world",
        "cookies": ["session=abc123", "theme=dark", "empty="],
        "headers": {
            "content-type": "application/octet-stream",
            "X-Forwarded-Proto": "https",
            "accept": "text/html,application/json",
            "host": "abcdefg.lambda-url.us-east-1.on.aws",
            "user-agent": "curl/8.5.0"
        },
        "queryStringParameters": {"size": "large", "tag": "a,b", "q": "hello world"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefg",
            "domainName": "abcdefg.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefg",
            "http": {
                "method": "POST",
                "path": "/upload/photo",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390
        },
        "body": "AAH/gA==",
        "pathParameters": null,
        "isBase64Encoded": true,
        "stageVariables": null
    }"#;

    fn event() -> Request {
        serde_json::from_str(EVENT).expect("a 2.0 event")
    }

    #[test]
    fn reads_a_payload_2_0_event() {
        let r = event();
        assert_eq!(r.version, "2.0");
        assert_eq!((r.method(), r.path()), ("POST", "/upload/photo"));
        assert_eq!(r.raw_query_string, "size=large&tag=a&tag=b&q=hello%20world");
        assert_eq!(r.request_context.account_id, "123456789012");
        assert_eq!(r.request_context.http.source_ip, "203.0.113.7");
        assert_eq!(r.request_context.http.protocol, "HTTP/1.1");
        assert_eq!(r.request_context.time_epoch, 1583348638390);
        assert_eq!(r.request_context.stage, "$default");
        // Header names come out lowercase, however they were sent.
        assert_eq!(
            r.headers.get("x-forwarded-proto").map(String::as_str),
            Some("https")
        );
        assert_eq!(r.headers.len(), 5);
    }

    #[test]
    fn helpers_find_headers_query_and_cookies() {
        let r = event();
        assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
        assert_eq!(r.header("ACCEPT"), Some("text/html,application/json"));
        assert_eq!(r.header("x-missing"), None);
        assert_eq!(r.query("q"), Some("hello world"));
        assert_eq!(r.query("tag"), Some("a,b"));
        assert_eq!(r.query("nope"), None);
        assert_eq!(r.cookie("session"), Some("abc123"));
        assert_eq!(r.cookie("theme"), Some("dark"));
        assert_eq!(r.cookie("empty"), Some(""));
        assert_eq!(r.cookie("sess"), None);
        let pairs: Vec<_> = r.cookie_pairs().collect();
        assert_eq!(pairs, [("session", "abc123"), ("theme", "dark"), ("empty", "")]);
    }

    #[test]
    fn cookies_in_one_entry_are_split() {
        let r = Request {
            cookies: vec!["a=1; b=2=3".into()],
            ..Request::default()
        };
        assert_eq!((r.cookie("a"), r.cookie("b")), (Some("1"), Some("2=3")));
    }

    #[test]
    fn bodies_decode() {
        let r = event();
        assert_eq!(r.body_bytes().expect("base64"), [0x00, 0x01, 0xff, 0x80]);
        assert!(r.body_text().is_err(), "0xff is not UTF-8");

        let text = Request {
            body: Some("héllo".into()),
            ..Request::default()
        };
        assert_eq!(text.body_bytes().expect("bytes"), "héllo".as_bytes());
        assert_eq!(text.body_text().expect("text"), "héllo");

        let encoded_text = Request {
            body: Some("aMOpbGxv".into()),
            is_base64_encoded: true,
            ..Request::default()
        };
        assert_eq!(encoded_text.body_text().expect("text"), "héllo");

        assert!(Request::default().body_bytes().expect("none").is_empty());

        let broken = Request {
            body: Some("not base64!".into()),
            is_base64_encoded: true,
            ..Request::default()
        };
        let e = broken.body_bytes().unwrap_err();
        assert_eq!(
            e.downcast_ref::<HandlerError>().map(|e| e.error_type.as_str()),
            Some("InvalidBody")
        );
    }

    #[test]
    fn a_sparse_event_reads_with_defaults() {
        let r: Request = serde_json::from_str(
            r#"{"rawPath":"/","headers":null,"cookies":null,"queryStringParameters":null,
                "requestContext":{"http":{"method":"GET"}}}"#,
        )
        .expect("sparse event");
        assert_eq!((r.method(), r.path()), ("GET", "/"));
        assert!(r.headers.is_empty() && r.cookies.is_empty() && r.body.is_none());
        assert!(r.body_bytes().expect("none").is_empty());
    }

    #[test]
    fn repeated_header_names_join() {
        let r: Request = serde_json::from_str(r#"{"headers":{"X-A":"1","x-a":"2"}}"#).expect("event");
        assert_eq!(r.header("x-a"), Some("1,2"));
    }

    #[test]
    fn a_request_serialises_back_to_camel_case() {
        let value = serde_json::to_value(event()).expect("value");
        assert_eq!(value["requestContext"]["http"]["sourceIp"], "203.0.113.7");
        assert_eq!(value["isBase64Encoded"], true);
        assert_eq!(value["queryStringParameters"]["q"], "hello world");
        assert_eq!(
            serde_json::from_value::<Request>(value).expect("round trip"),
            event()
        );
    }

    #[test]
    fn text_responses() {
        let r = Response::ok().text("hi");
        let expected = json!({
            "statusCode": 200,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": "hi",
            "isBase64Encoded": false
        });
        assert_eq!(serde_json::to_value(&r).expect("value"), expected);
        assert_eq!(r.into_value(), expected);

        // A content type set first wins; header names are lowercased.
        let r = Response::new(201).header("Content-Type", "text/csv").text("a,b");
        assert_eq!(
            r.into_value(),
            json!({"statusCode": 201, "headers": {"content-type": "text/csv"}, "body": "a,b",
                   "isBase64Encoded": false})
        );
    }

    #[test]
    fn an_empty_response_has_no_headers_or_cookies() {
        let expected = json!({"statusCode": 204, "body": "", "isBase64Encoded": false});
        assert_eq!(serde_json::to_value(Response::new(204)).expect("value"), expected);
        assert_eq!(Response::new(204).into_value(), expected);
    }

    #[test]
    fn json_responses() {
        let r = Response::new(404)
            .json(&json!({"message": "gone"}))
            .expect("json");
        assert_eq!(
            serde_json::to_value(&r).expect("value"),
            json!({"statusCode": 404, "headers": {"content-type": "application/json"},
                   "body": "{\"message\":\"gone\"}", "isBase64Encoded": false})
        );
        let r = Response::ok()
            .header("content-type", "application/problem+json")
            .json(&[1, 2])
            .expect("json");
        assert_eq!(r.headers["content-type"], "application/problem+json");
        assert_eq!(r.body, "[1,2]");
    }

    #[test]
    fn binary_responses_are_base64() {
        let r = Response::ok().binary([0u8, 1, 0xff, 0x80]);
        let expected = json!({"statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": "AAH/gA==", "isBase64Encoded": true});
        assert_eq!(serde_json::to_value(&r).expect("value"), expected);
        assert_eq!(r.into_value(), expected);
        let png = Response::ok()
            .header("content-type", "image/png")
            .binary(b"\x89PNG");
        assert_eq!(png.headers["content-type"], "image/png");
        assert_eq!(png.body, "iVBORw==");
    }

    #[test]
    fn cookies_and_headers_serialise() {
        let r = Response::new(302)
            .header("Location", "/home")
            .header("location", "/elsewhere")
            .cookie("session=abc123; Path=/; HttpOnly")
            .cookie("theme=dark");
        let expected = json!({
            "statusCode": 302,
            "headers": {"location": "/elsewhere"},
            "cookies": ["session=abc123; Path=/; HttpOnly", "theme=dark"],
            "body": "",
            "isBase64Encoded": false
        });
        assert_eq!(serde_json::to_value(&r).expect("value"), expected);
        assert_eq!(r.into_value(), expected);
    }

    /// Splits a streamed HTTP response the way the host does.
    fn split_stream(written: &[u8]) -> (Value, &[u8]) {
        let at = written
            .windows(8)
            .position(|w| w == STREAM_DELIMITER)
            .expect("a delimiter");
        let head = serde_json::from_slice(&written[..at]).expect("a JSON head");
        (head, &written[at + 8..])
    }

    #[test]
    fn a_streamed_response_starts_with_its_head() {
        ResponseStream::take_written();
        let head = Response::new(201)
            .header("Content-Type", "text/plain")
            .cookie("a=1");
        let mut out = stream_response(&head).expect("stream");
        let prelude = ResponseStream::take_written();
        let mut expected =
            br#"{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1"]}"#.to_vec();
        expected.extend_from_slice(&[0; 8]);
        assert_eq!(prelude, expected);

        use std::io::Write;
        write!(out, "one").expect("write");
        write!(out, "two").expect("write");
        let written = [prelude, ResponseStream::take_written()].concat();
        let (head, body) = split_stream(&written);
        assert_eq!(head["statusCode"], 201);
        assert_eq!(body, b"onetwo");
    }

    #[test]
    fn a_streamed_head_keeps_its_body_and_empty_lists() {
        ResponseStream::take_written();
        stream_response(&Response::ok().binary([0u8, 0, 1])).expect("stream");
        let written = ResponseStream::take_written();
        let (head, body) = split_stream(&written);
        assert_eq!(
            head,
            json!({"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                   "cookies": []})
        );
        assert_eq!(body, [0, 0, 1]);

        stream_response(&Response::new(204)).expect("stream");
        let mut expected = br#"{"statusCode":204,"headers":{},"cookies":[]}"#.to_vec();
        expected.extend_from_slice(&STREAM_DELIMITER);
        assert_eq!(ResponseStream::take_written(), expected);
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base64_encode(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn base64_round_trips_every_length_and_byte() {
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..=all.len() {
            let bytes = &all[all.len() - len..];
            let encoded = base64_encode(bytes);
            assert_eq!(encoded.len(), len.div_ceil(3) * 4);
            assert_eq!(base64_decode(&encoded).as_deref(), Some(bytes), "length {len}");
            // Unpadded input decodes too.
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(base64_decode(unpadded).as_deref(), Some(bytes), "length {len}");
        }
    }

    #[test]
    fn base64_rejects_what_no_encoder_writes() {
        for bad in [
            "A", "AAAAA", "Zg=", "Zg===", "Z=g=", "=Zg=", "Zm9v\n", "Zm 9", "Zm9-", "Zm9_", "====",
        ] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }
}
