#!/usr/bin/env python3
"""Managed runtimes (python3.14, nodejs22.x) through a real `lambkin serve`: the runtime's first
compile, create -> Active, cold starts (on demand and restored from a SnapStart snapshot), warm
invocations and resident memory per idle environment, with the Rust `hello` component
(provided.al2023) measured by the same code, interleaved, as the same-run baseline.

Starts `lambkin serve` (LAMBKIN_BIN, default target/release/lambkin) on a fresh data directory
with --idle-timeout 1 and, per subject (examples/python/hello, examples/node/hello, hello.wasm):
1. creates `<s>-0` and times CreateFunction -> Active (the runtime's compile, once per code hash);
2. creates CREATES more functions of the same code, one at a time: create -> Active each;
3. creates `<s>-snap` with SnapStart, publishes version 1, times PublishVersion -> Active;
4. ROUNDS rounds: sleep until the housekeeper has shut every idle environment down (idle 1 s,
   100 ms tick), then per subject (order rotated each round): Invoke `<s>-0` (a new environment,
   Init included), Invoke `<s>-snap:1` (a new environment restored from the snapshot), in the
   first CREATES rounds Invoke `<s>-c<r>` (never invoked before: the first environment of a new
   function), then WARM back-to-back Invokes of `<s>-0`. Each cold call is checked against the
   pool's coldStarts (GET /lambkin/pools). No hello.wasm: the runtimes alone, with a note.
Then it restarts the server on the same data directory with --idle-timeout 3600 and, per
subject, invokes FUNCTIONS new functions once each (one idle environment each), reading the
server's VmRSS, RssAnon and Pss before and after. The data directory is removed at the end.

Invokes are raw HTTP/1.1 on one kept-alive connection with `X-Amz-Log-Type: Tail`; wall time is
from sending the request to the end of the response body; Duration and Init Duration are the
REPORT line's. The load generator shares the machine's cores with the server.

    python3 benches/runtimes.py [--rounds 20] [--runtime all|python3.14|nodejs22.x]
                                [--creates 10] [--functions 50] [--warm 10] [--json out.json]
"""

import argparse
import base64
import http.client
import io
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = os.environ.get("LAMBKIN_BIN", str(ROOT / "target/release/lambkin"))
RUST_WASM = ROOT / "examples/target/wasm32-wasip2/release/hello.wasm"
ROLE = "arn:aws:iam::000000000000:role/bench"
API = "/2015-03-31/functions"
RUNTIMES = {
    "python3.14": ("py", "examples/python/hello", "lambda_function.lambda_handler"),
    "nodejs22.x": ("node", "examples/node/hello", "index.handler"),
}


