//! Lambda's metric set (seed 007's Invocations, Errors, Throttles, Duration, the concurrency
//! gauges and the asynchronous-invocation metrics) and lambkin's own, in the Prometheus
//! exposition format (OpenMetrics text).
//!
//! Names are `lambkin_` and Lambda's metric name in snake case; counters end in `_total`,
//! durations are histograms in seconds. Labels are Lambda's dimensions: `function`
//! (FunctionName), `resource` (Resource: the function, or `function:qualifier` as it was
//! invoked) and `executed_version` (ExecutedVersion).
//!
//! What is counted as it happens lives in [`Metrics`]; what is a state (environments,
//! concurrency, queue depth) is read at scrape time into a [`Snapshot`], so a gauge can never
//! drift from what it describes.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One function as it was invoked: Lambda's FunctionName, Resource and ExecutedVersion.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub function: String,
    pub resource: String,
    pub executed_version: String,
}

impl ResourceLabels {
    /// `qualifier` as the caller named it (none: the unqualified function).
    pub fn new(function: &str, qualifier: Option<&str>, executed_version: &str) -> ResourceLabels {
        ResourceLabels {
            function: function.to_string(),
            resource: match qualifier {
                Some(q) if !q.is_empty() => format!("{function}:{q}"),
                _ => function.to_string(),
            },
            executed_version: executed_version.to_string(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    function: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    function: String,
    executed_version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InitLabels {
    function: String,
    executed_version: String,
    /// Lambda's initialization types: `on-demand`, `provisioned-concurrency`, `snap-start`.
    initialization_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EnvironmentLabels {
    function: String,
    executed_version: String,
    state: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Invocation durations: 0.5 ms to about a minute.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.5, 14))
}

/// Asynchronous event ages: 1 ms to about an hour (events wait through retries).
fn age_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 4.0, 12))
}

/// The node's metrics. Cheap to record to: an invocation's handles come from
/// [`Metrics::resource`] once per route, not per call.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    invocations: Family<ResourceLabels, Counter>,
    errors: Family<ResourceLabels, Counter>,
    throttles: Family<ResourceLabels, Counter>,
    duration: Histograms<ResourceLabels>,
    cold_starts: Family<InitLabels, Counter>,
    init_duration: Histograms<InitLabels>,
    compile_duration: Histogram,
    async_received: Family<FunctionLabels, Counter>,
    async_age: Histograms<FunctionLabels>,
    async_dropped: Family<FunctionLabels, Counter>,
    destination_failures: Family<FunctionLabels, Counter>,
}

/// One resource's counters, taken once and kept with its route.
#[derive(Debug, Clone)]
pub struct ResourceMetrics {
    invocations: Counter,
    errors: Counter,
    throttles: Counter,
    duration: Histogram,
}

impl ResourceMetrics {
    /// An invocation that ran (a function error counts as an invocation and as an error).
    pub fn invoked(&self, duration: Duration, failed: bool) {
        self.invocations.inc();
        if failed {
            self.errors.inc();
        }
        self.duration.observe(duration.as_secs_f64());
    }

    /// An invocation refused by a concurrency limit or the node's capacity.
    pub fn throttled(&self) {
        self.throttles.inc();
    }
}

/// What is read at scrape time: every gauge, and the counters their owners keep.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Per function version: environments initialising, idle, busy; provisioned ones busy and
    /// wanted.
    pub pools: Vec<PoolSnapshot>,
    /// Per function: invocations running now.
    pub running: Vec<(String, u32)>,
    /// Invocations running in functions without reserved concurrency.
    pub unreserved_running: u32,
    /// Asynchronous events accepted and not yet delivered.
    pub queue_depth: u64,
    /// Outbound connections refused by the egress policy since the start.
    pub egress_denied: u64,
}

