"""Two lambkin nodes on one registry in S3 (moto's S3-compatible server), both running: what one
node writes the other lists and invokes within the refresh bound; writes that race on the same
function never lose an update (one RevisionId, two updates: exactly one wins) and never reuse a
version number (PublishVersion on both at once: distinct numbers)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import unique_name
from helpers import create_function, wait_for
from test_s3_store import s3, s3_endpoint, s3_node, wait_active  # noqa: F401 (fixtures)

# What the README promises: another node's write is visible within this bound.
VISIBLE_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, s3, s3_endpoint):  # noqa: F811
    a = s3_node(tmp_path_factory, s3_endpoint, "shared-a")
    b = s3_node(tmp_path_factory, s3_endpoint, "shared-b")
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def visible(predicate, what: str) -> float:
    """Seconds until predicate() holds; fails past the bound (with slack for a loaded CI)."""
    started = time.monotonic()

    def holds():
        try:
            return predicate()
        except ClientError as e:  # not there yet
            if error_code(e) != "ResourceNotFoundException":
                raise
            return False

    wait_for(holds, timeout=VISIBLE_WITHIN_S * 3, interval=0.05, what=what)
    return time.monotonic() - started


def invoke(client, name: str, payload: dict | None = None) -> dict:
    resp = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode())
    assert "FunctionError" not in resp, resp
    return json.loads(resp["Payload"].read())


def at_once(*calls):
    """Runs the calls on threads released together; returns each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as e:  # noqa: BLE001 — the caller inspects it
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def error_code(result) -> str | None:
    return result.response["Error"]["Code"] if isinstance(result, ClientError) else None


def test_a_write_on_one_node_is_seen_and_served_by_the_other(nodes, echo_wasm):
    a, b = nodes
    name = unique_name("shared")
    create_function(a.client, name, echo_wasm, Environment={"Variables": {"STAGE": "one"}})

    def listed_on_b():
        names = [f["FunctionName"] for f in b.client.list_functions()["Functions"]]
        return name in names

    seen = visible(listed_on_b, f"{name} listed on node B")
    wait_active(b.client, name)
    assert invoke(b.client, name, {"from": "b"})["environment"]["STAGE"] == "one"

    # A configuration change on A reaches B's running environments: the next invoke on B
    # runs the new configuration.
    a.client.update_function_configuration(FunctionName=name, Environment={"Variables": {"STAGE": "two"}})
    wait_active(a.client, name)
    changed = visible(
        lambda: invoke(b.client, name)["environment"].get("STAGE") == "two",
        "node B invoking the new environment",
    )
    print(f"create visible on B after {seen:.2f} s, update served by B after {changed:.2f} s")

    a.client.delete_function(FunctionName=name)
    visible(lambda: not listed_on_b(), f"{name} gone from node B")
    with pytest.raises(b.client.exceptions.ResourceNotFoundException):
        b.client.get_function(FunctionName=name)


def test_racing_writes_lose_nothing_and_reuse_no_version(nodes, hello_wasm):
    a, b = nodes
    name = unique_name("race")
    create_function(a.client, name, hello_wasm)
    visible(lambda: b.client.get_function_configuration(FunctionName=name)["State"] == "Active", "B sees it")

    for round_ in range(5):
        revision = a.client.get_function_configuration(FunctionName=name)["RevisionId"]
        visible(
            lambda: b.client.get_function_configuration(FunctionName=name)["RevisionId"] == revision,
            "B at the same revision",
        )
        results = at_once(
            lambda: a.client.update_function_configuration(
                FunctionName=name, Description=f"a{round_}", RevisionId=revision
            ),
            lambda: b.client.update_function_configuration(
                FunctionName=name, Description=f"b{round_}", RevisionId=revision
            ),
        )
        won = [r for r in results if isinstance(r, dict)]
        lost = [error_code(r) for r in results if not isinstance(r, dict)]
        assert len(won) == 1, f"round {round_}: exactly one update wins: {results}"
        assert lost[0] in ("PreconditionFailedException", "ResourceConflictException"), results
        winner = won[0]["Description"]
        wait_active(a.client, name)
        visible(
            lambda: b.client.get_function_configuration(FunctionName=name)["Description"] == winner,
            "both nodes hold the winner",
        )
        assert a.client.get_function_configuration(FunctionName=name)["Description"] == winner

        # Both nodes publish the same $LATEST at the same moment.
        results = at_once(
            lambda: a.client.publish_version(FunctionName=name, Description=f"from a {round_}"),
            lambda: b.client.publish_version(FunctionName=name, Description=f"from b {round_}"),
        )
        assert all(isinstance(r, dict) for r in results), results
        # Nothing changed between the two, so both may get one version (Lambda's publish of an
        # unchanged $LATEST returns the last version); a number is never given to two
        # different versions, which would show as two RevisionIds under one number.
        by_number = {}
        for r in results:
            by_number.setdefault(r["Version"], set()).add(r["RevisionId"])
        assert all(len(ids) == 1 for ids in by_number.values()), results
        # Make the next round publish something new.
        a.client.update_function_configuration(FunctionName=name, Description=f"next {round_}")
        wait_active(a.client, name)

    versions_a = [v["Version"] for v in a.client.list_versions_by_function(FunctionName=name)["Versions"]]
    visible(
        lambda: [v["Version"] for v in b.client.list_versions_by_function(FunctionName=name)["Versions"]]
        == versions_a,
        "both nodes list the same versions",
    )
    assert len(versions_a) == len(set(versions_a)), versions_a