def zip_dir(path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(path.iterdir()):
            if f.is_file():
                z.write(f, f.name)
    return buf.getvalue()


def subjects(which):
    out = []
    for runtime, (label, directory, handler) in RUNTIMES.items():
        if which in ("all", runtime):
            out.append({"label": label, "runtime": runtime, "handler": handler,
                        "zip": zip_dir(ROOT / directory)})
    if RUST_WASM.is_file():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.write(RUST_WASM, "hello.wasm")
        out.append({"label": "rust", "runtime": "provided.al2023", "handler": "hello.wasm",
                    "zip": buf.getvalue()})
    else:
        print(f"NOTE: {RUST_WASM.relative_to(ROOT)} not found: no Rust baseline in this run "
              "(build the examples first)", file=sys.stderr)
    return out


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def report_of(log):
    line = next((l for l in log.splitlines() if l.startswith("REPORT ")), "")
    out = {}
    for key in ("Duration", "Init Duration", "Max Memory Used"):
        m = re.search(r"(?:^|\t)%s: ([0-9.]+)" % key, line)
        if m:
            out[key] = float(m.group(1))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `lambkin serve` and a kept-alive connection to it."""

    def __init__(self, data_dir, idle_timeout, log_path):
        self.port = free_port()
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir),
             "--idle-timeout", str(idle_timeout)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.conn = None
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"lambkin serve did not start; see {log_path}")
            time.sleep(0.05)

    def request(self, method, path, body=None, headers=None, timeout=120):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            self.conn.timeout = timeout
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=data, headers=headers or {})
                response = self.conn.getresponse()
                payload = response.read()
                wall = (time.perf_counter() - started) * 1000
                return response.status, payload, response.headers, wall
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def json(self, method, path, body=None, expect=(200,)):
        status, payload, _, _ = self.request(method, path, body,
                                             {"Content-Type": "application/json"})
        value = json.loads(payload or b"null")
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {value}")
        return value

    def invoke(self, name, qualifier=None, check=True):
        path = f"{API}/{name}/invocations" + (f"?Qualifier={qualifier}" if qualifier else "")
        status, payload, headers, wall = self.request(
            "POST", path, b'{"name": "bench"}',
            {"X-Amz-Log-Type": "Tail", "Content-Type": "application/json"}, timeout=60)
        if check and (status != 200 or headers.get("X-Amz-Function-Error")
                      or b"Hello, bench!" not in payload):
            raise RuntimeError(f"invoke {name}:{qualifier}: {status} {payload[:300]!r}")
        log = base64.b64decode(headers.get("X-Amz-Log-Result", "")).decode(errors="replace")
        return {"wall_ms": wall, **report_of(log)}

    def pools(self):
        """(function, version) -> the pool's counts."""
        report = self.json("GET", "/lambkin/pools")
        return {(p["function"], p["version"]): p for p in report["pools"]}, report

    def memory_kib(self):
        """VmRSS and RssAnon (status) and Pss (smaps_rollup: a page mapped into many pool slots
        is counted once, where VmRSS counts it in every slot)."""
        status = pathlib.Path(f"/proc/{self.proc.pid}/status").read_text()
        rollup = pathlib.Path(f"/proc/{self.proc.pid}/smaps_rollup").read_text()
        grab = lambda text, field: int(re.search(field + r":\s+(\d+)", text).group(1))
        return {"rss": grab(status, "VmRSS"), "anon": grab(status, "RssAnon"), "pss": grab(rollup, "Pss")}

    def stop(self):
        if self.conn:
            self.conn.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def wait_active(server, name, qualifier=None, timeout=900):
    path = f"{API}/{name}/configuration" + (f"?Qualifier={qualifier}" if qualifier else "")
    started, poll = time.monotonic(), 0.005
    while time.monotonic() - started < timeout:
        config = server.json("GET", path)
        if config.get("State") == "Active" and config.get("LastUpdateStatus", "Successful") != "InProgress":
            return config
        if config.get("State") == "Failed":
            raise RuntimeError(f"{name}:{qualifier} Failed: {config.get('StateReason')}")
        time.sleep(poll)
        poll = min(0.25, poll * 1.5)
    raise RuntimeError(f"{name}:{qualifier} not Active after {timeout} s")


def create(server, s, name, snap=False):
    body = {"FunctionName": name, "Role": ROLE, "Runtime": s["runtime"], "Handler": s["handler"],
            "Code": {"ZipFile": base64.b64encode(s["zip"]).decode()}, "Timeout": 30}
    if snap:
        body["SnapStart"] = {"ApplyOn": "PublishedVersions"}
    started = time.perf_counter()
    server.json("POST", API, body, expect=(201,))
    wait_active(server, name)
    return time.perf_counter() - started


def wait_reaped(server, keys, idle_timeout, timeout=10):
    """Sleeps past the idle timeout until none of `keys` holds an idle environment."""
    time.sleep(idle_timeout + 0.25)
    deadline = time.monotonic() + timeout
    while True:
        pools, _ = server.pools()
        if all(pools.get(k, {}).get("idle", 0) == 0 for k in keys):
            return pools
        if time.monotonic() > deadline:
            raise RuntimeError("idle environments were not shut down")
        time.sleep(0.05)


def cold(server, pools, name, version, qualifier=None):
    """One invocation that must start a new environment (checked against coldStarts)."""
    before = pools.get((name, version), {}).get("coldStarts", 0)
    result = server.invoke(name, qualifier)
    after = server.pools()[0].get((name, version), {}).get("coldStarts", 0)
    result["verified_cold"] = after == before + 1
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--runtime", default="all", choices=["all", *RUNTIMES])
    ap.add_argument("--creates", type=int, default=10, help="create -> Active samples per runtime")
    ap.add_argument("--functions", type=int, default=50, help="idle environments for the RSS figure")
    ap.add_argument("--warm", type=int, default=10, help="warm invokes per subject per round")
    ap.add_argument("--json", help="write every figure and sample here")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    subs = subjects(args.runtime)
    fig = {s["label"]: {"runtime": s["runtime"], "cold": [], "snap": [], "new_fn": [], "warm": []}
           for s in subs}
    meta = {"bin": BIN, "rounds": args.rounds, "load_average_start": os.getloadavg(),
            "cpus": os.cpu_count()}
    work = pathlib.Path(tempfile.mkdtemp(prefix="lambkin-runtimes-bench-"))
    data, log = work / "data", work / "serve.log"
    server = None
    try:
        server = Server(data, 1, log)
        for s in subs:
            f = fig[s["label"]]
            print(f"[{s['label']}] CreateFunction -> Active on a fresh data directory ...", flush=True)
            compiles = server.pools()[1]["compiles"]
            f["first_active_s"] = create(server, s, f"{s['label']}-0")
            f["compiles_first"] = server.pools()[1]["compiles"] - compiles
            f["first_invoke"] = server.invoke(f"{s['label']}-0")
        for i in range(args.creates):
            for s in subs:
                fig[s["label"]].setdefault("create_s", []).append(
                    create(server, s, f"{s['label']}-c{i}"))
        for s in subs:
            f, name = fig[s["label"]], f"{s['label']}-snap"
            print(f"[{s['label']}] SnapStart: CreateFunction, PublishVersion -> Active ...", flush=True)
            create(server, s, name, snap=True)
            started = time.perf_counter()
            version = server.json("POST", f"{API}/{name}/versions", {}, expect=(201,))["Version"]
            wait_active(server, name, version)
            f["snap_publish_s"] = time.perf_counter() - started
            f["snap_first_invoke"] = server.invoke(name, version)
        keys = [(f"{s['label']}{k}", v) for s in subs for k, v in (("-0", "$LATEST"), ("-snap", "1"))]
        print(f"{args.rounds} rounds of cold, restored, new-function and warm invokes ...", flush=True)
        for r in range(args.rounds):
            pools = wait_reaped(server, keys, 1)
            for s in subs[r % len(subs):] + subs[:r % len(subs)]:
                f, label = fig[s["label"]], s["label"]
                f["cold"].append(cold(server, pools, f"{label}-0", "$LATEST"))
                f["snap"].append(cold(server, pools, f"{label}-snap", "1", "1"))
                if r < args.creates:
                    f["new_fn"].append(cold(server, pools, f"{label}-c{r}", "$LATEST"))
                f["warm"] += [server.invoke(f"{label}-0") for _ in range(args.warm)]
        server.stop()

        # Resident memory: a long idle timeout, so that every environment stays.
        server = Server(data, 3600, log)
        for s in subs:
            f, label = fig[s["label"]], s["label"]
            server.invoke(f"{label}-0")  # compiled code loaded before the first reading
            names = [f"{label}-m{i}" for i in range(args.functions)]
            code = {"ZipFile": base64.b64encode(s["zip"]).decode()}
            for name in names:
                server.json("POST", API, {"FunctionName": name, "Role": ROLE, "Timeout": 30,
                                          "Runtime": s["runtime"], "Handler": s["handler"],
                                          "Code": code}, expect=(201,))
            for name in names:
                wait_active(server, name)
            time.sleep(0.5)
            before = server.memory_kib()
            f["new_fn_warm_server"] = [server.invoke(name) for name in names]
            time.sleep(0.5)
            after = server.memory_kib()
            pools = server.pools()[0]
            idle = sum(pools.get((n, "$LATEST"), {}).get("idle", 0) for n in names)
            f["memory"] = {"before_kib": before, "after_kib": after, "idle": idle, **{
                f"{k}_per_env_kib": (after[k] - before[k]) / max(idle, 1) for k in before}}
        meta["compiles_total_second_server"] = server.pools()[1]["compiles"]
    finally:
        if server:
            server.stop()
        shutil.rmtree(data, ignore_errors=True)  # the log stays
    meta["load_average_end"] = os.getloadavg()
    meta["server_log"] = str(log)
    print_table(subs, fig, meta)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"meta": meta, "figures": fig}, indent=1))


