"""Python functions on lambkin's managed runtime `python3.14`, written as Lambda's documentation
writes them, driven through boto3 against the real server.

What: a function is `Runtime="python3.14"`, `Handler="module.function"` and a zip of `.py`
sources (unpacked read-only at /var/task); lambkin runs it on its embedded Python runtime
component (runtimes/python/). This module deploys such functions and checks what Lambda's
Python runtime does with them: the seeds' getting-started handler unchanged (its result and its
log lines in Lambda's Python format), sync and Event invocations, a function URL, versions and
aliases, SnapStart and provisioned concurrency on a version, the context object, packages and a
dependency from a layer at /opt/python, the standard library, every error type the runtime
reports (exceptions, Init failures, marshalling, timeout, out of memory) and a code update.

Why: the rest of the suite runs Rust components (`provided.al2023`); this is the path a user
coming from Lambda takes first — plain Python files, no WebAssembly toolchain — so it has to
behave like Lambda end to end, through the same API, logs and error shapes.

Every test makes its own functions (unique names, deleted afterwards), so tests are independent.
The module fixture creates the first function, which makes the server compile the runtime
(tens of seconds on a loaded machine), and a SnapStart function whose version 1 it publishes at
once: its snapshot is taken in the background while the other tests run, and the SnapStart test,
last in the module, waits for it. Sources are inline, zipped by the tests.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import datetime
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass

import pytest

from conftest import unique_name
from helpers import FUNCTION_ARN_PREFIX as ARN
from helpers import (
    http_request,
    ROLE,
    create_function,
    invoke_event,
    sha256_b64,
    status_of,
    wait_updated,
    zip_of,
)

RUNTIME = "python3.14"
FIRST_ACTIVE_S = 300.0  # the first function of a fresh server compiles the 28 MB runtime
SNAPSHOT_S = 240.0  # PublishVersion -> Active with SnapStart (Init, snapshot, compile)
WAIT_S = 30.0
REQUEST_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
HTTP_TIMEOUT_S = 10

# ---------------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------------

# The Python getting-started function of seed 003 (Lambda Developer Guide, "Create your first
# function", Python tab), character for character; its console test event is
# {"length": 6, "width": 7}.
GETTING_STARTED = '''\
import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)

def lambda_handler(event, context):

    # Get the length and width parameters from the event object. The
    # runtime converts the event object to a Python dictionary
    length=event['length']
    width=event['width']

    area = calculate_area(length, width)
    print(f"The area is {area}")

    logger.info(f"CloudWatch logs group: {context.log_group_name}")

    # return the calculated area as a JSON string
    data = {"area": area}
    return json.dumps(data)

def calculate_area(length, width):
    return length*width
'''

# The context object, and the environment's own state (CALLS counts invocations since Init).
CONTEXT_APP = '''\
import os
import time

INIT_AT = time.time()
CALLS = 0
CODE = "v1"


def handler(event, context):
    global CALLS
    CALLS += 1
    first = context.get_remaining_time_in_millis()
    time.sleep(event.get("sleep", 0))
    return {
        "code": CODE,
        "calls": CALLS,
        "init_at": INIT_AT,
        "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "event": event,
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": [first, context.get_remaining_time_in_millis()],
    }
'''

# The SnapStart function: CONTEXT_APP, plus what its import reads from the mounts (a package of
# its own, a standard-library module the runtime does not preload) and writes (a print).
SNAP_APP = CONTEXT_APP + '''
import colorsys
from snaplib.greeting import GREETING

print("app imported at", INIT_AT)


def snap_handler(event, context):
    out = handler(event, context)
    out["greeting"] = GREETING
    out["hls"] = list(colorsys.rgb_to_hls(1.0, 0.0, 0.0))
    return out
'''

# A module that reads a file of its package while it is imported: a snapshot cannot keep the
# open file, so its snapshot holds the runtime only and each restored environment imports it.
READS_AT_IMPORT_APP = '''\
import os
import time

with open(os.path.join(os.path.dirname(__file__), "message.txt")) as f:
    MESSAGE = f.read()
INIT_AT = time.time()


def handler(event, context):
    return {
        "message": MESSAGE,
        "init_at": INIT_AT,
        "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
    }
'''

URL_APP = '''\
import json


def handler(event, context):
    http = event["requestContext"]["http"]
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-handled-by": "python"},
        "body": json.dumps({
            "version": event.get("version"),
            "method": http["method"],
            "rawPath": event["rawPath"],
            "query": event.get("queryStringParameters"),
            "request_id": context.aws_request_id,
        }),
    }
'''

ERRORS = '''\
import time

CALLS = 0


class PaymentDeclined(Exception):
    pass


def check(n):
    raise PaymentDeclined(f"card {n} declined")


def raise_custom(event, context):
    global CALLS
    CALLS += 1
    check(event["n"])


def calls(event, context):
    return {"calls": CALLS}


def return_set(event, context):
    return {1, 2}


def sleep(event, context):
    global CALLS
    CALLS += 1
    time.sleep(event["s"])
    return {"slept": event["s"], "calls": CALLS}


def hog(event, context):
    global CALLS
    CALLS += 1
    if event.get("hog"):
        chunks = []
        while True:
            chunks.append(bytearray(8 << 20))
    return {"calls": CALLS}
'''

# The stdlib modules a handler commonly imports, imported at Init, and used.
STDLIB_APP = '''\
import csv, xml.etree.ElementTree, decimal, datetime, uuid, hashlib, json, re, email, sqlite3
import email.mime.text, email.utils, io, sys, base64, zlib, gzip, statistics, fractions
import xml.sax.saxutils, urllib.parse, html, textwrap, dataclasses, pathlib, tomllib, zoneinfo
import importlib

# Never imported here: `antigravity` opens a web browser, `this` prints the Zen at import.
NOT_TRIED = {"antigravity", "this", "__main__"}


def use(event, context):
    rows = list(csv.DictReader(io.StringIO("a,b\\n1,2\\n3,4\\n")))
    root = xml.etree.ElementTree.fromstring("<r><i v='1'/><i v='2'/></r>")
    total = sum(decimal.Decimal(r["a"]) + decimal.Decimal(r["b"]) for r in rows) / decimal.Decimal(3)
    when = datetime.datetime(2024, 2, 28, 12, tzinfo=datetime.timezone.utc) + datetime.timedelta(days=1)
    msg = email.message_from_string("Subject: hi\\n\\nbody")
    con = sqlite3.connect(":memory:")
    con.execute("create table t(x)")
    con.executemany("insert into t values (?)", [(20,), (22,)])
    return {
        "csv": rows,
        "xml": [i.get("v") for i in root],
        "decimal": str(total.quantize(decimal.Decimal("0.001"))),
        "date": when.isoformat(),
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")),
        "sha256": hashlib.sha256(b"lambkin").hexdigest(),
        "json": json.dumps({"k": [1, 2]}),
        "re": list(re.fullmatch(r"(\\w+)-(\\d+)", "python-314").groups()),
        "email": msg["Subject"],
        "mime": email.mime.text.MIMEText("x")["Content-Type"],
        "sqlite": con.execute("select sum(x) from t").fetchone()[0],
        "gzip": gzip.decompress(gzip.compress(b"zz")).decode(),
        "median": statistics.median([3, 1, 2]),
        "fraction": str(fractions.Fraction(3, 6)),
        "toml": tomllib.loads("a = 1")["a"],
        "quote": urllib.parse.quote("a b"),
        "utc": datetime.datetime.fromtimestamp(0, datetime.timezone.utc).isoformat(),
        "json_file": sys.modules["json"].__file__,
    }


def survey(event, context):
    """Imports every public module of sys.stdlib_module_names; the ones that failed, and how."""
    failed, tried = {}, 0
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in NOT_TRIED:
            continue
        tried += 1
        try:
            importlib.import_module(name)
        except BaseException as e:  # noqa: BLE001 - reported to the test
            failed[name] = type(e).__name__ + ": " + str(e)
    return {"tried": tried, "failed": failed, "version": sys.version.split()[0]}
'''

# Modules of sys.stdlib_module_names that do not import on this runtime.
WINDOWS_ONLY = {"msvcrt", "nt", "winreg", "winsound"}  # not on Lambda's Linux either
LEFT_OUT = {"ensurepip", "idlelib", "tkinter", "turtle", "turtledemo"}  # runtimes/python/build.sh
# No such facility under WASI, or its C library not built in (runtimes/python/README.md, "Known
# gaps", names the first eight; Lambda's Linux runtime has them all).
NO_WASI = {"bz2", "ctypes", "curses", "lzma", "pty", "ssl", "termios", "tty"}
NO_WASI |= {"fcntl", "grp", "mmap", "pwd", "readline", "resource", "syslog"}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def create_py(client, name: str, files: dict[str, str | bytes], handler: str, **extra) -> dict:
    """CreateFunction of a python3.14 function whose Code is a zip of `files`; waits for
    Active."""
    code = zip_of({k: v.encode() if isinstance(v, str) else v for k, v in files.items()})
    return create_function(client, name, code, Runtime=RUNTIME, Handler=handler, **extra)


@dataclass
class Result:
    resp: dict
    raw: bytes
    log: str

    @property
    def body(self):
        return json.loads(self.raw)

    @property
    def request_id(self) -> str:
        return self.resp["ResponseMetadata"]["RequestId"]

    @property
    def error(self):
        return self.resp.get("FunctionError")

    @property
    def report(self) -> str:
        lines = [line for line in self.log.splitlines() if line.startswith("REPORT RequestId:")]
        assert len(lines) == 1, self.log
        return lines[0]

    def figure(self, key: str) -> float | None:
        """A figure of the REPORT line ("Init Duration", "Duration", ...), None if absent."""
        m = re.search(r"(?:^|\t)" + re.escape(key) + r": ([0-9.]+)", self.report)
        return float(m.group(1)) if m else None


def invoke(client, name: str, payload=None, **kwargs) -> Result:
    """A RequestResponse invoke with LogType=Tail; the 200 and the request id checked."""
    resp = client.invoke(
        FunctionName=name,
        Payload=json.dumps({} if payload is None else payload).encode(),
        LogType="Tail",
        **kwargs,
    )
    raw = resp["Payload"].read()
    assert resp["StatusCode"] == 200, (resp, raw)
    request_id = resp["ResponseMetadata"]["RequestId"]
    assert re.fullmatch(REQUEST_ID, request_id), resp["ResponseMetadata"]
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == request_id
    assert "LogResult" in resp, resp
    log = base64.b64decode(resp["LogResult"]).decode("utf-8", errors="replace")
    return Result(resp, raw, log)


def invoke_ok(client, name: str, payload=None, **kwargs) -> Result:
    res = invoke(client, name, payload, **kwargs)
    assert res.error is None, (res.raw, res.log)
    return res


def invoke_failing(client, name: str, payload=None, **kwargs) -> Result:
    """An invoke whose function error Lambda reports as X-Amz-Function-Error: Unhandled."""
    res = invoke(client, name, payload, **kwargs)
    assert res.error == "Unhandled", (res.resp, res.raw, res.log)
    assert res.resp["ResponseMetadata"]["HTTPHeaders"].get("x-amz-function-error") == "Unhandled"
    return res


def wait_state(client, name: str, qualifier: str | None, timeout: float) -> dict:
    """GetFunctionConfiguration until State is no longer Pending (at most `timeout` s)."""
    kwargs = {"FunctionName": name}
    if qualifier is not None:
        kwargs["Qualifier"] = qualifier
    deadline = time.monotonic() + timeout
    while True:
        cfg = client.get_function_configuration(**kwargs)
        if cfg["State"] != "Pending":
            return cfg
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}:{qualifier} still Pending after {timeout:.0f} s: {cfg}")
        time.sleep(0.1)


def line_of(source: str, text: str) -> int:
    """The 1-based number of the one line of `source` that contains `text`."""
    [number] = [i for i, line in enumerate(source.splitlines(), 1) if text in line]
    return number


def http_get(url: str) -> tuple[int, dict, bytes]:
    return http_request(url, timeout=HTTP_TIMEOUT_S)


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@dataclass
class SnapStartFunctions:
    name: str  # imports its module into the snapshot
    reads_at_import: str  # reads a file as it is imported
    published_at: float


@pytest.fixture(scope="module", autouse=True)
def snap_start(lambkin):
    """Two python3.14 functions with SnapStart on published versions, version 1 of each
    published at once (their snapshots are taken in the background). Their creation is the
    module's first: the wait for Active is the server compiling the runtime."""
    client = lambkin.client
    name, reads = unique_name("py-snap"), unique_name("py-snap-reads")
    sources = {
        name: ({"app.py": SNAP_APP.encode(), "snaplib/__init__.py": b"",
                "snaplib/greeting.py": b"GREETING = 'hello from a package'\n"}, "app.snap_handler"),
        reads: ({"app.py": READS_AT_IMPORT_APP.encode(), "message.txt": b"read at import"}, "app.handler"),
    }
    try:
        for function, (files, handler) in sources.items():
            client.create_function(
                FunctionName=function,
                Runtime=RUNTIME,
                Role=ROLE,
                Handler=handler,
                Code={"ZipFile": zip_of(files)},
                SnapStart={"ApplyOn": "PublishedVersions"},
            )
        published_at = time.time()
        for function in sources:
            cfg = wait_state(client, function, None, FIRST_ACTIVE_S)
            assert cfg["State"] == "Active", cfg
            published = client.publish_version(FunctionName=function)
            assert published["Version"] == "1", published
            snap = published["SnapStart"]
            assert snap == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}, published
        yield SnapStartFunctions(name, reads, published_at)
    finally:
        for function in sources:
            with contextlib.suppress(Exception):  # cleanup is best effort
                lambkin.client.delete_function(FunctionName=function)


