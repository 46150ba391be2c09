#!/usr/bin/env python3
"""Soak: a bounded run of mixed traffic against a real `lambkin serve`, then the checks (issue #6).

    python3 benches/soak.py [--duration SECONDS] [--threads N] [--binary PATH] [--examples DIR]
                            [--idle-timeout S] [--server-env KEY=VALUE ...] [--keep]

Starts `lambkin serve` on a free loopback port in a fresh temporary data directory (idle timeout
5 s, async delays scaled by 0.01), deploys the example functions (hello, echo, stream, spin with
Timeout 1, hog with MemorySize 128, fail), points the asynchronous destinations of echo and fail at a
webhook served by this script, warms up, then drives mixed traffic from N threads for the duration:
sync invokes, Event invokes, response streams, timeouts, out-of-memory, control-plane reads and bad
requests (not JSON, unknown function, bad qualifiers, oversized payloads, garbage CreateFunction).
Every response is classified against what its kind must get.

Afterwards it waits for every accepted Event to reach the webhook (by requestContext.requestId)
and for idle reaping to empty the pools, and prints a markdown report. Exit status 1 when a check
fails: any 5xx, any unexpected status or body, any transport error, an accepted event without its
record (or with a wrong or duplicate one), a non-empty async queue at the end, or a server RSS after
reaping over 1.10 x the RSS at start (after deploy and warm-up). The server is stopped (SIGTERM) at
the end and on any exception.

Standard library only (Python 3.11). Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
ACCOUNT = "000000000000"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"
ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 256 * 1024
ASYNC_RETRIES = 1  # MaximumRetryAttempts of echo and fail: a failed event is tried twice
ASYNC_DEADLINE_S = 60.0  # after the load, for every accepted event to reach the webhook
REAP_MARGIN_S = 30.0  # beyond the idle timeout, for the pools to empty
RSS_LIMIT = 1.10  # end / start

# Function name -> (example component, extra CreateFunction parameters)
FUNCTIONS = {
    "soak-hello": ("hello", {}),
    "soak-echo": ("echo", {}),
    "soak-stream": ("stream", {}),
    "soak-spin": ("spin", {"Timeout": 1}),
    "soak-hog": ("hog", {"MemorySize": 128}),
    "soak-fail": ("fail", {}),
}

# Traffic mix: kind -> (weight, most requests per second over all threads or None). The rate caps
# keep the slow kinds (a spin holds a thread for 1 s, a hog allocates 128 MiB, an oversized payload
# is 6 MB on the wire) from taking over the threads; a capped kind drawn without a token left is
# drawn again.
MIX = {
    "sync_hello": (30, None),
    "sync_echo": (15, None),
    "async_echo": (10, None),
    "async_fail": (5, None),
    "stream": (8, None),
    "spin_timeout": (1, 1.0),
    "hog_oom": (1, 4.0),
    "hog_ok": (2, 10.0),
    "control_read": (3, None),
    "bad_not_json": (2, None),
    "bad_unknown_function": (2, None),
    "bad_qualifier": (2, None),
    "bad_oversized": (1, 2.0),
    "bad_async_oversized": (1, 5.0),
    "bad_create": (1, None),
}


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[i]


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.0f} ms"


def machine() -> str:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            mem = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} vCPU {model}{mem}, Linux {os.uname().release}"


# ---------------------------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------------------------


class Server:
    """One `lambkin serve` in a fresh data directory on a free loopback port."""

    def __init__(self, binary: Path, workdir: Path, idle_timeout: int, extra_env: dict[str, str]):
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "lambkin.log"
        self.idle_timeout = idle_timeout
        self.extra_env = extra_env
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAMBKIN_")}
        env["LAMBKIN_LOG"] = os.environ.get("LAMBKIN_LOG", "info")
        env.update(self.extra_env)
        deadline = time.monotonic() + 120
        while True:
            # The release binary may be briefly missing while someone rebuilds it.
            if not self.binary.is_file():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"lambkin binary not found at {self.binary}")
                time.sleep(1)
                continue
            self.port = free_port()
            with open(self.log_path, "ab") as logf:
                self.proc = subprocess.Popen(
                    [
                        str(self.binary),
                        "serve",
                        "--listen",
                        f"{HOST}:{self.port}",
                        "--data-dir",
                        str(self.data_dir),
                        "--idle-timeout",
                        str(self.idle_timeout),
                        "--async-time-scale",
                        "0.01",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=str(self.workdir),
                )
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.health() is not None:
                    return
                time.sleep(0.05)
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"lambkin did not become healthy; log:\n{self.log_tail()}")
            time.sleep(0.2)  # exited early (port taken?): try again on another port

    def health(self) -> dict | None:
        try:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
            conn.request("GET", "/health")
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            return json.loads(body) if resp.status == 200 else None
        except (OSError, ValueError, http.client.HTTPException):
            return None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        return proc.returncode

    def log_levels(self) -> tuple[int, Counter, list[str]]:
        """Lines in the log so far, per level, and the first WARN/ERROR lines."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0, Counter(), []
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines()]
        levels = Counter()
        worst = []
        for line in lines:
            match = re.search(r"\b(TRACE|DEBUG|INFO|WARN|ERROR)\b", line)
            if match:
                levels[match.group(1)] += 1
                if match.group(1) in ("WARN", "ERROR") and len(worst) < 5:
                    worst.append(line[:300])
        return len(lines), levels, worst

    def log_tail(self, max_bytes: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "<no log>"
        return data[-max_bytes:].decode("utf-8", errors="replace")


def call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, resp.headers, data


def new_conn(port: int, timeout: float = 30.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, port, timeout=timeout)


def deploy(port: int, examples: Path, webhook_base: str) -> None:
    conn = new_conn(port)
    for name, (example, extra) in FUNCTIONS.items():
        wasm = (examples / f"{example}.wasm").read_bytes()
        body = {
            "FunctionName": name,
            "Runtime": "provided.al2023",
            "Role": ROLE,
            "Handler": f"{example}.wasm",
            "Code": {"ZipFile": base64.b64encode(wasm).decode()},
            **extra,
        }
        status, _, data = call(conn, "POST", "/2015-03-31/functions", json.dumps(body).encode())
        if status != 201:
            raise RuntimeError(f"CreateFunction {name}: {status} {data[:500]!r}")
    for name in FUNCTIONS:
        deadline = time.monotonic() + 60
        while True:
            status, _, data = call(conn, "GET", f"/2015-03-31/functions/{name}/configuration")
            cfg = json.loads(data) if status == 200 else {}
            if cfg.get("State") == "Active":
                break
            if cfg.get("State") == "Failed" or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not become Active: {status} {data[:500]!r}")
            time.sleep(0.05)
    for name in ("soak-echo", "soak-fail"):
        config = {
            "MaximumRetryAttempts": ASYNC_RETRIES,
            "DestinationConfig": {
                "OnSuccess": {"Destination": f"{webhook_base}/success"},
                "OnFailure": {"Destination": f"{webhook_base}/failure"},
            },
        }
        status, _, data = call(conn, "PUT", f"/2019-09-25/functions/{name}/event-invoke-config",
                               json.dumps(config).encode())
        if status != 200:
            raise RuntimeError(f"PutFunctionEventInvokeConfig {name}: {status} {data[:500]!r}")
    conn.close()


def pools(port: int) -> dict:
    conn = new_conn(port, timeout=10)
    try:
        status, _, data = call(conn, "GET", "/lambkin/pools")
        if status != 200:
            raise RuntimeError(f"/lambkin/pools: {status} {data[:300]!r}")
        return json.loads(data)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# the webhook (async destinations)
# ---------------------------------------------------------------------------------------------


class Webhook:
    """Receives the invocation records POSTed to /success and /failure; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records: dict[str, list[tuple[str, dict]]] = defaultdict(list)  # request id -> [(path, record)]
        self.bad: list[str] = []  # POSTs that were not a record
        self.posts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                raw = self._body()
                hook._received(urlsplit(self.path).path, raw)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def log_message(self, format, *args):  # noqa: A002
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True)
        self.thread.start()

    def _received(self, path: str, raw: bytes) -> None:
        try:
            record = json.loads(raw)
            request_id = record["requestContext"]["requestId"]
        except (ValueError, KeyError, TypeError):
            with self.lock:
                self.posts += 1
                self.bad.append(f"{path}: {raw[:200]!r}")
            return
        with self.lock:
            self.posts += 1
            self.records[request_id].append((path, record))

    def have(self, request_id: str) -> bool:
        with self.lock:
            return request_id in self.records

    def snapshot(self) -> tuple[dict[str, list[tuple[str, dict]]], list[str], int]:
        with self.lock:
            return {k: list(v) for k, v in self.records.items()}, list(self.bad), self.posts

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------
# the event stream of InvokeWithResponseStream
# ---------------------------------------------------------------------------------------------


def parse_eventstream(data: bytes) -> list[tuple[dict, bytes]]:
    """The messages of an application/vnd.amazon.eventstream body as (headers, payload); raises
    ValueError on a malformed frame or a CRC mismatch."""
    messages = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 16:
            raise ValueError(f"truncated prelude at {pos}")
        total, headers_len, prelude_crc = struct.unpack_from(">III", data, pos)
        if zlib.crc32(data[pos:pos + 8]) != prelude_crc:
            raise ValueError(f"prelude CRC mismatch at {pos}")
        if total < 16 + headers_len or pos + total > len(data):
            raise ValueError(f"bad frame length {total} at {pos}")
        (message_crc,) = struct.unpack_from(">I", data, pos + total - 4)
        if zlib.crc32(data[pos:pos + total - 4]) != message_crc:
            raise ValueError(f"message CRC mismatch at {pos}")
        headers = {}
        h = pos + 12
        end = h + headers_len
        while h < end:
            name_len = data[h]
            name = data[h + 1:h + 1 + name_len].decode()
            h += 1 + name_len
            kind = data[h]
            h += 1
            if kind in (0, 1):
                value = kind == 0
            elif kind in (2, 3, 4, 5, 8, 9):
                size = {2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}[kind]
                value = data[h:h + size]
                h += size
            elif kind in (6, 7):
                (size,) = struct.unpack_from(">H", data, h)
                value = data[h + 2:h + 2 + size]
                if kind == 7:
                    value = value.decode()
                h += 2 + size
            else:
                raise ValueError(f"unknown header type {kind}")
            headers[name] = value
        messages.append((headers, data[end:pos + total - 4]))
        pos += total
    return messages


# ---------------------------------------------------------------------------------------------
# traffic
# ---------------------------------------------------------------------------------------------


class Stats:
    """Counts per kind; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: Counter = Counter()
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.outcomes: dict[str, Counter] = defaultdict(Counter)  # kind -> error type / "ok"
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.unexpected: Counter = Counter()  # (kind, status, reason)
        self.examples: dict[tuple, list[str]] = defaultdict(list)
        self.fivexx = 0
        self.transport_errors = 0
        self.accepted: dict[str, str] = {}  # request id -> function (Event invokes)

    def add(self, kind: str, status: int | str, outcome: str, latency: float,
            problem: str | None, detail: str = "") -> None:
        with self.lock:
            self.requests[kind] += 1
            self.statuses[kind][status] += 1
            self.outcomes[kind][outcome] += 1
            self.latencies[kind].append(latency)
            if isinstance(status, int) and status >= 500:
                self.fivexx += 1
            if status == "transport":
                self.transport_errors += 1
            if problem is not None:
                key = (kind, status, problem)
                self.unexpected[key] += 1
                if len(self.examples[key]) < 3:
                    self.examples[key].append(detail[:400])

    def accept(self, request_id: str, function: str) -> None:
        with self.lock:
            self.accepted[request_id] = function

    def total(self) -> int:
        with self.lock:
            return sum(self.requests.values())


class RateLimiter:
    """Token buckets for the capped kinds (shared by all threads)."""

    def __init__(self, rates: dict[str, float | None]):
        self.lock = threading.Lock()
        self.rates = {k: r for k, r in rates.items() if r is not None}
        now = time.monotonic()
        self.tokens = {k: 1.0 for k in self.rates}
        self.last = {k: now for k in self.rates}

    def take(self, kind: str) -> bool:
        rate = self.rates.get(kind)
        if rate is None:
            return True
        with self.lock:
            now = time.monotonic()
            self.tokens[kind] = min(1.0, self.tokens[kind] + (now - self.last[kind]) * rate)
            self.last[kind] = now
            if self.tokens[kind] >= 1.0:
                self.tokens[kind] -= 1.0
                return True
            return False


def invoke_path(function: str, qualifier: str | None = None) -> str:
    path = f"/2015-03-31/functions/{function}/invocations"
    return path if qualifier is None else f"{path}?Qualifier={qualifier}"


def json_or_none(data: bytes):
    try:
        return json.loads(data)
    except ValueError:
        return None


def expect_error(status: int, headers, want_status: int, want_type: str | tuple[str, ...]) -> str | None:
    """None when the response is the AWS error expected, else what is wrong."""
    if status != want_status:
        return f"status {status}, expected {want_status}"
    got = headers.get("x-amzn-ErrorType", "")
    wants = (want_type,) if isinstance(want_type, str) else want_type
    if got.split(":")[0] not in wants:
        return f"x-amzn-ErrorType {got!r}, expected {wants}"
    return None


class Worker:
    """One load thread: its own keep-alive connection, its own random generator."""

    def __init__(self, port: int, stats: Stats, seed: int):
        self.port = port
        self.stats = stats
        self.rng = random.Random(seed)
        self.conn = new_conn(port)
        self.seq = 0

    def reconnect(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass
        self.conn = new_conn(self.port)

    def run_kind(self, kind: str) -> None:
        self.seq += 1
        start = time.monotonic()
        try:
            status, outcome, problem, detail = getattr(self, kind)()
        except (OSError, http.client.HTTPException) as e:
            self.stats.add(kind, "transport", "transport", time.monotonic() - start,
                           f"transport error {type(e).__name__}", repr(e))
            self.reconnect()
            return
        self.stats.add(kind, status, outcome, time.monotonic() - start, problem, detail)

    # -- each kind: returns (status, outcome, problem or None, detail) -------------------------

    def _function_result(self, status, headers, data, want_error: str | None, check_body=None):
        """A RequestResponse invoke that must answer 200, with function error `want_error`
        (errorType) or none."""
        ferr = headers.get("X-Amz-Function-Error")
        body = json_or_none(data)
        detail = f"{status} fe={ferr} {data[:300]!r}"
        if status != 200:
            err = headers.get("x-amzn-ErrorType") or ""
            return status, err or f"http {status}", f"status {status}", detail
        if want_error is None:
            if ferr:
                etype = body.get("errorType") if isinstance(body, dict) else "?"
                return status, f"function error {etype}", "unexpected function error", detail
            if check_body is not None and not check_body(body):
                return status, "ok", "wrong body", detail
            return status, "ok", None, detail
        etype = body.get("errorType") if isinstance(body, dict) else None
        if ferr != "Unhandled" or etype != want_error:
            return status, f"function error {etype}" if ferr else "ok", \
                f"expected function error {want_error}", detail
        return status, want_error, None, detail

    def sync_hello(self):
        name = f"soak-{self.seq}"
        status, headers, data = call(self.conn, "POST", invoke_path("soak-hello"),
                                     json.dumps({"name": name}).encode())
        return self._function_result(
            status, headers, data, None,
            lambda b: isinstance(b, dict) and b.get("message") == f"Hello, {name}!")

    def sync_echo(self):
        event = {"seq": self.seq, "pad": "e" * self.rng.randrange(0, 4096)}
        status, headers, data = call(self.conn, "POST", invoke_path("soak-echo"),
                                     json.dumps(event).encode())
        return self._function_result(
            status, headers, data, None, lambda b: isinstance(b, dict) and b.get("event") == event)

    def _event(self, function: str):
        event = {"seq": self.seq, "pad": "a" * self.rng.randrange(0, 1024)}
        status, headers, data = call(self.conn, "POST", invoke_path(function),
                                     json.dumps(event).encode(), {"X-Amz-Invocation-Type": "Event"})
        detail = f"{status} {data[:300]!r}"
        if status != 202:
            return status, headers.get("x-amzn-ErrorType") or f"http {status}", f"status {status}", detail
        request_id = headers.get("x-amzn-RequestId")
        if not request_id or data:
            return status, "accepted", "202 without request id or with a body", detail
        self.stats.accept(request_id, function)
        return status, "accepted", None, detail

    def async_echo(self):
        return self._event("soak-echo")

    def async_fail(self):
        return self._event("soak-fail")

    def stream(self):
        chunks = self.rng.randrange(1, 6)
        pause = self.rng.randrange(0, 20)
        status, headers, data = call(
            self.conn, "POST", "/2021-11-15/functions/soak-stream/response-streaming-invocations",
            json.dumps({"chunks": chunks, "pause_ms": pause}).encode())
        detail = f"{status} {data[:300]!r}"
        if status != 200:
            return status, headers.get("x-amzn-ErrorType") or f"http {status}", f"status {status}", detail
        try:
            messages = parse_eventstream(data)
        except ValueError as e:
            return status, "bad stream", f"malformed event stream: {e}", detail
        payload = b"".join(p for h, p in messages if h.get(":event-type") == "PayloadChunk")
        complete = [p for h, p in messages if h.get(":event-type") == "InvokeComplete"]
        if len(complete) != 1 or messages[-1][0].get(":event-type") != "InvokeComplete":
            return status, "bad stream", "no single final InvokeComplete", detail
        done = json_or_none(complete[0]) or {}
        if done.get("ErrorCode"):
            return status, f"stream error {done['ErrorCode']}", "InvokeComplete with an error", detail
        want = "".join(f"chunk {i}\n" for i in range(chunks)).encode()
        if payload != want:
            return status, "bad stream", "wrong streamed payload", detail
        return status, "ok", None, detail

    def spin_timeout(self):
        status, headers, data = call(self.conn, "POST", invoke_path("soak-spin"), b"{}")
        return self._function_result(status, headers, data, "Sandbox.Timedout")

    def hog_oom(self):
        status, headers, data = call(self.conn, "POST", invoke_path("soak-hog"), b"{}")
        return self._function_result(status, headers, data, "Runtime.OutOfMemory")

    def hog_ok(self):
        mb = self.rng.randrange(1, 65)
        status, headers, data = call(self.conn, "POST", invoke_path("soak-hog"),
                                     json.dumps({"mb": mb}).encode())
        return self._function_result(
            status, headers, data, None, lambda b: b == {"allocated_mb": mb})

    def control_read(self):
        if self.rng.random() < 0.5:
            status, headers, data = call(self.conn, "GET", "/2015-03-31/functions/")
            ok = status == 200 and len((json_or_none(data) or {}).get("Functions", [])) == len(FUNCTIONS)
        else:
            name = self.rng.choice(list(FUNCTIONS))
            status, headers, data = call(self.conn, "GET", f"/2015-03-31/functions/{name}/configuration")
            ok = status == 200 and (json_or_none(data) or {}).get("State") == "Active"
        detail = f"{status} {data[:300]!r}"
        if status != 200:
            return status, headers.get("x-amzn-ErrorType") or f"http {status}", f"status {status}", detail
        return status, "ok", None if ok else "wrong body", detail

    def bad_not_json(self):
        event_type = self.rng.choice(["RequestResponse", "Event"])
        status, headers, data = call(self.conn, "POST", invoke_path("soak-hello"), b"{not json",
                                     {"X-Amz-Invocation-Type": event_type})
        return status, headers.get("x-amzn-ErrorType", ""), \
            expect_error(status, headers, 400, "InvalidRequestContentException"), f"{status} {data[:300]!r}"

    def bad_unknown_function(self):
        status, headers, data = call(self.conn, "POST", invoke_path(f"soak-missing-{self.seq}"), b"{}")
        return status, headers.get("x-amzn-ErrorType", ""), \
            expect_error(status, headers, 404, "ResourceNotFoundException"), f"{status} {data[:300]!r}"

    def bad_qualifier(self):
        if self.rng.random() < 0.5:  # well formed, does not exist
            status, headers, data = call(self.conn, "POST", invoke_path("soak-hello", "nope"), b"{}")
            problem = expect_error(status, headers, 404, "ResourceNotFoundException")
        else:  # not a qualifier at all
            status, headers, data = call(self.conn, "POST", invoke_path("soak-hello", "b%40d%21"), b"{}")
            problem = expect_error(status, headers, 400, "InvalidParameterValueException")
        return status, headers.get("x-amzn-ErrorType", ""), problem, f"{status} {data[:300]!r}"

    def bad_oversized(self):
        body = b'"' + b"x" * (MAX_SYNC_PAYLOAD + self.rng.randrange(1, 4096)) + b'"'
        status, headers, data = call(self.conn, "POST", invoke_path("soak-hello"), body)
        return status, headers.get("x-amzn-ErrorType", ""), \
            expect_error(status, headers, 413, "RequestEntityTooLargeException"), f"{status} {data[:300]!r}"

    def bad_async_oversized(self):
        body = b'"' + b"x" * (MAX_ASYNC_PAYLOAD + self.rng.randrange(1, 4096)) + b'"'
        status, headers, data = call(self.conn, "POST", invoke_path("soak-echo"), body,
                                     {"X-Amz-Invocation-Type": "Event"})
        return status, headers.get("x-amzn-ErrorType", ""), \
            expect_error(status, headers, 413, "RequestEntityTooLargeException"), f"{status} {data[:300]!r}"

    def bad_create(self):
        garbage = self.rng.choice([
            b'{"FunctionName": "soak-x", "Code": {',
            b"\x00\xff not json at all",
            b'{"FunctionName": 5}',
            b"[]",
        ])
        status, headers, data = call(self.conn, "POST", "/2015-03-31/functions", garbage)
        problem = None if status == 400 else f"status {status}, expected 400"
        return status, headers.get("x-amzn-ErrorType", ""), problem, f"{status} {data[:300]!r}"


def load(port: int, stats: Stats, threads: int, duration: float, seed: int) -> float:
    kinds = list(MIX)
    weights = [MIX[k][0] for k in kinds]
    limiter = RateLimiter({k: v[1] for k, v in MIX.items()})
    stop_at = time.monotonic() + duration
    errors: list[str] = []

    def run(index: int) -> None:
        worker = Worker(port, stats, seed * 1000 + index)
        try:
            while time.monotonic() < stop_at:
                kind = worker.rng.choices(kinds, weights)[0]
                if limiter.take(kind):
                    worker.run_kind(kind)
        except Exception:  # noqa: BLE001 - a bug of the script: stop the run loudly
            errors.append(traceback.format_exc())
        finally:
            worker.conn.close()

    started = time.monotonic()
    pool = [threading.Thread(target=run, args=(i,), name=f"load-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    last = started
    while any(t.is_alive() for t in pool):
        time.sleep(0.5)
        if time.monotonic() - last >= 15:
            last = time.monotonic()
            log(f"{last - started:.0f} s: {stats.total()} requests, {len(stats.accepted)} events accepted")
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError("a load thread failed:\n" + errors[0])
    return time.monotonic() - started


def warm_up(port: int, stats: Stats) -> None:
    """A few of every kind (hog_ok small, so no idle environment holds much linear memory)."""
    worker = Worker(port, stats, 7)
    for _ in range(3):
        for kind in MIX:
            if MIX[kind][0] == 0:
                continue
            if kind == "hog_ok":
                status, headers, data = call(worker.conn, "POST", invoke_path("soak-hog"), b'{"mb": 1}')
                if status != 200:
                    raise RuntimeError(f"warm-up hog: {status} {data[:300]!r}")
                continue
            if kind == "spin_timeout" and _ > 0:
                continue
            worker.run_kind(kind)
    worker.conn.close()


# ---------------------------------------------------------------------------------------------
# RSS sampling and where it lives
# ---------------------------------------------------------------------------------------------

ARENA = 64 << 20  # glibc's non-main arenas are 64 MiB-aligned mappings of 64 MiB


class MemoryMap:
    """Address ranges read from /proc/<pid>/maps right after boot, to tell apart later where the
    resident memory is: the largest single anonymous mapping is wasmtime's linear-memory pool
    reservation, the largest run of contiguous anonymous mappings holds it and the table, stack
    and instance pools."""

    def __init__(self, pid: int):
        maps = []
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split()
                start, end = (int(x, 16) for x in parts[0].split("-"))
                maps.append((start, end, parts[5] if len(parts) > 5 else ""))
        anon = [(a, b) for a, b, name in maps if not name]
        self.memories = max(anon, key=lambda r: r[1] - r[0])
        spans: list[list[int]] = []
        for a, b in anon:
            if spans and spans[-1][1] == a and a % ARENA != 0:
                spans[-1][1] = b
            else:
                spans.append([a, b])
        self.pools = tuple(max(spans, key=lambda r: r[1] - r[0]))

    def breakdown(self, pid: int) -> dict[str, int]:
        """RSS in KiB per category, from /proc/<pid>/smaps."""
        out = Counter()
        start = 0
        name = ""
        arena_end = 0
        try:
            with open(f"/proc/{pid}/smaps") as f:
                for line in f:
                    first = line.split(maxsplit=1)[0]
                    if "-" in first and not first.endswith(":"):
                        parts = line.split()
                        start, end = (int(x, 16) for x in parts[0].split("-"))
                        name = parts[5] if len(parts) > 5 else ""
                    elif first == "Rss:":
                        kib = int(line.split()[1])
                        if name == "[heap]":
                            out["malloc: main heap (brk)"] += kib
                        elif name:
                            out["file-backed (binary, libraries, compiled code)"] += kib
                        elif self.memories[0] <= start < self.memories[1]:
                            out["wasm linear memories (pool)"] += kib
                        elif self.pools[0] <= start < self.pools[1]:
                            out["wasmtime tables, stacks, instances (pools)"] += kib
                        elif start % ARENA == 0 or start < arena_end:
                            if start % ARENA == 0:
                                arena_end = start + ARENA
                            out["malloc: thread arenas (64 MiB-aligned)"] += kib
                        else:
                            out["other anonymous (large malloc chunks, thread stacks)"] += kib
        except OSError:
            pass
        return dict(out)



class RssSampler:
    def __init__(self, pid: int):
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self.peak = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.window_peak = 0
        self.thread = threading.Thread(target=self._run, name="rss", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self.stopped.is_set():
            kib = rss_kib(self.pid)
            if kib is not None:
                with self.lock:
                    self.samples.append((time.monotonic() - t0, kib))
                    self.peak = max(self.peak, kib)
                    self.window_peak = max(self.window_peak, kib)
            self.stopped.wait(1.0)

    def reset_window(self) -> None:
        with self.lock:
            self.window_peak = rss_kib(self.pid) or 0

    def mark(self) -> int:
        with self.lock:
            return len(self.samples)

    def between(self, first: int, last: int) -> list[tuple[float, int]]:
        with self.lock:
            return self.samples[first:last]

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------
# afterwards
# ---------------------------------------------------------------------------------------------


def wait_async(stats: Stats, hook: Webhook, deadline_s: float) -> float:
    start = time.monotonic()
    ids = list(stats.accepted)
    while True:
        missing = sum(1 for i in ids if not hook.have(i))
        if missing == 0:
            return time.monotonic() - start
        if time.monotonic() - start > deadline_s:
            return float("nan")
        time.sleep(0.25)


def wait_reaped(port: int, timeout_s: float) -> tuple[float, dict]:
    start = time.monotonic()
    while True:
        report = pools(port)
        live = sum(p["idle"] + p["busy"] + p["initializing"] + p["provisionedReady"]
                   for p in report["pools"])
        running = sum(f["running"] for f in report["functions"])
        if live == 0 and running == 0:
            return time.monotonic() - start, report
        if time.monotonic() - start > timeout_s:
            return float("nan"), report
        time.sleep(0.25)


def account_async(stats: Stats, hook: Webhook) -> dict:
    records, bad_posts, posts = hook.snapshot()
    expected = {
        "soak-echo": ("/success", "Success", 1),
        "soak-fail": ("/failure", "RetriesExhausted", 1 + ASYNC_RETRIES),
    }
    result = {
        "accepted": Counter(stats.accepted.values()),
        "success_records": 0,
        "failure_records": 0,
        "missing": Counter(),
        "duplicates": Counter(),
        "wrong": Counter(),
        "wrong_examples": [],
        "unmatched": 0,
        "bad_posts": bad_posts,
        "posts": posts,
    }
    for request_id, got in records.items():
        for path, _ in got:
            result["success_records" if path == "/success" else "failure_records"] += 1
        function = stats.accepted.get(request_id)
        if function is None:
            result["unmatched"] += 1
            continue
        if len(got) > 1:
            result["duplicates"][function] += 1
        want_path, want_condition, want_count = expected[function]
        for path, record in got:
            ctx = record.get("requestContext", {})
            wrong = []
            if path != want_path:
                wrong.append(f"path {path}")
            if ctx.get("condition") != want_condition:
                wrong.append(f"condition {ctx.get('condition')}")
            if ctx.get("approximateInvokeCount") != want_count:
                wrong.append(f"approximateInvokeCount {ctx.get('approximateInvokeCount')}")
            if ctx.get("functionArn") != f"{ARN_PREFIX}{function}:$LATEST":
                wrong.append(f"functionArn {ctx.get('functionArn')}")
            if wrong:
                result["wrong"][function] += 1
                if len(result["wrong_examples"]) < 3:
                    result["wrong_examples"].append(f"{function} {request_id}: {', '.join(wrong)}")
    for request_id, function in stats.accepted.items():
        if request_id not in records:
            result["missing"][function] += 1
    return result


def report(args, stats: Stats, elapsed: float, acct: dict, async_wait: float, reap_wait: float,
           rss: dict, sampler: RssSampler, health_end: dict | None, server_alive: bool,
           final_pools: dict, parts: dict[str, dict[str, int]]) -> tuple[str, list[str]]:
    failures: list[str] = []
    out: list[str] = []
    w = out.append
    total = sum(stats.requests.values())
    w("## Soak")
    w("")
    w(f"Machine: {machine()}. Server: `lambkin serve --idle-timeout {args.idle_timeout} "
      f"--async-time-scale 0.01`" + (f" with {' '.join(args.server_env)}" if args.server_env else "")
      + f"; load: {args.threads} Python threads (http.client, keep-alive) on the same machine"
      + (f"; mix changed: {' '.join(args.weight)}" if args.weight else "") + ".")
    w("")
    w(f"- Duration: {elapsed:.0f} s of load ({args.duration:.0f} s asked), then {async_wait:.1f} s for "
      f"the async records and {reap_wait:.1f} s until the pools were empty.")
    w(f"- Requests: {total} ({total / elapsed:.0f}/s); 5xx: {stats.fivexx}; transport errors: "
      f"{stats.transport_errors}; unexpected results: {sum(stats.unexpected.values())}.")
    w("")
    w("| kind | requests | statuses | outcomes | p50 | p99 |")
    w("|---|---|---|---|---|---|")
    for kind in MIX:
        n = stats.requests.get(kind, 0)
        st = ", ".join(f"{s}×{c}" for s, c in sorted(stats.statuses[kind].items(), key=lambda x: str(x[0])))
        oc = ", ".join(f"{o or '-'}×{c}" for o, c in stats.outcomes[kind].most_common())
        lat = sorted(stats.latencies[kind])
        w(f"| {kind} | {n} | {st} | {oc} | {fmt_ms(percentile(lat, 50)) if lat else '-'} | "
          f"{fmt_ms(percentile(lat, 99)) if lat else '-'} |")
    w("")
    if stats.unexpected:
        w("Unexpected results:")
        for (kind, status, problem), count in stats.unexpected.most_common():
            w(f"- {kind} {status}: {problem} ×{count}; e.g. {stats.examples[(kind, status, problem)][0]}")
        w("")
        failures.append(f"{sum(stats.unexpected.values())} unexpected results")
    if stats.fivexx:
        failures.append(f"{stats.fivexx} 5xx responses")
    accepted = acct["accepted"]
    missing = acct["missing"]
    dup = acct["duplicates"]
    wrong = acct["wrong"]
    w("Asynchronous events (MaximumRetryAttempts "
      f"{ASYNC_RETRIES}; echo → OnSuccess, fail → OnFailure after {1 + ASYNC_RETRIES} tries; webhook):")
    w("")
    w("| function | accepted (202) | records | missing | duplicates | wrong record |")
    w("|---|---|---|---|---|---|")
    for function, label in (("soak-echo", "echo → Success"), ("soak-fail", "fail → RetriesExhausted")):
        a = accepted.get(function, 0)
        w(f"| {label} | {a} | {a - missing.get(function, 0)} | {missing.get(function, 0)} | "
          f"{dup.get(function, 0)} | {wrong.get(function, 0)} |")
    w("")
    w(f"Webhook: {acct['posts']} POSTs, {acct['success_records']} Success and {acct['failure_records']} "
      f"failure records, {acct['unmatched']} for request ids never accepted, {len(acct['bad_posts'])} "
      f"not records. Async queue depth at the end: "
      f"{health_end.get('asyncQueueDepth') if health_end else 'n/a'}.")
    for example in acct["wrong_examples"]:
        w(f"- wrong record: {example}")
    for example in acct["bad_posts"][:3]:
        w(f"- not a record: {example}")
    w("")
    if sum(missing.values()):
        failures.append(f"{sum(missing.values())} accepted events without a record")
    if sum(dup.values()):
        failures.append(f"{sum(dup.values())} events with duplicate records")
    if sum(wrong.values()) or acct["unmatched"] or acct["bad_posts"]:
        failures.append("wrong, unmatched or malformed records")
    if not health_end or health_end.get("asyncQueueDepth") != 0:
        failures.append(f"async queue not empty at the end ({health_end})")
    start, end, peak = rss["start"], rss["end"], sampler.peak
    ratio = end / start if start and end else float("nan")
    w("| server RSS | |")
    w("|---|---|")
    w(f"| after boot | {mib(rss['boot'])} |")
    w(f"| after deploy | {mib(rss['deployed'])} |")
    w(f"| start (after deploy and warm-up) | {mib(start)} |")
    w(f"| peak during the load (1 s samples) | {mib(rss['load_peak'])} |")
    w(f"| peak overall | {mib(peak)} |")
    w(f"| right after the load | {mib(rss['after_load'])} |")
    w(f"| end (pools empty after idle reaping) | {mib(end)} |")
    w(f"| end / start | {ratio:.3f} (limit {RSS_LIMIT:.2f}) |")
    if "trimmed" in rss:
        w(f"| end, then malloc_trim(0) through gdb (diagnosis, not checked) | {mib(rss['trimmed'])} |")
    w("")
    timeline = rss.get("timeline") or []
    if timeline:
        t0 = timeline[0][0]
        every = max(1, round(len(timeline) / 12))
        points = timeline[::every] + ([timeline[-1]] if (len(timeline) - 1) % every else [])
        w("RSS during the load (s: MiB): " + ", ".join(f"{t - t0:.0f}: {k / 1024:.0f}" for t, k in points))
        w("")
    categories = sorted({c for p in parts.values() for c in p},
                        key=lambda c: -max(p.get(c, 0) for p in parts.values()))
    w("Where the RSS is (/proc/<pid>/smaps; address ranges of wasmtime's pools taken at boot):")
    w("")
    w("| | " + " | ".join(parts) + " | end − start |")
    w("|---|" + "---|" * (len(parts) + 1))
    for c in categories:
        row = [parts[k].get(c, 0) for k in parts]
        delta = parts.get("end", {}).get(c, 0) - parts.get("start", {}).get(c, 0)
        w(f"| {c} | " + " | ".join(mib(v) for v in row) + f" | {delta / 1024:+.1f} MiB |")
    w("")
    if not (ratio <= RSS_LIMIT):
        failures.append(f"RSS end/start {ratio:.3f} > {RSS_LIMIT}")
    if reap_wait != reap_wait:  # NaN
        failures.append(f"pools not empty {args.idle_timeout + REAP_MARGIN_S:.0f} s after the load: "
                        f"{json.dumps(final_pools)}")
    if async_wait != async_wait:
        failures.append(f"async records still missing {ASYNC_DEADLINE_S:.0f} s after the load")
    if not server_alive:
        failures.append("the server died")
    w("Result: " + ("**pass**" if not failures else "**FAIL**: " + "; ".join(failures)))
    return "\n".join(out), failures


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of load (180)")
    parser.add_argument("--threads", type=int, default=8, help="load threads (8)")
    parser.add_argument("--binary", default="target/release/lambkin", help="the lambkin binary")
    parser.add_argument("--examples", default=os.environ.get(
        "LAMBKIN_EXAMPLES", "examples/target/wasm32-wasip2/release"), help="the example .wasm files")
    parser.add_argument("--idle-timeout", type=int, default=5, help="server --idle-timeout (5)")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable for the server (repeatable), e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--weight", action="append", default=[], metavar="KIND=W",
                        help="change one kind's weight in the mix (repeatable; 0 leaves it out), "
                        f"kinds: {', '.join(MIX)}")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the traffic mix")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (log, data)")
    parser.add_argument("--trim-probe", action="store_true",
                        help="diagnosis: after the end measurement, call malloc_trim(0) in the server "
                        "through gdb and measure again (how much of the RSS is free malloc memory)")
    args = parser.parse_args()

    def resolve(p: str) -> Path:
        path = Path(p)
        return (path if path.is_absolute() or path.exists() else REPO / path).resolve()

    binary, examples = resolve(args.binary), resolve(args.examples)
    for _, (example, _) in FUNCTIONS.items():
        if not (examples / f"{example}.wasm").is_file():
            print(f"missing {examples / (example + '.wasm')}: build the examples first", file=sys.stderr)
            return 2
    extra_env = dict(kv.split("=", 1) for kv in args.server_env)
    for kv in args.weight:
        kind, _, weight = kv.partition("=")
        if kind not in MIX:
            parser.error(f"unknown kind {kind!r}")
        MIX[kind] = (float(weight), MIX[kind][1])
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(x for x in (os.environ.get(var, ""), HOST, "localhost") if x)

    workdir = Path(tempfile.mkdtemp(prefix="lambkin-soak-"))
    server = Server(binary, workdir, args.idle_timeout, extra_env)
    hook = Webhook()
    sampler = None
    failures = ["did not finish"]
    try:
        server.start()
        log(f"lambkin serve pid {server.pid} on {HOST}:{server.port}, data in {workdir}")
        time.sleep(0.5)
        rss = {"boot": rss_kib(server.pid)}
        memory_map = MemoryMap(server.pid)
        parts = {}
        sampler = RssSampler(server.pid)
        deploy(server.port, examples, hook.base)
        time.sleep(0.5)
        rss["deployed"] = rss_kib(server.pid)
        warm = Stats()
        warm_up(server.port, warm)
        if warm.unexpected:
            raise RuntimeError(f"warm-up: unexpected results {dict(warm.unexpected)} "
                               f"{dict(warm.examples)}")
        time.sleep(1.0)
        rss["start"] = rss_kib(server.pid)
        parts["start"] = memory_map.breakdown(server.pid)
        log(f"RSS boot {mib(rss['boot'])}, deployed {mib(rss['deployed'])}, start {mib(rss['start'])}")

        stats = Stats()
        stats.accepted.update(warm.accepted)  # warm-up events are accounted for too
        sampler.reset_window()
        load_mark = sampler.mark()
        log(f"load: {args.threads} threads for {args.duration:.0f} s")
        elapsed = load(server.port, stats, args.threads, args.duration, args.seed)
        rss["load_peak"] = sampler.window_peak
        rss["timeline"] = sampler.between(load_mark, sampler.mark())
        rss["after_load"] = rss_kib(server.pid)
        parts["after load"] = memory_map.breakdown(server.pid)
        log(f"load done: {stats.total()} requests in {elapsed:.1f} s; waiting for "
            f"{len(stats.accepted)} async records")
        async_wait = wait_async(stats, hook, ASYNC_DEADLINE_S)
        log(f"async records: {'all in' if async_wait == async_wait else 'some missing'}; "
            "waiting for idle reaping")
        reap_wait, final_pools = wait_reaped(server.port, args.idle_timeout + REAP_MARGIN_S)
        time.sleep(2.0)  # whatever the reaped environments free
        rss["end"] = rss_kib(server.pid)
        parts["end"] = memory_map.breakdown(server.pid)
        if args.trim_probe:
            trim = subprocess.run(
                ["gdb", "-p", str(server.pid), "-batch", "-ex", "call (int) malloc_trim(0)"],
                capture_output=True, text=True, timeout=120)
            log(f"gdb malloc_trim(0): {trim.stdout.strip().splitlines()[-1:] or trim.stderr[-300:]}")
            time.sleep(0.5)
            rss["trimmed"] = rss_kib(server.pid)
            parts["after malloc_trim(0)"] = memory_map.breakdown(server.pid)
        health_end = server.health()
        alive = server.alive()
        acct = account_async(stats, hook)
        log_lines, log_levels, log_worst = server.log_levels()
        text, failures = report(args, stats, elapsed, acct, async_wait, reap_wait, rss, sampler,
                                health_end, alive, final_pools, parts)
        body, result = text.rsplit("\nResult:", 1)
        text = (body.rstrip("\n") + f"\n\nServer log: {log_lines} lines ("
                + (", ".join(f"{c} {lvl}" for lvl, c in log_levels.most_common()) or "none") + ")"
                + "".join(f"\n- {line}" for line in log_worst) + "\n\nResult:" + result)
        print(text, flush=True)
    except BaseException:
        traceback.print_exc()
        if server.proc is not None:
            print(f"\nlambkin log tail:\n{server.log_tail()}", file=sys.stderr)
        failures = ["exception"]
    finally:
        if sampler is not None:
            sampler.stop()
        code = server.stop()
        hook.close()
        if code not in (None, 0):
            failures.append(f"server exit status {code}")
            print(f"lambkin exited with {code}; log tail:\n{server.log_tail()}", file=sys.stderr)
        if args.keep or failures:
            log(f"kept {workdir} (lambkin.log, data)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
