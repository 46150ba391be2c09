//! Function URLs: the payload format 2.0 request a handler receives and the HTTP response it returns.
//!
//! A handler takes a [`Request`] and returns a [`Response`] (or any other JSON value, which Lambda
//! answers as `200 application/json`). On a `RESPONSE_STREAM` function URL, [`stream_response`]
//! sends the status line and headers first and returns the writer for the body.
//!
//! The types are `lambkin-protocol`'s, the ones the host builds the event from and reads the
//! response with.

use crate::{Error, ResponseStream};

pub use lambkin_protocol::http::{HttpDetails, Request, RequestContext, Response};

/// Between the JSON head of a streamed HTTP response and its body (Lambda's `HttpResponseStream`).
pub use lambkin_protocol::http::PRELUDE_SEPARATOR as STREAM_DELIMITER;

/// Starts a streamed HTTP response (a `RESPONSE_STREAM` function URL): sends `head`'s status,
/// headers and cookies as the first chunk and returns the writer for the body, where each
/// `write!` is one chunk. A body already set on `head` is sent in that first chunk. The handler
/// then returns `()` or [`serde_json::Value::Null`].
///
/// The first chunk is `{"statusCode":..,"headers":{..},"cookies":[..]}` followed by eight NUL
/// bytes; the host takes everything after them as the body.
pub fn stream_response(head: &Response) -> Result<ResponseStream, Error> {
    let mut chunk = Vec::new();
    lambkin_protocol::http::write_prelude(&mut chunk, head)?;
    chunk.extend_from_slice(&head.body_bytes()?);
    let out = crate::stream();
    out.set_content_type(lambkin_protocol::http::PRELUDE_CONTENT_TYPE);
    out.send(&chunk);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambkin_protocol::http::split_prelude;
    use serde_json::{Value, json};

    /// Splits a streamed HTTP response the way the host does.
    fn split_stream(written: &[u8]) -> (Value, &[u8]) {
        let (head, body) = split_prelude(written).expect("a delimiter");
        (serde_json::from_slice(head).expect("a JSON head"), body)
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
    fn a_streamed_head_with_a_broken_body_sends_nothing() {
        ResponseStream::take_written();
        let broken = Response {
            body: "%%%".into(),
            ..Response::ok().binary([])
        };
        let e = stream_response(&broken).unwrap_err();
        assert_eq!(
            e.downcast_ref::<crate::HandlerError>()
                .map(|e| e.error_type.as_str()),
            Some("InvalidBody")
        );
        assert!(ResponseStream::take_written().is_empty());
    }
}
