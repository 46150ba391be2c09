//! Connections a profile allows: the name checked, every resolved address checked, then a
//! connection to an address that passed (never a second lookup), with TLS for `https`.

use crate::policy::{Denial, Profile};
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream to an upstream: plain TCP or TLS over it.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for T {}

/// Why no connection was made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Denied(Denial),
    #[error("DNS lookup of {host} failed: {source}")]
    Dns { host: String, source: std::io::Error },
    #[error("connecting to {target} failed: {source}")]
    Connect { target: String, source: std::io::Error },
    #[error("connecting to {0} timed out")]
    Timeout(String),
    #[error("TLS with {target} failed: {source}")]
    Tls { target: String, source: std::io::Error },
    #[error("{0:?} is not a valid TLS server name")]
    InvalidName(String),
}

/// Where a request goes: the origin of its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Origin {
    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme(), self.host, self.port)
    }
}

/// Connects to `origin` if `profile` allows it, within `timeout` (lookup, connect and TLS).
/// `own` are lambkin's listeners, refused unless the profile names them.
pub async fn connect_origin(
    profile: &Profile,
    own: &[SocketAddr],
    origin: &Origin,
    timeout: Duration,
) -> Result<Box<dyn Connection>, ConnectError> {
    let target = origin.to_string();
    // An IPv6 literal is bracketed in a URL, bare for the lookup and the TLS name.
    let host = origin.host.trim_start_matches('[').trim_end_matches(']');
    let rule = profile
        .check_origin(origin.scheme(), &origin.host, origin.port)
        .map_err(ConnectError::Denied)?;
    let attempt = async {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, origin.port))
            .await
            .map_err(|source| ConnectError::Dns {
                host: host.to_string(),
                source,
            })?
            .collect();
        let mut denial = None;
        let mut last_error = None;
        for addr in addresses {
            if let Err(refused) = profile.check_resolved(rule, &target, addr, own) {
                denial.get_or_insert(refused);
                continue;
            }
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(source) => last_error = Some(source),
            }
        }
        Err(match (last_error, denial) {
            (Some(source), _) => ConnectError::Connect {
                target: target.clone(),
                source,
            },
            (None, Some(denial)) => ConnectError::Denied(denial),
            (None, None) => ConnectError::Dns {
                host: host.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
            },
        })
    };
    let handshake = async {
        let stream = attempt.await?;
        if !origin.https {
            return Ok(Box::new(stream) as Box<dyn Connection>);
        }
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ConnectError::InvalidName(origin.host.clone()))?;
        let tls = tokio_rustls::TlsConnector::from(profile.tls.clone())
            .connect(name, stream)
            .await
            .map_err(|source| ConnectError::Tls {
                target: target.clone(),
                source,
            })?;
        Ok(Box::new(tls) as Box<dyn Connection>)
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| ConnectError::Timeout(target.clone()))?
}
