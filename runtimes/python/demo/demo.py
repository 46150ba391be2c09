#!/usr/bin/env python3
"""Drives the Python runtime through a real `lambkin serve` with boto3 and prints what it saw.

    python3 runtimes/python/demo/demo.py [--lambkin target/release/lambkin] [--runtime-dir DIR]

Starts the server on a free port with a fresh data directory, publishes two layers (the
standard library at /opt/lang/lib/python3.X, and the handlers under /opt/python), creates
functions whose code is runtime.wasm itself, invokes them and checks the answers. Prints a
summary of timings at the end (JSON with --json). Exits non-zero if a check failed.
"""

from __future__ import annotations

import argparse
import base64
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

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
HANDLERS = os.path.join(HERE, "handlers")
ROLE = "arn:aws:iam::000000000000:role/lambda-role"

failures: list[str] = []
figures: dict[str, object] = {}


def check(cond: bool, what: str) -> None:
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        failures.append(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def handler_layer() -> bytes:
    files = {}
    for dirpath, _, filenames in os.walk(HANDLERS):
        for name in filenames:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                files["python/" + os.path.relpath(path, HANDLERS)] = open(path, "rb").read()
    # A module that does not parse: for Runtime.UserCodeSyntaxError.
    files["python/broken_syntax.py"] = b"def lambda_handler(event, context)\n    return 1\n"
    return zip_of(files)


def report_of(log: str) -> dict[str, float]:
    out = {}
    for key in ("Duration", "Billed Duration", "Init Duration", "Max Memory Used", "Memory Size"):
        m = re.search(r"\t%s: ([0-9.]+)" % key, log) or re.search(r"%s: ([0-9.]+)" % key, log)
        if m:
            out[key] = float(m.group(1))
    return out


class Lambkin:
    def __init__(self, binary: str, data_dir: str):
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(data_dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:%d" % self.port, "--data-dir", os.path.join(data_dir, "data")],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit("lambkin did not start; see %s" % self.log.name)
                time.sleep(0.05)
        self.client = boto3.client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}, connect_timeout=5, read_timeout=300),
        )

    def pools(self):
        with urllib.request.urlopen(self.endpoint + "/lambkin/pools", timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_active(client, name, qualifier=None, timeout=600):
    kwargs = {"FunctionName": name}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    deadline = time.monotonic() + timeout
    while True:
        cfg = client.get_function_configuration(**kwargs)
        if cfg["State"] != "Pending" and cfg.get("LastUpdateStatus") != "InProgress":
            return cfg
        if time.monotonic() > deadline:
            raise SystemExit("%s still Pending after %ds" % (name, timeout))
        time.sleep(0.1)


def invoke(client, name, payload, qualifier=None, **extra):
    kwargs = {"FunctionName": name, "Payload": json.dumps(payload).encode(), "LogType": "Tail"}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    kwargs.update(extra)
    started = time.perf_counter()
    r = client.invoke(**kwargs)
    wall_ms = (time.perf_counter() - started) * 1000
    body = r["Payload"].read()
    log = base64.b64decode(r.get("LogResult", "")).decode("utf-8", "replace")
    try:
        value = json.loads(body)
    except ValueError:
        value = body
    return {"status": r["StatusCode"], "error": r.get("FunctionError"), "value": value, "log": log,
            "wall_ms": wall_ms, "report": report_of(log)}


def show(title, res):
    print("\n== %s  (HTTP %s, %s, %.1f ms wall)" % (title, res["status"], res["error"] or "ok", res["wall_ms"]))
    print("  response: %s" % json.dumps(res["value"], ensure_ascii=False)[:1500])
    print("  log:\n" + "\n".join("    | " + line for line in res["log"].rstrip("\n").split("\n")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lambkin", default=os.path.join(ROOT, "target/release/lambkin"))
    ap.add_argument("--runtime-dir", default=None, help="target/runtimes/python3.X")
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args()
    runtime_dir = args.runtime_dir
    if runtime_dir is None:
        cands = sorted(d for d in os.listdir(os.path.join(ROOT, "target/runtimes")) if d.startswith("python3"))
        runtime_dir = os.path.join(ROOT, "target/runtimes", cands[-1])
    wasm = open(os.path.join(runtime_dir, "runtime.wasm"), "rb").read()
    stdlib_zip = open(os.path.join(runtime_dir, "stdlib-layer.zip"), "rb").read()
    info = json.load(open(os.path.join(runtime_dir, "build-info.json")))
    figures["python"] = info["python"].split()[0]
    figures["runtime_wasm_bytes"] = len(wasm)
    figures["stdlib_layer_zip_bytes"] = len(stdlib_zip)

    tmp = tempfile.mkdtemp(prefix="lambkin-python-demo-")
    server = Lambkin(args.lambkin, tmp)
    c = server.client
    try:
        run(c, server, wasm, stdlib_zip, info)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("data directory kept: %s" % tmp)
    print("\n== figures\n" + json.dumps(figures, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    if failures:
        print("\n%d check(s) FAILED:" % len(failures))
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    print("\nall checks passed")


def run(c, server, wasm, stdlib_zip, info):
    stdlib_arn = c.publish_layer_version(LayerName="python-stdlib", Content={"ZipFile": stdlib_zip})["LayerVersionArn"]
    code_arn = c.publish_layer_version(LayerName="python-handlers", Content={"ZipFile": handler_layer()})["LayerVersionArn"]
    layers = [stdlib_arn, code_arn]

    gs_files = {"python/lambda_function.py": open(os.path.join(HERE, "getting_started", "lambda_function.py"), "rb").read()}
    gs_arn = c.publish_layer_version(LayerName="getting-started", Content={"ZipFile": zip_of(gs_files)})["LayerVersionArn"]

    def create(name, handler, memory=None, env=None, snap=False, timeout=30, layers=layers):
        kwargs = dict(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler=handler,
                      Code={"ZipFile": wasm}, Layers=layers, Timeout=timeout)
        if memory:
            kwargs["MemorySize"] = memory
        if env:
            kwargs["Environment"] = {"Variables": env}
        if snap:
            kwargs["SnapStart"] = {"ApplyOn": "PublishedVersions"}
        started = time.perf_counter()
        c.create_function(**kwargs)
        cfg = wait_active(c, name)
        return cfg, (time.perf_counter() - started) * 1000

    # --- hello: the first create compiles runtime.wasm --------------------------------------
    cfg, ms = create("hello", "lambda_function.lambda_handler")
    figures["first_create_to_active_ms"] = round(ms)
    print("first create -> %s in %.0f ms (%s)" % (cfg["State"], ms, cfg.get("StateReason", "")))
    check(cfg["State"] == "Active", "hello is Active")
    res = invoke(c, "hello", {"name": "Ada"})
    show("hello, cold", res)
    figures["cold_invoke_wall_ms"] = round(res["wall_ms"], 1)
    figures["cold_init_duration_ms"] = res["report"].get("Init Duration")
    figures["cold_duration_ms"] = res["report"].get("Duration")
    figures["max_memory_used_mb_cold"] = res["report"].get("Max Memory Used")
    figures["bootstrap_init_ms"] = res["value"].get("bootstrap_init_ms")
    v = res["value"]
    check(res["error"] is None and v.get("message") == "Hello, Ada!", "hello answers")
    check(v.get("memory_limit_in_mb") == "128", "memory_limit_in_mb is Lambda's string '128'")
    check(v.get("function_name") == "hello" and v.get("function_version") == "$LATEST", "function name/version")
    check(v.get("invoked_function_arn", "").endswith(":function:hello"), "invoked_function_arn")
    check(v.get("log_group_name") == "/aws/lambda/hello", "log_group_name")
    check(bool(v.get("log_stream_name")), "log_stream_name")
    check(0 < v.get("remaining_ms", 0) <= 30000, "get_remaining_time_in_millis within Timeout")
    check(v.get("sys_path", [None])[0] == "/var/task", "sys.path starts with /var/task")
    check(v.get("executable_version", "").startswith("3."), "python version reported")
    warm = [invoke(c, "hello", {"name": "Bo"}) for _ in range(10)]
    durations = sorted(w["report"].get("Duration", 0) for w in warm)
    walls = sorted(w["wall_ms"] for w in warm)
    figures["warm_duration_ms_median"] = durations[len(durations) // 2]
    figures["warm_wall_ms_median"] = round(walls[len(walls) // 2], 2)
    check(all(w["error"] is None and "Init Duration" not in w["report"] for w in warm), "warm invokes reuse the environment")
    print("\nwarm: Duration median %.2f ms, wall median %.2f ms" % (figures["warm_duration_ms_median"], figures["warm_wall_ms_median"]))
    figures["max_memory_used_mb_warm"] = warm[-1]["report"].get("Max Memory Used")
    res = invoke(c, "hello", {"name": "Cy"}, ClientContext=base64.b64encode(json.dumps(
        {"custom": {"k": "v"}, "env": {"e": "1"}, "client": {"app_title": "demo"}}).encode()).decode())
    check(res["value"].get("client_context") == {"custom": {"k": "v"}, "env": {"e": "1"}, "app_title": "demo"},
          "client_context reaches the handler as Lambda's object")

    # A cold start once the code is compiled and the layers unpacked: a new revision of $LATEST.
    colds = []
    for i in range(5):
        c.update_function_configuration(FunctionName="hello", Environment={"Variables": {"REV": str(i)}})
        wait_active(c, "hello")
        colds.append(invoke(c, "hello", {"name": "Rev"}))
    check(all("Init Duration" in r["report"] for r in colds), "each new revision starts cold")
    walls = sorted(r["wall_ms"] for r in colds)
    inits = sorted(r["report"]["Init Duration"] for r in colds)
    boots = sorted(r["value"]["bootstrap_init_ms"] for r in colds)
    figures["cold_again_wall_ms_median"] = round(walls[2], 1)
    figures["cold_again_init_duration_ms_median"] = inits[2]
    figures["cold_again_bootstrap_init_ms_median"] = round(boots[2], 2)
    print("\ncold starts of new revisions: wall %s ms, Init Duration %s ms, bootstrap init %s ms" % (
        [round(w, 1) for w in walls], inits, [round(b, 2) for b in boots]))

    # --- the seeds' getting-started handler, unchanged ---------------------------------------
    create("getting-started", "lambda_function.lambda_handler", layers=[stdlib_arn, gs_arn])
    res = invoke(c, "getting-started", {"length": 6, "width": 7})
    show("getting-started (seed 003), cold", res)
    check(res["value"] == '{"area": 42}', "getting-started returns {\"area\": 42} as a JSON string")
    check("The area is 42" in res["log"], "print reaches the log")
    check(re.search(r"\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t[0-9a-f-]{36}\tCloudWatch logs group: /aws/lambda/getting-started\n",
                    res["log"]) is not None, "logger.info in Lambda's format [INFO]\\t<ts>Z\\t<request id>\\t<msg>")

    # --- logging levels ------------------------------------------------------------------------
    create("log-default", "logs.lambda_handler")
    res = invoke(c, "log-default", {})
    show("logging, no AWS_LAMBDA_LOG_LEVEL", res)
    check("[WARNING]" in res["log"] and "[INFO]" not in res["log"], "root logger defaults to WARNING (Lambda's)")
    create("log-debug", "logs.lambda_handler", env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG"})
    res = invoke(c, "log-debug", {})
    check("[DEBUG]" in res["log"] and "[INFO]" in res["log"], "AWS_LAMBDA_LOG_LEVEL=DEBUG lowers the level")
    create("log-json", "logs.lambda_handler", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    res = invoke(c, "log-json", {})
    show("logging, AWS_LAMBDA_LOG_FORMAT=JSON", res)
    check('"level": "INFO"' in res["log"] and '"requestId"' in res["log"], "JSON log format")

    # --- the standard library -------------------------------------------------------------------
    create("stdlib", "stdlib_use.lambda_handler")
    res = invoke(c, "stdlib", {})
    show("stdlib: csv, xml.etree, decimal, datetime, uuid, hashlib, re (+ not preloaded)", res)
    v = res["value"] if isinstance(res["value"], dict) else {}
    check(res["error"] is None and v.get("ok") is True, "stdlib modules work")
    figures["stdlib_cold_init_ms"] = res["report"].get("Init Duration")
    create("stdlib-survey", "stdlib_survey.lambda_handler", memory=512)
    res = invoke(c, "stdlib-survey", {"expected": info["importable"]})
    v = res["value"] if isinstance(res["value"], dict) else {}
    print("\n== stdlib survey: %s" % json.dumps({k: v.get(k) for k in ("tried", "imported", "from_snapshot", "from_files", "elapsed_ms")}))
    print("  failed: %s" % json.dumps(v.get("failed"), indent=1))
    check(res["error"] is None and not v.get("failed"), "every module importable at build time imports at run time too")
    figures["stdlib_survey"] = {k: v.get(k) for k in ("tried", "imported", "from_snapshot", "from_files", "elapsed_ms")}
    create("cold-imports", "cold_imports.lambda_handler")
    res = invoke(c, "cold-imports", {})
    show("cold imports: modules not in the snapshot, imported at Init from the mounted .pyc", res)
    figures["cold_imports"] = {"init_ms": res["report"].get("Init Duration"), "imports": res["value"]}

    # --- what the sandbox allows (reported) ------------------------------------------------------
    create("gaps", "gaps.lambda_handler")
    res = invoke(c, "gaps", {})
    print("\n== sandbox probes\n" + "\n".join("  %-30s %s" % kv for kv in res["value"].items()))
    check(res["value"].get("asyncio.run") == "ok: 'slept'", "asyncio.run works (selector loop without a self-pipe)")
    figures["sandbox_probes"] = res["value"]

    # --- packages: pkg/mod.handler -----------------------------------------------------------------
    create("pkg", "pkg/mod.handler")
    res = invoke(c, "pkg", {"x": 1})
    check(res["value"] == {"module": "pkg.mod", "x": 1}, "pkg/mod.handler (Lambda's / form)")
    create("pkg-dot", "pkg.mod.handler")
    res = invoke(c, "pkg-dot", {"x": 2})
    check(res["value"] == {"module": "pkg.mod", "x": 2}, "pkg.mod.handler")

    # --- errors -------------------------------------------------------------------------------------
    def expect_error(name, handler, payload, etype, message, trace_re=None, env=None):
        create(name, handler, env=env)
        res = invoke(c, name, payload)
        show("error: %s" % etype, res)
        v = res["value"] if isinstance(res["value"], dict) else {}
        check(res["error"] == "Unhandled" and v.get("errorType") == etype, "%s: errorType" % etype)
        check(re.fullmatch(message, v.get("errorMessage", "")) is not None, "%s: errorMessage %r" % (etype, v.get("errorMessage")))
        if trace_re is not None:
            trace = "".join(v.get("stackTrace", []))
            check(re.search(trace_re, trace) is not None, "%s: stackTrace %r" % (etype, v.get("stackTrace")))
        return res

    res = expect_error("err-raise", "errors.raise_value_error", {"n": 3}, "ValueError", r"bad n: 3",
                       r'^  File "/opt/python/errors.py", line \d+, in raise_value_error\n    check\(event\["n"\]\)\n'
                       r'  File "/opt/python/errors.py", line \d+, in check\n    raise ValueError\(f"bad n: \{n\}"\)\n$')
    check("[ERROR] ValueError: bad n: 3\rTraceback (most recent call last):\r\u00a0\u00a0File" in res["log"],
          "the [ERROR] record Lambda's runtime logs")
    expect_error("err-custom", "errors.raise_custom", {}, "PaymentDeclined", r"card \*\*\*\* 4242")
    expect_error("err-import", "no_such_module.lambda_handler", {}, "Runtime.ImportModuleError",
                 r"Unable to import module 'no_such_module': No module named 'no_such_module'")
    expect_error("err-import-dep", "imports_missing.lambda_handler", {}, "Runtime.ImportModuleError",
                 r"Unable to import module 'imports_missing': No module named 'requests'")
    res = expect_error("err-handler", "lambda_function.no_such_function", {}, "Runtime.HandlerNotFound",
                       r"Handler 'no_such_function' missing on module 'lambda_function'")
    check("LAMBDA_WARNING: Unhandled exception." in res["log"] and "INIT_REPORT" in res["log"],
          "Init failure logs LAMBDA_WARNING and INIT_REPORT")
    expect_error("err-syntax", "broken_syntax.lambda_handler", {}, "Runtime.UserCodeSyntaxError",
                 r"Syntax error in module 'broken_syntax': expected ':' \(broken_syntax.py, line 1\)",
                 r'^  File "/opt/python/broken_syntax.py" Line 1\n')
    expect_error("err-malformed", "nodot", {}, "Runtime.MalformedHandlerName",
                 r"Bad handler 'nodot': not enough values to unpack \(expected 2, got 1\)")
    expect_error("err-builtin", "sys.handler", {}, "Runtime.BuiltInModuleConflict",
                 r"Cannot use built-in module sys as a handler module")
    expect_error("err-init-raise", "raises_at_import.lambda_handler", {}, "KeyError", r"'CONFIG'",
                 r'^  File "/(var|opt)/lang/lib/python3\.\d+/importlib/__init__.py", line \d+, in import_module\n'
                 r'    return _bootstrap\._gcd_import\(name\[level:\], package, level\)\n'
                 r'(.|\n)*  File "/opt/python/raises_at_import.py", line \d+, in <module>\n'
                 r'    CONFIG = os.environ\["CONFIG"\]  # KeyError at Init\n'
                 r'  File "<frozen os>", line \d+, in __getitem__\n$')
    expect_error("err-marshal", "errors.return_set", {}, "Runtime.MarshalError",
                 r"Unable to marshal response: Object of type set is not JSON serializable")
    res = expect_error("err-exit", "errors.call_exit", {}, "Runtime.ExitError",
                       r"RequestId: [0-9a-f-]+ Error: Runtime exited with error: exit status 3")
    expect_error("err-oom", "errors.hog", {}, "Runtime.OutOfMemory",
                 r"RequestId: [0-9a-f-]+ Error: Runtime exited with error: memory limit of 128 MB exceeded")
    res = invoke(c, "err-raise", {"n": 4})
    check(res["value"].get("errorMessage") == "bad n: 4" and "Init Duration" not in res["report"],
          "a handled error keeps the environment warm")

    # --- marshalling ----------------------------------------------------------------------------
    create("marshal", "errors.marshal_kinds")
    res = invoke(c, "marshal", {})
    show("marshal: Decimal, NaN, non-ASCII", res)
    # The raw body: json.loads would lose the difference between 1.10 and 1.1.
    raw = c.invoke(FunctionName="marshal", Payload=b"{}")["Payload"].read().decode()
    print("  raw body: %s" % raw)
    check(raw == '{"d": 1.10, "nan": NaN, "s": "héllo ☃", "b": true}', "Decimal exact, NaN allowed, ensure_ascii=False (Lambda's python3.12+ encoder)")

    # --- memory: the smallest MemorySize that runs ------------------------------------------------
    for mb in (128, 160, 192, 256):
        name = "mem-%d" % mb
        create(name, "lambda_function.lambda_handler", memory=mb)
        res = invoke(c, name, {"name": "m"})
        print("MemorySize %d: %s %s" % (mb, res["error"] or "ok", res["report"]))
        if res["error"] is None:
            figures["min_memory_size_mb"] = mb
            break

    # --- per-environment memory: RSS of the server before and after N idle environments --------
    import concurrent.futures
    create("density", "errors.sleep")
    invoke(c, "density", {"s": 0})
    rss = lambda: int(re.search(r"VmRSS:\s+(\d+)", open("/proc/%d/status" % server.proc.pid).read()).group(1))
    time.sleep(0.5)
    before = rss()
    n = 16
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: invoke(c, "density", {"s": 1.5}), range(n)))
    time.sleep(0.5)
    after = rss()
    envs = [p for p in server.pools()["pools"] if p["function"] == "density"][0]
    print("\ndensity: %d concurrent, pool %s, RSS %d -> %d KiB" % (n, envs, before, after))
    if envs["idle"] > 1:
        figures["rss_kib_per_extra_environment"] = round((after - before) / (envs["idle"] - 1))
    figures["density_pool"] = envs

    # --- pools ------------------------------------------------------------------------------------
    figures["pools"] = server.pools()

    # --- the managed runtime: Runtime=python3.14, the function's zip at /var/task ------------------
    managed(c)

    # --- SnapStart --------------------------------------------------------------------------------
    create("snap", "lambda_function.lambda_handler", snap=True)
    started = time.perf_counter()
    ver = c.publish_version(FunctionName="snap")["Version"]
    cfg = wait_active(c, "snap", qualifier=ver)
    figures["snapstart_publish_to_active_ms"] = round((time.perf_counter() - started) * 1000)
    print("\nSnapStart publish -> %s %s in %d ms (%s)" % (cfg["State"], cfg.get("SnapStart"), figures["snapstart_publish_to_active_ms"], cfg.get("StateReason", "")))
    check(cfg["State"] == "Active", "SnapStart version Active")
    if cfg["State"] == "Active":
        res = invoke(c, "snap", {"name": "Snap"}, qualifier=ver)
        show("SnapStart version, first invoke", res)
        figures["snapstart_first_invoke_wall_ms"] = round(res["wall_ms"], 1)
        figures["snapstart_first_duration_ms"] = res["report"].get("Duration")
        check(res["error"] is None and res["value"].get("message") == "Hello, Snap!", "SnapStart version answers")
        res = invoke(c, "snap", {"name": "Snap2"}, qualifier=ver)
        figures["snapstart_warm_duration_ms"] = res["report"].get("Duration")
        check(res["error"] is None, "SnapStart version, warm")
    create("snap-files", "snap_check.lambda_handler", snap=True)
    ver = c.publish_version(FunctionName="snap-files")["Version"]
    cfg = wait_active(c, "snap-files", qualifier=ver)
    check(cfg["State"] == "Active", "SnapStart (Init prints and reads files) Active: %s" % cfg.get("StateReason"))
    if cfg["State"] == "Active":
        res = invoke(c, "snap-files", {}, qualifier=ver)
        show("SnapStart: print, log, files and imports after the restore", res)
        check(res["error"] is None and res["value"].get("wave") == "wave", "files and imports work after a restore")
        check("handler: printing after the restore" in res["log"], "print works after a restore")
        check("[INFO]" in res["log"] and "handler: logging after the restore" in res["log"], "logging works after a restore")


def managed(c):
    """When this lambkin embeds the runtime (host/build.rs runs build.sh), a function is just
    its zip of sources: unpacked at /var/task, the stdlib at /var/lang/lib/python3.X."""
    gs = open(os.path.join(HERE, "getting_started", "lambda_function.py"), "rb").read()
    try:
        c.create_function(FunctionName="managed-gs", Runtime="python3.14", Role=ROLE,
                          Handler="lambda_function.lambda_handler",
                          Code={"ZipFile": zip_of({"lambda_function.py": gs})})
    except c.exceptions.InvalidParameterValueException as e:
        print("\n(managed runtime python3.14 not available in this lambkin: %s)" % e)
        return
    started = time.perf_counter()
    cfg = wait_active(c, "managed-gs")
    figures["managed_create_to_active_ms"] = round((time.perf_counter() - started) * 1000)
    check(cfg["State"] == "Active", "managed: Runtime=python3.14 function Active")
    res = invoke(c, "managed-gs", {"length": 6, "width": 7})
    show("managed runtime: the getting-started zip, unchanged, at /var/task", res)
    check(res["value"] == '{"area": 42}' and "The area is 42" in res["log"], "managed: getting-started works")
    check("\tCloudWatch logs group: /aws/lambda/managed-gs\n" in res["log"], "managed: logging")
    figures["managed_cold"] = {"wall_ms": round(res["wall_ms"], 1), **res["report"]}
    files = {}
    for dirpath, _, filenames in os.walk(HANDLERS):
        for name in filenames:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                files[os.path.relpath(path, HANDLERS)] = open(path, "rb").read()
    code = zip_of(files)
    for name, handler, payload in (("managed-hello", "lambda_function.lambda_handler", {"name": "Ada"}),
                                   ("managed-stdlib", "stdlib_use.lambda_handler", {}),
                                   ("managed-err", "errors.raise_value_error", {"n": 5}),
                                   ("managed-pkg", "pkg/mod.handler", {"x": 3})):
        c.create_function(FunctionName=name, Runtime="python3.14", Role=ROLE, Handler=handler, Code={"ZipFile": code})
        wait_active(c, name)
        res = invoke(c, name, payload)
        v = res["value"] if isinstance(res["value"], dict) else {}
        if name == "managed-hello":
            check(v.get("sys_path", [])[:4] == ["/var/task", "/opt/python/lib/python3.14/site-packages", "/opt/python",
                                                "/var/lang/lib/python3.14"], "managed: sys.path %s" % v.get("sys_path"))
            figures["managed_hello_cold"] = {"wall_ms": round(res["wall_ms"], 1), **res["report"]}
        elif name == "managed-stdlib":
            check(v.get("ok") is True and v["where"]["xml.sax"].startswith("/var/lang/lib/python3.14/"),
                  "managed: stdlib from /var/lang (%s)" % v.get("where"))
        elif name == "managed-err":
            check(v.get("stackTrace", [""])[0].startswith('  File "/var/task/errors.py", line '), "managed: trace under /var/task")
        else:
            check(v == {"module": "pkg.mod", "x": 3}, "managed: pkg/mod.handler")


if __name__ == "__main__":
    main()
