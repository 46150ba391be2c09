//! Traces: the `X-Amzn-Trace-Id` header Lambda passes along (X-Ray's
//! `Root=1-<time>-<id>;Parent=<span>;Sampled=<0|1>`), and spans exported with OpenTelemetry OTLP
//! when an endpoint is configured.
//!
//! An X-Ray root is an OpenTelemetry trace id written differently (its 8 + 24 hex digits are the
//! 128 bits), so a span exported here joins the caller's trace. Spans are recorded when their
//! work is done, with the ids their children and the guest were already told: [`Tracer::record`]
//! hands the SDK the ids through [`ChosenIds`].

use opentelemetry::Context;
pub use opentelemetry::KeyValue;
use opentelemetry::trace::{
    SpanContext, SpanId, Status, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer as _,
    TracerProvider as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, IdGenerator, RandomIdGenerator, Sampler, SdkTracer,
    SdkTracerProvider,
};
use std::cell::Cell;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long finished spans wait to be sent together.
const EXPORT_DELAY: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("--otlp-endpoint {0:?} is not an http:// or https:// URL")]
    Endpoint(String),
    #[error("cannot start the OTLP exporter: {0}")]
    Exporter(String),
}

/// An `X-Amzn-Trace-Id` header: the trace, the span that called, whether it is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceHeader {
    /// The 128-bit trace id (X-Ray's root: 32 bits of epoch seconds, 96 random).
    pub root: u128,
    /// The caller's span (X-Ray's segment id), when it named one.
    pub parent: Option<u64>,
    pub sampled: Option<bool>,
}

