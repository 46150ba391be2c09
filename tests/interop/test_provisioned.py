"""boto3 against lambkin's provisioned concurrency (seed 002:
Put/Get/Delete/ListProvisionedConcurrencyConfig(s)) and reserved function concurrency as Invoke
sees it (Put/Get/DeleteFunctionConcurrency and the TooManyRequestsException of a throttled
invocation).

The functions run the example component `counter`: its event {"sleep_ms": N} holds its environment
busy for N ms, and it answers {"count", "environment", "initializationType"}, so the tests can tell
a provisioned environment ("provisioned-concurrency", no "Init Duration" in the REPORT line of the
log tail) from an on-demand one ("on-demand", with "Init Duration").

Every test makes its own functions (unique names, deleted afterwards), so tests are independent
of each other; every wait is bounded (helpers.WAIT_S).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from helpers import FUNCTION_ARN_PREFIX as ARN
from helpers import (
    ISO_8601,
    WAIT_S,
    client_error,
    create_function,
    example_wasm,
    status_of,
    strip,
    update_configuration,
)

PROVISIONED = "provisioned-concurrency"
ON_DEMAND = "on-demand"
CONFIG_KEYS = {
    "RequestedProvisionedConcurrentExecutions",
    "AllocatedProvisionedConcurrentExecutions",
    "AvailableProvisionedConcurrentExecutions",
    "Status",
    "LastModified",
}
RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def counter_fn(client, make_name):
    """Factory: an Active function running `counter` with version 1 published (and, given
    `alias`, that alias pointing at version 1); returns its name."""

    def make(alias: str | None = None, **extra) -> str:
        name = make_name("prov")
        create_function(client, name, example_wasm("counter"), **extra)
        published = client.publish_version(FunctionName=name)
        assert published["Version"] == "1", strip(published)
        if alias is not None:
            client.create_alias(FunctionName=name, Name=alias, FunctionVersion="1")
        return name

    return make


def put_provisioned(client, name: str, qualifier: str, count: int) -> dict:
    """PutProvisionedConcurrencyConfig; checks the 202 and the shape of its answer."""
    resp = client.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier=qualifier, ProvisionedConcurrentExecutions=count
    )
    assert status_of(resp) == 202, resp
    config = strip(resp)
    assert_config_shape(config)
    assert config["RequestedProvisionedConcurrentExecutions"] == count, config
    return config


def assert_config_shape(config: dict) -> None:
    """The fields every ProvisionedConcurrencyConfig answer carries, and their types."""
    assert CONFIG_KEYS <= set(config), config
    assert set(config) <= CONFIG_KEYS | {"StatusReason", "FunctionArn"}, config
    assert config["Status"] in ("IN_PROGRESS", "READY", "FAILED"), config
    assert ISO_8601.match(config["LastModified"]), config["LastModified"]
    requested = config["RequestedProvisionedConcurrentExecutions"]
    allocated = config["AllocatedProvisionedConcurrentExecutions"]
    available = config["AvailableProvisionedConcurrentExecutions"]
    assert isinstance(requested, int) and requested >= 1, config
    assert isinstance(allocated, int) and 0 <= allocated, config
    assert isinstance(available, int) and 0 <= available <= allocated, config
    if config["Status"] == "FAILED":
        assert isinstance(config.get("StatusReason"), str) and config["StatusReason"], config
    else:
        assert "StatusReason" not in config, config


def wait_status(client, name: str, qualifier: str, until=("READY", "FAILED")) -> dict:
    """GetProvisionedConcurrencyConfig until its Status is one of `until` (at most WAIT_S s)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        resp = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        assert status_of(resp) == 200, resp
        config = strip(resp)
        assert_config_shape(config)
        if config["Status"] in until:
            return config
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{name}:{qualifier} not in {until} within {WAIT_S:.0f} s: {config}"
            )
        time.sleep(0.05)


def wait_ready(client, name: str, qualifier: str, count: int) -> dict:
    """Wait for READY and check the whole allocation is there and available."""
    config = wait_status(client, name, qualifier)
    assert config["Status"] == "READY", config
    assert config["RequestedProvisionedConcurrentExecutions"] == count, config
    assert config["AllocatedProvisionedConcurrentExecutions"] == count, config
    assert config["AvailableProvisionedConcurrentExecutions"] == count, config
    return config