# ---------------------------------------------------------------------------------------------
# the getting-started function of the documentation
# ---------------------------------------------------------------------------------------------


def test_getting_started_handler_unchanged(client, make_name):
    name = make_name("py-gs")
    created = create_py(
        client, name, {"lambda_function.py": GETTING_STARTED}, "lambda_function.lambda_handler"
    )
    assert created["Runtime"] == RUNTIME, created
    assert created["Handler"] == "lambda_function.lambda_handler", created

    before = datetime.datetime.now(datetime.UTC)
    res = invoke_ok(client, name, {"length": 6, "width": 7})
    after = datetime.datetime.now(datetime.UTC)

    # The handler returns json.dumps(data): the response is that string, JSON-encoded.
    assert res.body == '{"area": 42}', res.raw
    assert json.loads(res.body) == {"area": 42}

    rid = res.request_id
    lines = res.log.splitlines()
    assert lines[0].startswith("INIT_START Runtime Version: "), res.log  # a cold start
    start = lines.index(f"START RequestId: {rid} Version: $LATEST")
    end = lines.index(f"END RequestId: {rid}")
    assert lines[-1] == res.report and lines[-1].startswith(f"REPORT RequestId: {rid}\t"), res.log
    output = lines[start + 1 : end]
    # print: the line as it is; logger.info: Lambda's Python format, [LEVEL]\t<UTC>Z\t<id>\t<msg>.
    assert "The area is 42" in output, res.log
    [info] = [line for line in output if line.startswith("[INFO]")]
    m = re.fullmatch(
        r"\[INFO\]\t(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z\t(" + REQUEST_ID + r")\t(.*)", info
    )
    assert m, repr(info)
    assert m.group(2) == rid, info
    assert m.group(3) == f"CloudWatch logs group: /aws/lambda/{name}", info
    logged = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.UTC)
    slack = datetime.timedelta(seconds=2)
    assert before - slack <= logged <= after + slack, (before, logged, after)
    assert output.index("The area is 42") < output.index(info), output
    assert "\tMemory Size: 128 MB\t" in res.report, res.report
    assert res.figure("Init Duration") is not None, res.report


