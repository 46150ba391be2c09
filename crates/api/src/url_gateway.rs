//! Function URLs, served on the API's listener: by path (`/lambda-url/{url-id}/...`) and by
//! Host header (`{url-id}.lambda-url.{region}.localhost`, and the host form of a public URL
//! template). The request becomes a payload format
//! 2.0 event; the answer is mapped back to HTTP — buffered, or sent with chunked transfer as the
//! function streams it (InvokeMode RESPONSE_STREAM). Unknown URL → 403; function error → 502.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::json;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use super::ApiError;
use super::url_event::{
    EventContext, HttpAnswer, cors_headers, preflight_headers, request_event, response_from, stream_head,
};
use crate::extract::Path;
use crate::request_id::{RequestId, Trace};
use crate::server::AppState;
use lambkin_invoke::stream::{RESPONSE_SIZE_TOO_LARGE, StreamEvent};
use lambkin_invoke::{InvokeError, MAX_SYNC_PAYLOAD_BYTES, Ready};
use lambkin_registry::UrlTarget;
use lambkin_registry::model::{AuthType, InvokeMode};
use lambkin_sandbox::{InvokeRequest, MAX_RESPONSE_BYTES};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/lambda-url/{url_id}", any(by_path_root))
        .route("/lambda-url/{url_id}/", any(by_path_root))
        .route("/lambda-url/{url_id}/{*rest}", any(by_path))
}

async fn by_path_root(State(app): State<AppState>, Path(url_id): Path<String>, request: Request) -> Response {
    serve(app, url_id, "/".to_string(), request).await
}

async fn by_path(
    State(app): State<AppState>,
    Path((url_id, rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    serve(app, url_id, format!("/{rest}"), request).await
}

/// The URL id a request's Host names: `{url-id}.lambda-url.{region}.localhost` (any port), or
/// the host form of the public URL template.
fn url_id_in_host<'a>(app: &AppState, request: &'a Request) -> Option<&'a str> {
    let host = request.headers().get("host")?.to_str().ok()?;
    host.rsplit_once(':')
        .map_or(host, |(host, _)| host)
        .strip_suffix(".localhost")
        .and_then(|host| host.strip_suffix(app.registry.region()))
        .and_then(|host| host.strip_suffix(".lambda-url."))
        .or_else(|| app.front_door.public_url.id_in_host(host))
}

/// A request whose Host names a function URL is that URL's, whatever its path; anything else
/// goes on to the API. A tower layer rather than `axum::middleware::from_fn`, which would clone
/// and box the API's stack on every request.
#[derive(Clone)]
pub struct UrlHostLayer {
    pub app: AppState,
}

impl<S> tower::Layer<S> for UrlHostLayer {
    type Service = UrlHosts<S>;

    fn layer(&self, api: S) -> UrlHosts<S> {
        UrlHosts {
            api,
            app: self.app.clone(),
        }
    }
}

#[derive(Clone)]
pub struct UrlHosts<S> {
    api: S,
    app: AppState,
}

type UrlFuture = std::pin::Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> tower::Service<Request> for UrlHosts<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::Either<S::Future, UrlFuture>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        self.api.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let Some(url_id) = url_id_in_host(&self.app, &request).map(str::to_string) else {
            return futures::future::Either::Left(self.api.call(request));
        };
        let path = request.uri().path().to_string();
        let app = self.app.clone();
        futures::future::Either::Right(Box::pin(
            async move { Ok(serve(app, url_id, path, request).await) },
        ))
    }
}

/// An error as function URLs answer them: `{"Message": ...}`.
fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "Message": message }))).into_response()
}

/// AWS_IAM URLs need a SigV4-signed request (header or presigned query).
fn is_signed(request: &Request) -> bool {
    let header = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    let query = request
        .uri()
        .query()
        .is_some_and(|q| q.contains("X-Amz-Signature="));
    header || query
}

