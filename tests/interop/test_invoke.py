"""boto3 against lambkin's synchronous Invoke: RequestResponse and DryRun, log tails, function
errors (handled, panics, timeouts), client context, payload validation, versions and weighted
aliases, warm instance reuse. Event (asynchronous) invocations are in test_async.py and
test_async_durability.py.

Every test makes its own functions (unique names, deleted afterwards), so tests are independent
of each other.
"""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import helpers
from helpers import WAIT_S, client_error, example_wasm, status_of

HANDLER = "x.wasm"  # this module's default handler (helpers.HANDLER is hello.wasm)
POLL_S = 0.05
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def wait_settled(client, name: str) -> dict:
    """GetFunctionConfiguration until the function is Active and no update is in progress
    (every POLL_S, at most WAIT_S seconds)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        cfg = client.get_function_configuration(FunctionName=name)
        if cfg.get("State") == "Active" and cfg.get("LastUpdateStatus") != "InProgress":
            return cfg
        if cfg.get("State") == "Failed" or time.monotonic() > deadline:
            raise AssertionError(f"{name} did not become Active within {WAIT_S:.0f} s: {cfg}")
        time.sleep(POLL_S)


def create_function(client, name: str, code: bytes, **extra) -> dict:
    """CreateFunction with the suite's defaults (but handler x.wasm), then wait until the
    function is Active and settled."""
    resp = helpers.create_function(client, name, code, wait=False, **{"Handler": HANDLER, **extra})
    wait_settled(client, name)
    return resp


def invoke(client, name: str, payload=None, **kwargs) -> dict:
    """Invoke with a JSON-encoded payload (when given); returns the response with the Payload
    stream read into bytes under "Body"."""
    if payload is not None:
        kwargs["Payload"] = json.dumps(payload).encode()
    resp = client.invoke(FunctionName=name, **kwargs)
    resp["Body"] = resp["Payload"].read()
    return resp


def body_json(resp: dict):
    return json.loads(resp["Body"])


def log_tail(resp: dict) -> str:
    assert "LogResult" in resp, resp
    return base64.b64decode(resp["LogResult"]).decode("utf-8", errors="replace")


@pytest.fixture
def example_fn(client, make_name):
    """Factory: an Active function running EXAMPLES/<example>.wasm (extra CreateFunction params
    allowed); returns its name."""

    def make(example: str, **extra) -> str:
        name = make_name(example.replace("_", "-"))
        create_function(client, name, example_wasm(example), **extra)
        return name

    return make


# ---------------------------------------------------------------------------------------------
# 1. RequestResponse
# ---------------------------------------------------------------------------------------------


def test_request_response_returns_handler_result(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)

    resp = invoke(client, function_name, {"name": "Ada"}, InvocationType="RequestResponse")

    assert resp["StatusCode"] == 200
    assert status_of(resp) == 200
    assert body_json(resp) == {"message": "Hello, Ada!"}
    assert resp["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in resp


def test_request_response_is_the_default_invocation_type(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)

    resp = invoke(client, function_name, {"name": "Grace"})

    assert resp["StatusCode"] == 200
    assert body_json(resp) == {"message": "Hello, Grace!"}
    assert "FunctionError" not in resp
    assert "LogResult" not in resp  # LogType defaults to None


# ---------------------------------------------------------------------------------------------
# 2. LogType=Tail
# ---------------------------------------------------------------------------------------------


def test_log_tail_reports_init_duration_only_on_cold_start(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)

    cold = invoke(client, function_name, {"name": "Ada"}, LogType="Tail")
    warm = invoke(client, function_name, {"name": "Ada"}, LogType="Tail")

    for resp in (cold, warm):
        assert resp["StatusCode"] == 200
        assert body_json(resp) == {"message": "Hello, Ada!"}
        tail = log_tail(resp)
        for marker in ("START RequestId:", "END RequestId:", "REPORT RequestId:"):
            assert marker in tail, tail
    assert "Init Duration" in log_tail(cold), log_tail(cold)
    assert "Init Duration" not in log_tail(warm), log_tail(warm)


# ---------------------------------------------------------------------------------------------
# 3. Function errors
# ---------------------------------------------------------------------------------------------


def test_handled_error_is_unhandled_function_error(client, example_fn):
    name = example_fn("fail")

    resp = invoke(client, name, {})

    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    assert body_json(resp) == {
        "errorType": "InvalidInputError",
        "errorMessage": "the event was refused on purpose",
    }


def test_panic_is_runtime_exit_error(client, example_fn):
    name = example_fn("panic")

    resp = invoke(client, name, {})

    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    error = body_json(resp)
    assert error["errorType"] == "Runtime.ExitError", error
    assert "the function panicked on purpose" in error["errorMessage"], error


def test_timeout_stops_the_function(client, example_fn):
    name = example_fn("spin", Timeout=1)

    started = time.monotonic()
    resp = invoke(client, name, {})
    elapsed = time.monotonic() - started

    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    error = body_json(resp)
    assert error["errorType"] == "Sandbox.Timedout", error
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds"), error
    assert elapsed < 1.5, f"the 1 s timeout took {elapsed:.2f} s to answer"


# ---------------------------------------------------------------------------------------------
# 4. ClientContext
# ---------------------------------------------------------------------------------------------


def test_client_context_reaches_the_handler(client, function_name, echo_wasm):
    create_function(client, function_name, echo_wasm)
    context_text = '{"custom":{"k":"v"}}'

    resp = invoke(
        client,
        function_name,
        {"hello": "world"},
        ClientContext=base64.b64encode(context_text.encode()).decode(),
    )

    assert resp["StatusCode"] == 200
    assert "FunctionError" not in resp
    body = body_json(resp)
    assert body["event"] == {"hello": "world"}
    assert body["context"]["clientContext"] == context_text, body["context"]


def test_invalid_client_context_is_rejected(client, function_name, echo_wasm):
    create_function(client, function_name, echo_wasm)

    with client_error("InvalidRequestContentException", 400):
        client.invoke(FunctionName=function_name, Payload=b"{}", ClientContext="not-base64!")


# ---------------------------------------------------------------------------------------------
# 5. DryRun
# ---------------------------------------------------------------------------------------------


def test_dry_run_does_not_run_the_function(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)

    resp = invoke(client, function_name, {"name": "Ada"}, InvocationType="DryRun", LogType="Tail")

    assert resp["StatusCode"] == 204
    assert status_of(resp) == 204
    assert resp["Body"] == b""
    assert "FunctionError" not in resp
    # The function never ran, so its first real invocation is still a cold start.
    real = invoke(client, function_name, {"name": "Ada"}, LogType="Tail")
    assert "Init Duration" in log_tail(real), log_tail(real)


def test_dry_run_on_missing_function(client, function_name):
    with client_error("ResourceNotFoundException", 404):
        client.invoke(FunctionName=function_name, InvocationType="DryRun")


def test_invoke_missing_function(client, function_name):
    with client_error("ResourceNotFoundException", 404):
        client.invoke(FunctionName=function_name, Payload=b"{}")


# ---------------------------------------------------------------------------------------------
# 6. Payload validation
# ---------------------------------------------------------------------------------------------


def test_payload_that_is_not_json_is_rejected(client, function_name, echo_wasm):
    create_function(client, function_name, echo_wasm)

    with client_error("InvalidRequestContentException", 400):
        client.invoke(FunctionName=function_name, Payload=b"{not json")


def test_payload_over_6_mb_is_rejected(client, function_name, echo_wasm):
    create_function(client, function_name, echo_wasm)
    payload = json.dumps("x" * (MAX_SYNC_PAYLOAD + 8)).encode()
    assert len(payload) == MAX_SYNC_PAYLOAD + 10

    with client_error("RequestEntityTooLargeException", 413):
        client.invoke(FunctionName=function_name, Payload=payload)


# ---------------------------------------------------------------------------------------------
# 7. Versions and aliases
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def blue_green(client, function_name, echo_wasm) -> str:
    """An echo function with version 1 (COLOR=blue) and version 2 (COLOR=green)."""
    create_function(
        client, function_name, echo_wasm, Environment={"Variables": {"COLOR": "blue"}}
    )
    assert client.publish_version(FunctionName=function_name)["Version"] == "1"
    client.update_function_configuration(
        FunctionName=function_name, Environment={"Variables": {"COLOR": "green"}}
    )
    cfg = wait_settled(client, function_name)
    assert cfg["LastUpdateStatus"] == "Successful", cfg
    assert client.publish_version(FunctionName=function_name)["Version"] == "2"
    return function_name


def test_invoke_published_versions(client, blue_green):
    by_qualifier = invoke(client, blue_green, {}, Qualifier="1")
    by_name = invoke(client, f"{blue_green}:2", {})
    latest = invoke(client, blue_green, {})

    assert by_qualifier["ExecutedVersion"] == "1"
    assert body_json(by_qualifier)["environment"]["COLOR"] == "blue"
    assert by_name["ExecutedVersion"] == "2"
    assert body_json(by_name)["environment"]["COLOR"] == "green"
    assert latest["ExecutedVersion"] == "$LATEST"
    assert body_json(latest)["environment"]["COLOR"] == "green"


def test_invoke_missing_version(client, blue_green):
    with client_error("ResourceNotFoundException", 404):
        client.invoke(FunctionName=blue_green, Qualifier="3", Payload=b"{}")


def test_weighted_alias_routes_traffic(client, blue_green):
    client.create_alias(
        FunctionName=blue_green,
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}},
    )
    calls = 1000

    def one(_):
        resp = invoke(client, blue_green, {}, Qualifier="live")
        body = body_json(resp)
        return resp["ExecutedVersion"], body["environment"]["COLOR"], body["context"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(calls)))

    counts = {}
    for version, color, context in results:
        counts[version] = counts.get(version, 0) + 1
        assert color == {"1": "blue", "2": "green"}[version]
        assert context["invokedFunctionArn"].endswith(":live"), context
    assert set(counts) <= {"1", "2"}, counts
    share = counts.get("2", 0) / calls
    assert 0.25 <= share <= 0.35, counts


# ---------------------------------------------------------------------------------------------
# 8. Warm reuse
# ---------------------------------------------------------------------------------------------


def test_warm_instance_keeps_tmp(client, example_fn):
    name = example_fn("tmp")

    first = invoke(client, name, {"leave": "one"})
    second = invoke(client, name, {"leave": "two"})

    assert first["StatusCode"] == 200 and "FunctionError" not in first, first["Body"]
    assert body_json(first)["previous"] is None
    assert second["StatusCode"] == 200 and "FunctionError" not in second, second["Body"]
    assert body_json(second)["previous"] == "one"