#[derive(Debug, Default, Clone)]
pub struct PoolSnapshot {
    pub function: String,
    pub executed_version: String,
    pub initializing: u32,
    pub idle: u32,
    pub busy: u32,
    pub provisioned_ready: u32,
    pub provisioned_busy: u32,
    pub provisioned_target: u32,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let invocations = Family::default();
        let errors = Family::default();
        let throttles = Family::default();
        let duration: Histograms<ResourceLabels> = Family::new_with_constructor(duration_histogram);
        let cold_starts = Family::default();
        let init_duration: Histograms<InitLabels> = Family::new_with_constructor(duration_histogram);
        let compile_duration = Histogram::new(exponential_buckets(0.01, 2.0, 12));
        let async_received = Family::default();
        let async_age: Histograms<FunctionLabels> = Family::new_with_constructor(age_histogram);
        let async_dropped = Family::default();
        let destination_failures = Family::default();
        registry.register(
            "lambkin_invocations",
            "Invocations that ran (Lambda's Invocations), function errors included, throttles not",
            invocations.clone(),
        );
        registry.register(
            "lambkin_errors",
            "Invocations that ended in a function error (Lambda's Errors)",
            errors.clone(),
        );
        registry.register(
            "lambkin_throttles",
            "Invocations refused with a 429 by a concurrency limit or the node's capacity (Lambda's Throttles)",
            throttles.clone(),
        );
        registry.register_with_unit(
            "lambkin_duration",
            "Time the handler ran (Lambda's Duration)",
            Unit::Seconds,
            duration.clone(),
        );
        registry.register(
            "lambkin_cold_starts",
            "Execution environments started, by initialization type",
            cold_starts.clone(),
        );
        registry.register_with_unit(
            "lambkin_init_duration",
            "Init phase of a started environment (a SnapStart restore for snap-start)",
            Unit::Seconds,
            init_duration.clone(),
        );
        registry.register_with_unit(
            "lambkin_compile_duration",
            "Compiling a function's code to native code (the compile cache missed)",
            Unit::Seconds,
            compile_duration.clone(),
        );
        registry.register(
            "lambkin_async_events_received",
            "Asynchronous events accepted (Lambda's AsyncEventsReceived)",
            async_received.clone(),
        );
        registry.register_with_unit(
            "lambkin_async_event_age",
            "Time from an event's acceptance to each delivery attempt (Lambda's AsyncEventAge)",
            Unit::Seconds,
            async_age.clone(),
        );
        registry.register(
            "lambkin_async_events_dropped",
            "Asynchronous events given up on without a successful invocation (Lambda's AsyncEventsDropped)",
            async_dropped.clone(),
        );
        registry.register(
            "lambkin_destination_delivery_failures",
            "Invocation records that could not be sent to their destination (Lambda's DestinationDeliveryFailures)",
            destination_failures.clone(),
        );
        Metrics {
            registry,
            invocations,
            errors,
            throttles,
            duration,
            cold_starts,
            init_duration,
            compile_duration,
            async_received,
            async_age,
            async_dropped,
            destination_failures,
        }
    }

    /// The counters of one resource (made on first use).
    pub fn resource(&self, labels: &ResourceLabels) -> ResourceMetrics {
        ResourceMetrics {
            invocations: self.invocations.get_or_create_owned(labels),
            errors: self.errors.get_or_create_owned(labels),
            throttles: self.throttles.get_or_create_owned(labels),
            duration: self.duration.get_or_create_owned(labels),
        }
    }

    /// An environment started: `initialization_type` is Lambda's (`on-demand`,
    /// `provisioned-concurrency`, `snap-start`).
    pub fn environment_started(
        &self,
        function: &str,
        executed_version: &str,
        initialization_type: &str,
        init: Duration,
    ) {
        let labels = InitLabels {
            function: function.to_string(),
            executed_version: executed_version.to_string(),
            initialization_type: initialization_type.to_string(),
        };
        self.cold_starts.get_or_create(&labels).inc();
        self.init_duration
            .get_or_create(&labels)
            .observe(init.as_secs_f64());
    }

    pub fn compiled(&self, took: Duration) {
        self.compile_duration.observe(took.as_secs_f64());
    }

    pub fn async_event_received(&self, function: &str) {
        self.async_received
            .get_or_create(&function_labels(function))
            .inc();
    }

    /// A delivery attempt of an event accepted `age` ago.
    pub fn async_event_delivered(&self, function: &str, age: Duration) {
        self.async_age
            .get_or_create(&function_labels(function))
            .observe(age.as_secs_f64());
    }

    pub fn async_event_dropped(&self, function: &str) {
        self.async_dropped.get_or_create(&function_labels(function)).inc();
    }

    pub fn destination_delivery_failed(&self, function: &str) {
        self.destination_failures
            .get_or_create(&function_labels(function))
            .inc();
    }

    /// The metrics as OpenMetrics text: what was counted, then the gauges read from `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::new();
        let gauges = gauges(snapshot);
        // Writing to a String cannot fail; the encoder's fmt::Error is only a writer's.
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &gauges);
        let _ = encode_eof(&mut out);
        out
    }
}

fn function_labels(function: &str) -> FunctionLabels {
    FunctionLabels {
        function: function.to_string(),
    }
}

