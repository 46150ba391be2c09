//! The prelude of a streamed HTTP response (Lambda's `HttpResponseStream`): the head as JSON,
//! `{"statusCode","headers","cookies"}`, then [`PRELUDE_SEPARATOR`], then the body.

use serde::Serialize;
use std::collections::BTreeMap;

use super::Response;

/// Eight NUL bytes between the head and the body. serde_json escapes control characters, so a
/// head never holds one and the first separator in a stream is the one.
pub const PRELUDE_SEPARATOR: [u8; 8] = [0; 8];

/// The Content-Type of a stream that starts with a prelude (Lambda's `HttpResponseStream.from`).
pub const PRELUDE_CONTENT_TYPE: &str = "application/vnd.awslambda.http-integration-response";

/// Appends `head`'s status, headers and cookies (its body is not part of the prelude) and the
/// separator to `out`. Headers and cookies are written even when empty, as Lambda's runtimes do.
pub fn write_prelude(out: &mut Vec<u8>, head: &Response) -> Result<(), serde_json::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Head<'a> {
        status_code: u16,
        headers: &'a BTreeMap<String, String>,
        cookies: &'a [String],
    }
    serde_json::to_writer(
        &mut *out,
        &Head {
            status_code: head.status_code,
            headers: &head.headers,
            cookies: &head.cookies,
        },
    )?;
    out.extend_from_slice(&PRELUDE_SEPARATOR);
    Ok(())
}

/// Splits a stream at its first separator: `(head JSON, body so far)`; `None` while there is
/// none (the prelude may still be arriving, or the stream has none). The head reads as a
/// [`Response`] whose body is empty.
pub fn split_prelude(stream: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = stream
        .windows(PRELUDE_SEPARATOR.len())
        .position(|w| w == PRELUDE_SEPARATOR)?;
    Some((&stream[..at], &stream[at + PRELUDE_SEPARATOR.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prelude_is_the_head_then_eight_nuls() {
        let head = Response::new(201)
            .header("Content-Type", "text/plain")
            .cookie("a=1")
            .text("not in the prelude");
        let mut stream = Vec::new();
        write_prelude(&mut stream, &head).expect("prelude");
        let mut expected =
            br#"{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1"]}"#.to_vec();
        expected.extend_from_slice(&[0; 8]);
        assert_eq!(stream, expected);

        let mut empty = Vec::new();
        write_prelude(&mut empty, &Response::new(204)).expect("prelude");
        assert_eq!(
            empty,
            b"{\"statusCode\":204,\"headers\":{},\"cookies\":[]}\0\0\0\0\0\0\0\0"
        );
    }

    #[test]
    fn a_stream_splits_at_its_first_separator() {
        let mut stream = Vec::new();
        write_prelude(&mut stream, &Response::new(202)).expect("prelude");
        assert_eq!(
            split_prelude(&stream[..stream.len() - 1]),
            None,
            "a separator cut short"
        );
        stream.extend_from_slice(b"body\0\0\0\0\0\0\0\0more");
        let (head, body) = split_prelude(&stream).expect("split");
        assert_eq!(body, b"body\0\0\0\0\0\0\0\0more");
        let head: Response = serde_json::from_slice(head).expect("a head");
        assert_eq!((head.status_code, head.body.as_str()), (202, ""));
        assert_eq!(split_prelude(b"no prelude"), None);
    }
}