impl TraceHeader {
    /// Reads a header; `None` when it names no well-formed root (one is then made up, as
    /// Lambda does for a malformed header).
    pub fn parse(text: &str) -> Option<TraceHeader> {
        let mut root = None;
        let mut parent = None;
        let mut sampled = None;
        for field in text.split(';') {
            let Some((key, value)) = field.trim().split_once('=') else {
                continue;
            };
            match key.trim() {
                "Root" => root = parse_root(value.trim()),
                "Parent" => {
                    parent = (value.len() == 16)
                        .then(|| u64::from_str_radix(value, 16).ok())
                        .flatten()
                        .filter(|p| *p != 0)
                }
                "Sampled" => {
                    sampled = match value {
                        "1" => Some(true),
                        "0" => Some(false),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        Some(TraceHeader {
            root: root?,
            parent,
            sampled,
        })
    }

    /// A new trace, rooted now.
    pub fn fresh(sampled: bool) -> TraceHeader {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as u32;
        let random = uuid::Uuid::new_v4().as_u128() & ((1u128 << 96) - 1);
        TraceHeader {
            root: (u128::from(seconds) << 96) | random,
            parent: None,
            sampled: Some(sampled),
        }
    }

    /// The header as a span of this trace passes it on: that span is the parent.
    pub fn with_parent(self, span: u64) -> TraceHeader {
        TraceHeader {
            parent: Some(span),
            ..self
        }
    }
}

fn parse_root(value: &str) -> Option<u128> {
    let mut parts = value.split('-');
    let (version, time, id) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = version == "1" && parts.next().is_none() && time.len() == 8 && id.len() == 24;
    let root = (hex_digits(time)? << 96) | hex_digits(id)?;
    (well_formed && root != 0).then_some(root)
}

/// Hex digits only (no sign, unlike `from_str_radix`), at most 32 of them.
fn hex_digits(text: &str) -> Option<u128> {
    text.bytes().try_fold(0u128, |n, digit| {
        let value = (digit as char).to_digit(16)?;
        Some((n << 4) | u128::from(value))
    })
}

/// The longest header [`TraceHeader::encode`] writes: root, parent and sampled flag.
const ENCODED_MAX: usize = "Root=1-".len() + 8 + 1 + 24 + ";Parent=".len() + 16 + ";Sampled=1".len();

/// A header's text, written into a buffer of its own: the front door writes one or two per
/// request, and `format!` would allocate several times for each.
pub struct EncodedHeader {
    bytes: [u8; ENCODED_MAX],
    len: usize,
}

impl EncodedHeader {
    fn push(&mut self, text: &[u8]) {
        self.bytes[self.len..self.len + text.len()].copy_from_slice(text);
        self.len += text.len();
    }

    /// The low `digits` hex digits of `value`, most significant first.
    fn push_hex(&mut self, value: u128, digits: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for shift in (0..digits).rev() {
            self.bytes[self.len] = HEX[((value >> (4 * shift)) & 0xf) as usize];
            self.len += 1;
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever pushed; an error here would be a bug in `encode`, so none is shown.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::ops::Deref for EncodedHeader {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl TraceHeader {
    /// The header's text, without allocating.
    pub fn encode(&self) -> EncodedHeader {
        let mut out = EncodedHeader {
            bytes: [0; ENCODED_MAX],
            len: 0,
        };
        out.push(b"Root=1-");
        out.push_hex(self.root >> 96, 8);
        out.push(b"-");
        out.push_hex(self.root, 24);
        if let Some(parent) = self.parent {
            out.push(b";Parent=");
            out.push_hex(u128::from(parent), 16);
        }
        match self.sampled {
            Some(true) => out.push(b";Sampled=1"),
            Some(false) => out.push(b";Sampled=0"),
            None => {}
        }
        out
    }
}

impl fmt::Display for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// A random span id (never zero, which OpenTelemetry reads as none).
pub fn new_span_id() -> u64 {
    let id = uuid::Uuid::new_v4().as_u64_pair().1;
    if id == 0 { 1 } else { id }
}

/// What a span is, as OpenTelemetry's span kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request a client made.
    Server,
    /// Work inside it (Init, Invoke).
    Internal,
}

/// A finished piece of work, to export.
#[derive(Debug)]
pub struct Span {
    /// The trace, and the span this one is a child of (none: a root).
    pub header: TraceHeader,
    pub span_id: u64,
    pub name: std::borrow::Cow<'static, str>,
    pub kind: Kind,
    pub start: SystemTime,
    pub end: SystemTime,
    /// OpenTelemetry's semantic conventions: `faas.invocation_id`, `faas.name`, ...
    pub attributes: Vec<KeyValue>,
    /// Ended in an error (a function error, an Init that failed).
    pub failed: bool,
}

thread_local! {
    /// The ids [`Tracer::record`] is building a span with; read by [`ChosenIds`] on this thread,
    /// inside the one synchronous call that builds it.
    static CHOSEN: Cell<Option<(TraceId, SpanId)>> = const { Cell::new(None) };
}

/// The SDK's id generator: the ids [`Tracer::record`] chose, else random ones.
#[derive(Debug, Default)]
struct ChosenIds(RandomIdGenerator);

impl IdGenerator for ChosenIds {
    fn new_trace_id(&self) -> TraceId {
        CHOSEN
            .get()
            .map_or_else(|| self.0.new_trace_id(), |(trace, _)| trace)
    }
    fn new_span_id(&self) -> SpanId {
        CHOSEN
            .get()
            .map_or_else(|| self.0.new_span_id(), |(_, span)| span)
    }
}

/// Exports spans with OTLP over HTTP (protobuf) from the SDK's batch processor thread.
#[derive(Debug)]
pub struct Tracer {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl Tracer {
    /// A tracer sending to `endpoint`: a collector's base URL (`/v1/traces` is added) or its
    /// full traces URL.
    pub fn otlp(endpoint: &str) -> Result<Tracer, TraceError> {
        use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
        let url = traces_url(endpoint)?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .with_headers(Default::default())
            .build()
            .map_err(|e| TraceError::Exporter(e.to_string()))?;
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_scheduled_delay(EXPORT_DELAY)
                    .build(),
            )
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            // What the caller sampled is its business; a configured endpoint gets every span.
            .with_sampler(Sampler::AlwaysOn)
            .with_id_generator(ChosenIds::default())
            .with_resource(Resource::builder().with_service_name("lambkin").build())
            .build();
        let tracer = provider.tracer("lambkin");
        Ok(Tracer { provider, tracer })
    }

    /// Queues a finished span for export (never blocks on the network).
    pub fn record(&self, span: Span) {
        let trace_id = TraceId::from_bytes(span.header.root.to_be_bytes());
        let parent = match span.header.parent {
            Some(parent) => Context::new().with_remote_span_context(SpanContext::new(
                trace_id,
                SpanId::from_bytes(parent.to_be_bytes()),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            )),
            None => Context::new(),
        };
        let builder = self
            .tracer
            .span_builder(span.name)
            .with_kind(match span.kind {
                Kind::Server => opentelemetry::trace::SpanKind::Server,
                Kind::Internal => opentelemetry::trace::SpanKind::Internal,
            })
            .with_start_time(span.start)
            .with_attributes(span.attributes);
        CHOSEN.set(Some((trace_id, SpanId::from_bytes(span.span_id.to_be_bytes()))));
        let mut built = self.tracer.build_with_context(builder, &parent);
        CHOSEN.set(None);
        if span.failed {
            opentelemetry::trace::Span::set_status(&mut built, Status::error("function error"));
        }
        opentelemetry::trace::Span::end_with_timestamp(&mut built, span.end);
    }

    /// Sends what is queued (blocking: call it off the async runtime's threads).
    pub fn flush(&self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::warn!("spans not exported: {e}");
        }
    }
}

/// The URL spans are posted to: a bare collector address gets OTLP's `/v1/traces`.
fn traces_url(endpoint: &str) -> Result<String, TraceError> {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .ok_or_else(|| TraceError::Endpoint(endpoint.into()))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if host.is_empty() {
        return Err(TraceError::Endpoint(endpoint.into()));
    }
    Ok(match path {
        "" | "/" => format!("{}/v1/traces", endpoint.trim_end_matches('/')),
        _ => endpoint.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xray_header_reads_and_writes_back() {
        let text = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let header = TraceHeader::parse(text).expect("well formed");
        assert_eq!(header.root, 0x5759e988_bd862e3fe1be46a994272793);
        assert_eq!(header.parent, Some(0x53995c3f42cd8ad8));
        assert_eq!(header.sampled, Some(true));
        assert_eq!(header.to_string(), text);
        let child = header.with_parent(0xab);
        assert_eq!(
            child.to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=00000000000000ab;Sampled=1"
        );
    }

    #[test]
    fn a_header_without_a_parent_or_with_extra_fields_is_read() {
        let header =
            TraceHeader::parse(" Root=1-5759e988-bd862e3fe1be46a994272793 ; Lineage=a:1").expect("root");
        assert_eq!(header.parent, None);
        assert_eq!(header.sampled, None);
        assert_eq!(header.to_string(), "Root=1-5759e988-bd862e3fe1be46a994272793");
    }

    #[test]
    fn a_malformed_root_is_no_header() {
        for text in [
            "",
            "Parent=53995c3f42cd8ad8",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279",
            "Root=1-5759e98g-bd862e3fe1be46a994272793",
            "Root=1-00000000-000000000000000000000000",
            "Root=1-+759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e988-+d862e3fe1be46a994272793",
        ] {
            assert_eq!(TraceHeader::parse(text), None, "{text}");
        }
    }

    #[test]
    fn the_longest_header_fits_its_buffer() {
        let header = TraceHeader {
            root: u128::MAX,
            parent: Some(u64::MAX),
            sampled: Some(false),
        };
        let text = "Root=1-ffffffff-ffffffffffffffffffffffff;Parent=ffffffffffffffff;Sampled=0";
        assert_eq!(&*header.encode(), text);
        assert_eq!(text.len(), ENCODED_MAX);
        assert_eq!(TraceHeader::parse(text), Some(header));
    }

    #[test]
    fn a_fresh_header_is_rooted_now() {
        let header = TraceHeader::fresh(false);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(((header.root >> 96) as u64).abs_diff(now) <= 2);
        assert_eq!(TraceHeader::parse(&header.to_string()), Some(header));
    }

    #[test]
    fn the_endpoint_names_the_collector_or_its_traces_url() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(traces_url("http://c:4318/").unwrap(), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("https://c/otlp/v1/traces").unwrap(),
            "https://c/otlp/v1/traces"
        );
        assert!(traces_url("127.0.0.1:4318").is_err());
    }
}