# ---------------------------------------------------------------------------------------------
# invocations: sync, Event, function URL
# ---------------------------------------------------------------------------------------------


def test_sync_invoke_and_the_context_object(client, make_name):
    name = make_name("py-ctx")
    create_py(client, name, {"app.py": CONTEXT_APP}, "app.handler", MemorySize=256, Timeout=7)

    res = invoke_ok(client, name, {"sleep": 0.3, "name": "Ada"})

    body = res.body
    assert res.resp["ExecutedVersion"] == "$LATEST", res.resp
    assert body["event"] == {"sleep": 0.3, "name": "Ada"}, body
    assert body["aws_request_id"] == res.request_id, body
    assert body["function_name"] == name, body
    assert body["function_version"] == "$LATEST", body
    assert body["invoked_function_arn"] == ARN + name, body
    # Lambda's Python runtime reads it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE: a string.
    assert body["memory_limit_in_mb"] == "256", body
    assert body["log_group_name"] == f"/aws/lambda/{name}", body
    assert isinstance(body["log_stream_name"], str) and body["log_stream_name"], body
    first, later = body["remaining"]
    assert 0 < first <= 7000, body["remaining"]
    assert 0 < later <= first - 250, body["remaining"]  # the clock runs during the 0.3 s sleep
    assert body["init_type"] == "on-demand", body
    assert body["calls"] == 1, body
    assert "\tMemory Size: 256 MB\t" in res.report, res.report

    # Warm: the same environment, no Init.
    again = invoke_ok(client, name, {"name": "Bo"})
    assert again.body["calls"] == 2, again.body
    assert again.body["aws_request_id"] == again.request_id != res.request_id
    assert again.figure("Init Duration") is None, again.report
    assert "INIT_START" not in again.log, again.log


