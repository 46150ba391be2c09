//! What metrics and traces add to every invocation, measured apart (the HTTP benchmarks cannot
//! switch them off: they are always on):
//! - `metrics/invocation`: counting one invocation (Invocations, Errors, Duration) with the handles
//!   its route keeps;
//! - `metrics/throttle`: counting one throttle;
//! - `trace/request`: what the front door and the invocation do with a trace header: read the
//!   caller's (or make one), name the request's span, hand the guest its header, read it back for
//!   the Invoke span, write the response's header;
//! - `metrics/scrape`: one `/metrics` render with 100 function versions' gauges.
//!
//! `cargo bench --bench telemetry`; figures in benches/README.md.

use criterion::{Criterion, criterion_group, criterion_main};
use lambkin_telemetry::Telemetry;
use lambkin_telemetry::metrics::{Metrics, PoolSnapshot, ResourceLabels, Snapshot};
use lambkin_telemetry::trace::{self, TraceHeader};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let metrics = Metrics::new();
    let resource = metrics.resource(&ResourceLabels::new("hello", Some("live"), "3"));
    c.bench_function("metrics/invocation", |b| {
        b.iter(|| resource.invoked(black_box(Duration::from_micros(40)), black_box(false)))
    });
    c.bench_function("metrics/throttle", |b| b.iter(|| resource.throttled()));

    let telemetry = Telemetry::default();
    let sent = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    c.bench_function("trace/request", |b| {
        b.iter(|| {
            let header = telemetry.trace_header(Some(black_box(sent)));
            let request_span = trace::new_span_id();
            let for_invocation = header.with_parent(request_span).to_string();
            let read_back = TraceHeader::parse(&for_invocation).unwrap_or(header);
            let for_guest = read_back.with_parent(trace::new_span_id()).to_string();
            black_box((for_guest, for_invocation))
        })
    });

    let snapshot = Snapshot {
        pools: (0..100)
            .map(|n| PoolSnapshot {
                function: format!("function-{n}"),
                executed_version: "$LATEST".into(),
                idle: 1,
                ..PoolSnapshot::default()
            })
            .collect(),
        running: (0..100).map(|n| (format!("function-{n}"), 0)).collect(),
        ..Snapshot::default()
    };
    for n in 0..100 {
        metrics
            .resource(&ResourceLabels::new(&format!("function-{n}"), None, "$LATEST"))
            .invoked(Duration::from_millis(1), false);
    }
    c.bench_function("metrics/scrape", |b| {
        b.iter(|| black_box(metrics.render(&snapshot)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
