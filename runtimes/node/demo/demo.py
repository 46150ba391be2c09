#!/usr/bin/env python3
"""Prototype demonstration of lambkin's Node.js runtime, end to end, with boto3.

Starts the existing `target/release/lambkin serve` on a free port with a fresh data directory,
publishes a layer holding the user code (demo/layer/*, plus real npm packages under
nodejs/node_modules from demo/layer-deps), creates functions whose Code.ZipFile is the raw
runtime.wasm, and invokes them: the seeds' getting-started index.mjs, CommonJS, callback, ESM,
require() of node_modules, the built-ins, each Init and invoke error type, response streaming
(InvokeWithResponseStream and a RESPONSE_STREAM function URL), and SnapStart. Prints what each
returned and the measurements; `--json FILE` also writes them as JSON.

    python3 runtimes/node/demo/demo.py [--no-build] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
NODE = HERE.parent
REPO = NODE.parent.parent
LAMBKIN = REPO / "target" / "release" / "lambkin"
RUNTIME_WASM = REPO / "target" / "runtimes" / "nodejs" / "runtime.wasm"
ROLE = "arn:aws:iam::000000000000:role/lambda-role"

results: dict = {"cases": {}, "measurements": {}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def layer_zip() -> bytes:
    """demo/layer/* at the zip's root (so /opt/<dir>/...), the npm packages at nodejs/node_modules."""
    deps = HERE / "layer-deps"
    if not (deps / "node_modules" / ".package-lock.json").exists() or (
        (deps / "package-lock.json").stat().st_mtime > (deps / "node_modules" / ".package-lock.json").stat().st_mtime
    ):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=deps, check=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, base in ((HERE / "layer", ""), (deps / "node_modules", "nodejs/node_modules/")):
            for path in sorted(root.rglob("*")):
                if path.is_file() and path.name != ".package-lock.json":
                    zf.write(path, base + str(path.relative_to(root)))
    return buf.getvalue()


def tail_log(resp) -> str:
    return base64.b64decode(resp.get("LogResult", "")).decode(errors="replace")


def report_of(log: str) -> dict:
    m = re.search(r"REPORT RequestId: \S+\s+(.*)", log)
    out = {}
    if m:
        for part in m.group(1).split("\t"):
            if ":" in part:
                k, v = part.split(":", 1)
                out[k.strip()] = v.strip()
    return out


def ms(value: str | None) -> float | None:
    return float(value.split()[0]) if value else None


class Demo:
    def __init__(self, port: int, data_dir: Path):
        self.endpoint = f"http://127.0.0.1:{port}"
        self.client = boto3.client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}, read_timeout=120, connect_timeout=5),
        )
        self.wasm = RUNTIME_WASM.read_bytes()
        self.layer_arn = None

    def publish_layer(self):
        data = layer_zip()
        resp = self.client.publish_layer_version(
            LayerName="node-demo-code",
            Content={"ZipFile": data},
            CompatibleRuntimes=["provided.al2023"],
            Description="user code for the Node.js runtime demo",
        )
        self.layer_arn = resp["LayerVersionArn"]
        print(f"layer {self.layer_arn}: {len(data)} bytes zipped")

    def create(self, name: str, handler: str, **extra) -> float:
        """Creates a function; returns seconds from CreateFunction to State Active."""
        started = time.monotonic()
        self.client.create_function(
            FunctionName=name,
            Runtime="provided.al2023",
            Role=ROLE,
            Handler=handler,
            Code={"ZipFile": self.wasm},
            Layers=[self.layer_arn],
            MemorySize=extra.pop("MemorySize", 256),
            Timeout=extra.pop("Timeout", 10),
            Environment={"Variables": {"GREETING": "hello from the environment"}},
            **extra,
        )
        self.wait_active(name)
        return time.monotonic() - started

    def wait_active(self, name: str, qualifier: str | None = None, limit: float = 300.0):
        kwargs = {"FunctionName": name}
        if qualifier:
            kwargs["Qualifier"] = qualifier
        deadline = time.monotonic() + limit
        while True:
            cfg = self.client.get_function_configuration(**kwargs)
            if cfg["State"] == "Active":
                return cfg
            if cfg["State"] == "Failed":
                raise RuntimeError(f"{name}: {cfg.get('StateReason')}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} still {cfg['State']}")
            time.sleep(0.05)

    def invoke(self, name: str, payload, qualifier: str | None = None, client_context: dict | None = None):
        kwargs = {"FunctionName": name, "Payload": json.dumps(payload).encode(), "LogType": "Tail"}
        if qualifier:
            kwargs["Qualifier"] = qualifier
        if client_context is not None:
            kwargs["ClientContext"] = base64.b64encode(json.dumps(client_context).encode()).decode()
        started = time.monotonic()
        resp = self.client.invoke(**kwargs)
        wall = (time.monotonic() - started) * 1000
        body = resp["Payload"].read()
        log = tail_log(resp)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = body.decode(errors="replace")
        return {
            "status": resp["StatusCode"],
            "functionError": resp.get("FunctionError"),
            "payload": parsed,
            "log": log,
            "report": report_of(log),
            "wall_ms": round(wall, 1),
        }


def show(title: str, outcome: dict, log_lines: int = 12):
    print(f"\n=== {title}")
    print(f"status {outcome['status']}" + (f"  FunctionError: {outcome['functionError']}" if outcome["functionError"] else ""))
    print("payload:", json.dumps(outcome["payload"], indent=2)[:3000])
    lines = [l for l in outcome["log"].splitlines() if l.strip()]
    print("log (tail):")
    for line in lines[-log_lines:]:
        print("   ", line[:400])
    results["cases"][title] = {k: v for k, v in outcome.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-build", action="store_true", help="use the runtime.wasm already built")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--keep", action="store_true", help="leave the server's data directory behind")
    args = ap.parse_args()

    if not args.no_build:
        subprocess.run([str(NODE / "build.sh")], check=True)
    results["measurements"]["runtime_wasm_bytes"] = RUNTIME_WASM.stat().st_size
    print(f"runtime.wasm: {RUNTIME_WASM.stat().st_size} bytes")

    data_dir = Path(tempfile.mkdtemp(prefix="lambkin-node-demo-"))
    port = free_port()
    server_log = open(data_dir / "server.log", "w")
    server = subprocess.Popen(
        [str(LAMBKIN), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir / "data")],
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("lambkin serve did not come up; see " + str(data_dir / "server.log"))
                time.sleep(0.1)
        run(Demo(port, data_dir))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"data directory kept: {data_dir}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


def run(d: Demo):
    m = results["measurements"]
    d.publish_layer()

    # 1. The seeds' getting-started index.mjs, unchanged. The first create compiles the
    #    component (one compile per code hash; later functions share it).
    m["create_to_active_first_s"] = round(d.create("getting-started", "getting-started/index.handler"), 2)
    print(f"\ncreate -> Active (first function, compiles runtime.wasm): {m['create_to_active_first_s']} s")
    cold = d.invoke("getting-started", {"length": 6, "width": 7})
    show("getting-started index.mjs (seed, unchanged)", cold)
    m["cold_invoke_wall_ms"] = cold["wall_ms"]
    m["init_duration_ms"] = ms(cold["report"].get("Init Duration"))
    m["cold_duration_ms"] = ms(cold["report"].get("Duration"))
    warm = [d.invoke("getting-started", {"length": 2, "width": i}) for i in range(20)]
    durations = sorted(ms(w["report"].get("Duration")) for w in warm)
    walls = sorted(w["wall_ms"] for w in warm)
    m["warm_duration_ms_median"] = durations[len(durations) // 2]
    m["warm_duration_ms_min"] = durations[0]
    m["warm_wall_ms_median"] = walls[len(walls) // 2]
    m["max_memory_used"] = warm[-1]["report"].get("Max Memory Used")
    print(f"\nwarm (20 calls): Duration median {m['warm_duration_ms_median']} ms, min {m['warm_duration_ms_min']} ms; wall median {m['warm_wall_ms_median']} ms")

    # 2. CommonJS with the context object.
    m["create_to_active_cached_s"] = round(d.create("cjs", "cjs/index.handler"), 2)
    cjs = d.invoke("cjs", {"hello": "cjs"}, client_context={"custom": {"k": "v"}})
    show("CommonJS exports.handler + context", cjs)
    m["cold_invoke_wall_ms_second_function"] = cjs["wall_ms"]
    m["init_duration_ms_second_function"] = ms(cjs["report"].get("Init Duration"))

    # Cold starts of further functions sharing the compiled runtime (each its own environment).
    colds = []
    for i in range(5):
        d.create(f"cold-{i}", "getting-started/index.handler")
        colds.append(d.invoke(f"cold-{i}", {"length": i, "width": 2}))
    walls = sorted(c["wall_ms"] for c in colds)
    inits = sorted(ms(c["report"].get("Init Duration")) for c in colds)
    m["cold_invoke_wall_ms_more_functions"] = walls
    m["init_duration_ms_more_functions"] = inits

    # 3. Callback handlers.
    d.create("callback", "callback/index.handler")
    show("callback(null, result) after timers (waits for the event loop)", d.invoke("callback", {}))
    show("callback again: same environment, state kept", d.invoke("callback", {}))
    for handler in ("noWait", "legacy", "fails"):
        d.create(f"callback-{handler}", f"callback/index.{handler}")
        show(f"callback/index.{handler}", d.invoke(f"callback-{handler}", {}))

    # 4. ESM package ("type": "module"), require() of node_modules.
    d.create("esm-pkg", "esm-pkg/index.handler")
    show('ESM in a "type": "module" package (top-level await, import.meta)', d.invoke("esm-pkg", {"name": "layers"}))
    d.create("modules", "modules/index.handler")
    show("require() of node_modules packages (local, lodash, uuid, nanoid via import())", d.invoke("modules", {"name": "Ada"}))

    # 5. Built-ins.
    d.create("builtins", "builtins/index.handler")
    show("Node built-ins", d.invoke("builtins", {}), log_lines=4)

    # 6. Errors.
    for name, handler in [
        ("err-thrown", "errors/index.thrown"),
        ("err-string", "errors/index.rejectString"),
        ("err-type", "errors/index.typeError"),
        ("err-exit", "errors/index.exit"),
        ("err-timer", "errors/index.timerThrows"),
        ("err-out-of-memory", "errors/index.hog"),
        ("err-syntax-cjs", "errors/broken.handler"),
        ("err-syntax-esm", "errors/broken-esm.handler"),
        ("err-missing-module", "errors/nope.handler"),
        ("err-missing-dependency", "errors/imports-missing.handler"),
        ("err-missing-export", "errors/index.missing"),
        ("err-not-a-function", "errors/index.notAFunction"),
        ("err-throws-at-load", "errors/throws-at-load.handler"),
        ("err-malformed", "index"),
    ]:
        d.create(name, handler, **({"MemorySize": 128} if name == "err-out-of-memory" else {}))
        show(f"{name} ({handler})", d.invoke(name, {}), log_lines=4)

    # 7. Streaming.
    d.create("stream-seed", "stream/index.handler", Timeout=30)
    show_stream(d, "stream-seed (seed tutorial index.mjs)", "stream-seed", {"from": "the seeds' tutorial"})
    d.create("stream-echo", "stream/echo.echo")
    show_stream(d, "stream-echo (seed exports.echo)", "stream-echo", {"echo": True})
    d.create("stream-chunks", "stream/chunks.handler", Timeout=30)
    show_stream(d, "stream-chunks (4 writes 200 ms apart)", "stream-chunks", {"chunks": 4, "pause": 200})
    d.create("stream-fails", "stream/chunks.fails")
    show_stream(d, "stream-fails (error mid-stream)", "stream-fails", {})
    d.create("stream-http", "stream/http.handler")
    url = d.client.create_function_url_config(FunctionName="stream-http", AuthType="NONE", InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    show_url(url)

    # 8. SnapStart: Init runs once at PublishVersion, environments restore from the snapshot.
    started = time.monotonic()
    d.client.create_function(
        FunctionName="snap",
        Runtime="provided.al2023",
        Role=ROLE,
        Handler="getting-started/index.handler",
        Code={"ZipFile": d.wasm},
        Layers=[d.layer_arn],
        MemorySize=256,
        Timeout=10,
        SnapStart={"ApplyOn": "PublishedVersions"},
    )
    d.wait_active("snap")
    version = d.client.publish_version(FunctionName="snap")["Version"]
    d.wait_active("snap", version)
    m["snapstart_publish_to_active_s"] = round(time.monotonic() - started, 2)
    snap = d.invoke("snap", {"length": 3, "width": 4}, qualifier=version)
    show(f"SnapStart: version {version}, first invoke", snap)
    m["snapstart_first_invoke_wall_ms"] = snap["wall_ms"]
    m["snapstart_first_duration_ms"] = ms(snap["report"].get("Duration"))
    m["snapstart_init_duration"] = snap["report"].get("Init Duration")
    snap2 = d.invoke("snap", {"length": 5, "width": 5}, qualifier=version)
    show(f"SnapStart: version {version}, second invoke", snap2, log_lines=3)

    print("\n=== measurements")
    for k, v in m.items():
        print(f"  {k}: {v}")


def show_stream(d: Demo, title: str, name: str, payload):
    started = time.monotonic()
    resp = d.client.invoke_with_response_stream(FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail")
    chunks = []
    complete = None
    for event in resp["EventStream"]:
        at = round((time.monotonic() - started) * 1000, 1)
        if "PayloadChunk" in event:
            chunks.append({"at_ms": at, "bytes": event["PayloadChunk"]["Payload"].decode(errors="replace")})
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    print(f"\n=== {title}")
    for c in chunks:
        print(f"  chunk at {c['at_ms']:>8} ms: {c['bytes']!r}")
    log = base64.b64decode(complete.get("LogResult", "")).decode(errors="replace") if complete else ""
    print("  InvokeComplete:", {k: v for k, v in (complete or {}).items() if k != "LogResult"})
    for line in [l for l in log.splitlines() if l.strip()][-4:]:
        print("   ", line[:300])
    results["cases"][title] = {"chunks": chunks, "complete": {k: v for k, v in (complete or {}).items() if k != "LogResult"}, "log": log}


def show_url(url: str):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    started = time.monotonic()
    conn.request("GET", parts.path + "?via=url")
    resp = conn.getresponse()
    head_at = round((time.monotonic() - started) * 1000, 1)
    pieces = []
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            break
        pieces.append({"at_ms": round((time.monotonic() - started) * 1000, 1), "bytes": chunk.decode(errors="replace")})
    title = "stream-http (RESPONSE_STREAM function URL, HttpResponseStream.from)"
    print(f"\n=== {title}")
    print(f"  {resp.status} {resp.reason} at {head_at} ms; content-type={resp.getheader('content-type')} x-demo={resp.getheader('x-demo')}")
    for p in pieces:
        print(f"  body at {p['at_ms']:>8} ms: {p['bytes']!r}")
    results["cases"][title] = {"status": resp.status, "headers": dict(resp.getheaders()), "body": pieces}


if __name__ == "__main__":
    sys.exit(main())