async fn serve(app: AppState, url_id: String, raw_path: String, request: Request) -> Response {
    let Some(target) = app.registry.url_target(&url_id).await else {
        return refuse(StatusCode::FORBIDDEN, "Forbidden");
    };
    let request = if target.config.auth_type == AuthType::AwsIam {
        match (&app.auth, is_signed(&request)) {
            (_, false) => return refuse(StatusCode::FORBIDDEN, "Forbidden"),
            // An anonymous server has no keys to check a signature against.
            (None, true) => request,
            (Some(auth), true) => match auth.verify(request, MAX_SYNC_PAYLOAD_BYTES).await {
                Ok(request) => request,
                Err(ApiError::RequestEntityTooLarge(_)) => {
                    return refuse(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
                }
                Err(_) => return refuse(StatusCode::FORBIDDEN, "Forbidden"),
            },
        }
    } else {
        request
    };
    let origin = request
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cors = target.config.cors.clone();
    if let Some(cors) = &cors
        && request.method() == Method::OPTIONS
        && request.headers().contains_key("access-control-request-method")
    {
        let mut response = StatusCode::OK.into_response();
        *response.headers_mut() = preflight_headers(cors, request.headers());
        return response;
    }
    let mut response = invoke(&app, &url_id, raw_path, target, request).await;
    if let Some(cors) = &cors {
        cors_headers(cors, origin.as_deref(), response.headers_mut());
    }
    response
}

async fn invoke(
    app: &AppState,
    url_id: &str,
    raw_path: String,
    target: UrlTarget,
    request: Request,
) -> Response {
    let source_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "127.0.0.1".to_string(), |c| c.0.ip().to_string());
    // The HTTP request's id is the invocation's and the event's `requestContext.requestId`.
    let Some(RequestId(request_id)) = RequestId::of(request.extensions()).cloned() else {
        tracing::error!("a function URL request without a request id (RequestIdLayer is not layered)");
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let trace = request.extensions().get::<Trace>().map(Trace::for_invocation);
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_SYNC_PAYLOAD_BYTES).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let domain_name = format!("{url_id}.lambda-url.{}.localhost", app.registry.region());
    let event = request_event(
        &parts,
        &body,
        &EventContext {
            url_id,
            domain_name: &domain_name,
            account_id: app.registry.account_id(),
            request_id: &request_id,
            source_ip,
            raw_path: &raw_path,
        },
    );
    let ready = match app
        .invoker
        .prepare(&target.function, Some(&target.qualifier))
        .await
    {
        Ok(ready) => ready,
        Err(InvokeError::Throttled(_)) => return refuse(StatusCode::TOO_MANY_REQUESTS, "Rate Exceeded."),
        Err(e) => {
            tracing::warn!(url_id, "function URL cannot invoke {}: {e}", target.function);
            return refuse(StatusCode::BAD_GATEWAY, "Internal Server Error");
        }
    };
    let request = InvokeRequest {
        payload: Bytes::from(event.to_string()),
        request_id: Some(request_id),
        trace_id: trace,
        ..InvokeRequest::default()
    };
    if target.config.invoke_mode == InvokeMode::ResponseStream {
        streamed(ready, request, app.front_door.stream_max_bytes).await
    } else {
        buffered(ready, request).await
    }
}

fn answer(answer: HttpAnswer, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}

/// The function's return value as an HTTP response (502 when it cannot be one).
fn mapped(bytes: &[u8]) -> Response {
    match response_from(bytes) {
        Ok(mut mapped) => {
            let body = Body::from(std::mem::take(&mut mapped.body));
            answer(mapped, body)
        }
        Err(e) => {
            tracing::warn!("function URL response is not a valid HTTP response: {e}");
            refuse(StatusCode::BAD_GATEWAY, "Internal Server Error")
        }
    }
}

/// BUFFERED: the whole answer, then the response. A function that streams anyway is buffered
/// (its chunks, prelude and body, make the response), up to Lambda's 6 MB; chunks are taken as
/// they come, so a guest that streams without end costs at most that.
async fn buffered(ready: Ready, request: InvokeRequest) -> Response {
    let mut stream = ready.stream(request, MAX_RESPONSE_BYTES);
    let mut streamed = Vec::new();
    while let Some(event) = stream.next().await {
        let outcome = match event {
            StreamEvent::Chunk(chunk) => {
                streamed.extend_from_slice(&chunk);
                continue;
            }
            StreamEvent::CutOff => continue,
            StreamEvent::End(outcome) => outcome,
        };
        return match outcome.result {
            Err(error) => {
                if error.error_type == RESPONSE_SIZE_TOO_LARGE {
                    tracing::warn!("a buffered function URL response passed {MAX_RESPONSE_BYTES} bytes");
                }
                refuse(StatusCode::BAD_GATEWAY, "Internal Server Error")
            }
            Ok(bytes) if streamed.is_empty() => mapped(&bytes),
            Ok(rest) => {
                streamed.extend_from_slice(&rest);
                match stream_head(stream.content_type(), &streamed, true) {
                    Some((head, body)) => answer(head, Body::from(body)),
                    None => refuse(StatusCode::BAD_GATEWAY, "Internal Server Error"),
                }
            }
        };
    }
    tracing::error!("a function URL invocation ended without a result");
    refuse(StatusCode::BAD_GATEWAY, "Internal Server Error")
}

