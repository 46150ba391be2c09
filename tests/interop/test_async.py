"""Asynchronous invocations (InvocationType=Event) through boto3: the 202 and the payload checks
of the front door, then delivery by the workers with the event-invoke config of the qualifier
invoked: retries, maximum event age, reserved concurrency 0, and the invocation records sent to
OnSuccess/OnFailure destinations (another function, invoked asynchronously, or a webhook).

This module runs its own server with `--async-time-scale 0.001`: the retry delays (60 s, 120 s)
become 60 ms and 120 ms and MaximumEventAgeInSeconds=60 becomes 60 ms. Webhook destinations point
at a receiver in this process (helpers.Webhook); every test takes its own URL on it and makes its
own functions, so tests are independent of each other.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from conftest import name_factory, own_server, unique_name
from helpers import FUNCTION_ARN_PREFIX as ARN
from helpers import (
    client_error,
    create_function,
    example_wasm,
    invoke_event,
    status_of,
)

TIME_SCALE = "0.001"
MAX_ASYNC_PAYLOAD = 256 * 1024
GRACE_S = 1.0  # how long "nothing more arrives" is watched (delays are ms at this time scale)

RECORD_KEYS = {
    "version",
    "timestamp",
    "requestContext",
    "requestPayload",
    "responseContext",
    "responsePayload",
}
RECORD_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
FAIL_ERROR = {"errorType": "InvalidInputError", "errorMessage": "the event was refused on purpose"}


# ---------------------------------------------------------------------------------------------
# fixtures (this module's own server; `client` and `make_name` override conftest's)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with own_server(tmp_path_factory, "lambkin-async", ["--async-time-scale", TIME_SCALE]) as s:
        yield s


@pytest.fixture
def client(server):
    return server.client


@pytest.fixture
def make_name(server):
    yield from name_factory(server)


@pytest.fixture
def make_fn(client, make_name):
    """Factory: an Active function running the example component <example>; returns its name."""

    def make(example: str, **extra) -> str:
        name = make_name(f"async-{example}")
        create_function(client, name, example_wasm(example), **extra)
        return name

    return make


def destinations(client, name: str, *, on_success=None, on_failure=None, **config) -> dict:
    """PutFunctionEventInvokeConfig with these destinations (and other settings)."""
    dest = {}
    if on_success is not None:
        dest["OnSuccess"] = {"Destination": on_success}
    if on_failure is not None:
        dest["OnFailure"] = {"Destination": on_failure}
    return client.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig=dest, **config
    )


def assert_record_shape(record) -> None:
    """The envelope every invocation record shares."""
    assert isinstance(record, dict), record
    assert set(record) == RECORD_KEYS, record
    assert record["version"] == "1.0", record
    assert RECORD_TIMESTAMP.match(record["timestamp"]), record["timestamp"]


# ---------------------------------------------------------------------------------------------
# a. the 202 and the Success record
# ---------------------------------------------------------------------------------------------


def test_event_invoke_is_accepted_and_success_record_delivered(client, make_fn, webhook):
    name = make_fn("hello")
    url = webhook.url("success")
    destinations(client, name, on_success=url)

    resp = client.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"name": "Ada"}).encode()
    )
    assert resp["StatusCode"] == 202
    assert status_of(resp) == 202
    assert resp["Payload"].read() == b""
    assert "FunctionError" not in resp
    request_id = resp["ResponseMetadata"]["RequestId"]
    assert request_id
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == request_id

    webhook.wait_records(url)
    [delivery] = webhook.deliveries(url)
    assert (delivery.content_type or "").split(";")[0].strip() == "application/json", delivery
    record = delivery.body
    assert_record_shape(record)
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": ARN + name + ":$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"name": "Ada"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert "functionError" not in record["responseContext"]
    assert record["responsePayload"] == {"message": "Hello, Ada!"}


# ---------------------------------------------------------------------------------------------
# b. what the front door refuses
# ---------------------------------------------------------------------------------------------


def test_async_payload_limit(client, make_fn):
    name = make_fn("hello")
    # A JSON string of n characters is n + 2 bytes.
    at_limit = json.dumps({"name": "x" * (MAX_ASYNC_PAYLOAD - len('{"name": ""}'))}).encode()
    over = json.dumps("x" * (MAX_ASYNC_PAYLOAD - 1)).encode()
    assert (len(at_limit), len(over)) == (MAX_ASYNC_PAYLOAD, MAX_ASYNC_PAYLOAD + 1)

    invoke_event(client, name, at_limit)
    with client_error("RequestEntityTooLargeException", 413):
        client.invoke(FunctionName=name, InvocationType="Event", Payload=over)


def test_async_payload_that_is_not_json_is_rejected(client, make_fn):
    name = make_fn("hello")

    with client_error("InvalidRequestContentException", 400):
        client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{not json")


def test_async_invoke_of_missing_function(client, make_name):
    with client_error("ResourceNotFoundException", 404):
        client.invoke(FunctionName=make_name("missing"), InvocationType="Event", Payload=b"{}")


def test_dry_run_is_still_204(client, make_fn, webhook):
    name = make_fn("hello")
    url = webhook.url("dry-run")
    destinations(client, name, on_success=url, on_failure=url)

    resp = client.invoke(FunctionName=name, InvocationType="DryRun", Payload=b'{"name":"Ada"}')

    assert resp["StatusCode"] == 204
    assert status_of(resp) == 204
    assert resp["Payload"].read() == b""
    time.sleep(GRACE_S)
    assert webhook.attempts(url) == 0, webhook.records(url)  # a dry run queues nothing


# ---------------------------------------------------------------------------------------------
# c. the acceptance test: failure record -> function destination -> its Success record
# ---------------------------------------------------------------------------------------------


def test_failure_record_reaches_a_function_destination(client, make_fn, webhook):
    fail = make_fn("fail")
    echo = make_fn("echo")
    url = webhook.url("chain")
    destinations(client, fail, on_failure=ARN + echo, MaximumRetryAttempts=2)
    destinations(client, echo, on_success=url)

    request_id = invoke_event(client, fail, {"order": 42})

    [outer] = webhook.wait_records(url)
    # echo's own Success record ...
    assert_record_shape(outer)
    assert outer["requestContext"]["functionArn"] == ARN + echo + ":$LATEST", outer
    assert outer["requestContext"]["condition"] == "Success", outer
    assert outer["requestContext"]["approximateInvokeCount"] == 1, outer
    assert outer["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    # ... whose event (echoed back in its response) is fail's failure record, field for field.
    failure = outer["responsePayload"]["event"]
    assert set(failure) == RECORD_KEYS, failure
    assert failure["version"] == "1.0"
    assert RECORD_TIMESTAMP.match(failure["timestamp"]), failure["timestamp"]
    assert failure["requestContext"] == {
        "requestId": request_id,
        "functionArn": ARN + fail + ":$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert failure["requestPayload"] == {"order": 42}
    assert failure["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert failure["responsePayload"] == FAIL_ERROR
    assert outer["requestPayload"] == failure  # echo was invoked with the record as its event


# ---------------------------------------------------------------------------------------------
# d./e. retries and maximum event age
# ---------------------------------------------------------------------------------------------


def test_no_retries_means_one_attempt(client, make_fn, webhook):
    fail = make_fn("fail")
    url = webhook.url("no-retries")
    destinations(client, fail, on_failure=url, MaximumRetryAttempts=0)

    request_id = invoke_event(client, fail, {"attempt": "once"})

    [record] = webhook.wait_records(url)
    assert_record_shape(record)
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": ARN + fail + ":$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"attempt": "once"}
    assert record["responseContext"]["functionError"] == "Unhandled", record
    assert record["responsePayload"] == FAIL_ERROR


@pytest.fixture(scope="module")
def coarse_server(tmp_path_factory):
    """A server whose delays are scaled by 0.02, not 0.001: MaximumEventAgeInSeconds=60 is 1.2 s,
    a window the first attempt meets even on a loaded machine."""
    with own_server(tmp_path_factory, "lambkin-async-coarse", ["--async-time-scale", "0.02"]) as s:
        yield s


def test_event_older_than_maximum_age_is_dropped(coarse_server, webhook):
    client = coarse_server.client
    fail = unique_name("async-fail")
    create_function(client, fail, example_wasm("fail"))
    url = webhook.url("too-old")
    # 60 s of event age is 1.2 s at this time scale; the first retry comes 60 s (1.2 s) after the
    # first attempt, so the event is too old by then, whenever the first attempt started.
    destinations(
        client, fail, on_failure=url, MaximumRetryAttempts=2, MaximumEventAgeInSeconds=60
    )

    request_id = invoke_event(client, fail, {"late": True})

    [record] = webhook.wait_records(url)
    assert_record_shape(record)
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": ARN + fail + ":$LATEST",
        "condition": "EventAgeExceeded",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"late": True}


# ---------------------------------------------------------------------------------------------
# f. reserved concurrency 0
# ---------------------------------------------------------------------------------------------


def test_zero_reserved_concurrency_goes_straight_to_on_failure(client, make_fn, webhook):
    name = make_fn("hello")
    ok_url, failed_url = webhook.url("zero-ok"), webhook.url("zero-failed")
    destinations(client, name, on_success=ok_url, on_failure=failed_url)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)

    request_id = invoke_event(client, name, {"name": "nobody"})

    [record] = webhook.wait_records(failed_url)
    assert_record_shape(record)
    assert record["requestContext"]["requestId"] == request_id, record
    assert record["requestContext"]["functionArn"] == ARN + name + ":$LATEST", record
    assert record["requestContext"]["approximateInvokeCount"] == 0, record
    assert record["requestPayload"] == {"name": "nobody"}
    # The function never ran: no success, and still exactly one failure record.
    time.sleep(GRACE_S)
    assert webhook.attempts(ok_url) == 0, webhook.records(ok_url)
    assert len(webhook.records(failed_url)) == 1, webhook.records(failed_url)


# ---------------------------------------------------------------------------------------------
# g. aliases and versions
# ---------------------------------------------------------------------------------------------


def test_event_invoke_of_an_alias_uses_the_alias_config(client, make_fn, webhook):
    name = make_fn("hello")
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    live_url, latest_url = webhook.url("live"), webhook.url("latest")
    destinations(client, name, on_success=latest_url, on_failure=latest_url)
    client.put_function_event_invoke_config(
        FunctionName=name,
        Qualifier="live",
        DestinationConfig={"OnSuccess": {"Destination": live_url}},
    )

    request_id = invoke_event(client, name, {"name": "Live"}, Qualifier="live")

    [record] = webhook.wait_records(live_url)
    assert_record_shape(record)
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": ARN + name + ":live",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "1"}
    assert record["responsePayload"] == {"message": "Hello, Live!"}
    time.sleep(GRACE_S)
    assert webhook.attempts(latest_url) == 0, webhook.records(latest_url)  # $LATEST's config


# ---------------------------------------------------------------------------------------------
# h. webhook retries
# ---------------------------------------------------------------------------------------------


def test_webhook_errors_are_retried_until_accepted(client, make_fn, webhook):
    name = make_fn("hello")
    url = webhook.url("flaky")
    webhook.refuse_first(url, 500, 500)
    destinations(client, name, on_success=url)

    request_id = invoke_event(client, name, {"name": "Retry"})

    [record] = webhook.wait_records(url)
    assert record["requestContext"]["requestId"] == request_id, record
    assert record["requestContext"]["condition"] == "Success", record
    assert record["responsePayload"] == {"message": "Hello, Retry!"}
    time.sleep(GRACE_S)
    assert webhook.attempts(url) == 3  # two refusals, then the one accepted
    assert len(webhook.records(url)) == 1, webhook.records(url)


# ---------------------------------------------------------------------------------------------
# i. throttles back off instead of failing
# ---------------------------------------------------------------------------------------------


def test_throttled_events_back_off_and_are_all_delivered(client, make_fn, webhook):
    """Reserved concurrency 1 and five slow events at once: the worker's extra deliveries are
    throttled (429) and retried with backoff, never counted as attempts, until each event has run
    exactly once."""
    name = make_fn("stream")
    url = webhook.url("throttled")
    destinations(client, name, on_success=url)
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)

    ids = {invoke_event(client, name, {"chunks": 2, "pause_ms": 100, "n": n}): n for n in range(5)}

    records = webhook.wait_records(url, count=5)
    assert {r["requestContext"]["requestId"] for r in records} == set(ids), records
    assert {r["requestPayload"]["n"] for r in records} == set(range(5))
    # A throttle is not an invocation: each event ran once.
    assert all(r["requestContext"]["approximateInvokeCount"] == 1 for r in records), records
    assert all(r["requestContext"]["condition"] == "Success" for r in records), records
