//! The listener's connections, served with hyper directly so that no client can hold the server:
//! a request's headers must arrive within the header timeout (which is also how long a
//! kept-alive connection may wait idle for its next request), a request body may not pause for
//! longer than the body timeout, and past the connection cap the connection idle the longest is
//! closed to make room for the newcomer (as a busy web server reuses idle keep-alive slots), so
//! idle or slow clients never lock others out.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::ServiceExt as _;

/// How the listener treats its connections.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// How long a request's headers may take to arrive in full, counted from the connection's
    /// start or the end of its previous response: the idle limit of a kept-alive connection too.
    pub header_timeout: Duration,
    /// Longest pause while a request body arrives.
    pub body_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Accepts and serves connections until `stop` turns true; then asks every connection to finish
/// its request in flight and close, and returns once all have.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let open = Arc::new(Open::default());
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        while tasks.try_join_next().is_some() {}
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, or a connection reset before it was accepted: the
                // listener itself is fine. Making room frees a descriptor for the next try.
                tracing::warn!("accepting a connection: {e}");
                open.close_idlest();
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if open.len() >= limits.max_connections {
            open.close_idlest();
        }
        let connection = open.add();
        tasks.spawn(serve_connection(
            socket,
            peer,
            app.clone(),
            limits.clone(),
            connection,
            open.clone(),
        ));
    }
    drop(listener);
    open.close_all();
    while tasks.join_next().await.is_some() {}
}

async fn serve_connection(
    socket: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    connection: Arc<Connection>,
    open: Arc<Open>,
) {
    let _forget = Forget(&open, connection.id);
    // Without TCP_NODELAY, Nagle's algorithm holds a streamed chunk back until the client's
    // delayed ACK of the previous write (~40 ms on a kept-alive connection).
    if let Err(e) = socket.set_nodelay(true) {
        tracing::debug!("could not set TCP_NODELAY on an accepted connection: {e}");
    }
    let tracked = connection.clone();
    let body_timeout = limits.body_timeout;
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let active = Active::begin(&tracked);
        request.extensions_mut().insert(ConnectInfo(peer));
        let request = request
            .map(|body| axum::body::Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, body)));
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await?;
            Ok::<_, std::convert::Infallible>(response.map(|body| Tracked {
                body,
                _active: active,
            }))
        }
    });
    let http = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(socket), service);
    let mut http = std::pin::pin!(http);
    let mut asked_to_close = false;
    loop {
        tokio::select! {
            served = http.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                return;
            }
            _ = connection.close.notified(), if !asked_to_close => {
                asked_to_close = true;
                // Closes at once when idle; otherwise after the response in flight.
                http.as_mut().graceful_shutdown();
            }
        }
    }
}

/// One connection as the cap sees it.
struct Connection {
    id: u64,
    /// Requests whose response has not been sent in full.
    in_flight: AtomicU32,
    /// When it last went idle (opened, or finished a response), in ms since `epoch`.
    idle_since: AtomicU64,
    epoch: Instant,
    /// Set once it was asked to close.
    closing: AtomicBool,
    close: Notify,
}

/// The connections being served.
struct Open {
    epoch: Instant,
    next_id: AtomicU64,
    /// A std lock: held to add, remove or pick a connection, never across an `.await`.
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
}

impl Default for Open {
    fn default() -> Self {
        Open {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            connections: Mutex::default(),
        }
    }
}

impl Open {
    fn add(&self) -> Arc<Connection> {
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(self.now()),
            epoch: self.epoch,
            closing: AtomicBool::new(false),
            close: Notify::new(),
        });
        self.lock().insert(connection.id, connection.clone());
        connection
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Asks the connection idle the longest (no request in flight) to close.
    fn close_idlest(&self) {
        let connections = self.lock();
        let idlest = connections
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0 && !c.closing.load(Ordering::Acquire))
            .min_by_key(|c| c.idle_since.load(Ordering::Acquire));
        if let Some(connection) = idlest {
            tracing::debug!(
                idle_ms = self
                    .now()
                    .saturating_sub(connection.idle_since.load(Ordering::Acquire)),
                "connection cap reached: closing the connection idle the longest"
            );
            connection.closing.store(true, Ordering::Release);
            connection.close.notify_one();
        }
    }

    fn close_all(&self) {
        for connection in self.lock().values() {
            connection.closing.store(true, Ordering::Release);
            connection.close.notify_one();
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        // Each critical section is one insert, remove or scan: consistent even after a panic.
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes a connection from [`Open`] when its task ends, however it ends.
struct Forget<'a>(&'a Open, u64);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.lock().remove(&self.1);
    }
}

/// A request in flight on a connection, until its response body is sent (or dropped).
struct Active(Arc<Connection>);

impl Active {
    fn begin(connection: &Arc<Connection>) -> Active {
        connection.in_flight.fetch_add(1, Ordering::AcqRel);
        Active(connection.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        let connection = &self.0;
        let now = connection.epoch.elapsed().as_millis() as u64;
        connection.idle_since.store(now, Ordering::Release);
        connection.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request counted as in flight until it is sent.
    struct Tracked {
        #[pin]
        body: axum::body::Body,
        _active: Active,
    }
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
