"""CloudWatch Logs through boto3 and the AWS CLI v2: the function logs lambkin keeps, read with the
Logs API served on the same listener as the Lambda API.

What: every kind of invocation (RequestResponse, Event, InvokeWithResponseStream, a function URL)
writes its START / function output / END / REPORT lines as events of log group
`/aws/lambda/<function>`, in the stream `YYYY/MM/DD/[$LATEST]<32 hex>` of its execution environment
(the name the function sees in AWS_LAMBDA_LOG_STREAM_NAME); the Python and Node.js runtimes' lines
are events too. A provisioned environment's Init is logged when it runs, ahead of any invocation
(INIT_START in the stream `YYYY/MM/DD/[<version>]<32 hex>` its invocations then use, their REPORT
without Init Duration); a failed Init leaves INIT_START and INIT_REPORT. The API:
DescribeLogGroups / DescribeLogStreams (prefixes, ordering, paging), GetLogEvents (time windows,
forward paging until the token repeats, backward paging from the tail), FilterLogEvents (stream
selection, time windows, paging, the term forms of filter patterns),
CreateLogGroup / CreateLogStream / PutLogEvents / DeleteLogGroup, retention (PutRetentionPolicy
hides older events, DeleteRetentionPolicy), and CloudWatch's error types. Last, `aws logs tail
--follow` (CLI v2) shows an invocation made while it runs.

Why: `aws logs tail`, the SDKs' log readers and every tool that shows a function's logs read them
through this API; the invocation log tail (LogType=Tail) holds 4 KB of one invocation only.

Cost: about a minute. The function logs are written asynchronously, so every read of them polls
(every POLL_S, at most LOG_WAIT_S). The runtime test waits, on a fresh server, for the Python and
Node.js runtimes to compile (up to COMPILE_WAIT_S, once per data directory, shared with the
other runtime modules). The CLI test waits up to 5 s between two polls of the CLI's own --follow.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import pty
import re
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION, REPO
from helpers import (
    until_active,
    WAIT_S,
    create_function,
    example_wasm,
    http_request,
    invoke_event,
    invoke_stream,
    strip,
    wait_for,
    zip_of,
)

LOG_WAIT_S = 10.0  # how long function logs may take to become readable
POLL_S = 0.1
CLI_V2 = Path(os.environ.get("LAMBKIN_AWS_CLI_V2", "/usr/bin/aws"))
CLI_START_S = 60.0  # a CLI process's start and its first FilterLogEvents
TAIL_WAIT_S = 10.0  # from an invocation's return to its lines in `aws logs tail --follow`
MAX_PAGES = 200  # bound of every paging loop

# Lambda's log stream names: YYYY/MM/DD/[version]<32 hex digits> (stream_name(version)).
STREAM_NAME_FORMAT = r"^(\d{4})/(\d{2})/(\d{2})/\[%s\][0-9a-f]{32}$"
STREAM_NAME = re.compile(STREAM_NAME_FORMAT % re.escape("$LATEST"))
# The retentionInDays values CloudWatch Logs accepts.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip
DAY_MS = 24 * 3600 * 1000


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def stream_name(version: str) -> re.Pattern:
    """The log stream names of the environments of one version (or $LATEST)."""
    return re.compile(STREAM_NAME_FORMAT % re.escape(version))


def group_of(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def marker() -> str:
    """A string no other log line holds."""
    return f"marker-{uuid.uuid4().hex}"


def message(event: dict) -> str:
    """An event's message without a trailing newline (Lambda's own messages may end with one)."""
    return event["message"].rstrip("\n")


def messages(events) -> list[str]:
    return [message(e) for e in events]


def utc_dates(*times: float) -> set[tuple[str, str, str]]:
    """The UTC dates (year, month, day as in a stream name) of these time.time() values."""
    dates = set()
    for t in times:
        d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
        dates.add((f"{d.year:04d}", f"{d.month:02d}", f"{d.day:02d}"))
    return dates


def request_id_of(resp: dict) -> str:
    meta = resp["ResponseMetadata"]
    rid = meta.get("RequestId") or meta["HTTPHeaders"].get("x-amzn-requestid")
    assert rid, meta
    return rid


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def filter_all(logs, group: str, **kwargs) -> list[dict]:
    """FilterLogEvents on `group` following nextToken to the end; every event, in the order the
    pages gave them."""
    events, token = [], None
    for _ in range(MAX_PAGES):
        page = logs.filter_log_events(
            logGroupName=group, **kwargs, **({"nextToken": token} if token else {})
        )
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events
    raise AssertionError(f"FilterLogEvents on {group}: a nextToken after {MAX_PAGES} pages")


def get_all_forward(logs, group: str, stream: str, **kwargs) -> tuple[list[dict], list[int]]:
    """GetLogEvents with startFromHead=True, following nextForwardToken until it comes back
    unchanged (CloudWatch's end of the stream); (every event, the size of every page)."""
    events, sizes, token = [], [], None
    for _ in range(MAX_PAGES):
        page = logs.get_log_events(
            logGroupName=group,
            logStreamName=stream,
            startFromHead=True,
            **kwargs,
            **({"nextToken": token} if token else {}),
        )
        events.extend(page["events"])
        sizes.append(len(page["events"]))
        forward = page["nextForwardToken"]
        assert forward, page
        if forward == token:
            return events, sizes
        token = forward
    raise AssertionError(f"nextForwardToken of {group} {stream}: no repeat in {MAX_PAGES} pages")


def eventually(fetch, done, what: str, timeout: float = LOG_WAIT_S):
    """Call fetch() every POLL_S until done(its result) holds, and return that result; a
    ResourceNotFoundException (the group or stream is not written yet) counts as not done. Fails
    after `timeout` seconds with the last result."""
    last = {"value": "<nothing fetched yet>"}

    def attempt():
        try:
            value = fetch()
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise
            last["value"] = err.response.get("Error")
            return None
        last["value"] = value
        return (value,) if done(value) else None

    found = wait_for(
        attempt, timeout, interval=POLL_S, what=lambda: f"{what}; last: {last['value']}"
    )
    return found[0]


def lines_of(events, rid: str, version: str = "$LATEST") -> dict[str, list[dict]]:
    """The platform events of one request (of `version`): its START, END and REPORT events."""
    return {
        "START": [e for e in events if message(e) == f"START RequestId: {rid} Version: {version}"],
        "END": [e for e in events if message(e) == f"END RequestId: {rid}"],
        "REPORT": [
            e for e in events if message(e).startswith(f"REPORT RequestId: {rid}\tDuration: ")
        ],
    }


def logged(events, rid: str, version: str = "$LATEST") -> bool:
    """Whether START, END and REPORT of this request are all among the events."""
    return all(lines_of(events, rid, version).values())


def wait_logged(
    logs, group: str, rids, also=lambda events: True, version: str = "$LATEST", **kwargs
) -> list[dict]:
    """FilterLogEvents on the group (every event) once the START, END and REPORT of every request
    in `rids` (of `version`) are there, and also(events) holds."""
    rids = list(rids)
    return eventually(
        lambda: filter_all(logs, group, **kwargs),
        lambda evs: all(logged(evs, rid, version) for rid in rids) and also(evs),
        f"START/END/REPORT of {rids} in {group}",
    )


def assert_request_logged(events, rid: str, output=(), dates=None, version="$LATEST") -> str:
    """The one START, END and REPORT of request `rid` (of `version`) are in one stream, named as
    Lambda names them (on one of `dates`), in that order, with each line of `output` between START
    and END. Returns the stream's name."""
    found = lines_of(events, rid, version)
    for kind, hits in found.items():
        assert len(hits) == 1, (kind, rid, hits)
    streams = {hits[0]["logStreamName"] for hits in found.values()}
    assert len(streams) == 1, (rid, found)
    [stream] = streams
    m = stream_name(version).match(stream)
    assert m, (version, stream)
    if dates is not None:
        assert m.groups() in dates, (stream, dates)

    in_stream = [e for e in events if e["logStreamName"] == stream]
    ids = [e["eventId"] for e in in_stream]
    index = {kind: ids.index(hits[0]["eventId"]) for kind, hits in found.items()}
    assert index["START"] < index["END"] < index["REPORT"], (index, messages(in_stream))
    start_ts, end_ts = found["START"][0]["timestamp"], found["END"][0]["timestamp"]
    assert start_ts <= end_ts <= found["REPORT"][0]["timestamp"], found
    for line in output:
        hits = [i for i, e in enumerate(in_stream) if message(e) == line]
        assert hits, (line, messages(in_stream))
        assert all(index["START"] < i < index["END"] for i in hits), (line, messages(in_stream))
        assert all(start_ts <= in_stream[i]["timestamp"] <= end_ts for i in hits), in_stream
    return stream


def put_events(logs, group: str, stream: str, events) -> None:
    """PutLogEvents of (timestamp, message) pairs (in ascending timestamp order)."""
    resp = logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": ts, "message": text} for ts, text in events],
    )
    assert "rejectedLogEventsInfo" not in resp, resp


