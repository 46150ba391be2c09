//! Function URLs: the payload format 2.0 request event, the response object a function answers
//! with, and the prelude that heads a streamed response.
//!
//! The host builds a [`Request`] and reads a [`Response`]; the guest SDK does the opposite. Both
//! use one definition, so an event the host writes is one the SDK reads, field for field.

mod lenient;
mod prelude;
mod request;
mod response;

pub use prelude::{PRELUDE_CONTENT_TYPE, PRELUDE_SEPARATOR, split_prelude, write_prelude};
pub use request::{HttpDetails, Request, RequestContext};
pub use response::Response;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// Standard base64 with padding (RFC 4648 §4), as Lambda encodes binary bodies.
fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard base64, padded or not; `None` for anything else (other alphabets, whitespace, partial
/// padding, a length no encoder writes).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert_eq!(encode_base64(plain.as_bytes()), encoded);
            assert_eq!(decode_base64(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(encode_base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn base64_decodes_with_or_without_padding() {
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..=all.len() {
            let bytes = &all[all.len() - len..];
            let encoded = encode_base64(bytes);
            assert_eq!(decode_base64(&encoded).as_deref(), Some(bytes), "length {len}");
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(decode_base64(unpadded).as_deref(), Some(bytes), "length {len}");
        }
    }

    #[test]
    fn base64_rejects_what_no_encoder_writes() {
        for bad in [
            "A", "AAAAA", "Zg=", "Zg===", "Z=g=", "=Zg=", "Zm9v\n", "Zm 9", "Zm9-", "Zm9_", "====",
        ] {
            assert_eq!(decode_base64(bad), None, "{bad:?}");
        }
    }
}