def test_event_invoke_runs_the_handler(client, make_name, webhook):
    name = make_name("py-event")
    create_py(client, name, {"app.py": CONTEXT_APP}, "app.handler")
    url = webhook.url("py-success")
    client.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": url}}
    )

    request_id = invoke_event(client, name, {"order": 17})

    [record] = webhook.wait_records(url)
    assert record["requestContext"]["requestId"] == request_id, record
    assert record["requestContext"]["condition"] == "Success", record
    assert record["requestContext"]["functionArn"] == ARN + name + ":$LATEST", record
    assert record["requestPayload"] == {"order": 17}, record
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}, record
    result = record["responsePayload"]
    assert result["event"] == {"order": 17}, result
    assert result["aws_request_id"] == request_id, result
    assert result["function_name"] == name, result


def test_function_url(client, lambkin, make_name):
    name = make_name("py-url")
    create_py(client, name, {"app.py": URL_APP}, "app.handler")
    created = client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert status_of(created) == 201, created
    url = created["FunctionUrl"]
    assert url.startswith(f"http://127.0.0.1:{lambkin.port}/lambda-url/"), url
    assert url.endswith("/"), url

    status, headers, raw = http_get(url + "items/7?colour=blue")

    assert status == 201, raw
    assert headers.get("content-type") == "application/json", headers
    assert headers.get("x-handled-by") == "python", headers
    body = json.loads(raw)
    assert body["version"] == "2.0", body  # payload format 2.0
    assert body["method"] == "GET", body
    assert body["rawPath"] == "/items/7", body
    assert body["query"] == {"colour": "blue"}, body
    assert re.fullmatch(REQUEST_ID, body["request_id"]), body


