//! The operator's egress policy: named profiles of allowed HTTP origins and TCP destinations,
//! and the address ranges no profile reaches unless it names them.
//!
//! A host is checked twice: by name against the profile's HTTP patterns, then every address it
//! resolves to against the refused ranges, so a name cannot carry a connection past the list
//! (DNS rebinding) — the connection goes to the address that was checked.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::rules::{HttpRule, Refused};
use crate::rules::{TcpRule, normalise_host, refused_range};

/// A profile's caps when its file does not set them.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;
/// The name of the profile [`Profile::from_patterns`] builds.
pub const ALLOW_NET: &str = "--allow-net";

/// Why a policy file or a pattern was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the egress policy {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid egress policy: {0}")]
    Invalid(String),
    #[error("egress profile {profile:?}: {message}")]
    Profile { profile: String, message: String },
}

/// A connection the profile does not allow: the guest's error and the WARN line in its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// What was asked for: `https://host:port` or `tcp://addr`.
    pub target: String,
    /// Which rule refused it, in words.
    pub reason: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lambkin egress denied {}: {}", self.target, self.reason)
    }
}

/// Every profile of the operator's file.
#[derive(Debug, Default)]
pub struct Policy {
    profiles: BTreeMap<String, Arc<Profile>>,
}

impl Policy {
    /// Reads a policy file; CA files are relative to its directory.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse(&text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Parses a policy from TOML text (see the README for the format).
    pub fn parse(text: &str, base_dir: &Path) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Invalid(e.to_string()))?;
        let mut profiles = BTreeMap::new();
        for (name, raw) in file.profiles {
            let profile = Profile::build(&name, raw, base_dir)?;
            profiles.insert(name, Arc::new(profile));
        }
        Ok(Policy { profiles })
    }

    /// A policy of one profile, under its own name (`lambkin invoke --allow-net`).
    pub fn of(profile: Profile) -> Policy {
        Policy {
            profiles: BTreeMap::from([(profile.name.clone(), Arc::new(profile))]),
        }
    }

    pub fn profile(&self, name: &str) -> Option<Arc<Profile>> {
        self.profiles.get(name).cloned()
    }

    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    http: Vec<String>,
    #[serde(default)]
    tcp: Vec<String>,
    #[serde(default)]
    ca_files: Vec<PathBuf>,
    max_connections: Option<u32>,
    max_response_bytes: Option<u64>,
}

/// One named profile: what a function tagged with it may reach.
pub struct Profile {
    pub name: String,
    http: Vec<HttpRule>,
    tcp: Vec<TcpRule>,
    /// Trust for `https://`: the system's roots and the profile's CA files.
    pub(crate) tls: Arc<rustls::ClientConfig>,
    /// Open connections per execution environment.
    pub max_connections: u32,
    /// Bytes of one response body.
    pub max_response_bytes: u64,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("http", &self.http)
            .field("tcp", &self.tcp)
            .finish_non_exhaustive()
    }
}