def invoke_sync(client, name: str, payload) -> str:
    """RequestResponse Invoke that must succeed; its request id."""
    resp = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    body = resp["Payload"].read()
    assert resp["StatusCode"] == 200, (resp, body)
    assert "FunctionError" not in resp, body
    return request_id_of(resp)


def at_once(lambkin, count: int, call):
    """Run call(client) in `count` threads released together, each with its own boto3 client;
    what each returned, in thread order (an exception is raised again)."""
    barrier = threading.Barrier(count)
    clients = [lambkin.make_client() for _ in range(count)]

    def one(c):
        barrier.wait(timeout=WAIT_S)
        return call(c)

    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(one, clients))
    finally:
        for c in clients:
            c.close()


def invoke_counter(client, name: str, sleep_ms: int = 0) -> tuple[str, dict]:
    """Invoke the `counter` example; (request id, its body: count, environment = log stream)."""
    resp = client.invoke(FunctionName=name, Payload=json.dumps({"sleep_ms": sleep_ms}).encode())
    raw = resp["Payload"].read()
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp, raw
    return request_id_of(resp), json.loads(raw)



def source_zip(example: str) -> bytes:
    """examples/<example> (a Python or Node.js function) zipped, its files at the zip's root."""
    root = REPO / "examples" / example
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and "node_modules" not in p.parts
    }
    assert files, root
    return zip_of(files)


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def logs(lambkin):
    """A boto3 CloudWatch Logs client on lambkin's listener (as conftest builds the Lambda one)."""
    client = boto3.client(
        "logs",
        endpoint_url=lambkin.endpoint,
        region_name=REGION,
        aws_access_key_id=lambkin.access_key_id,
        aws_secret_access_key=lambkin.secret_access_key,
        config=Config(retries={"max_attempts": 0}, connect_timeout=5, read_timeout=30),
    )
    yield client
    client.close()


def _delete_groups(logs, groups) -> None:
    for group in groups:
        try:
            logs.delete_log_group(logGroupName=group)
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass


@pytest.fixture
def make_group(logs):
    """Factory: a new log group (CreateLogGroup) with a unique name, and, given `streams`, those
    streams in it (CreateLogStream); returns the group's name. Deleted after the test."""
    made = []

    def make(label: str = "group", streams=()) -> str:
        group = f"/lambkin-interop/{label}-{uuid.uuid4().hex[:12]}"
        logs.create_log_group(logGroupName=group)
        made.append(group)
        for stream in streams:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        return group

    yield make
    _delete_groups(logs, made)


@pytest.fixture
def make_fn(client, make_name, logs):
    """Factory: an Active function running EXAMPLES/<example>.wasm; returns its name. The
    function is deleted after the test (make_name), its log group too."""
    groups = []

    def make(example: str, **extra) -> str:
        name = make_name(f"logs-{example}".replace("_", "-"))
        create_function(client, name, example_wasm(example), Handler=f"{example}.wasm", **extra)
        groups.append(group_of(name))
        return name

    yield make
    _delete_groups(logs, groups)


# ---------------------------------------------------------------------------------------------
# 1. What the invocations write
# ---------------------------------------------------------------------------------------------


def test_every_kind_of_invocation_is_logged_in_the_functions_group(client, logs, make_fn):
    # `escape` prints "my secret is <secret>" (stdout and stderr) for {"secret": ...}; a function
    # URL's event has no "secret", so that invocation prints nothing of its own.
    began = time.time()
    name = make_fn("escape")
    group = group_of(name)
    url = client.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    secrets = {kind: marker() for kind in ("sync", "event", "stream")}

    rids = {"sync": invoke_sync(client, name, {"secret": secrets["sync"]})}
    rids["event"] = invoke_event(client, name, {"secret": secrets["event"]})
    _chunks, _arrivals, complete, resp = invoke_stream(client, name, {"secret": secrets["stream"]})
    assert "ErrorCode" not in complete, complete
    rids["stream"] = request_id_of(resp)
    status, headers, body = http_request(url + "?from=url")
    assert status == 200, body
    rids["url"] = headers.get("x-amzn-requestid")
    assert rids["url"], headers
    assert len(set(rids.values())) == 4, rids

    outputs = {kind: [f"my secret is {secret}"] for kind, secret in secrets.items()}
    events = wait_logged(
        logs,
        group,
        rids.values(),
        also=lambda evs: all(
            line in messages(evs) for lines in outputs.values() for line in lines
        ),
    )

    dates = utc_dates(began, time.time())
    streams = {
        kind: assert_request_logged(events, rid, outputs.get(kind, ()), dates)
        for kind, rid in rids.items()
    }
    for e in events:
        assert set(e) >= {"logStreamName", "timestamp", "message", "ingestionTime", "eventId"}, e
        assert e["ingestionTime"] >= e["timestamp"] - 1000, e
    assert len({e["eventId"] for e in events}) == len(events), "eventIds repeat"
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps), "FilterLogEvents is not in timestamp order"

    # The sync invocation's stream read on its own, by FilterLogEvents and by GetLogEvents.
    stream = streams["sync"]
    only = filter_all(logs, group, logStreamNames=[stream])
    assert {e["logStreamName"] for e in only} == {stream}, only
    in_stream = [e["eventId"] for e in events if e["logStreamName"] == stream]
    assert [e["eventId"] for e in only] == in_stream, (messages(only), messages(events))
    got, _sizes = get_all_forward(logs, group, stream)
    assert messages(got) == messages(only), (messages(got), messages(only))
    for e in got:
        assert set(e) >= {"timestamp", "message", "ingestionTime"}, e


def test_a_streamed_response_is_logged(client, logs, make_fn):
    name = make_fn("stream")

    chunks, _arrivals, complete, resp = invoke_stream(client, name, {"chunks": 2, "pause_ms": 50})

    assert chunks == [b"chunk 0\n", b"chunk 1\n"]
    assert "ErrorCode" not in complete, complete
    rid = request_id_of(resp)
    events = wait_logged(logs, group_of(name), [rid])
    assert_request_logged(events, rid)
    # What the function streamed is its response, not its log.
    assert not [e for e in events if "chunk 0" in e["message"]], messages(events)


def test_each_environment_has_its_stream_and_streams_are_described(client, lambkin, logs, make_fn):
    # `counter` answers the AWS_LAMBDA_LOG_STREAM_NAME of its environment as "environment".
    name = make_fn("counter")
    group = group_of(name)

    # Two invocations at once: two environments, two streams.
    two = at_once(lambkin, 2, lambda c: invoke_counter(c, name, sleep_ms=1000))
    envs = {rid: body["environment"] for rid, body in two}
    assert len(set(envs.values())) == 2, two
    events = wait_logged(logs, group, envs)
    for rid, env in envs.items():
        assert STREAM_NAME.match(env), env
        assert assert_request_logged(events, rid) == env, (rid, env)
        got, _sizes = get_all_forward(logs, group, env)
        assert logged(got, rid), messages(got)

    # One more, after both ended: its stream holds the group's newest event.
    rid3, body3 = invoke_counter(client, name)
    env3 = body3["environment"]
    all_envs = set(envs.values()) | {env3}
    events = wait_logged(logs, group, [rid3])
    assert assert_request_logged(events, rid3) == env3

    [g] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert g["logGroupName"] == group, g
    assert "retentionInDays" not in g, g  # never expire, by default

    by_name = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in by_name] == sorted(all_envs), by_name

    def newest_first():
        return logs.describe_log_streams(
            logGroupName=group, orderBy="LastEventTime", descending=True
        )["logStreams"]

    newest = eventually(
        newest_first, lambda s: s and s[0]["logStreamName"] == env3, f"{env3} first"
    )
    assert {s["logStreamName"] for s in newest} == all_envs, newest
    stamps = [s["lastEventTimestamp"] for s in newest if "lastEventTimestamp" in s]
    assert stamps == sorted(stamps, reverse=True), newest
    oldest = logs.describe_log_streams(
        logGroupName=group, orderBy="LastEventTime", descending=False
    )["logStreams"]
    assert oldest[-1]["logStreamName"] == env3, oldest

    # Paging by one, and a prefix.
    paged, token = [], None
    for _ in range(MAX_PAGES):
        page = logs.describe_log_streams(
            logGroupName=group, limit=1, **({"nextToken": token} if token else {})
        )
        assert len(page["logStreams"]) <= 1, page
        paged += [s["logStreamName"] for s in page["logStreams"]]
        token = page.get("nextToken")
        if not token:
            break
    assert paged == sorted(all_envs), paged
    prefixed = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=env3)
    assert [s["logStreamName"] for s in prefixed["logStreams"]] == [env3], prefixed
    day = env3[: len("YYYY/MM/DD/")] + "[$LATEST]"
    prefixed = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=day)
    expected = {s for s in all_envs if s.startswith(day)}  # all of them, unless across midnight
    assert {s["logStreamName"] for s in prefixed["logStreams"]} == expected, prefixed
    nothing = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="no-such-prefix")
    assert nothing["logStreams"] == [], nothing


