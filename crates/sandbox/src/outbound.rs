//! A guest's network: wasi:http outgoing requests and wasi:sockets TCP, every connection checked
//! against its function's egress profile. With no profile there is no network at all.
//!
//! A refused connection is an error inside the guest naming the rule, a WARN line in the
//! function's log, and one more on the sandbox's denial counter.

use super::logs::LogBuffer;
use http_body_util::{BodyExt, Limited};
use lambkin_egress::{ConnectError, Denial, Origin, Profile};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// How long a connect may take when the guest sets no limit: the function's Timeout ends
/// the invocation (and the environment) before this does.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a refused request's body is read before the refusal is answered anyway.
const DISCARD_WAIT: Duration = Duration::from_millis(200);

/// What every environment of one sandbox shares about egress.
#[derive(Debug, Default)]
pub(crate) struct EgressShared {
    /// lambkin's own listeners: refused unless a profile names them.
    pub(crate) own_listeners: Vec<SocketAddr>,
    /// Connections refused since the start.
    pub(crate) denials: AtomicU64,
}

/// One environment's network: its profile, its log and its cap on open connections.
pub(crate) struct Outbound {
    profile: Option<Arc<Profile>>,
    shared: Arc<EgressShared>,
    log: LogBuffer,
    connections: Arc<Semaphore>,
}

impl Outbound {
    pub(crate) fn new(profile: Option<Arc<Profile>>, shared: Arc<EgressShared>, log: LogBuffer) -> Outbound {
        let permits = profile.as_ref().map_or(0, |p| p.max_connections as usize);
        Outbound {
            profile,
            shared,
            log,
            connections: Arc::new(Semaphore::new(permits)),
        }
    }

    /// Whether the guest may look names up (only a profile with TCP rules needs to).
    pub(crate) fn allows_tcp(&self) -> bool {
        self.profile.as_ref().is_some_and(|p| p.allows_tcp())
    }

    /// The wasi:sockets check: TCP connects the profile allows, and the ephemeral local bind
    /// a connect implies; nothing else (no listening sockets, no UDP).
    pub(crate) fn socket_check(
        &self,
    ) -> impl Fn(SocketAddr, SocketAddrUse) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send + Sync>>
    + Send
    + Sync
    + 'static {
        let profile = self.profile.clone();
        let shared = self.shared.clone();
        let log = self.log.clone();
        move |addr, use_| {
            let verdict = match (&profile, use_) {
                // wasmtime-wasi checks the implicit bind of an unbound socket's connect as a
                // bind to the unspecified address, port 0: harmless alone (listening is checked
                // apart), and the connect that follows is what is checked and refused.
                (_, SocketAddrUse::TcpBind) if addr.ip().is_unspecified() && addr.port() == 0 => {
                    return Box::pin(async { true });
                }
                (Some(profile), SocketAddrUse::TcpConnect) => profile.check_tcp(addr, &shared.own_listeners),
                (Some(profile), other) => Err(Denial {
                    target: format!("{other:?} {addr}"),
                    reason: format!("profile {:?} allows outgoing TCP connections only", profile.name),
                }),
                (None, _) => Err(no_profile(&format!("tcp://{addr}"))),
            };
            let allowed = match verdict {
                Ok(()) => true,
                Err(denial) => {
                    refuse(&shared, &log, &denial);
                    false
                }
            };
            Box::pin(async move { allowed })
        }
    }
}

fn no_profile(target: &str) -> Denial {
    Denial {
        target: target.to_string(),
        reason: "the function has no egress profile (tag it lambkin:egress=<profile>)".to_string(),
    }
}

/// Counts and logs a refused connection; what the guest is told.
fn refuse(shared: &EgressShared, log: &LogBuffer, denial: &Denial) -> HttpError {
    shared.denials.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(%denial, "outbound connection refused");
    log.warn(&denial.to_string());
    // The guest sees the words: wasi:http's `internal-error` is its only code with a message.
    HttpError::InternalError(Some(denial.to_string()))
}

pub(crate) type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;
pub(crate) type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: IoFuture,
    ) -> SendFuture {
        let shared = self.shared.clone();
        let log = self.log.clone();
        let profile = self.profile.clone();
        let connections = self.connections.clone();
        Box::new(async move {
            let (head, body) = request.into_parts();
            let connected = match profile {
                Some(profile) => connect(&profile, &shared, &log, &head.uri, options, &connections)
                    .await
                    .map(|(stream, permit)| (stream, permit, profile.max_response_bytes)),
                None => Err(refuse(&shared, &log, &no_profile(&head.uri.to_string()))),
            };
            match connected {
                Ok((stream, permit, max_response_bytes)) => {
                    let request = http::Request::from_parts(head, body);
                    exchange(stream, request, options, max_response_bytes, permit).await
                }
                Err(error) => {
                    // The guest may still be writing the body: take it to its end, so that the
                    // guest's next step is reading this error, not a failed write (a guest that
                    // waits for the answer before it finishes the body gets it soon anyway).
                    let _ = tokio::time::timeout(DISCARD_WAIT, discard(body)).await;
                    Err(error)
                }
            }
        })
    }
}

