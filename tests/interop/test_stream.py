"""InvokeWithResponseStream through boto3: event-stream framing that botocore parses, PayloadChunk
events arriving as the function writes them, InvokeComplete with errors and the log tail."""

from __future__ import annotations

import base64
import json
import time

import pytest

from conftest import EXAMPLES
from helpers import ROLE


def deploy(client, name: str, example: str, **extra) -> None:
    client.create_function(
        FunctionName=name,
        Role=ROLE,
        Runtime="provided.al2023",
        Handler=f"{example}.wasm",
        Code={"ZipFile": (EXAMPLES / f"{example}.wasm").read_bytes()},
        **extra,
    )
    deadline = time.monotonic() + 30
    while True:
        config = client.get_function_configuration(FunctionName=name)
        if config["State"] == "Active" and config["LastUpdateStatus"] != "InProgress":
            return
        assert time.monotonic() < deadline, config
        time.sleep(0.05)


def test_chunks_arrive_as_they_are_written(client, function_name):
    deploy(client, function_name, "stream")
    response = client.invoke_with_response_stream(
        FunctionName=function_name,
        Payload=json.dumps({"chunks": 3, "pause_ms": 200}),
        LogType="Tail",
    )
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    chunks, arrivals, complete = [], [], None
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append(event["PayloadChunk"]["Payload"])
            arrivals.append(time.monotonic())
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    assert chunks == [b"chunk 0\n", b"chunk 1\n", b"chunk 2\n"]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(gap >= 0.15 for gap in gaps), f"chunks were held back: {gaps}"
    assert complete is not None
    assert "ErrorCode" not in complete
    log = base64.b64decode(complete["LogResult"]).decode()
    assert "START RequestId:" in log and "REPORT RequestId:" in log


def test_a_plain_response_is_one_chunk(client, function_name):
    deploy(client, function_name, "hello")
    response = client.invoke_with_response_stream(FunctionName=function_name, Payload=b'{"name":"Ada"}')
    events = list(response["EventStream"])
    payload = b"".join(e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e)
    assert json.loads(payload) == {"message": "Hello, Ada!"}
    assert "InvokeComplete" in events[-1]


def test_function_errors_are_reported_in_invoke_complete(client, function_name):
    deploy(client, function_name, "spin", Timeout=1)
    response = client.invoke_with_response_stream(FunctionName=function_name, Payload=b"{}")
    events = list(response["EventStream"])
    complete = events[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert complete["ErrorDetails"].endswith("Task timed out after 1.00 seconds")


def test_bad_requests_are_refused_before_streaming(client, function_name):
    deploy(client, function_name, "hello")
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke_with_response_stream(FunctionName=function_name, Payload=b"{not json")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke_with_response_stream(FunctionName=function_name + "-missing", Payload=b"{}")