def test_python_and_node_runtime_lines_are_events(client, logs, make_name):
    fns = [
        (make_name("logs-py"), "python3.14", "python/hello", "lambda_function.lambda_handler"),
        (make_name("logs-node"), "nodejs22.x", "node/hello", "index.handler"),
    ]
    # Both created before either is awaited: the runtimes compile at once on a fresh server.
    for name, runtime, example, handler in fns:
        create_function(
            client, name, source_zip(example), wait=False, Runtime=runtime, Handler=handler
        )
    for name, *_ in fns:
        until_active(client, name)

    try:
        for name, *_ in fns:
            who = marker()
            resp = client.invoke(
                FunctionName=name, Payload=json.dumps({"name": who}).encode(), LogType="Tail"
            )
            raw = resp["Payload"].read()
            assert resp["StatusCode"] == 200 and "FunctionError" not in resp, raw
            rid = request_id_of(resp)
            tail = base64.b64decode(resp["LogResult"]).decode("utf-8", errors="replace")
            tail = tail.splitlines()
            # The runtime's line as the log tail has it: "<time>\t<id>\tINFO\t..." (Node.js) or
            # "[INFO]\t<time>\t<id>\t..." (Python).
            [line] = [x for x in tail if f"greeting {who} in {name}" in x]
            assert f"\t{rid}\t" in line, line

            events = wait_logged(
                logs, group_of(name), [rid], also=lambda evs: line in messages(evs)
            )
            assert_request_logged(events, rid, [line])
    finally:
        _delete_groups(logs, [group_of(name) for name, *_ in fns])


def json_records(events) -> list[dict]:
    """Every event parsed: a JSON-format function's log is JSON objects only."""
    records = []
    for e in events:
        record = json.loads(message(e))
        assert isinstance(record, dict), e
        records.append(record)
    return records


def test_a_json_format_functions_lines_are_lambdas_json_records(client, logs, make_name):
    # LoggingConfig LogFormat=JSON: the platform's records (platform.initStart, platform.start,
    # platform.runtimeDone, platform.report) and the runtimes' application records, one JSON
    # object per event; ApplicationLogLevel and SystemLogLevel filter them; levels need JSON.
    json_config = {"LogFormat": "JSON"}
    fns = [
        (make_name("json-py"), "python3.14", "python/hello", "lambda_function.lambda_handler"),
        (make_name("json-node"), "nodejs22.x", "node/hello", "index.handler"),
    ]
    for name, runtime, example, handler in fns:
        created = create_function(
            client, name, source_zip(example), wait=False, Runtime=runtime, Handler=handler,
            LoggingConfig=json_config,
        )
        assert created["LoggingConfig"]["ApplicationLogLevel"] == "INFO", created["LoggingConfig"]
        assert created["LoggingConfig"]["SystemLogLevel"] == "INFO", created["LoggingConfig"]
    for name, *_ in fns:
        until_active(client, name)
    try:
        for name, runtime, *_ in fns:
            who = marker()
            resp = client.invoke(FunctionName=name, Payload=json.dumps({"name": who}).encode())
            assert "FunctionError" not in resp, resp["Payload"].read()
            rid = request_id_of(resp)

            def complete(events):
                kinds = [r.get("type") for r in json_records(events)]
                return "platform.report" in kinds and any(who in message(e) for e in events)

            events = eventually(lambda: filter_all(logs, group_of(name)), complete, f"{name}'s JSON log")
            records = json_records(events)
            by_type = {r["type"]: r for r in records if "type" in r}
            assert set(by_type) == {
                "platform.initStart", "platform.start", "platform.runtimeDone", "platform.report"
            }, records
            for r in by_type.values():
                assert ISO_TIME.match(r["time"]), r
            init = by_type["platform.initStart"]["record"]
            assert init["initializationType"] == "on-demand" and init["phase"] == "init", init
            assert init["functionName"] == name and init["functionVersion"] == "$LATEST", init
            assert by_type["platform.start"]["record"] == {"requestId": rid, "version": "$LATEST"}
            assert by_type["platform.runtimeDone"]["record"] == {"requestId": rid, "status": "success"}
            report = by_type["platform.report"]["record"]
            assert report["requestId"] == rid and report["status"] == "success", report
            metrics = report["metrics"]
            assert metrics["memorySizeMB"] == 128 and metrics["billedDurationMs"] >= 1, metrics
            assert metrics["durationMs"] >= 0 and metrics["maxMemoryUsedMB"] > 0, metrics
            assert metrics["initDurationMs"] > 0, metrics
            [app] = [r for r in records if "type" not in r]
            assert app["level"] == "INFO" and app["requestId"] == rid, app
            assert app["message"] == f"greeting {who} in {name}", app
            assert ISO_TIME.match(app["timestamp"]), app

            # WARN for both: the INFO greeting and the INFO platform records are left out.
            client.update_function_configuration(
                FunctionName=name,
                LoggingConfig={"ApplicationLogLevel": "WARN", "SystemLogLevel": "WARN"},
            )
            updated = wait_for(
                lambda: (c := client.get_function_configuration(FunctionName=name))
                and c["LastUpdateStatus"] == "Successful" and c,
                what=f"{name} updated",
            )
            assert updated["LoggingConfig"]["ApplicationLogLevel"] == "WARN", updated["LoggingConfig"]
            quiet = client.invoke(FunctionName=name, Payload=json.dumps({"name": who}).encode(), LogType="Tail")
            assert "FunctionError" not in quiet, quiet["Payload"].read()
            tail = base64.b64decode(quiet["LogResult"]).decode()
            assert who not in tail and "platform." not in tail, tail

        # Levels need the JSON format.
        with pytest.raises(ClientError) as refused:
            client.update_function_configuration(
                FunctionName=fns[0][0], LoggingConfig={"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"}
            )
        assert error_code(refused.value) == "InvalidParameterValueException", refused.value.response
        with pytest.raises(ClientError) as refused:
            client.update_function_configuration(
                FunctionName=fns[0][0], LoggingConfig={"SystemLogLevel": "ERROR"}
            )
        assert error_code(refused.value) == "InvalidParameterValueException", refused.value.response
    finally:
        _delete_groups(logs, [group_of(name) for name, *_ in fns])


ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


