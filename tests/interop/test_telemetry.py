"""Prometheus metrics and OpenTelemetry traces of a real `lambkin serve`.

What: a scrape of `/metrics`, parsed with prometheus_client's OpenMetrics parser, counts exactly
the invocations, function errors, throttles and asynchronous events the test caused, per
function and resource; the gauges and lambkin's own metrics (cold starts by initialization
type) are there. Traces: an invocation carrying `X-Amzn-Trace-Id` gets it back (same root, the
request's span as parent), the guest sees it, and the spans of the request, Init and Invoke reach
an OTLP/HTTP receiver this module starts on loopback (decoded with opentelemetry-proto), in the
caller's trace, with the request id. An invocation without the header gets a new trace.

Why: operators scrape metrics and follow traces; Lambda's users get both from CloudWatch and
X-Ray, and these are the names and ids their tools expect.

Cost: a few seconds (the exporter sends every 0.5 s).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import HOST, free_port, name_factory, own_server
from helpers import create_function, example_wasm, http_request, invoke_event, wait_for, zip_of

SPAN_WAIT_S = 10.0


class OtlpReceiver:
    """An OTLP/HTTP traces endpoint on loopback: keeps every span it is sent."""

    def __init__(self):
        self.spans = []
        self.paths = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with receiver.lock:
                    receiver.paths.append((self.path, self.headers.get("content-type")))
                    for resource_spans in request.resource_spans:
                        for scope_spans in resource_spans.scope_spans:
                            receiver.spans.extend(scope_spans.spans)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer((HOST, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of_trace(self, trace_hex: str):
        with self.lock:
            return [s for s in self.spans if s.trace_id.hex() == trace_hex]


@pytest.fixture(scope="module")
def receiver():
    r = OtlpReceiver()
    yield r
    r.server.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, receiver):
    args = ["--otlp-endpoint", f"http://{HOST}:{receiver.port}"]
    with own_server(tmp_path_factory, "telemetry", extra_args=args) as s:
        yield s


@pytest.fixture
def client(server):
    return server.client


@pytest.fixture
def make_name(server):
    yield from name_factory(server)


def scrape(server) -> dict:
    """The metrics as {(sample name, frozen labels): value}, read by the OpenMetrics parser."""
    status, headers, body = http_request(f"{server.endpoint}/metrics")
    assert status == 200, body
    assert headers["content-type"].startswith("application/openmetrics-text"), headers
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def resource(function: str, qualifier: str | None = None, version: str = "$LATEST") -> dict:
    return {
        "function": function,
        "resource": f"{function}:{qualifier}" if qualifier else function,
        "executed_version": version,
    }


def test_a_scrape_counts_the_invocations_errors_and_throttles_caused(client, server, make_name):
    ok, failing, throttled, events = make_name("ok"), make_name("err"), make_name("thr"), make_name("ev")
    create_function(client, ok, zip_of({"hello.wasm": example_wasm("hello")}))
    create_function(client, failing, zip_of({"fail.wasm": example_wasm("fail")}), Handler="fail.wasm")
    create_function(client, throttled, zip_of({"hello.wasm": example_wasm("hello")}))
    create_function(client, events, zip_of({"hello.wasm": example_wasm("hello")}))
    client.put_function_concurrency(FunctionName=throttled, ReservedConcurrentExecutions=0)
    version = client.publish_version(FunctionName=ok)["Version"]
    client.create_alias(FunctionName=ok, Name="live", FunctionVersion=version)

    for _ in range(3):
        assert "FunctionError" not in client.invoke(FunctionName=ok, Payload=b"{}")
    for _ in range(2):
        assert "FunctionError" not in client.invoke(FunctionName=ok, Qualifier="live", Payload=b"{}")
    for _ in range(2):
        assert client.invoke(FunctionName=failing, Payload=b"{}")["FunctionError"] == "Unhandled"
    # The suite's clients do not retry: each throttle is one request.
    for _ in range(4):
        with pytest.raises(ClientError) as refused:
            client.invoke(FunctionName=throttled, Payload=b"{}")
        assert refused.value.response["Error"]["Code"] == "TooManyRequestsException"
    for _ in range(3):
        invoke_event(client, events, {})

    def delivered():
        samples = scrape(server)
        return value(samples, "lambkin_invocations_total", **resource(events)) == 3 and samples

    samples = wait_for(delivered, what="the three events delivered")
    assert value(samples, "lambkin_invocations_total", **resource(ok)) == 3
    assert value(samples, "lambkin_invocations_total", **resource(ok, "live", version)) == 2
    assert value(samples, "lambkin_errors_total", **resource(ok)) == 0
    assert value(samples, "lambkin_invocations_total", **resource(failing)) == 2
    assert value(samples, "lambkin_errors_total", **resource(failing)) == 2
    assert value(samples, "lambkin_throttles_total", **resource(throttled)) == 4
    assert value(samples, "lambkin_invocations_total", **resource(throttled)) == 0
    assert value(samples, "lambkin_duration_seconds_count", **resource(ok)) == 3
    assert value(samples, "lambkin_async_events_received_total", function=events) == 3
    assert value(samples, "lambkin_async_event_age_seconds_count", function=events) == 3
    assert value(samples, "lambkin_async_events_dropped_total", function=events) == 0
    # One environment per version served these calls one after the other: one cold start each.
    cold = dict(function=ok, executed_version="$LATEST", initialization_type="on-demand")
    assert value(samples, "lambkin_cold_starts_total", **cold) == 1
    assert value(samples, "lambkin_init_duration_seconds_count", **cold) == 1
    assert value(samples, "lambkin_concurrent_executions", function=ok) == 0
    idle = dict(function=ok, executed_version="$LATEST", state="idle")
    assert value(samples, "lambkin_environments", **idle) == 1
    assert ("lambkin_async_queue_depth", frozenset()) in samples
    assert ("lambkin_unreserved_concurrent_executions", frozenset()) in samples


def test_a_failed_event_is_counted_as_dropped(client, server, make_name):
    name = make_name("drop")
    create_function(client, name, zip_of({"fail.wasm": example_wasm("fail")}), Handler="fail.wasm")
    client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    invoke_event(client, name, {})
    samples = wait_for(
        lambda: (s := scrape(server)) and value(s, "lambkin_async_events_dropped_total", function=name) == 1 and s,
        what="the failed event dropped",
    )
    assert value(samples, "lambkin_errors_total", **resource(name)) == 1


def test_an_invocation_keeps_the_callers_trace_and_its_spans_are_exported(client, server, make_name, receiver):
    name = make_name("traced")
    create_function(client, name, zip_of({"echo.wasm": example_wasm("echo")}), Handler="echo.wasm")
    root_time, root_id, parent = f"{int(time.time()):08x}", uuid.uuid4().hex[:24], uuid.uuid4().hex[:16]
    sent = f"Root=1-{root_time}-{root_id};Parent={parent};Sampled=1"
    status, headers, body = http_request(
        f"{server.endpoint}/2015-03-31/functions/{name}/invocations",
        method="POST",
        body=b'{"traced": true}',
        headers={"X-Amzn-Trace-Id": sent},
    )
    assert status == 200, body
    request_id = headers["x-amzn-requestid"]
    returned = dict(field.split("=", 1) for field in headers["x-amzn-trace-id"].split(";"))
    assert returned["Root"] == f"1-{root_time}-{root_id}", headers
    assert returned["Sampled"] == "1"
    request_span = returned["Parent"]
    assert request_span != parent and len(request_span) == 16
    # The guest is told the trace, with its Invoke span as the parent.
    seen = dict(field.split("=", 1) for field in json.loads(body)["context"]["xrayTraceId"].split(";"))
    assert seen["Root"] == returned["Root"], seen

    trace_hex = root_time + root_id
    spans = wait_for(
        lambda: (s := receiver.of_trace(trace_hex)) and len(s) >= 3 and s,
        timeout=SPAN_WAIT_S,
        what="the request, Init and Invoke spans exported",
    )
    server_spans = [s for s in spans if s.kind == s.SPAN_KIND_SERVER]
    assert len(server_spans) == 1, spans
    request = server_spans[0]
    assert request.span_id.hex() == request_span
    assert request.parent_span_id.hex() == parent
    attributes = {a.key: a.value for a in request.attributes}
    assert attributes["aws.request_id"].string_value == request_id
    children = [s for s in spans if s is not request]
    assert sorted(s.name for s in children) == ["Init", "Invoke"]
    for child in children:
        assert child.parent_span_id.hex() == request_span
        attributes = {a.key: a.value for a in child.attributes}
        assert attributes["faas.invocation_id"].string_value == request_id
        assert attributes["faas.name"].string_value == name
        assert attributes["faas.coldstart"].bool_value is True
    invoke = next(s for s in children if s.name == "Invoke")
    assert seen["Parent"] == invoke.span_id.hex()
    assert request.start_time_unix_nano <= invoke.start_time_unix_nano <= invoke.end_time_unix_nano
    assert invoke.end_time_unix_nano <= request.end_time_unix_nano
    with receiver.lock:
        assert all(path == "/v1/traces" and kind == "application/x-protobuf" for path, kind in receiver.paths)


def test_an_invocation_without_a_trace_gets_a_new_one(client, server, make_name, receiver):
    name = make_name("fresh")
    create_function(client, name, zip_of({"hello.wasm": example_wasm("hello")}))
    resp = client.invoke(FunctionName=name, Payload=b"{}")
    header = resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-trace-id"]
    fields = dict(field.split("=", 1) for field in header.split(";"))
    version, seconds, rest = fields["Root"].split("-")
    assert version == "1" and abs(int(seconds, 16) - time.time()) < 60, header
    spans = wait_for(
        lambda: (s := receiver.of_trace(seconds + rest)) and len(s) >= 2 and s,
        timeout=SPAN_WAIT_S,
        what="the new trace's spans",
    )
    assert {s.name for s in spans} >= {"Invoke"}
    root = [s for s in spans if not s.parent_span_id]
    assert len(root) == 1 and root[0].span_id.hex() == fields["Parent"], spans