def print_table(subs, fig, meta):
    def ms(xs, key="wall_ms"):
        vals = [x[key] for x in xs if key in x]
        return f"{pct(vals, 0.5):.2f} / {pct(vals, 0.9):.2f}" if vals else "—"

    rows = [
        ("runtime compile: first CreateFunction -> Active", "—",
         lambda f: f"{f['first_active_s']:.1f} s ({f['compiles_first']} compile)"),
        ("first invoke after that compile: wall", "—", lambda f: f"{f['first_invoke']['wall_ms']:.1f} ms"),
        ("create -> Active, code compiled: p50 / max", "≤ 1 s",
         lambda f: f"{pct(f['create_s'], .5) * 1000:.0f} / {max(f['create_s']) * 1000:.0f} ms"),
        ("cold (same function, env reaped): wall p50 / p90 ms", "p50 ≤ 15 ms", lambda f: ms(f["cold"])),
        ("  … REPORT Init Duration p50 / p90 ms", "—", lambda f: ms(f["cold"], "Init Duration")),
        ("  … REPORT Duration p50 / p90 ms", "—", lambda f: ms(f["cold"], "Duration")),
        ("cold (first env of a new function): wall p50 / p90 ms", "—", lambda f: ms(f["new_fn"])),
        ("  … 2nd server, N new functions: wall p50 / p90 ms", "—", lambda f: ms(f["new_fn_warm_server"])),
        ("SnapStart: PublishVersion -> version Active", "—", lambda f: f"{f['snap_publish_s']:.1f} s"),
        ("SnapStart: first restore after publish: wall", "—",
         lambda f: f"{f['snap_first_invoke']['wall_ms']:.1f} ms"),
        ("SnapStart restored (env reaped): wall p50 / p90 ms", "p50 ≤ 8 ms", lambda f: ms(f["snap"])),
        ("  … REPORT Duration p50 / p90 ms", "—", lambda f: ms(f["snap"], "Duration")),
        ("  … REPORTs with Init Duration", "none",
         lambda f: f"{sum('Init Duration' in x for x in f['snap'])} of {len(f['snap'])}"),
        ("warm: REPORT Duration p50 / p90 ms", "p50 ≤ 1 ms", lambda f: ms(f["warm"], "Duration")),
        ("warm: wall p50 / p90 ms", "—", lambda f: ms(f["warm"])),
        ("Max Memory Used (warm)", "—", lambda f: f"{f['warm'][-1].get('Max Memory Used', 0):.0f} MB"),
        ("server memory per idle env: VmRSS / RssAnon / Pss KiB", "—",
         lambda f: "{rss_per_env_kib:.0f} / {anon_per_env_kib:.0f} / {pss_per_env_kib:.0f} (over {idle})"
         .format(**f["memory"])),
    ]
    labels = [s["label"] for s in subs]
    head = [f"{s['label']} ({s['runtime']})" for s in subs]
    print()
    print("| figure | " + " | ".join(head) + " | target |")
    print("|---" * (len(head) + 2) + "|")
    for title, target, cell in rows:
        cells = []
        for label in labels:
            try:
                cells.append(cell(fig[label]))
            except (KeyError, TypeError, ValueError, IndexError):
                cells.append("—")
        print(f"| {title} | " + " | ".join(cells) + f" | {target} |")
    unverified = {l: sum(not x["verified_cold"] for k in ("cold", "snap", "new_fn") for x in fig[l][k])
                  for l in labels}
    print(f"\ncold calls not confirmed by the pool's coldStarts: {unverified}")
    print(f"load average: start {meta['load_average_start']}, end {meta['load_average_end']}; "
          f"compiles on the second server: {meta.get('compiles_total_second_server')}")


if __name__ == "__main__":
    main()