INIT_START = "INIT_START Runtime Version:"
# logs.rs init_report_line: what a failed Init leaves after its INIT_START.
INIT_REPORT_ERROR = re.compile(
    r"^INIT_REPORT Init Duration: \d+\.\d{2} ms\tPhase: init\tStatus: error\tError Type: (\S+)$"
)


def wait_provisioned_ready(client, name: str, qualifier: str) -> dict:
    """GetProvisionedConcurrencyConfig until it leaves IN_PROGRESS (as test_provisioned.py
    waits); it must then be READY with its whole allocation available."""

    def settled():
        config = strip(
            client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        )
        return config if config["Status"] != "IN_PROGRESS" else None

    what = f"{name}:{qualifier} to leave IN_PROGRESS"
    config = wait_for(settled, WAIT_S, interval=0.05, what=what)
    assert config["Status"] == "READY", config
    requested = config["RequestedProvisionedConcurrentExecutions"]
    assert config["AvailableProvisionedConcurrentExecutions"] == requested, config
    return config


def test_a_provisioned_environments_init_is_logged(client, logs, make_fn):
    # A provisioned environment runs Init ahead of any invocation: its INIT_START is in the group
    # with nothing invoked, in the stream of that environment (named for version 1), and the
    # invocation it then serves is logged in that stream, its REPORT without Init Duration.
    began = time.time()
    name = make_fn("counter")
    group = group_of(name)
    published = client.publish_version(FunctionName=name)
    assert published["Version"] == "1", strip(published)
    put = client.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    assert put["Status"] in ("IN_PROGRESS", "READY"), strip(put)
    wait_provisioned_ready(client, name, "1")

    def init_starts(events):
        return [e for e in events if message(e).startswith(INIT_START)]

    events = eventually(
        lambda: filter_all(logs, group), lambda evs: init_starts(evs), f"{INIT_START} in {group}"
    )
    [init] = init_starts(events)
    stream = init["logStreamName"]
    m = stream_name("1").match(stream)
    assert m, (stream, messages(events))
    assert m.groups() in utc_dates(began, time.time()), stream
    assert not [e for e in events if message(e).startswith("START RequestId:")], messages(events)

    resp = client.invoke(FunctionName=name, Qualifier="1", Payload=b"{}")
    raw = resp["Payload"].read()
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp, raw
    assert resp["ExecutedVersion"] == "1", resp
    body = json.loads(raw)
    assert body["initializationType"] == "provisioned-concurrency", body
    assert body["environment"] == stream, (body, stream)
    rid = request_id_of(resp)

    events = wait_logged(logs, group, [rid], version="1")
    dates = utc_dates(began, time.time())
    assert assert_request_logged(events, rid, dates=dates, version="1") == stream
    [report] = lines_of(events, rid, "1")["REPORT"]
    assert "Init Duration" not in message(report), message(report)
    # The Init is logged once, ahead of the invocation, in the same stream.
    in_stream = [e for e in events if e["logStreamName"] == stream]
    assert [e["eventId"] for e in init_starts(events)] == [init["eventId"]], messages(events)
    [start] = lines_of(in_stream, rid, "1")["START"]
    assert in_stream.index(init) < in_stream.index(start), messages(in_stream)
    assert init["timestamp"] <= start["timestamp"], (init, start)


