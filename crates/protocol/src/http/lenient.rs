//! Reading JSON as Lambda does: `null` for an empty collection, header names in any case, and a
//! function's response object with values of the wrong JSON type taken as text rather than refused.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

use super::Response;

/// Lambda may send `null` for an empty list, map or string; read it as empty.
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Header names are case-insensitive: lowercase them, as Lambda does, joining any that collide.
pub(super) fn lowercase_keys<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
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

/// A response object as functions write it. Only `statusCode` must have its type; the host has
/// always answered the rest leniently, and [`super::Response`] reads through this to keep that.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResponseObject {
    pub status_code: u16,
    /// Not an object: no headers. A value that is not a string: its JSON text.
    #[serde(default)]
    pub headers: Value,
    /// Not an array: no cookies. Entries that are not strings are left out.
    #[serde(default)]
    pub cookies: Value,
    /// Absent or `null`: empty. Not a string: its JSON text, never base64.
    #[serde(default)]
    pub body: Value,
    /// Only `true` means base64.
    #[serde(default)]
    pub is_base64_encoded: Value,
}

impl From<ResponseObject> for Response {
    fn from(object: ResponseObject) -> Response {
        let headers = match object.headers {
            Value::Object(map) => map.into_iter().map(|(name, value)| (name, text(value))).collect(),
            _ => BTreeMap::new(),
        };
        let cookies = match object.cookies {
            Value::Array(cookies) => cookies
                .into_iter()
                .filter_map(|cookie| match cookie {
                    Value::String(cookie) => Some(cookie),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let (body, is_base64_encoded) = match object.body {
            Value::Null => (String::new(), false),
            Value::String(body) => (body, object.is_base64_encoded == Value::Bool(true)),
            other => (other.to_string(), false),
        };
        Response {
            status_code: object.status_code,
            headers,
            cookies,
            body,
            is_base64_encoded,
        }
    }
}

fn text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}
