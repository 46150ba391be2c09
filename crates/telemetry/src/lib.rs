//! lambkin's telemetry: what operators scrape and what traces they follow.
//!
//! # Layout
//! - [`metrics`]: Lambda's metric set and lambkin's own, rendered as Prometheus text.
//! - [`trace`]: `X-Amzn-Trace-Id` read or made, and spans exported with OpenTelemetry OTLP.

pub mod metrics;
pub mod trace;

use std::sync::Arc;

/// What the invocation layer and the front door record to: the node's metrics, and a tracer
/// when spans are exported.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    pub metrics: Arc<metrics::Metrics>,
    pub tracer: Option<Arc<trace::Tracer>>,
}

impl Telemetry {
    /// The header an invocation runs under: the caller's when it sent a well-formed one, else
    /// a new trace (sampled when spans are exported).
    pub fn trace_header(&self, sent: Option<&str>) -> trace::TraceHeader {
        sent.and_then(trace::TraceHeader::parse)
            .unwrap_or_else(|| trace::TraceHeader::fresh(self.tracer.is_some()))
    }

    /// Exports `span` when a tracer is configured.
    pub fn record(&self, span: impl FnOnce() -> trace::Span) {
        if let Some(tracer) = &self.tracer {
            tracer.record(span());
        }
    }
}