/// RESPONSE_STREAM: the head as soon as the first bytes tell it (a prelude, or none), then the
/// body chunk by chunk as the function writes it.
async fn streamed(ready: Ready, request: InvokeRequest, cap: usize) -> Response {
    let (head_tx, head_rx) = oneshot::channel::<Response>();
    let (body_tx, body_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let mut stream = ready.stream(request, cap);
    let invocation = async move {
        let mut relay = Relay {
            head: Some(head_tx),
            pending: Vec::new(),
            body: body_tx,
            body_rx: Some(body_rx),
            cap,
            failed: false,
        };
        while let Some(event) = stream.next().await {
            match event {
                StreamEvent::Chunk(chunk) => relay.feed(stream.content_type(), &chunk).await,
                StreamEvent::CutOff => relay.cut_off().await,
                StreamEvent::End(outcome) => match outcome.result {
                    Ok(rest) if relay.head.is_some() && relay.pending.is_empty() => {
                        // Nothing streamed: the return value is the response, mapped as when buffered.
                        relay.send_head(mapped(&rest));
                    }
                    Ok(rest) => {
                        relay.feed(stream.content_type(), &rest).await;
                        relay.finish(stream.content_type()).await;
                    }
                    Err(error) if error.error_type == RESPONSE_SIZE_TOO_LARGE => relay.cut_off().await,
                    Err(error) => relay.fail(&error.error_type).await,
                },
            }
        }
    };
    // In the request's span: the invocation outlives the head, but its log lines are the request's.
    tokio::spawn(invocation.in_current_span());
    head_rx
        .await
        .unwrap_or_else(|_| refuse(StatusCode::BAD_GATEWAY, "Internal Server Error"))
}

/// Moves a function's stream to the HTTP response: holds bytes until the head is known, then
/// forwards them.
struct Relay {
    head: Option<oneshot::Sender<Response>>,
    /// Bytes received before the head was known.
    pending: Vec<u8>,
    body: mpsc::Sender<Result<Bytes, std::io::Error>>,
    /// The response body's receiving end, until the head goes out with it.
    body_rx: Option<mpsc::Receiver<Result<Bytes, std::io::Error>>>,
    /// The stream's cap, for the warning when it is passed.
    cap: usize,
    /// The response has ended in an error; nothing more is sent.
    failed: bool,
}

impl Relay {
    /// `content_type` is the one the function gave its stream, if any.
    async fn feed(&mut self, content_type: Option<&str>, chunk: &[u8]) {
        if chunk.is_empty() {
            return;
        }
        if self.head.is_none() {
            return self.forward(chunk.to_vec()).await;
        }
        self.pending.extend_from_slice(chunk);
        if let Some((head, body)) = stream_head(content_type, &self.pending, false) {
            self.pending.clear();
            self.start(head);
            self.forward(body).await;
        }
    }

    /// Sends the head with a body that streams what `forward` sends.
    fn start(&mut self, head: HttpAnswer) {
        let Some(body_rx) = self.body_rx.take() else {
            return;
        };
        let stream =
            futures::stream::unfold(
                body_rx,
                |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
            );
        self.send_head(answer(head, Body::from_stream(stream)));
    }

    fn send_head(&mut self, response: Response) {
        if let Some(head) = self.head.take() {
            // The client may have gone; the function has finished regardless.
            let _ = head.send(response);
        }
    }

    async fn forward(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() || self.failed {
            return;
        }
        let _ = self.body.send(Ok(Bytes::from(bytes))).await;
    }

    /// The function returned: whatever was held back is all body.
    async fn finish(&mut self, content_type: Option<&str>) {
        if self.head.is_some()
            && let Some((head, body)) = stream_head(content_type, &self.pending, true)
        {
            self.pending.clear();
            self.start(head);
            self.forward(body).await;
        }
    }

    /// The stream passed its cap.
    async fn cut_off(&mut self) {
        if !self.failed {
            tracing::warn!(
                "a streamed function URL response passed {} bytes: cut off",
                self.cap
            );
            self.fail(RESPONSE_SIZE_TOO_LARGE).await;
        }
    }

    /// A function error: a 502 if nothing was sent yet, else the response is cut off (the
    /// client sees an incomplete chunked body, not a clean end).
    async fn fail(&mut self, error_type: &str) {
        if std::mem::replace(&mut self.failed, true) {
            return;
        }
        if self.head.is_some() {
            self.send_head(refuse(StatusCode::BAD_GATEWAY, "Internal Server Error"));
            return;
        }
        let _ = self
            .body
            .send(Err(std::io::Error::other(error_type.to_string())))
            .await;
    }
}
