//! The rules of a profile — HTTP origin patterns and TCP blocks — and the address ranges no rule
//! opens unless it names them.

use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The ranges refused unless named: what each is, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Loopback,
    LinkLocal,
    Unspecified,
    OwnListener,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refused::Loopback => "a loopback address",
            Refused::LinkLocal => "a link-local address (the metadata service's range)",
            Refused::Unspecified => "the unspecified address",
            Refused::OwnListener => "lambkin's own listener",
        })
    }
}

pub(crate) fn refused_range(ip: IpAddr, port: u16, own: &[SocketAddr]) -> Option<Refused> {
    // The listener first: naming 127.0.0.1 in general must not open lambkin's own API.
    let own_listener = own
        .iter()
        .any(|l| l.port() == port && (l.ip().is_unspecified() || l.ip().to_canonical() == ip));
    if own_listener {
        return Some(Refused::OwnListener);
    }
    if ip.is_loopback() {
        return Some(Refused::Loopback);
    }
    if ip.is_unspecified() {
        return Some(Refused::Unspecified);
    }
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    link_local.then_some(Refused::LinkLocal)
}

pub(crate) fn normalise_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// `scheme://host[:port]`: host exact, `*.suffix` (any name under it) or `*`; port a number or
/// `*` (by default the scheme's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRule {
    pattern: String,
    scheme: String,
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Suffix(String),
    Name(String),
    Ip(IpAddr),
}

impl HttpRule {
    pub(crate) fn parse(pattern: &str) -> Result<HttpRule, String> {
        let bad = |why: &str| format!("http pattern {pattern:?}: {why}");
        let (scheme, rest) = pattern
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://host[:port]"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(bad("a pattern names an origin, without path, query or user"));
        }
        let (host, port) = split_host_port(rest).map_err(|e| bad(&e))?;
        let port = match port {
            None => Some(default_port),
            Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| bad("the port must be a number or *"))?,
            ),
        };
        let host = normalise_host(host);
        let host = if host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix("*.") {
            if suffix.is_empty() || suffix.contains('*') {
                return Err(bad("a wildcard is `*.suffix`"));
            }
            HostPattern::Suffix(format!(".{suffix}"))
        } else if host.contains('*') {
            return Err(bad("a wildcard is `*` or a leading `*.`"));
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            HostPattern::Ip(ip.to_canonical())
        } else if host.is_empty() {
            return Err(bad("the host is empty"));
        } else {
            HostPattern::Name(host)
        };
        Ok(HttpRule {
            pattern: pattern.to_string(),
            scheme,
            host,
            port,
        })
    }

    pub(crate) fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        if !self.scheme.eq_ignore_ascii_case(scheme) || self.port.is_some_and(|p| p != port) {
            return false;
        }
        match &self.host {
            HostPattern::Any => true,
            HostPattern::Suffix(suffix) => host.ends_with(suffix.as_str()),
            HostPattern::Name(name) => name == host,
            HostPattern::Ip(ip) => host.parse::<IpAddr>().is_ok_and(|h| h.to_canonical() == *ip),
        }
    }

    /// Whether this rule names `ip` itself (an address literal): only that opens a refused
    /// range, and lambkin's own listener also needs its port written out.
    pub(crate) fn names(&self, ip: IpAddr, port: u16, range: Refused) -> bool {
        let port_named = self.port == Some(port);
        matches!(self.host, HostPattern::Ip(named) if named == ip)
            && (range != Refused::OwnListener || port_named)
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

/// `CIDR:port`, `CIDR:low-high` or `CIDR:*` (an address alone is its /32 or /128).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TcpRule {
    net: IpNet,
    ports: Option<(u16, u16)>,
}

impl TcpRule {
    pub(crate) fn parse(pattern: &str) -> Result<TcpRule, String> {
        let bad = |why: &str| format!("tcp rule {pattern:?}: {why}");
        let (net, ports) = split_host_port(pattern).map_err(|e| bad(&e))?;
        let ports = ports.ok_or_else(|| bad("expected CIDR:port, CIDR:low-high or CIDR:*"))?;
        let net = match net.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => IpNet::from(
                net.parse::<IpAddr>()
                    .map_err(|_| bad("not an address or CIDR block"))?
                    .to_canonical(),
            ),
        };
        let port = |p: &str| p.parse::<u16>().map_err(|_| bad("ports are numbers"));
        let ports = match ports {
            "*" => None,
            range => match range.split_once('-') {
                Some((low, high)) => Some((port(low)?, port(high)?)),
                None => Some((port(range)?, port(range)?)),
            },
        };
        Ok(TcpRule {
            net: net.trunc(),
            ports,
        })
    }

    pub(crate) fn matches(&self, ip: IpAddr, port: u16) -> bool {
        self.net.contains(&ip) && self.ports.is_none_or(|(low, high)| (low..=high).contains(&port))
    }

    /// Whether the rule names a refused range on purpose: its block lies inside the range
    /// (so `0.0.0.0/0` names none), and for the own listener its port is written out.
    pub(crate) fn names(&self, ip: IpAddr, port: u16, range: Refused) -> bool {
        let block_inside = match range {
            Refused::Loopback => self.net.network().is_loopback() && self.net.broadcast().is_loopback(),
            Refused::Unspecified | Refused::OwnListener => self.net.prefix_len() == self.net.max_prefix_len(),
            Refused::LinkLocal => {
                refused_range(self.net.network(), port, &[]) == Some(Refused::LinkLocal)
                    && refused_range(self.net.broadcast(), port, &[]) == Some(Refused::LinkLocal)
            }
        };
        let port_named = self.ports == Some((port, port));
        block_inside && self.net.contains(&ip) && (range != Refused::OwnListener || port_named)
    }
}

/// `host:port`, `[v6]:port`, or a host alone; a bare IPv6 address is a host.
fn split_host_port(text: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("an unclosed [")?;
        return match after {
            "" => Ok((host, None)),
            port => Ok((
                host,
                Some(port.strip_prefix(':').ok_or("expected :port after ]")?),
            )),
        };
    }
    match text.rsplit_once(':') {
        // A bare IPv6 address or CIDR has several colons; its port needs brackets.
        Some((host, _)) if host.contains(':') && !host.contains('/') => Ok((text, None)),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((text, None)),
    }
}