def test_a_failed_init_is_logged(client, logs, make_fn):
    # `counter` with FAIL_INIT=1 refuses its Init: the invocation fails with Init's error, and the
    # environment's stream holds INIT_START, then INIT_REPORT with Status: error.
    began = time.time()
    name = make_fn("counter", Environment={"Variables": {"FAIL_INIT": "1"}})
    group = group_of(name)

    resp = client.invoke(FunctionName=name, Payload=b"{}")
    raw = resp["Payload"].read()
    assert resp["StatusCode"] == 200, (resp, raw)
    assert resp.get("FunctionError") == "Unhandled", (resp, raw)
    assert json.loads(raw)["errorType"] == "CounterInitError", raw

    def init_lines(events):
        starts = [e for e in events if message(e).startswith(INIT_START)]
        reports = [e for e in events if INIT_REPORT_ERROR.match(message(e))]
        return starts, reports

    events = eventually(
        lambda: filter_all(logs, group),
        lambda evs: all(init_lines(evs)),
        f"{INIT_START} and a failed INIT_REPORT in {group}",
    )
    [start], [report] = init_lines(events)
    assert INIT_REPORT_ERROR.match(message(report)).group(1) == "CounterInitError", message(report)
    stream = start["logStreamName"]
    assert report["logStreamName"] == stream, (start, report)
    m = STREAM_NAME.match(stream)
    assert m, stream
    assert m.groups() in utc_dates(began, time.time()), stream
    in_stream = [e for e in events if e["logStreamName"] == stream]
    assert in_stream.index(start) < in_stream.index(report), messages(in_stream)
    assert start["timestamp"] <= report["timestamp"], (start, report)


# ---------------------------------------------------------------------------------------------
# 2. Reading: paging and windows (events put with PutLogEvents)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def put25(logs, make_group):
    """A group with one stream of 25 events, one second apart, ending a minute ago:
    (group, stream, [(timestamp, message)], the time just before the put in ms)."""
    stream = "paging"
    group = make_group("paging", streams=[stream])
    base = now_ms() - 90_000
    tag = uuid.uuid4().hex[:8]
    sent = [(base + i * 1000, f"event {i:02d} of {tag}") for i in range(25)]
    before = now_ms()
    put_events(logs, group, stream, sent)
    eventually(lambda: filter_all(logs, group), lambda evs: len(evs) == 25, "the 25 events")
    return group, stream, sent, before


def test_filter_log_events_pages_with_next_token(logs, put25):
    group, stream, sent, before = put25

    pages, token = [], None
    for _ in range(MAX_PAGES):
        page = logs.filter_log_events(
            logGroupName=group, limit=10, **({"nextToken": token} if token else {})
        )
        assert len(page["events"]) <= 10, page
        pages.append(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    else:
        raise AssertionError("nextToken never ended")

    got = [e for page in pages for e in page]
    assert [(e["timestamp"], message(e)) for e in got] == sent
    assert len([p for p in pages if p]) >= 3, [len(p) for p in pages]
    assert len({e["eventId"] for e in got}) == 25, got
    read = now_ms()
    for e in got:
        assert e["logStreamName"] == stream, e
        assert before - 1000 <= e["ingestionTime"] <= read + 1000, (before, read, e)


def test_get_log_events_pages_forward_until_the_token_repeats(logs, put25):
    group, stream, sent, _before = put25

    got, sizes = get_all_forward(logs, group, stream, limit=10)

    assert [(e["timestamp"], message(e)) for e in got] == sent, sizes
    assert all(size <= 10 for size in sizes), sizes
    assert len([s for s in sizes if s]) >= 3, sizes
    for e in got:
        assert set(e) >= {"timestamp", "message", "ingestionTime"}, e


def test_get_log_events_reads_the_tail_then_pages_backward(logs, put25):
    group, stream, sent, _before = put25

    last = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10)
    assert [(e["timestamp"], message(e)) for e in last["events"]] == sent[-10:]

    pages, token = [last["events"]], last["nextBackwardToken"]
    for _ in range(MAX_PAGES):
        page = logs.get_log_events(
            logGroupName=group, logStreamName=stream, limit=10, nextToken=token
        )
        assert len(page["events"]) <= 10, page
        pages.append(page["events"])
        backward = page["nextBackwardToken"]
        if backward == token:
            break
        token = backward
    else:
        raise AssertionError("nextBackwardToken never repeated")
    got = [e for page in reversed(pages) for e in page]
    assert [(e["timestamp"], message(e)) for e in got] == sent, [len(p) for p in pages]


def test_time_windows(logs, put25):
    group, stream, sent, _before = put25
    # Half-way between events, so that neither bound falls on an event.
    start, end = sent[5][0] - 500, sent[9][0] + 500

    filtered = filter_all(logs, group, startTime=start, endTime=end)
    got = logs.get_log_events(
        logGroupName=group, logStreamName=stream, startTime=start, endTime=end, startFromHead=True
    )

    assert [(e["timestamp"], message(e)) for e in filtered] == sent[5:10]
    assert [(e["timestamp"], message(e)) for e in got["events"]] == sent[5:10]
    assert filter_all(logs, group, startTime=sent[-1][0] + 500) == []


def test_filter_by_stream_names_and_prefix(logs, make_group):
    group = make_group("streams", streams=["alpha-1", "alpha-2", "beta-1"])
    base = now_ms() - 10_000
    for i, stream in enumerate(["alpha-1", "alpha-2", "beta-1"]):
        put_events(logs, group, stream, [(base + i * 1000, f"in {stream}")])
    eventually(lambda: filter_all(logs, group), lambda evs: len(evs) == 3, "the 3 events")

    def streams_of(**kwargs):
        return [e["logStreamName"] for e in filter_all(logs, group, **kwargs)]

    assert streams_of() == ["alpha-1", "alpha-2", "beta-1"]
    assert streams_of(logStreamNames=["beta-1", "alpha-1"]) == ["alpha-1", "beta-1"]
    assert streams_of(logStreamNamePrefix="alpha") == ["alpha-1", "alpha-2"]
    assert streams_of(logStreamNamePrefix="gamma") == []
    resp = logs.filter_log_events(logGroupName=group, logStreamNamePrefix="beta")
    assert messages(resp["events"]) == ["in beta-1"]
    assert isinstance(resp.get("searchedLogStreams", []), list), resp