# ---------------------------------------------------------------------------------------------
# versions, aliases, code updates, provisioned concurrency
# ---------------------------------------------------------------------------------------------


def test_update_function_code(client, make_name):
    name = make_name("py-update")
    create_py(client, name, {"app.py": CONTEXT_APP}, "app.handler")
    assert invoke_ok(client, name).body["code"] == "v1"

    new_zip = zip_of({"app.py": CONTEXT_APP.replace('CODE = "v1"', 'CODE = "v2"').encode()})
    updated = client.update_function_code(FunctionName=name, ZipFile=new_zip)
    assert updated["CodeSha256"] == sha256_b64(new_zip), updated
    assert updated["CodeSize"] == len(new_zip), updated
    wait_updated(client, name)

    res = invoke_ok(client, name)
    assert res.body["code"] == "v2", res.body
    assert res.body["calls"] == 1, res.body  # new code, new environment
    assert res.figure("Init Duration") is not None, res.report


def test_published_versions_and_an_alias(client, make_name):
    name = make_name("py-ver")
    create_py(client, name, {"app.py": CONTEXT_APP}, "app.handler")
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    v2 = zip_of({"app.py": CONTEXT_APP.replace('CODE = "v1"', 'CODE = "v2"').encode()})
    client.update_function_code(FunctionName=name, ZipFile=v2)
    wait_updated(client, name)
    published = client.publish_version(FunctionName=name)
    assert published["Version"] == "2", published
    assert published["Runtime"] == RUNTIME, published
    alias = client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert alias["AliasArn"] == f"{ARN}{name}:live", alias

    cases = {  # qualifier -> (executed version, code)
        "1": ("1", "v1"),
        "2": ("2", "v2"),
        "live": ("1", "v1"),
        "$LATEST": ("$LATEST", "v2"),
    }
    for qualifier, (version, code) in cases.items():
        res = invoke_ok(client, name, Qualifier=qualifier)
        body = res.body
        assert res.resp["ExecutedVersion"] == version, (qualifier, res.resp)
        assert body["code"] == code, (qualifier, body)
        assert body["function_version"] == version, (qualifier, body)
        assert body["invoked_function_arn"] == f"{ARN}{name}:{qualifier}", (qualifier, body)
        assert f"START RequestId: {res.request_id} Version: {version}\n" in res.log, res.log

    # Unqualified: $LATEST, and the unqualified ARN.
    res = invoke_ok(client, name)
    assert res.body["invoked_function_arn"] == ARN + name, res.body
    assert res.body["code"] == "v2", res.body