/// A connection for a request to `uri`, if the profile allows it and a connection permit is free.
async fn connect(
    profile: &Profile,
    shared: &EgressShared,
    log: &LogBuffer,
    uri: &http::Uri,
    options: Option<RequestOptions>,
    connections: &Arc<Semaphore>,
) -> Result<
    (
        Box<dyn lambkin_egress::Connection>,
        tokio::sync::OwnedSemaphorePermit,
    ),
    HttpError,
> {
    let origin = origin(uri)?;
    let permit = connections
        .clone()
        .try_acquire_owned()
        .map_err(|_| HttpError::ConnectionLimitReached)?;
    let timeout = options.and_then(|o| o.connect_timeout).unwrap_or(CONNECT_TIMEOUT);
    let stream = lambkin_egress::connect_origin(profile, &shared.own_listeners, &origin, timeout)
        .await
        .map_err(|e| match e {
            ConnectError::Denied(denial) => refuse(shared, log, &denial),
            ConnectError::Dns { source, .. } => HttpError::DnsError {
                rcode: Some(source.to_string()),
                info_code: None,
            },
            ConnectError::Connect { source, .. } => HttpError::Connect(source),
            ConnectError::Timeout(_) => HttpError::ConnectionTimeout,
            ConnectError::Tls { source, .. } => HttpError::Tls(source),
            ConnectError::InvalidName(_) => HttpError::HttpRequestUriInvalid,
        })?;
    Ok((stream, permit))
}

/// Reads a request body to its end and drops what it held.
async fn discard(mut body: WasiBody) {
    while let Some(Ok(_)) = body.frame().await {}
}

/// The origin a request's absolute URI names.
fn origin(uri: &http::Uri) -> Result<Origin, HttpError> {
    let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let host = uri.host().ok_or(HttpError::HttpRequestUriInvalid)?;
    Ok(Origin {
        https,
        host: host.to_string(),
        port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
    })
}

/// One HTTP/1.1 exchange on a fresh connection. The connection's permit is held until the
/// connection ends (the guest has read or dropped the response).
async fn exchange(
    stream: Box<dyn lambkin_egress::Connection>,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    max_response_bytes: u64,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<(http::Response<WasiBody>, IoFuture), HttpError> {
    if has_no_body(&request) {
        // Sent as it is, hyper would frame a body nobody declared (chunked) and could drop it
        // when the answer came first, failing the guest's finish of its (empty) body: the
        // request goes without one, and what the guest writes is read and dropped.
        let body = std::mem::replace(request.body_mut(), empty_body());
        tokio::spawn(async move {
            let _ = tokio::time::timeout(DISCARD_WAIT, discard(body)).await;
        });
    }
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    // The request line carries the path only; the Host header the authority.
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| HttpError::HttpRequestUriInvalid)?;
    // The connection is driven beside the exchange, then handed over as the io future: it is
    // dropped (and the socket closed) with whatever holds it when the guest goes.
    let mut connection = Box::pin(async move {
        let _permit = permit;
        connection.await.map_err(HttpError::from)
    });
    let first_byte = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(CONNECT_TIMEOUT);
    let send = tokio::time::timeout(first_byte, sender.send_request(request));
    tokio::pin!(send);
    let mut ended = None;
    let response = loop {
        tokio::select! {
            response = &mut send => break response,
            result = &mut connection, if ended.is_none() => ended = Some(result),
        }
    };
    let response = response.map_err(|_| HttpError::ConnectionReadTimeout)??;
    let limit = usize::try_from(max_response_bytes).unwrap_or(usize::MAX);
    let response = response.map(|body| {
        Limited::new(body, limit)
            .map_err(move |e| match e.downcast::<hyper::Error>() {
                Ok(hyper) => HttpError::Hyper(*hyper),
                Err(_) => HttpError::HttpResponseBodySize(Some(max_response_bytes)),
            })
            .boxed_unsync()
    });
    let io: IoFuture = match ended {
        Some(result) => Box::new(async move { result }),
        None => Box::new(connection),
    };
    Ok((response, io))
}

/// A request that declares no body: `Content-Length: 0`, or neither a length nor chunked
/// framing on a method whose requests have no body (GET, HEAD, DELETE, OPTIONS, TRACE).
fn has_no_body(request: &http::Request<WasiBody>) -> bool {
    let headers = request.headers();
    if let Some(length) = headers.get(http::header::CONTENT_LENGTH) {
        return length.as_bytes() == b"0";
    }
    !headers.contains_key(http::header::TRANSFER_ENCODING)
        && matches!(
            *request.method(),
            http::Method::GET
                | http::Method::HEAD
                | http::Method::DELETE
                | http::Method::OPTIONS
                | http::Method::TRACE
        )
}

fn empty_body() -> WasiBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}