def log_tail(resp: dict) -> str:
    assert "LogResult" in resp, resp
    return base64.b64decode(resp["LogResult"]).decode("utf-8", errors="replace")


def report_line(resp: dict) -> str:
    tail = log_tail(resp)
    lines = [line for line in tail.splitlines() if line.startswith("REPORT RequestId:")]
    assert len(lines) == 1, tail
    return lines[0]


def invoke_counter(client, name: str, sleep_ms: int = 0, **kwargs) -> dict:
    """Invoke `counter` (RequestResponse); the response with its JSON body under "Body"."""
    resp = client.invoke(
        FunctionName=name, Payload=json.dumps({"sleep_ms": sleep_ms}).encode(), **kwargs
    )
    raw = resp["Payload"].read()
    assert resp["StatusCode"] == 200, (resp, raw)
    assert "FunctionError" not in resp, raw
    resp["Body"] = json.loads(raw)
    return resp


def at_once(lambkin, count: int, call):
    """Run call(client) in `count` threads released together, each with its own boto3 client;
    returns, in thread order, what each returned or the exception it raised."""
    barrier = threading.Barrier(count)
    clients = [lambkin.make_client() for _ in range(count)]

    def one(client):
        barrier.wait(timeout=WAIT_S)
        try:
            return call(client)
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            return exc

    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(one, clients))
    finally:
        for client in clients:
            client.close()


def reason_of(error: ClientError):
    """The modeled `Reason` of a TooManyRequestsException: botocore merges the error shape's
    members into the parsed response (next to "Error"); look in "Error" too, to be tolerant of
    the botocore version."""
    response = error.response
    return response.get("Reason", response.get("Error", {}).get("Reason"))


def assert_throttled(outcome) -> None:
    assert isinstance(outcome, ClientError), outcome
    response = outcome.response
    assert response["Error"]["Code"] == "TooManyRequestsException", response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429, response
    assert reason_of(outcome) == RESERVED_LIMIT, response


# ---------------------------------------------------------------------------------------------
# 1. Put / Get: the answer, and the allocation in the background
# ---------------------------------------------------------------------------------------------


def test_put_returns_202_and_becomes_ready(client, counter_fn):
    name = counter_fn()

    put = put_provisioned(client, name, "1", 2)
    assert put["Status"] in ("IN_PROGRESS", "READY"), put
    assert put["AllocatedProvisionedConcurrentExecutions"] <= 2, put

    ready = wait_ready(client, name, "1", 2)
    assert ready["LastModified"] == put["LastModified"], (put, ready)


def test_put_again_changes_the_requested_count(client, counter_fn):
    name = counter_fn()
    put_provisioned(client, name, "1", 1)
    wait_ready(client, name, "1", 1)

    put = put_provisioned(client, name, "1", 2)
    assert put["RequestedProvisionedConcurrentExecutions"] == 2, put

    wait_ready(client, name, "1", 2)


def test_get_missing_config_is_not_found(client, counter_fn):
    name = counter_fn(alias="live")

    for qualifier in ("1", "live"):
        with client_error("ProvisionedConcurrencyConfigNotFoundException", 404):
            client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)


def test_init_failure_reports_failed_with_reason(client, counter_fn):
    name = counter_fn(Environment={"Variables": {"FAIL_INIT": "1"}})

    put_provisioned(client, name, "1", 1)

    config = wait_status(client, name, "1")
    assert config["Status"] == "FAILED", config
    assert "Init refused on purpose" in config["StatusReason"], config
    assert config["AvailableProvisionedConcurrentExecutions"] == 0, config


# ---------------------------------------------------------------------------------------------
# 2. What Put refuses
# ---------------------------------------------------------------------------------------------


def test_put_on_latest_is_invalid(client, counter_fn):
    name = counter_fn()

    with client_error("InvalidParameterValueException", 400):
        client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )


@pytest.mark.parametrize("qualifier", ["7", "nosuchalias"])
def test_put_on_unknown_version_or_alias_is_not_found(client, counter_fn, qualifier):
    name = counter_fn()

    with client_error("ResourceNotFoundException", 404):
        client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier=qualifier, ProvisionedConcurrentExecutions=1
        )