def test_provisioned_concurrency_on_a_version(client, make_name):
    name = make_name("py-prov")
    create_py(client, name, {"app.py": CONTEXT_APP}, "app.handler")
    assert client.publish_version(FunctionName=name)["Version"] == "1"

    put = client.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    assert status_of(put) == 202, put
    deadline = time.monotonic() + WAIT_S
    while True:
        config = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
        if config["Status"] != "IN_PROGRESS":
            break
        assert time.monotonic() < deadline, config
        time.sleep(0.05)
    assert config["Status"] == "READY", config
    assert config["AvailableProvisionedConcurrentExecutions"] == 1, config

    sent_at = time.time()
    res = invoke_ok(client, name, Qualifier="1")

    body = res.body
    assert res.resp["ExecutedVersion"] == "1", res.resp
    assert body["init_type"] == "provisioned-concurrency", body
    assert body["calls"] == 1, body  # the first invocation of the environment...
    assert body["init_at"] < sent_at, (body["init_at"], sent_at)  # ...whose Init ran before
    assert res.figure("Init Duration") is None, res.report
    assert "INIT_START" not in res.log, res.log


# ---------------------------------------------------------------------------------------------
# packages, layers, the standard library
# ---------------------------------------------------------------------------------------------


def test_handler_in_a_package(client, make_name):
    name = make_name("py-pkg")
    files = {
        "pkg/__init__.py": "",
        "pkg/mod.py": (
            "from . import helper\n\n\n"
            "def handler(event, context):\n"
            "    return {'module': __name__, 'file': __file__, 'double': helper.double(event['x'])}\n"
        ),
        "pkg/helper.py": "def double(x):\n    return 2 * x\n",
    }
    create_py(client, name, files, "pkg/mod.handler")

    res = invoke_ok(client, name, {"x": 21})

    assert res.body == {"module": "pkg.mod", "file": "/var/task/pkg/mod.py", "double": 42}


def test_dependency_from_a_layer(client, make_name):
    layer_name = unique_name("py-layer")
    layer_zip = zip_of({"python/greeting.py": b"def greet(name):\n    return f'Hello, {name}!'\n"})
    layer = client.publish_layer_version(
        LayerName=layer_name, Content={"ZipFile": layer_zip}, CompatibleRuntimes=[RUNTIME]
    )
    try:
        name = make_name("py-layered")
        app = (
            "import sys\n"
            "import greeting\n\n\n"
            "def handler(event, context):\n"
            "    return {'greeting': greeting.greet(event['name']), 'file': greeting.__file__,\n"
            "            'path': sys.path}\n"
        )
        create_py(client, name, {"app.py": app}, "app.handler", Layers=[layer["LayerVersionArn"]])

        res = invoke_ok(client, name, {"name": "Ada"})

        body = res.body
        assert body["greeting"] == "Hello, Ada!", body
        assert body["file"] == "/opt/python/greeting.py", body
        # Lambda's search path for python3.11+: the function, then the layers, then the runtime.
        assert body["path"][:3] == [
            "/var/task",
            "/opt/python/lib/python3.14/site-packages",
            "/opt/python",
        ], body["path"]
        assert "/var/lang/lib/python3.14" in body["path"][3:], body["path"]
    finally:
        client.delete_layer_version(LayerName=layer_name, VersionNumber=layer["Version"])


def test_stdlib_modules_import_at_init_and_work(client, make_name):
    name = make_name("py-stdlib")
    create_py(client, name, {"app.py": STDLIB_APP}, "app.use")

    res = invoke_ok(client, name)

    assert res.body == {
        "csv": [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}],
        "xml": ["1", "2"],
        "decimal": "3.333",
        "date": "2024-02-29T12:00:00+00:00",
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")),
        "sha256": hashlib.sha256(b"lambkin").hexdigest(),
        "json": '{"k": [1, 2]}',
        "re": ["python", "314"],
        "email": "hi",
        "mime": 'text/plain; charset="us-ascii"',
        "sqlite": 42,
        "gzip": "zz",
        "median": 2,
        "fraction": "1/2",
        "toml": 1,
        "quote": "a%20b",
        "utc": "1970-01-01T00:00:00+00:00",
        "json_file": "/var/lang/lib/python3.14/json/__init__.py",
    }, res.body
    init_ms = res.figure("Init Duration")
    assert init_ms is not None, res.report
    assert init_ms < 2000, res.report  # a generous bound, not a benchmark


def test_every_stdlib_module_imports(client, make_name):
    name = make_name("py-survey")
    create_py(client, name, {"app.py": STDLIB_APP}, "app.survey")

    res = invoke_ok(client, name)

    body = res.body
    assert body["version"].startswith("3.14."), body
    assert body["tried"] > 150, body
    unexpected = set(body["failed"]) - WINDOWS_ONLY - LEFT_OUT - NO_WASI
    assert not unexpected, {k: body["failed"][k] for k in sorted(unexpected)}
    for module, error in body["failed"].items():
        assert error.startswith("ModuleNotFoundError: "), (module, error)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


