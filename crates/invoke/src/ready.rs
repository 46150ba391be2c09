//! [`Ready`]: a version about to run, and how its run is counted and traced.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::concurrency::Slot;
use crate::pool::Claim;
use crate::{SyncResult, stream};
use lambkin_sandbox::{FunctionError, InvokeRequest};
use lambkin_telemetry::metrics::ResourceMetrics;
use lambkin_telemetry::trace::{self, KeyValue, TraceHeader};

/// A version about to run: resolved, admitted and prepared, so the response can name it before
/// it runs.
pub struct Ready {
    pub executed_version: String,
    pub(crate) invoked_function_arn: String,
    /// The environment it runs in, or its place for a cold start.
    pub(crate) claim: Claim,
    pub(crate) metrics: Arc<ResourceMetrics>,
    pub(crate) tracer: Option<Arc<trace::Tracer>>,
    /// Held until the invocation ends.
    pub(crate) _slot: Slot,
}

impl Ready {
    /// Runs the invocation as [`Ready::run`] does, read as a stream: its chunks as the function
    /// writes them, up to `cap` bytes with what it returns, then its end.
    pub fn stream(
        self,
        mut request: InvokeRequest,
        cap: usize,
    ) -> stream::ResponseStream<impl std::future::Future<Output = SyncResult>> {
        stream::ResponseStream::new(cap, move |chunks| {
            request.stream = Some(chunks);
            async move { self.run(request).await }
        })
    }

    /// Runs the invocation in an environment of the version's pool. The invoked ARN is filled
    /// in; chunks go to `request.stream` when it is set. It is counted in the version's metrics,
    /// and its Init (on a cold start) and Invoke are spans of the request's trace.
    pub async fn run(self, mut request: InvokeRequest) -> SyncResult {
        let request_id = request
            .request_id
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        let Ready {
            executed_version,
            invoked_function_arn,
            claim,
            metrics,
            tracer,
            _slot,
        } = self;
        // Only a span names the function: no copy of the name when none is exported.
        let function = match tracer {
            Some(_) => claim.function_name().to_string(),
            None => String::new(),
        };
        let header = request
            .trace_id
            .as_deref()
            .and_then(TraceHeader::parse)
            .unwrap_or_else(|| TraceHeader::fresh(tracer.is_some()));
        let spans = Spans {
            tracer: tracer.as_deref(),
            header,
            request_id: &request_id,
            function: &function,
            version: &executed_version,
            cold: matches!(claim, Claim::Cold(_)),
        };
        request.invoked_function_arn = Some(invoked_function_arn);
        let (began, started) = (SystemTime::now(), Instant::now());
        let lease = claim.into_lease().await;
        let initialized = SystemTime::now();
        if spans.cold {
            spans.record(trace::new_span_id(), "Init", began, lease.is_err());
        }
        let mut lease = match lease {
            Ok(lease) => lease,
            Err(failure) => {
                metrics.invoked(started.elapsed(), true);
                return SyncResult {
                    executed_version,
                    request_id,
                    result: Err(failure.error),
                    log: failure.log,
                };
            }
        };
        // The guest's `_X_AMZN_TRACE_ID` names its Invoke span as the parent.
        let invoke_span = trace::new_span_id();
        request.trace_id = Some(header.with_parent(invoke_span).to_string());
        let invocation = lease.invoke(request).await;
        let failed = invocation.as_ref().is_none_or(|i| i.result.is_err());
        spans.record(invoke_span, "Invoke", initialized, failed);
        match invocation {
            Some(invocation) => {
                metrics.invoked(invocation.report.duration, failed);
                SyncResult {
                    executed_version,
                    request_id,
                    result: invocation.result,
                    log: invocation.log,
                }
            }
            None => SyncResult {
                executed_version,
                request_id,
                result: Err(FunctionError {
                    error_type: "Runtime.Unknown".into(),
                    error_message: "no execution environment".into(),
                    stack_trace: Vec::new(),
                }),
                log: String::new(),
            },
        }
    }
}

/// The spans of one invocation, children of the span that called (the front door's request).
struct Spans<'a> {
    tracer: Option<&'a trace::Tracer>,
    header: TraceHeader,
    request_id: &'a str,
    function: &'a str,
    version: &'a str,
    /// This invocation started its environment.
    cold: bool,
}

impl Spans<'_> {
    /// Records a span from `start` to now.
    fn record(&self, span_id: u64, name: &'static str, start: SystemTime, failed: bool) {
        let Some(tracer) = self.tracer else {
            return;
        };
        tracer.record(trace::Span {
            header: self.header,
            span_id,
            name: name.into(),
            kind: trace::Kind::Internal,
            start,
            end: SystemTime::now(),
            attributes: vec![
                KeyValue::new("faas.invocation_id", self.request_id.to_string()),
                KeyValue::new("faas.name", self.function.to_string()),
                KeyValue::new("faas.version", self.version.to_string()),
                KeyValue::new("faas.coldstart", self.cold),
            ],
            failed,
        });
    }
}