def test_put_on_unknown_function_is_not_found(client, make_name):
    with client_error("ResourceNotFoundException", 404):
        client.put_provisioned_concurrency_config(
            FunctionName=make_name("missing"), Qualifier="1", ProvisionedConcurrentExecutions=1
        )


def test_put_zero_is_refused(client, counter_fn):
    name = counter_fn()

    # botocore validates the minimum of 1 client side; a server reached anyway must refuse it.
    with pytest.raises((ParamValidationError, ClientError)) as excinfo:
        client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=0
        )
    if isinstance(excinfo.value, ClientError):
        error = excinfo.value.response["Error"]
        assert error["Code"] == "InvalidParameterValueException", excinfo.value.response

    with client_error("ProvisionedConcurrencyConfigNotFoundException", 404):
        client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")


def test_put_above_reserved_concurrency_is_invalid(client, counter_fn):
    name = counter_fn()
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)

    with client_error("InvalidParameterValueException", 400):
        client.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=3
        )
    with client_error("ProvisionedConcurrencyConfigNotFoundException", 404):
        client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")

    # Up to the reservation is fine.
    put_provisioned(client, name, "1", 2)
    wait_ready(client, name, "1", 2)


# ---------------------------------------------------------------------------------------------
# 3. Invocations take provisioned environments first
# ---------------------------------------------------------------------------------------------


def test_invokes_use_provisioned_environments_then_spill_over(lambkin, client, counter_fn):
    name = counter_fn()
    put_provisioned(client, name, "1", 2)
    wait_ready(client, name, "1", 2)

    def call(c):
        return invoke_counter(c, name, 300, Qualifier="1", LogType="Tail")

    # Two at once: both served by the provisioned environments, no Init on the way.
    two = at_once(lambkin, 2, call)
    for resp in two:
        assert isinstance(resp, dict), resp
        assert resp["ExecutedVersion"] == "1", resp
        assert resp["Body"]["initializationType"] == PROVISIONED, resp["Body"]
        assert resp["Body"]["count"] == 1, resp["Body"]
        assert "Init Duration" not in report_line(resp), log_tail(resp)
    provisioned_envs = {resp["Body"]["environment"] for resp in two}
    assert len(provisioned_envs) == 2, [resp["Body"] for resp in two]

    # Three at once: two provisioned ones (the same environments, warm), one on-demand cold start.
    three = at_once(lambkin, 3, call)
    for resp in three:
        assert isinstance(resp, dict), resp
        assert resp["ExecutedVersion"] == "1", resp
    kinds = sorted(resp["Body"]["initializationType"] for resp in three)
    assert kinds == [ON_DEMAND, PROVISIONED, PROVISIONED], [resp["Body"] for resp in three]
    for resp in three:
        body = resp["Body"]
        if body["initializationType"] == PROVISIONED:
            assert body["environment"] in provisioned_envs, (body, provisioned_envs)
            assert body["count"] == 2, body
            assert "Init Duration" not in report_line(resp), log_tail(resp)
        else:
            assert body["environment"] not in provisioned_envs, (body, provisioned_envs)
            assert body["count"] == 1, body
            assert "Init Duration" in report_line(resp), log_tail(resp)

    # Once they are all done, the allocation is whole and available again.
    wait_ready(client, name, "1", 2)


def test_latest_is_not_served_by_a_version_provisioned_environment(client, counter_fn):
    name = counter_fn()
    put_provisioned(client, name, "1", 1)
    wait_ready(client, name, "1", 1)

    latest = invoke_counter(client, name, LogType="Tail")

    assert latest["ExecutedVersion"] == "$LATEST", latest
    assert latest["Body"]["initializationType"] == ON_DEMAND, latest["Body"]
    assert "Init Duration" in report_line(latest), log_tail(latest)