def test_exception_in_the_handler(client, make_name):
    name = make_name("py-raise")
    create_py(client, name, {"errs.py": ERRORS}, "errs.raise_custom")

    res = invoke_failing(client, name, {"n": 4242})

    body = res.body
    assert set(body) == {"errorType", "errorMessage", "stackTrace"}, body
    assert body["errorType"] == "PaymentDeclined", body
    assert body["errorMessage"] == "card 4242 declined", body
    call_line = line_of(ERRORS, 'check(event["n"])')
    raise_line = line_of(ERRORS, 'raise PaymentDeclined(f"card {n} declined")')
    assert body["stackTrace"] == [
        f'  File "/var/task/errs.py", line {call_line}, in raise_custom\n    check(event["n"])\n',
        (
            f'  File "/var/task/errs.py", line {raise_line}, in check\n'
            '    raise PaymentDeclined(f"card {n} declined")\n'
        ),
    ], body["stackTrace"]
    # The record Lambda's runtime logs: one line, \r-joined, indented with no-break spaces.
    assert (
        "[ERROR] PaymentDeclined: card 4242 declined\rTraceback (most recent call last):\r"
        f'\u00a0\u00a0File "/var/task/errs.py", line {call_line}, in raise_custom\r' in res.log
    ), repr(res.log)

    # A handled function error keeps the environment.
    again = invoke_failing(client, name, {"n": 1})
    assert again.body["errorMessage"] == "card 1 declined", again.body
    assert again.figure("Init Duration") is None, again.report


INIT_ERRORS = {
    "missing-module": (
        {"errs.py": ERRORS},
        "nosuch.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'nosuch': No module named 'nosuch'",
    ),
    "missing-dependency": (
        {"needs.py": "import requests\n\n\ndef handler(event, context):\n    return 1\n"},
        "needs.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'needs': No module named 'requests'",
    ),
    "handler-not-found": (
        {"errs.py": ERRORS},
        "errs.nosuch",
        "Runtime.HandlerNotFound",
        "Handler 'nosuch' missing on module 'errs'",
    ),
    "syntax-error": (
        {"broken.py": "def handler(event, context)\n    return 1\n"},
        "broken.handler",
        "Runtime.UserCodeSyntaxError",
        "Syntax error in module 'broken': expected ':' (broken.py, line 1)",
    ),
    "malformed-handler": (
        {"errs.py": ERRORS},
        "nodot",
        "Runtime.MalformedHandlerName",
        "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)",
    ),
}


@pytest.mark.parametrize("case", list(INIT_ERRORS))
def test_init_errors(client, make_name, case):
    files, handler, error_type, message = INIT_ERRORS[case]
    name = make_name("py-init")
    create_py(client, name, files, handler)

    res = invoke_failing(client, name)

    body = res.body
    assert body["errorType"] == error_type, body
    assert body["errorMessage"] == message, body
    if error_type == "Runtime.UserCodeSyntaxError":
        assert body["stackTrace"] == [
            '  File "/var/task/broken.py" Line 1\n    def handler(event, context)\n'
        ], body
    assert "LAMBDA_WARNING: Unhandled exception." in res.log, res.log
    assert f"[ERROR] {error_type}: {message}" in res.log, res.log
    assert re.search(
        r"^INIT_REPORT Init Duration: [0-9.]+ ms\tPhase: init\tStatus: error\tError Type: "
        + re.escape(error_type)
        + "$",
        res.log,
        re.MULTILINE,
    ), res.log


def test_result_that_is_not_json_serializable(client, make_name):
    name = make_name("py-marshal")
    create_py(client, name, {"errs.py": ERRORS}, "errs.return_set")

    res = invoke_failing(client, name)

    assert res.body["errorType"] == "Runtime.MarshalError", res.body
    assert res.body["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    ), res.body


def test_timeout(client, make_name):
    name = make_name("py-timeout")
    create_py(client, name, {"errs.py": ERRORS}, "errs.sleep", Timeout=1)

    started = time.monotonic()
    res = invoke_failing(client, name, {"s": 5})
    elapsed = time.monotonic() - started

    rid = res.request_id
    assert res.body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {rid} Error: Task timed out after 1.00 seconds",
    }, res.body
    assert f"RequestId: {rid} Error: Task timed out after 1.00 seconds\n" in res.log, res.log
    assert 1.0 <= elapsed < 4.0, elapsed  # stopped at the timeout, not after the 5 s sleep
    assert res.figure("Duration") >= 1000, res.report

    # The environment was reset: the next invocation runs in a new one.
    after = invoke_ok(client, name, {"s": 0})
    assert after.body == {"slept": 0, "calls": 1}, after.body