# ---------------------------------------------------------------------------------------------
# 3. Log groups
# ---------------------------------------------------------------------------------------------


def test_describe_log_groups_by_prefix_and_pages(logs):
    prefix = f"/lambkin-interop/describe-{uuid.uuid4().hex[:12]}/"
    names = [prefix + suffix for suffix in ("c", "a", "b")]
    try:
        for name in names:
            logs.create_log_group(logGroupName=name)

        paged, token = [], None
        for _ in range(MAX_PAGES):
            page = logs.describe_log_groups(
                logGroupNamePrefix=prefix, limit=2, **({"nextToken": token} if token else {})
            )
            assert len(page["logGroups"]) <= 2, page
            paged += [g["logGroupName"] for g in page["logGroups"]]
            token = page.get("nextToken")
            if not token:
                break
        assert paged == sorted(names), paged

        one = logs.describe_log_groups(logGroupNamePrefix=prefix + "b")["logGroups"]
        assert [g["logGroupName"] for g in one] == [prefix + "b"], one
        assert "creationTime" in one[0], one

        logs.delete_log_group(logGroupName=prefix + "b")
        left = logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]
        assert [g["logGroupName"] for g in left] == [prefix + "a", prefix + "c"], left
    finally:
        _delete_groups(logs, names)


def test_deleting_a_group_deletes_its_events(logs, make_group):
    group = make_group("deleted", streams=["s"])
    put_events(logs, group, "s", [(now_ms(), "soon gone")])
    eventually(lambda: filter_all(logs, group), lambda evs: len(evs) == 1, "the event")

    logs.delete_log_group(logGroupName=group)

    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.filter_log_events(logGroupName=group)
    # Created again, it is empty.
    logs.create_log_group(logGroupName=group)
    assert logs.describe_log_streams(logGroupName=group)["logStreams"] == []
    assert filter_all(logs, group) == []


# ---------------------------------------------------------------------------------------------
# 4. Filter patterns
# ---------------------------------------------------------------------------------------------

PATTERN_LINES = [
    "ERROR timeout while calling the database",  # 0
    "ERROR disk full",  # 1
    "WARN timeout approaching",  # 2
    "INFO the request took too long today",  # 3
    "INFO too long it took",  # 4
    "error in lower case after a timeout",  # 5
    "ERROR timeout, will retry",  # 6
]


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("", [0, 1, 2, 3, 4, 5, 6]),
        ("ERROR timeout", [0, 6]),  # every term
        ("timeout ERROR", [0, 6]),  # in any order
        ("error", [5]),  # case-sensitive
        ('"took too long"', [3]),  # a phrase, as it is
        ('ERROR "disk full"', [1]),
        ("?WARN ?disk", [1, 2]),  # either
        ("ERROR -retry", [0, 1]),  # not
        ("timeout -ERROR", [2, 5]),
        ("nowhere", []),
    ],
)
def test_filter_patterns(logs, make_group, pattern, expected):
    group = make_group("patterns", streams=["s"])
    base = now_ms() - 60_000
    put_events(logs, group, "s", [(base + i * 1000, line) for i, line in enumerate(PATTERN_LINES)])
    eventually(
        lambda: filter_all(logs, group), lambda evs: len(evs) == len(PATTERN_LINES), "the events"
    )

    got = messages(filter_all(logs, group, filterPattern=pattern))

    assert got == [PATTERN_LINES[i] for i in expected], pattern


def test_filter_pattern_on_function_logs(client, logs, make_fn):
    name = make_fn("escape")
    group = group_of(name)
    keep, drop = marker(), marker()
    rid_keep = invoke_sync(client, name, {"secret": keep})
    rid_drop = invoke_sync(client, name, {"secret": drop})
    wait_logged(logs, group, [rid_keep, rid_drop])

    starts = messages(filter_all(logs, group, filterPattern='"START RequestId:"'))
    assert starts == [
        f"START RequestId: {rid_keep} Version: $LATEST",
        f"START RequestId: {rid_drop} Version: $LATEST",
    ], starts
    secrets = messages(filter_all(logs, group, filterPattern=f'secret -"{drop}"'))
    assert secrets and set(secrets) == {f"my secret is {keep}"}, secrets


# ---------------------------------------------------------------------------------------------
# 5. Retention
# ---------------------------------------------------------------------------------------------


def test_retention_hides_older_events(logs, make_group):
    stream = "retained"
    group = make_group("retention", streams=[stream])
    now = now_ms()
    # Two requests: a batch of PutLogEvents may not span more than 24 hours.
    put_events(logs, group, stream, [(now - 3 * DAY_MS, "three days old")])
    put_events(logs, group, stream, [(now, "recent")])

    def both_ways():
        filtered = messages(filter_all(logs, group))
        got, _sizes = get_all_forward(logs, group, stream)
        return filtered, messages(got)

    expected_both = (["three days old", "recent"], ["three days old", "recent"])
    eventually(both_ways, lambda got: got == expected_both, "both events")

    logs.put_retention_policy(logGroupName=group, retentionInDays=1)

    [g] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert g["retentionInDays"] == 1, g
    eventually(both_ways, lambda got: got == (["recent"], ["recent"]), "only the recent event")

    logs.delete_retention_policy(logGroupName=group)

    [g] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert "retentionInDays" not in g, g
    assert "recent" in both_ways()[0]


def test_every_retention_cloudwatch_allows_is_accepted(logs, make_group):
    group = make_group("retention-values")
    for days in RETENTION_DAYS:
        logs.put_retention_policy(logGroupName=group, retentionInDays=days)
        [g] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert g.get("retentionInDays") == days, g


