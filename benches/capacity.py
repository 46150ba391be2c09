#!/usr/bin/env python3
"""Capacity of one node: creates per second on a cold compile cache, time until every function
is Active, and resident memory per idle execution environment.

Starts `lambkin serve` (LAMBKIN_BIN, default target/release/lambkin) on a fresh data directory,
creates FUNCTIONS functions of one code from 8 client threads, waits until all are Active,
invokes each once (one idle environment each), and reads the server's resident memory before
and after. Prints the figures and the node's environment budget (its default unless
LAMBKIN_MAX_ENVIRONMENTS is set).

    python3 benches/capacity.py [FUNCTIONS=1000] [EXAMPLE=hello]
"""

import base64
import concurrent.futures
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = os.environ.get("LAMBKIN_BIN", str(ROOT / "target/release/lambkin"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method=method,
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def resident_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pending(port):
    count, marker = 0, ""
    while True:
        _, page = call(port, "GET", f"/2015-03-31/functions?MaxItems=50{marker}")
        count += sum(1 for f in page["Functions"] if f["State"] != "Active")
        if not page.get("NextMarker"):
            return count
        marker = f"&Marker={page['NextMarker']}"


def main():
    functions = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    example = sys.argv[2] if len(sys.argv) > 2 else "hello"
    wasm = (ROOT / f"examples/target/wasm32-wasip2/release/{example}.wasm").read_bytes()
    zip_file = base64.b64encode(wasm).decode()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    call(port, "GET", "/health")
                    break
                except OSError:
                    time.sleep(0.05)
            base = resident_kib(server.pid)

            def create(i):
                status, body = call(port, "POST", "/2015-03-31/functions", {
                    "FunctionName": f"fn{i}", "Role": "arn:aws:iam::000000000000:role/r",
                    "Runtime": "provided.al2023", "Handler": f"{example}.wasm",
                    "Code": {"ZipFile": zip_file}})
                assert status == 201, body

            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(create, range(functions)))
            created = time.perf_counter() - started
            while pending(port):
                time.sleep(0.05)
            active = time.perf_counter() - started
            before = resident_kib(server.pid)

            def invoke(i):
                status, body = call(port, "POST", f"/2015-03-31/functions/fn{i}/invocations", {})
                assert status == 200, body

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(pool.map(invoke, range(functions)))
            time.sleep(0.5)
            after = resident_kib(server.pid)
            _, report = call(port, "GET", "/lambkin/pools")
            # A build older than the environment budget reports neither it nor compiles.
            environments = report.get("environments", {"limit": "?", "live": functions})
            print(f"functions: {functions} of {example}; compiles: {report.get('compiles', '?')}")
            print(f"creates on a cold compile cache: {created:.2f} s, {functions / created:.0f}/s")
            print(f"all Active after: {active:.2f} s")
            print(f"environment budget: {environments['limit']}; idle environments: {environments['live']}")
            idle = max(environments["live"], 1)
            print(f"server resident: {base / 1024:.1f} MiB at start, {before / 1024:.1f} MiB with "
                  f"the functions, {after / 1024:.1f} MiB with their idle environments: "
                  f"{(after - before) / idle:.1f} KiB per idle environment")
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