impl Profile {
    fn build(name: &str, raw: RawProfile, base_dir: &Path) -> Result<Profile, PolicyError> {
        let invalid = |message: String| PolicyError::Profile {
            profile: name.to_string(),
            message,
        };
        let http = raw
            .http
            .iter()
            .map(|p| HttpRule::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let tcp = raw
            .tcp
            .iter()
            .map(|p| TcpRule::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let ca_files: Vec<PathBuf> = raw.ca_files.iter().map(|f| base_dir.join(f)).collect();
        let tls = crate::tls::client_config(&ca_files).map_err(invalid)?;
        Ok(Profile {
            name: name.to_string(),
            http,
            tcp,
            tls,
            max_connections: raw.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS).max(1),
            max_response_bytes: raw.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
        })
    }

    /// A profile from command-line patterns (`lambkin invoke --allow-net`): `http(s)://` patterns
    /// and `tcp://CIDR:port` rules; `*` alone allows every HTTP origin and TCP destination
    /// outside the refused ranges.
    pub fn from_patterns(patterns: &[String]) -> Result<Profile, PolicyError> {
        let mut raw = RawProfile::default();
        for pattern in patterns {
            match pattern.as_str() {
                "*" => {
                    raw.http
                        .extend(["http://*:*".to_string(), "https://*:*".to_string()]);
                    raw.tcp.extend(["0.0.0.0/0:*".to_string(), "::/0:*".to_string()]);
                }
                p if p.starts_with("tcp://") => raw.tcp.push(p["tcp://".len()..].to_string()),
                p => raw.http.push(p.to_string()),
            }
        }
        Profile::build(ALLOW_NET, raw, Path::new("."))
    }

    /// The HTTP rule that lets a request to `scheme://host:port` go out, by name.
    pub fn check_origin(&self, scheme: &str, host: &str, port: u16) -> Result<&HttpRule, Denial> {
        let host = normalise_host(host);
        self.http
            .iter()
            .find(|rule| rule.matches(scheme, &host, port))
            .ok_or_else(|| Denial {
                target: format!("{scheme}://{host}:{port}"),
                reason: format!("no http pattern of profile {:?} matches", self.name),
            })
    }

    /// Whether the origin `rule` allowed may be reached at `addr`, one of its host's addresses.
    pub fn check_resolved(
        &self,
        rule: &HttpRule,
        target: &str,
        addr: SocketAddr,
        own: &[SocketAddr],
    ) -> Result<(), Denial> {
        let ip = addr.ip().to_canonical();
        match refused_range(ip, addr.port(), own) {
            Some(range) if !rule.names(ip, addr.port(), range) => Err(Denial {
                target: target.to_string(),
                reason: format!(
                    "{ip} is {range}, refused unless a pattern of profile {:?} names it",
                    self.name
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Whether a TCP connection to `addr` is allowed.
    pub fn check_tcp(&self, addr: SocketAddr, own: &[SocketAddr]) -> Result<(), Denial> {
        let ip = addr.ip().to_canonical();
        let target = format!("tcp://{}", SocketAddr::new(ip, addr.port()));
        let Some(rule) = self.tcp.iter().find(|r| r.matches(ip, addr.port())) else {
            return Err(Denial {
                target,
                reason: format!("no tcp rule of profile {:?} matches", self.name),
            });
        };
        match refused_range(ip, addr.port(), own) {
            Some(range) if !rule.names(ip, addr.port(), range) => Err(Denial {
                target,
                reason: format!(
                    "{ip} is {range}, refused unless a rule of profile {:?} names it",
                    self.name
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Whether the profile allows TCP at all (name lookups are offered only then).
    pub fn allows_tcp(&self) -> bool {
        !self.tcp.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(http: &[&str], tcp: &[&str]) -> Profile {
        let raw = RawProfile {
            http: http.iter().map(|s| s.to_string()).collect(),
            tcp: tcp.iter().map(|s| s.to_string()).collect(),
            ..RawProfile::default()
        };
        Profile::build("test", raw, Path::new(".")).expect("valid profile")
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("socket address")
    }

    #[test]
    fn origins_match_by_scheme_host_and_port() {
        let p = profile(
            &["https://api.example.com", "http://*.internal:8080", "https://*:*"],
            &[],
        );
        assert!(p.check_origin("https", "API.example.com.", 443).is_ok());
        assert!(p.check_origin("http", "db.eu.internal", 8080).is_ok());
        assert!(
            p.check_origin("http", "internal", 8080).is_err(),
            "*.x is below x only"
        );
        assert!(p.check_origin("http", "api.example.com", 80).is_err());
        assert!(p.check_origin("https", "anything.org", 8443).is_ok());
        let only = profile(&["https://api.example.com"], &[]);
        let denial = only.check_origin("https", "evil.com", 443).unwrap_err();
        assert_eq!(
            denial.to_string(),
            "lambkin egress denied https://evil.com:443: no http pattern of profile \"test\" matches"
        );
    }

    #[test]
    fn refused_ranges_need_an_address_literal_and_the_listener_its_port() {
        let own = [addr("0.0.0.0:9001")];
        let named = profile(&["http://127.0.0.1:*", "http://localhost:*", "http://*:*"], &[]);
        let by_ip = named.check_origin("http", "127.0.0.1", 8080).unwrap();
        assert!(
            named
                .check_resolved(by_ip, "t", addr("127.0.0.1:8080"), &own)
                .is_ok()
        );
        // The listener: a wildcard port does not name it.
        let denial = named
            .check_resolved(by_ip, "t", addr("127.0.0.1:9001"), &own)
            .unwrap_err();
        assert!(denial.reason.contains("lambkin's own listener"), "{denial}");
        // A name never opens a refused range, whatever it resolves to.
        let by_name = named.check_origin("http", "localhost", 8080).unwrap();
        assert!(by_name.pattern() == "http://localhost:*");
        let denial = named
            .check_resolved(by_name, "t", addr("127.0.0.1:8080"), &own)
            .unwrap_err();
        assert!(denial.reason.contains("loopback"), "{denial}");
        let any = named.check_origin("http", "169.254.169.254", 80).unwrap();
        assert_eq!(any.pattern(), "http://*:*");
        let denial = named
            .check_resolved(any, "t", addr("169.254.169.254:80"), &own)
            .unwrap_err();
        assert!(denial.reason.contains("link-local"), "{denial}");
        // IPv4 written as IPv6 is the same address.
        assert!(
            named
                .check_resolved(any, "t", addr("[::ffff:127.0.0.1]:80"), &own)
                .is_err()
        );
        assert!(named.check_resolved(any, "t", addr("[::1]:80"), &own).is_err());
        assert!(
            named
                .check_resolved(any, "t", addr("93.184.215.14:80"), &own)
                .is_ok()
        );
        let exact = profile(&["http://127.0.0.1:9001"], &[]);
        let rule = exact.check_origin("http", "127.0.0.1", 9001).unwrap();
        assert!(
            exact
                .check_resolved(rule, "t", addr("127.0.0.1:9001"), &own)
                .is_ok()
        );
    }

    #[test]
    fn tcp_rules_match_blocks_and_ports() {
        let own = [addr("127.0.0.1:9001")];
        let p = profile(&[], &["10.0.0.0/8:5432", "127.0.0.1:6000-6010", "0.0.0.0/0:443"]);
        assert!(p.check_tcp(addr("10.1.2.3:5432"), &own).is_ok());
        assert!(p.check_tcp(addr("10.1.2.3:5433"), &own).is_err());
        assert!(p.check_tcp(addr("127.0.0.1:6005"), &own).is_ok());
        assert!(p.check_tcp(addr("127.0.0.2:6005"), &own).is_err());
        assert!(p.check_tcp(addr("8.8.8.8:443"), &own).is_ok());
        // 0.0.0.0/0 does not name loopback or the metadata address.
        assert!(p.check_tcp(addr("127.0.0.1:443"), &own).is_err());
        let denial = p.check_tcp(addr("169.254.169.254:443"), &own).unwrap_err();
        assert_eq!(denial.target, "tcp://169.254.169.254:443");
        let loopback = profile(&[], &["127.0.0.0/8:*"]);
        assert!(loopback.check_tcp(addr("127.0.0.1:5432"), &own).is_ok());
        assert!(
            loopback.check_tcp(addr("127.0.0.1:9001"), &own).is_err(),
            "own listener"
        );
        assert!(!profile(&["https://x"], &[]).allows_tcp());
    }

    #[test]
    fn bad_patterns_are_refused_with_the_pattern() {
        for (http, tcp) in [
            (vec!["ftp://x"], vec![]),
            (vec!["https://x/path"], vec![]),
            (vec!["https://a*.b"], vec![]),
            (vec!["https://x:99999"], vec![]),
            (vec![], vec!["10.0.0.0/8"]),
            (vec![], vec!["nothost:80"]),
        ] {
            let raw = RawProfile {
                http: http.iter().map(|s| s.to_string()).collect(),
                tcp: tcp.iter().map(|s| s.to_string()).collect(),
                ..RawProfile::default()
            };
            let err = Profile::build("p", raw, Path::new(".")).unwrap_err().to_string();
            assert!(err.starts_with("egress profile \"p\": "), "{err}");
        }
        let err = Policy::parse("[profiles.a]\nhttps = []\n", Path::new(".")).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn a_policy_file_names_its_profiles() {
        let policy = Policy::parse(
            "[profiles.api]\nhttp = [\"https://api.example.com\"]\nmax_connections = 4\n\n[profiles.db]\ntcp = [\"10.0.0.5:5432\"]\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(policy.profile_names().collect::<Vec<_>>(), ["api", "db"]);
        assert_eq!(policy.profile("api").unwrap().max_connections, 4);
        assert!(policy.profile("db").unwrap().allows_tcp());
        assert!(policy.profile("none").is_none());
        let everything = Profile::from_patterns(&["*".into()]).unwrap();
        assert!(everything.check_origin("https", "example.org", 443).is_ok());
        assert!(everything.check_tcp(addr("127.0.0.1:80"), &[]).is_err());
    }
}
