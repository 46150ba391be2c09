//! How the function URLs lambkin hands out are spelled.
//!
//! Lambda's form, `https://<url-id>.lambda-url.<region>.on.aws/`, needs a wildcard DNS name. On a
//! single machine `*.localhost` resolves in curl and browsers but not in Python's or Node's
//! resolver, so by default lambkin names its own listener and the path form,
//! `http://127.0.0.1:<port>/lambda-url/<url-id>/`, which every client can call. An operator behind
//! a proxy or a wildcard DNS name gives the public form: a base (`https://fn.example.com`, the
//! path form under it) or a template naming `{id}` (`https://{id}.fn.example.com/`, the host
//! form, which the gateway then also serves by Host header).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The placeholder a template names the URL id by.
const ID: &str = "{id}";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid public URL {given:?}: {why}")]
pub struct InvalidPublicUrl {
    given: String,
    why: &'static str,
}

/// A function URL's spelling: `prefix`, the URL id, `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    prefix: String,
    suffix: String,
    /// For a host-form template: what follows the id in the host (`.fn.example.com`).
    host_suffix: Option<String>,
}

impl PublicUrl {
    /// The path form on the listener at `address` (a wildcard address is reached on loopback).
    pub fn local(address: SocketAddr) -> PublicUrl {
        let host = match address.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let base = SocketAddr::new(host, address.port());
        PublicUrl {
            prefix: format!("http://{base}/lambda-url/"),
            suffix: "/".to_string(),
            host_suffix: None,
        }
    }

    /// A base URL (the path form under it) or a template naming `{id}` once.
    pub fn parse(given: &str) -> Result<PublicUrl, InvalidPublicUrl> {
        let invalid = |why| InvalidPublicUrl {
            given: given.to_string(),
            why,
        };
        let Some(rest) = given
            .strip_prefix("http://")
            .or_else(|| given.strip_prefix("https://"))
        else {
            return Err(invalid("it must start with http:// or https://"));
        };
        if given.contains('?') || given.contains('#') {
            return Err(invalid("a query or fragment has no place in it"));
        }
        let template = match given.matches(ID).count() {
            0 => format!("{}/lambda-url/{ID}/", given.trim_end_matches('/')),
            1 if given.ends_with('/') || !rest.contains('/') => {
                format!("{}/", given.trim_end_matches('/'))
            }
            1 => return Err(invalid("a template must end with '/' after {id}'s path segment")),
            _ => return Err(invalid("{id} may appear only once")),
        };
        let (prefix, suffix) = template.split_once(ID).unwrap_or((&template, ""));
        let authority = rest.split('/').next().unwrap_or_default();
        let host_suffix = authority.split_once(ID).map(|(before, after)| {
            let after = after.split(':').next().unwrap_or_default();
            (before, after.to_ascii_lowercase())
        });
        let host_suffix = match host_suffix {
            None => None,
            Some(("", after)) => {
                if !after.starts_with('.') || after.len() < 2 {
                    return Err(invalid("in the host, {id} must be followed by '.' and a domain"));
                }
                Some(after)
            }
            Some(_) => return Err(invalid("in the host, {id} must be its first label")),
        };
        let example = format!("{prefix}{}{suffix}", "a".repeat(32));
        if url::Url::parse(&example).is_err() {
            return Err(invalid("it is not a URL"));
        }
        Ok(PublicUrl {
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
            host_suffix,
        })
    }

    /// The FunctionUrl of the URL with id `url_id`.
    pub fn of(&self, url_id: &str) -> String {
        format!("{}{url_id}{}", self.prefix, self.suffix)
    }

    /// The URL id a Host header names in the host form, if it is that form's.
    pub fn id_in_host<'h>(&self, host: &'h str) -> Option<&'h str> {
        let suffix = self.host_suffix.as_deref()?;
        let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
        let cut = host.len().checked_sub(suffix.len())?;
        let (id, tail) = (host.get(..cut)?, host.get(cut..)?);
        (tail.eq_ignore_ascii_case(suffix) && !id.is_empty() && !id.contains('.')).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID32: &str = "abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn by_default_the_listener_and_the_path_form() {
        let on = |a: &str| PublicUrl::local(a.parse().expect("address")).of(ID32);
        assert_eq!(
            on("127.0.0.1:9001"),
            format!("http://127.0.0.1:9001/lambda-url/{ID32}/")
        );
        assert_eq!(
            on("0.0.0.0:9001"),
            format!("http://127.0.0.1:9001/lambda-url/{ID32}/")
        );
        assert_eq!(on("[::]:80"), format!("http://[::1]:80/lambda-url/{ID32}/"));
        assert_eq!(
            on("10.1.2.3:9001"),
            format!("http://10.1.2.3:9001/lambda-url/{ID32}/")
        );
    }

    #[test]
    fn a_base_puts_the_path_form_under_it() {
        for base in ["https://fn.example.com", "https://fn.example.com/"] {
            let url = PublicUrl::parse(base).expect("base");
            assert_eq!(url.of(ID32), format!("https://fn.example.com/lambda-url/{ID32}/"));
            assert_eq!(url.id_in_host(&format!("{ID32}.fn.example.com")), None);
        }
        let url = PublicUrl::parse("http://proxy:8080/lambkin").expect("base with a path");
        assert_eq!(
            url.of(ID32),
            format!("http://proxy:8080/lambkin/lambda-url/{ID32}/")
        );
    }

    #[test]
    fn a_host_template_is_handed_out_and_served_by_host() {
        for template in ["https://{id}.fn.example.com/", "https://{id}.fn.example.com"] {
            let url = PublicUrl::parse(template).expect("template");
            assert_eq!(url.of(ID32), format!("https://{ID32}.fn.example.com/"));
            assert_eq!(url.id_in_host(&format!("{ID32}.fn.example.com")), Some(ID32));
            assert_eq!(url.id_in_host(&format!("{ID32}.FN.example.com:443")), Some(ID32));
            assert_eq!(url.id_in_host("fn.example.com"), None);
            assert_eq!(url.id_in_host(".fn.example.com"), None);
            assert_eq!(url.id_in_host(&format!("x.{ID32}.fn.example.com")), None);
            assert_eq!(url.id_in_host("other.example.com"), None);
        }
        let url = PublicUrl::parse("http://{id}.lambda-url.local:9001/").expect("template, port");
        assert_eq!(url.of("x"), "http://x.lambda-url.local:9001/");
        assert_eq!(url.id_in_host("x.lambda-url.local:9001"), Some("x"));
    }

    #[test]
    fn a_path_template_names_the_id_where_it_says() {
        let url = PublicUrl::parse("https://gw.example.com/fn/{id}/").expect("template");
        assert_eq!(url.of(ID32), format!("https://gw.example.com/fn/{ID32}/"));
        assert_eq!(url.id_in_host("gw.example.com"), None);
    }

    #[test]
    fn what_cannot_be_a_function_url_is_refused() {
        for bad in [
            "fn.example.com",
            "ftp://fn.example.com",
            "https://{id}.{id}.example.com/",
            "https://x{id}.example.com/",
            "https://{id}/",
            "https://gw.example.com/fn/{id}",
            "https://fn.example.com/?a=b",
            "https://fn example.com",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
