"""Helpers and constants shared by several test modules of the boto3 interop suite.

Test modules import them with `from helpers import ...` (this directory is on sys.path, as for
`conftest`). conftest registers this module for pytest's assertion rewriting.
"""

from __future__ import annotations

import base64
import http.client
import hashlib
import io
import json
import re
import threading
import time
import uuid
import zipfile
from collections import namedtuple
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, EXAMPLES, HOST, REGION

ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_request(url: str, method: str = "GET", body: bytes | None = None, headers=None, timeout=15.0):
    """One HTTP request without proxies: (status, headers with lower-case names, body), for any
    status."""
    req = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    try:
        with _NO_PROXY.open(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()
RUNTIME = "provided.al2023"
HANDLER = "hello.wasm"
FUNCTION_ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")

WAIT_S = 30.0  # bound of every polling loop
COMPILE_WAIT_S = 300.0  # the first function of a runtime on a fresh server compiles the runtime


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def strip(resp: dict) -> dict:
    """A response without botocore's ResponseMetadata."""
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def status_of(resp: dict) -> int:
    return resp["ResponseMetadata"]["HTTPStatusCode"]


@contextmanager
def client_error(code: str, status: int | None = None):
    """Expect a botocore ClientError with this error code (and HTTP status)."""
    with pytest.raises(ClientError) as excinfo:
        yield excinfo
    response = excinfo.value.response
    assert response["Error"]["Code"] == code, response
    if status is not None:
        assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response


def poll_configuration(client, name: str, done, qualifier: str | None = None) -> dict:
    """GetFunctionConfiguration until done(config) holds (at most WAIT_S seconds)."""
    kwargs = {"FunctionName": name}
    if qualifier is not None:
        kwargs["Qualifier"] = qualifier
    deadline = time.monotonic() + WAIT_S
    while True:
        cfg = strip(client.get_function_configuration(**kwargs))
        if done(cfg):
            return cfg
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not settle within {WAIT_S:.0f} s: {cfg}")
        time.sleep(0.05)


def wait_active(client, name: str) -> dict:
    cfg = poll_configuration(client, name, lambda c: c.get("State") != "Pending")
    assert cfg["State"] == "Active", cfg
    return cfg


def wait_updated(client, name: str) -> dict:
    cfg = poll_configuration(
        client,
        name,
        lambda c: c.get("State") != "Pending" and c.get("LastUpdateStatus") != "InProgress",
    )
    assert cfg.get("LastUpdateStatus") == "Successful", cfg
    return cfg


def create_function(client, name: str, code: bytes, *, wait: bool = True, **extra) -> dict:
    """CreateFunction with the suite's defaults (role, runtime, handler hello.wasm; keyword
    arguments override or add parameters), then (unless wait=False) wait until the function is
    Active. Returns the CreateFunction response."""
    params = {
        "FunctionName": name,
        "Runtime": RUNTIME,
        "Role": ROLE,
        "Handler": HANDLER,
        "Code": {"ZipFile": code},
    }
    params.update(extra)
    resp = client.create_function(**params)
    if wait:
        wait_active(client, name)
    return resp


def update_configuration(client, name: str, **kwargs) -> dict:
    resp = client.update_function_configuration(FunctionName=name, **kwargs)
    wait_updated(client, name)
    return resp


def example_path(name: str) -> Path:
    """Where the example component <name> is (EXAMPLES/<name>.wasm); it may not exist."""
    return EXAMPLES / f"{name}.wasm"


def example_wasm(name: str) -> bytes:
    """The bytes of the example component EXAMPLES/<name>.wasm (the test fails without it)."""
    path = example_path(name)
    if not path.is_file():
        pytest.fail(f"example component not found: {path} (set LAMBKIN_EXAMPLES)", pytrace=False)
    return path.read_bytes()


def wait_for(predicate, timeout: float = WAIT_S, *, interval: float = 0.02, what=""):
    """Call predicate() every `interval` seconds until it returns something truthy, and return
    that; fail once `timeout` seconds have passed. `what` (a string, or a callable giving one when
    the wait fails) describes the wait in the failure."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            desc = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {desc or predicate}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# asynchronous invocations
# ---------------------------------------------------------------------------------------------


def invoke_event(client, name: str, payload, **kwargs) -> str:
    """Invoke with InvocationType=Event (payload: bytes as they are, anything else JSON-encoded),
    check the 202 with its empty body, and return the request id (header x-amzn-requestid)."""
    body = payload if isinstance(payload, (bytes, bytearray)) else json.dumps(payload).encode()
    resp = client.invoke(FunctionName=name, InvocationType="Event", Payload=body, **kwargs)
    assert resp["StatusCode"] == 202, resp
    assert status_of(resp) == 202, resp
    assert resp["Payload"].read() == b""
    request_id = resp["ResponseMetadata"].get("RequestId")
    assert request_id, resp["ResponseMetadata"]
    assert resp["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid") == request_id
    return request_id


# One POST the webhook answered 2xx: its path, its Content-Type, its body parsed as JSON (None when
# it is not JSON) and the raw bytes.
Delivery = namedtuple("Delivery", "path content_type body raw")


class Webhook:
    """An HTTP receiver on 127.0.0.1 (a free port) standing in for webhook destinations.

    Every POST is counted per path; unless refuse_first() queued refusals for its path, it is
    answered 200 and kept as a Delivery. Each test takes its own URL with url() (a fresh path), so
    tests sharing one receiver see only their own deliveries. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._attempts: dict[str, int] = {}
        self._refusals: dict[str, list[int]] = {}
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a pooling HTTP client expects

            def do_POST(self):  # noqa: N802 - http.server's naming
                raw = self._read_body()
                path = urlsplit(self.path).path
                status = hook._received(path, self.headers.get("Content-Type"), raw)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _read_body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def log_message(self, format, *args):  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://{HOST}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _received(self, path: str, content_type: str | None, raw: bytes) -> int:
        with self._lock:
            self._attempts[path] = self._attempts.get(path, 0) + 1
            refusals = self._refusals.get(path)
            if refusals:
                return refusals.pop(0)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            self._deliveries.append(Delivery(path, content_type, body, raw))
            return 200

    # -- what the tests use ----------------------------------------------------------------

    def url(self, label: str = "hook") -> str:
        """A fresh webhook URL (a path nobody else uses)."""
        return f"{self.base}/{label}/{uuid.uuid4().hex}"

    def refuse_first(self, url: str, *statuses: int) -> None:
        """Answer the next POSTs to url with these statuses (in order) before accepting any."""
        with self._lock:
            self._refusals.setdefault(urlsplit(url).path, []).extend(statuses)

    def deliveries(self, url: str) -> list[Delivery]:
        path = urlsplit(url).path
        with self._lock:
            return [d for d in self._deliveries if d.path == path]

    def records(self, url: str) -> list:
        """The JSON bodies accepted on url so far, in arrival order."""
        return [d.body for d in self.deliveries(url)]

    def attempts(self, url: str) -> int:
        """How many POSTs url received (refused ones included)."""
        with self._lock:
            return self._attempts.get(urlsplit(url).path, 0)

    def wait_records(self, url: str, count: int = 1, timeout: float = WAIT_S) -> list:
        """The records accepted on url once there are at least `count` of them."""

        def enough():
            got = self.records(url)
            return got if len(got) >= count else None

        return wait_for(
            enough, timeout, what=lambda: f"{count} record(s) on {url}; got {self.records(url)}"
        )


class RecordingProxy:
    """A pass-through HTTP proxy on 127.0.0.1 in front of lambkin that remembers every call.

    lambkin's log has no line per request, so this is where a failure message gets the calls
    Terraform made and what lambkin answered (method, path, status, start of the body). Request
    bodies are read by Content-Length, which the provider's SDK always sends."""

    def __init__(self, upstream_port: int):
        self.calls: list[tuple[str, str, int, bytes]] = []
        lock = threading.Lock()
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream = http.client.HTTPConnection(HOST, upstream_port, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = upstream.getresponse()
                    data = resp.read()
                finally:
                    upstream.close()
                with lock:
                    calls.append((self.command, self.path, resp.status, data))
                self.send_response_only(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

            def log_message(self, format, *args):  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://{HOST}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def failed_calls(self) -> str:
        lines = [
            f"{status} {method} {path} -> {data[:400].decode('utf-8', 'replace')}"
            for method, path, status, data in list(self.calls)
            if status >= 400
        ]
        return "\n".join(lines) or "<none>"


def invoke_stream(client, name: str, payload, **kwargs):
    """InvokeWithResponseStream; (chunks, their arrival times, InvokeComplete, the response)."""
    resp = client.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail", **kwargs
    )
    assert resp["StatusCode"] == 200, resp
    chunks, arrivals, complete = [], [], None
    for event in resp["EventStream"]:
        if "PayloadChunk" in event:
            assert complete is None, "a chunk after InvokeComplete"
            chunks.append(event["PayloadChunk"]["Payload"])
            arrivals.append(time.monotonic())
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    assert complete is not None, chunks
    return chunks, arrivals, complete, resp


def until_active(client, name: str, timeout: float = COMPILE_WAIT_S) -> dict:
    """GetFunctionConfiguration until the function is no longer Pending (by default long enough
    for a runtime's compile); it must then be Active."""

    def settled():
        cfg = strip(client.get_function_configuration(FunctionName=name))
        return cfg if cfg["State"] != "Pending" else None

    cfg = wait_for(settled, timeout, interval=0.2, what=f"{name} to leave Pending")
    assert cfg["State"] == "Active", cfg
    return cfg
