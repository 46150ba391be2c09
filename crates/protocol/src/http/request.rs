//! The payload format 2.0 event of a function URL request.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{decode_base64, lenient};
use crate::{Error, HandlerError};

/// A function URL request (payload format version 2.0). Lists and maps that are empty, and a
/// missing body, are left out of the JSON, as Lambda leaves them out.
#[derive(Deserialize, Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Request {
    pub version: String,
    pub route_key: String,
    pub raw_path: String,
    pub raw_query_string: String,
    /// The `Cookie` header split into `name=value` entries.
    #[serde(
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cookies: Vec<String>,
    /// Header names are lowercase; repeated headers are joined with commas.
    #[serde(deserialize_with = "lenient::lowercase_keys")]
    pub headers: BTreeMap<String, String>,
    /// Decoded query parameters; a repeated parameter's values are joined with commas.
    #[serde(
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub query_string_parameters: BTreeMap<String, String>,
    pub request_context: RequestContext,
    /// The body as sent, or base64 of it when `is_base64_encoded`; see [`Request::body_bytes`].
    #[serde(skip_serializing_if = "Option::is_none")]
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
    #[serde(deserialize_with = "lenient::null_as_default")]
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
        decode_base64(body)
            .ok_or_else(|| HandlerError::new("InvalidBody", "request body is not valid base64").into())
    }

    /// The body as text; an error when it is not UTF-8.
    pub fn body_text(&self) -> Result<String, Error> {
        String::from_utf8(self.body_bytes()?)
            .map_err(|_| HandlerError::new("InvalidBody", "request body is not UTF-8").into())
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
    fn what_a_request_lacks_is_left_out() {
        let value = serde_json::to_value(Request::default()).expect("value");
        let keys: Vec<_> = value.as_object().expect("object").keys().cloned().collect();
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
        assert_eq!(value["headers"], json!({}));
        assert_eq!(value["requestContext"]["http"]["userAgent"], "");
    }
}
