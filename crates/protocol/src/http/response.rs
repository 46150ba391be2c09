//! The response object a function URL handler answers with.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::{decode_base64, encode_base64, lenient};
use crate::{Error, HandlerError};

/// A function URL response, built as `Response::ok().header(..).text(..)`. Serialises to the
/// `{"statusCode","headers","cookies","body","isBase64Encoded"}` object Lambda expects.
///
/// Reads as leniently as the host answers it: only `statusCode` must be a number; headers that
/// are not strings are their JSON text, cookies that are not strings are left out, a body that is
/// not a string is its JSON text (and never base64).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase", from = "lenient::ResponseObject")]
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
        self.body = encode_base64(body.as_ref());
        self.is_base64_encoded = true;
        self.default_content_type("application/octet-stream")
    }

    /// The body's bytes: base64-decoded when `is_base64_encoded`.
    pub fn body_bytes(&self) -> Result<Vec<u8>, Error> {
        if !self.is_base64_encoded {
            return Ok(self.body.as_bytes().to_vec());
        }
        decode_base64(&self.body)
            .ok_or_else(|| HandlerError::new("InvalidBody", "response body is not valid base64").into())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(r.body_bytes().expect("bytes"), [0u8, 1, 0xff, 0x80]);
        assert_eq!(r.into_value(), expected);
        let png = Response::ok()
            .header("content-type", "image/png")
            .binary(b"\x89PNG");
        assert_eq!(png.headers["content-type"], "image/png");
        assert_eq!(png.body, "iVBORw==");
        let broken = Response {
            body: "%%%".into(),
            ..Response::ok().binary([])
        };
        let e = broken.body_bytes().unwrap_err();
        assert_eq!(
            e.downcast_ref::<HandlerError>().map(|e| e.error_type.as_str()),
            Some("InvalidBody")
        );
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

    #[test]
    fn a_response_reads_back() {
        let r = Response::new(302)
            .header("Location", "/home")
            .cookie("theme=dark")
            .binary([0u8, 1]);
        let value = serde_json::to_value(&r).expect("value");
        assert_eq!(serde_json::from_value::<Response>(value).expect("response"), r);
    }

    #[test]
    fn a_response_reads_leniently() {
        let read = |value: Value| serde_json::from_value::<Response>(value);
        let r = read(json!({
            "statusCode": 200,
            "headers": {"x-n": 5, "x-b": true, "x-s": "s"},
            "cookies": ["a=1", 2, null, "b=2"],
            "body": {"k": 1},
            "isBase64Encoded": true,
        }))
        .expect("lenient");
        assert_eq!(r.headers["x-n"], "5");
        assert_eq!(r.headers["x-b"], "true");
        assert_eq!(r.cookies, ["a=1", "b=2"]);
        // Not a string: JSON text, never base64.
        assert_eq!((r.body.as_str(), r.is_base64_encoded), (r#"{"k":1}"#, false));

        let r = read(
            json!({"statusCode": 204, "headers": [1], "cookies": "a=1", "body": null,
                            "isBase64Encoded": "true"}),
        )
        .expect("sparse");
        assert!(r.headers.is_empty() && r.cookies.is_empty() && r.body.is_empty());
        assert!(!r.is_base64_encoded, "only `true` means base64");
        assert_eq!(read(json!({"statusCode": 201})).expect("bare").status_code, 201);

        for bad in [
            json!({}),
            json!({"statusCode": "200"}),
            json!({"statusCode": 70000}),
            json!({"statusCode": null}),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad}");
        }
    }
}
