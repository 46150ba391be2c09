"""Event invocations survive a crash: 1000 events are accepted (each stored durably before its
202), the server is killed with SIGKILL while most of them are still queued, and after the
restart every one of them is delivered (at least once) to the function's webhook destination.

Its own server: `--async-time-scale 0.001 --async-workers 4`. The function (`stream`, event
{"chunks": 2, "pause_ms": 50}) takes about 50 ms, so 4 workers need about 12 s for the backlog.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import name_factory, own_server
from helpers import Webhook, create_function, example_wasm, invoke_event, wait_for

EVENTS = 1000
SENDERS = 16
RECOVERY_S = 120.0  # bound of the wait for the whole backlog after the restart


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    args = ["--async-time-scale", "0.001", "--async-workers", "4"]
    with own_server(tmp_path_factory, "lambkin-async-durability", args) as s:
        yield s


@pytest.fixture
def make_name(server):
    yield from name_factory(server)


def send_events(server, name: str) -> dict[int, str]:
    """Invoke `name` with Event EVENTS times from SENDERS threads (a client each, made here: boto3
    client creation is not thread-safe); returns {event id: RequestId}. Every call must be 202."""
    clients = [server.make_client() for _ in range(SENDERS)]

    def send_share(k: int) -> list[tuple[int, str]]:
        return [
            (i, invoke_event(clients[k], name, {"chunks": 2, "pause_ms": 50, "id": i}))
            for i in range(k, EVENTS, SENDERS)
        ]

    try:
        with ThreadPoolExecutor(max_workers=SENDERS) as pool:
            shares = list(pool.map(send_share, range(SENDERS)))
    finally:
        for c in clients:
            c.close()
    return dict(pair for share in shares for pair in share)


def ids_of(records) -> set:
    return {
        r["requestPayload"].get("id")
        for r in records
        if isinstance(r, dict) and isinstance(r.get("requestPayload"), dict)
    }


def test_queued_events_survive_kill_9(server, make_name):
    client = server.client
    name = make_name("durable")
    create_function(client, name, example_wasm("stream"))
    with Webhook() as webhook:
        url = webhook.url("durable")
        # OnFailure too: the default maximum event age (6 h) is only 21.6 s at this time scale;
        # an event that ages out still proves it survived, through its EventAgeExceeded record.
        client.put_function_event_invoke_config(
            FunctionName=name,
            DestinationConfig={
                "OnSuccess": {"Destination": url},
                "OnFailure": {"Destination": url},
            },
        )

        started = time.monotonic()
        request_ids = send_events(server, name)
        sent_s = time.monotonic() - started
        assert sorted(request_ids) == list(range(EVENTS))
        assert len(set(request_ids.values())) == EVENTS, "request ids are not unique"
        before_kill = ids_of(webhook.records(url))
        print(
            f"\n{EVENTS} events accepted in {sent_s:.1f} s;"
            f" {len(before_kill)} delivered before kill -9"
        )
        assert len(before_kill) < EVENTS, "the backlog drained before the crash: nothing tested"

        server.restart(hard=True)

        wait_for(
            lambda: ids_of(webhook.records(url)) >= set(range(EVENTS)),
            RECOVERY_S,
            interval=0.2,
            what=lambda: f"all {EVENTS} events after the restart; missing: "
            f"{sorted(set(range(EVENTS)) - ids_of(webhook.records(url)))[:50]}",
        )
        records = webhook.records(url)

    assert ids_of(records) == set(range(EVENTS))
    for record in records:
        event_id = record["requestPayload"]["id"]
        assert record["requestContext"]["requestId"] == request_ids[event_id], record
        assert record["requestContext"]["condition"] in ("Success", "EventAgeExceeded"), record
    per_id = Counter(r["requestPayload"]["id"] for r in records)
    conditions = Counter(r["requestContext"]["condition"] for r in records)
    duplicates = sum(n - 1 for n in per_id.values())
    print(
        f"{len(records)} records for {EVENTS} events: {duplicates} duplicates"
        f" (at-least-once), conditions {dict(conditions)}"
    )