def test_memory_error_is_out_of_memory(client, make_name):
    name = make_name("py-oom")
    create_py(client, name, {"errs.py": ERRORS}, "errs.hog", MemorySize=128)
    assert invoke_ok(client, name).body == {"calls": 1}

    res = invoke_failing(client, name, {"hog": True})

    rid = res.request_id
    assert res.body["errorType"] == "Runtime.OutOfMemory", res.body
    assert res.body["errorMessage"].startswith(
        f"RequestId: {rid} Error: Runtime exited with error: "
    ), res.body
    max_used = res.figure("Max Memory Used")
    assert max_used is not None and 100 <= max_used <= 128, res.report

    # The environment ended with it: the next invocation runs in a new one.
    after = invoke_ok(client, name)
    assert after.body == {"calls": 1}, after.body


# ---------------------------------------------------------------------------------------------
# SnapStart (last: its snapshot was started by the module fixture)
# ---------------------------------------------------------------------------------------------


def test_snap_start_version(client, snap_start):
    name = snap_start.name

    cfg = wait_state(client, name, "1", SNAPSHOT_S)
    assert cfg["State"] == "Active", cfg
    assert cfg["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}, cfg

    # Two calls at once: two environments, both restored from the one snapshot.
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        calls = [pool.submit(invoke_ok, client, name, {"n": i, "sleep": 1.0}, Qualifier="1") for i in range(2)]
        results = [c.result() for c in calls]
    for res in results:
        body = res.body
        assert res.resp["ExecutedVersion"] == "1", res.resp
        assert body["function_version"] == "1", body
        assert body["init_type"] == "snap-start", body
        assert body["aws_request_id"] == res.request_id, body
        assert body["calls"] == 1, body
        assert body["greeting"] == "hello from a package", body
        assert body["hls"] == [0.0, 0.5, 1.0], body
        # Restored from the snapshot, not initialised: Lambda's REPORT line then has Restore
        # Duration (billed apart, in whole milliseconds), never Init Duration.
        assert res.figure("Init Duration") is None, res.report
        restore = res.figure("Restore Duration")
        assert restore is not None and restore > 0, res.report
        billed = res.figure("Billed Restore Duration")
        assert billed == int(billed) and restore - 0.005 <= billed < restore + 1.005, res.report
        assert "INIT_START" not in res.log, res.log
        assert res.log.startswith("RESTORE_START Runtime Version: python3.14."), res.log
        # The print of the import is the snapshot's Init's, not this invocation's.
        assert "app imported at" not in res.log, res.log
    # The module was imported once, when the snapshot was taken: both environments hold the
    # module-level value of that one import, from before these calls.
    [first, second] = [res.body for res in results]
    assert first["log_stream_name"] != second["log_stream_name"], (first, second)
    assert first["init_at"] == second["init_at"], (first, second)
    assert snap_start.published_at <= first["init_at"] < started, (snap_start.published_at, first, started)

    # $LATEST has no snapshot: an on-demand Init.
    latest = invoke_ok(client, name)
    assert latest.body["init_type"] == "on-demand", latest.body
    assert latest.figure("Init Duration") is not None, latest.report


def test_snap_start_of_a_module_that_reads_a_file_as_it_is_imported(client, snap_start):
    name = snap_start.reads_at_import

    cfg = wait_state(client, name, "1", SNAPSHOT_S)
    assert cfg["State"] == "Active", cfg

    started = time.time()
    res = invoke_ok(client, name, Qualifier="1")
    body = res.body
    assert body["message"] == "read at import", body
    assert body["init_type"] == "snap-start", body
    assert res.figure("Init Duration") is None, res.report
    # This snapshot holds the runtime only: the module is imported by the restored
    # environment's first invocation.
    assert body["init_at"] >= started - 1, (body, started)
    assert res.figure("Restore Duration") is not None, res.report
    again = invoke_ok(client, name, Qualifier="1")
    assert again.figure("Restore Duration") is None, again.report
    assert again.body["init_at"] == body["init_at"], (again.body, body)