def test_provisioned_on_alias(client, counter_fn):
    name = counter_fn(alias="live")

    put_provisioned(client, name, "live", 1)
    ready = wait_ready(client, name, "live", 1)

    listed = client.list_provisioned_concurrency_configs(FunctionName=name)
    assert status_of(listed) == 200, listed
    [item] = listed["ProvisionedConcurrencyConfigs"]
    assert item["FunctionArn"] == f"{ARN}{name}:live", item
    assert item["FunctionArn"].endswith(":live"), item
    assert_config_shape(item)
    assert item["RequestedProvisionedConcurrentExecutions"] == 1, item
    assert item["Status"] == "READY", item
    assert item["LastModified"] == ready["LastModified"], (item, ready)

    resp = invoke_counter(client, name, Qualifier="live", LogType="Tail")
    assert resp["ExecutedVersion"] == "1", resp
    assert resp["Body"]["initializationType"] == PROVISIONED, resp["Body"]
    assert "Init Duration" not in report_line(resp), log_tail(resp)


# ---------------------------------------------------------------------------------------------
# 4. List and Delete
# ---------------------------------------------------------------------------------------------


def test_list_provisioned_configs(client, counter_fn):
    name = counter_fn()
    assert client.list_provisioned_concurrency_configs(FunctionName=name).get(
        "ProvisionedConcurrencyConfigs", []
    ) == []

    # Version 2 (another configuration) behind alias "live"; version 1 provisioned directly.
    update_configuration(client, name, Description="second")
    assert client.publish_version(FunctionName=name)["Version"] == "2"
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
    put_provisioned(client, name, "1", 1)
    put_provisioned(client, name, "live", 2)
    wait_ready(client, name, "1", 1)
    wait_ready(client, name, "live", 2)

    listed = client.list_provisioned_concurrency_configs(FunctionName=name)
    assert status_of(listed) == 200, listed
    items = {item["FunctionArn"]: item for item in listed["ProvisionedConcurrencyConfigs"]}
    assert set(items) == {f"{ARN}{name}:1", f"{ARN}{name}:live"}, listed
    for item in items.values():
        assert_config_shape(item)
        assert item["Status"] == "READY", item
    assert items[f"{ARN}{name}:1"]["RequestedProvisionedConcurrentExecutions"] == 1
    assert items[f"{ARN}{name}:live"]["RequestedProvisionedConcurrentExecutions"] == 2


def test_delete_provisioned_config(client, counter_fn):
    name = counter_fn()
    put_provisioned(client, name, "1", 1)
    wait_ready(client, name, "1", 1)

    resp = client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert status_of(resp) == 204, resp

    with client_error("ProvisionedConcurrencyConfigNotFoundException", 404):
        client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert client.list_provisioned_concurrency_configs(FunctionName=name).get(
        "ProvisionedConcurrencyConfigs", []
    ) == []
    with client_error("ProvisionedConcurrencyConfigNotFoundException", 404):
        client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")


# ---------------------------------------------------------------------------------------------
# 5. Reserved function concurrency on Invoke
# ---------------------------------------------------------------------------------------------


def test_reserved_concurrency_one_throttles_the_second_concurrent_invoke(
    lambkin, client, counter_fn
):
    name = counter_fn()
    put = client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    assert put["ReservedConcurrentExecutions"] == 1, put
    got = client.get_function_concurrency(FunctionName=name)
    assert got["ReservedConcurrentExecutions"] == 1, got

    outcomes = at_once(lambkin, 2, lambda c: invoke_counter(c, name, 400))
    served = [o for o in outcomes if isinstance(o, dict)]
    refused = [o for o in outcomes if not isinstance(o, dict)]
    assert len(served) == 1 and len(refused) == 1, outcomes
    assert_throttled(refused[0])

    resp = client.delete_function_concurrency(FunctionName=name)
    assert status_of(resp) == 204, resp
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=name)

    outcomes = at_once(lambkin, 2, lambda c: invoke_counter(c, name, 400))
    for outcome in outcomes:
        assert isinstance(outcome, dict), outcome
        assert outcome["Body"]["count"] >= 1, outcome["Body"]


def test_reserved_concurrency_zero_throttles_every_invoke(client, counter_fn):
    name = counter_fn()
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    assert client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 0

    for qualifier in ("$LATEST", "1"):
        for _ in range(3):
            with pytest.raises(ClientError) as excinfo:
                client.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")
            assert_throttled(excinfo.value)