/// A registry of this scrape's gauges, made fresh so a function deleted since the last scrape
/// leaves no series behind.
fn gauges(snapshot: &Snapshot) -> Registry {
    let mut registry = Registry::default();
    let concurrent: Family<FunctionLabels, Gauge> = Family::default();
    for (function, running) in &snapshot.running {
        concurrent
            .get_or_create(&function_labels(function))
            .set(i64::from(*running));
    }
    let environments: Family<EnvironmentLabels, Gauge> = Family::default();
    let provisioned: Family<VersionLabels, Gauge> = Family::default();
    let utilization: Family<VersionLabels, Gauge<f64, AtomicU64>> = Family::default();
    for pool in &snapshot.pools {
        let version = VersionLabels {
            function: pool.function.clone(),
            executed_version: pool.executed_version.clone(),
        };
        for (state, count) in [
            ("initializing", pool.initializing),
            ("idle", pool.idle),
            ("busy", pool.busy),
            ("provisioned_ready", pool.provisioned_ready),
        ] {
            let labels = EnvironmentLabels {
                function: version.function.clone(),
                executed_version: version.executed_version.clone(),
                state,
            };
            environments.get_or_create(&labels).set(i64::from(count));
        }
        if pool.provisioned_target > 0 {
            provisioned
                .get_or_create(&version)
                .set(i64::from(pool.provisioned_busy));
            utilization
                .get_or_create(&version)
                .set(f64::from(pool.provisioned_busy) / f64::from(pool.provisioned_target));
        }
    }
    registry.register(
        "lambkin_concurrent_executions",
        "Invocations running now (Lambda's ConcurrentExecutions)",
        concurrent,
    );
    registry.register(
        "lambkin_unreserved_concurrent_executions",
        "Invocations running now in functions without reserved concurrency (Lambda's UnreservedConcurrentExecutions)",
        ConstGauge::new(i64::from(snapshot.unreserved_running)),
    );
    registry.register(
        "lambkin_provisioned_concurrent_executions",
        "Invocations running now on provisioned concurrency (Lambda's ProvisionedConcurrentExecutions)",
        provisioned,
    );
    registry.register(
        "lambkin_provisioned_concurrency_utilization",
        "Provisioned environments busy over those configured (Lambda's ProvisionedConcurrencyUtilization)",
        utilization,
    );
    registry.register(
        "lambkin_environments",
        "Execution environments of this node, by state",
        environments,
    );
    registry.register(
        "lambkin_async_queue_depth",
        "Asynchronous events accepted and not yet delivered",
        ConstGauge::new(snapshot.queue_depth as i64),
    );
    registry.register(
        "lambkin_egress_denied",
        "Outbound connections the egress policy refused",
        ConstCounter::new(snapshot.egress_denied),
    );
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invocation_is_counted_under_its_resource() {
        let metrics = Metrics::new();
        let live = metrics.resource(&ResourceLabels::new("hello", Some("live"), "3"));
        live.invoked(Duration::from_millis(2), false);
        live.invoked(Duration::from_millis(2), true);
        live.throttled();
        let text = metrics.render(&Snapshot::default());
        let labels = r#"{function="hello",resource="hello:live",executed_version="3"}"#;
        assert!(
            text.contains(&format!("lambkin_invocations_total{labels} 2")),
            "{text}"
        );
        assert!(
            text.contains(&format!("lambkin_errors_total{labels} 1")),
            "{text}"
        );
        assert!(
            text.contains(&format!("lambkin_throttles_total{labels} 1")),
            "{text}"
        );
        assert!(
            text.contains(&format!("lambkin_duration_seconds_count{labels} 2")),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn gauges_describe_the_snapshot_only() {
        let metrics = Metrics::new();
        let snapshot = Snapshot {
            pools: vec![PoolSnapshot {
                function: "hello".into(),
                executed_version: "1".into(),
                busy: 2,
                provisioned_busy: 1,
                provisioned_target: 4,
                ..PoolSnapshot::default()
            }],
            running: vec![("hello".into(), 2)],
            unreserved_running: 2,
            queue_depth: 5,
            egress_denied: 7,
        };
        let text = metrics.render(&snapshot);
        assert!(
            text.contains(r#"lambkin_concurrent_executions{function="hello"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"lambkin_environments{function="hello",executed_version="1",state="busy"} 2"#)
        );
        assert!(text.contains(
            r#"lambkin_provisioned_concurrency_utilization{function="hello",executed_version="1"} 0.25"#
        ));
        assert!(text.contains("lambkin_async_queue_depth 5"), "{text}");
        assert!(text.contains("lambkin_egress_denied_total 7"), "{text}");
        let later = metrics.render(&Snapshot::default());
        assert!(!later.contains(r#"function="hello""#), "{later}");
    }

    #[test]
    fn an_unqualified_resource_is_the_function() {
        assert_eq!(ResourceLabels::new("f", None, "$LATEST").resource, "f");
        assert_eq!(ResourceLabels::new("f", Some(""), "$LATEST").resource, "f");
        assert_eq!(ResourceLabels::new("f", Some("2"), "2").resource, "f:2");
    }
}