# ---------------------------------------------------------------------------------------------
# 6. Errors
# ---------------------------------------------------------------------------------------------


def test_errors_are_cloudwatch_logs_errors(logs, make_group):
    missing = f"/lambkin-interop/missing-{uuid.uuid4().hex}"
    group = make_group("errors", streams=["s"])

    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.delete_log_group(logGroupName=missing)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName=group, logStreamName="no-such-stream")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName=missing, logStreamName="s")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.describe_log_streams(logGroupName=missing)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.filter_log_events(logGroupName=missing)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_log_events(
            logGroupName=group,
            logStreamName="no-such-stream",
            logEvents=[{"timestamp": now_ms(), "message": "x"}],
        )
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_retention_policy(logGroupName=missing, retentionInDays=1)
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName="s")
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.put_retention_policy(logGroupName=group, retentionInDays=2)
    [g] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert "retentionInDays" not in g, g  # the refused policy left nothing behind


# ---------------------------------------------------------------------------------------------
# 7. aws logs tail --follow (CLI v2)
# ---------------------------------------------------------------------------------------------


class Tail:
    """A running CLI command whose stdout is a pseudo-terminal (so the CLI writes it line by line,
    as to a terminal), read by a thread, as is its stderr."""

    def __init__(self, argv: list[str], env: dict, cwd: Path):
        self.argv = argv
        master, slave = pty.openpty()
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=slave,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._master = master
        self._lock = threading.Lock()
        self._out = bytearray()
        self._err = bytearray()
        self._threads = [
            threading.Thread(target=self._pump, args=(self._read_pty, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self._read_err, self._err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_pty(self) -> bytes:
        try:
            return os.read(self._master, 65536)
        except OSError:  # EIO: the command ended and closed the terminal
            return b""

    def _read_err(self) -> bytes:
        return self.proc.stderr.read1(65536)

    def _pump(self, read, into: bytearray) -> None:
        while True:
            data = read()
            if not data:
                return
            with self._lock:
                into.extend(data)

    def output(self) -> str:
        with self._lock:
            return self._out.decode("utf-8", errors="replace")

    def report(self, what: str) -> str:
        with self._lock:
            err = self._err.decode("utf-8", errors="replace")
        return (
            f"{what}\n$ {' '.join(self.argv)}\nexit code: {self.proc.poll()}\n"
            f"--- stdout\n{self.output()[-4000:]}\n--- stderr\n{err[-4000:]}"
        )

    def wait_for(self, text: str, timeout: float) -> float:
        """Wait until stdout holds `text`; the time.monotonic() it was seen. Fails when `timeout`
        seconds pass or the command ends first."""
        deadline = time.monotonic() + timeout
        while True:
            if text in self.output():
                return time.monotonic()
            if self.proc.poll() is not None:
                time.sleep(0.2)  # what it wrote last
                if text in self.output():
                    return time.monotonic()
                raise AssertionError(self.report(f"the command ended before printing {text!r}"))
            if time.monotonic() > deadline:
                raise AssertionError(self.report(f"{text!r} not printed within {timeout:.0f} s"))
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for t in self._threads:
            t.join(timeout=5)
        os.close(self._master)
        self.proc.stderr.close()


def cli_env(lambkin, workdir: Path) -> dict:
    """The CLI's environment as test_cli.py makes it: the keys and region of the suite, no pager,
    none of the user's configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=lambkin.access_key_id,
        AWS_SECRET_ACCESS_KEY=lambkin.secret_access_key,
        AWS_DEFAULT_REGION=REGION,
        AWS_PAGER="",
        AWS_CONFIG_FILE=str(workdir / "no-such-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-such-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CLI_AUTO_PROMPT="off",
        PYTHONUNBUFFERED="1",
    )
    return env


def test_aws_cli_v2_logs_tail_follows_new_invocations(client, lambkin, logs, make_fn, tmp_path):
    if not CLI_V2.is_file():
        pytest.fail(
            f"AWS CLI v2 not found at {CLI_V2} (apt-get install awscli, or set LAMBKIN_AWS_CLI_V2)",
            pytrace=False,
        )
    name = make_fn("escape")
    group = group_of(name)
    # A first invocation: the group exists (the tail would exit on a missing one), and what the
    # tail prints first (the last ten minutes) shows that it is polling.
    first = marker()
    first_rid = invoke_sync(client, name, {"secret": first})
    wait_logged(logs, group, [first_rid])

    argv = [
        str(CLI_V2), "logs", "tail", group, "--follow", "--format", "short", "--since", "10m",
        "--endpoint-url", lambkin.endpoint, "--region", REGION, "--color", "off",
    ]  # fmt: skip
    tail = Tail(argv, cli_env(lambkin, tmp_path), tmp_path)
    try:
        tail.wait_for(f"START RequestId: {first_rid}", CLI_START_S)
        tail.wait_for(f"my secret is {first}", 1.0)

        second = marker()
        second_rid = invoke_sync(client, name, {"secret": second})
        returned = time.monotonic()

        seen = tail.wait_for(f"my secret is {second}", TAIL_WAIT_S)
        assert seen - returned <= TAIL_WAIT_S
        remaining = max(returned + TAIL_WAIT_S - time.monotonic(), 1.0)
        tail.wait_for(f"START RequestId: {second_rid}", remaining)
        tail.wait_for(f"REPORT RequestId: {second_rid}", remaining)
        # --follow never prints an event twice (it keeps the eventIds of the newest timestamp).
        out = tail.output()
        assert out.count(f"START RequestId: {first_rid}") == 1, tail.report("printed twice")
    finally:
        tail.stop()
