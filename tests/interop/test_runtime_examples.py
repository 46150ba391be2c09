"""The Python and Node.js example functions of examples/python/ and examples/node/, deployed as
examples/README.md says and checked for what each one shows.

What: every example directory is zipped as it is (its files at the zip's root) and created with
boto3 (`python3.14` / `nodejs22.x`, the handler the README names), then driven the way its kind of
function is used: hello (the greeting and its log line in the runtime's format), error (the
Unhandled function error and Lambda's {"errorType", "errorMessage", "stackTrace"}), stream
(InvokeWithResponseStream, one chunk per line), url (a function URL with AuthType NONE, GET and
POST with a query string, text and binary bodies), layer-dep (a layer built from the example's
pinned requirements.txt / package-lock.json with pip / npm, published with PublishLayerVersion).
The Python hello is also deployed and invoked with the AWS CLI v1, as the README's commands do.

Why: the examples are what a user copies first; they have to run on lambkin as they would on
Lambda, and stay runnable.

Cost: the module fixture creates both hellos first, so the session server compiles the two
runtime components at once (up to COMPILE_WAIT_S); every later function is Active in about a
second. The layers' packages are downloaded from PyPI / npm once and kept under
target/interop-example-layers/ (keyed by the pinned file's hash).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REGION, REPO, name_factory, unique_name
from helpers import ROLE, WAIT_S, create_function, http_request, invoke_stream, status_of, strip, until_active, zip_of

PYTHON = "python3.14"
NODE = "nodejs22.x"
SOURCES = REPO / "examples"
LAYER_CACHE = REPO / "target" / "interop-example-layers"
INSTALL_TIMEOUT_S = 600
CLI_TIMEOUT_S = 120
REQUEST_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Files of an example directory that are never part of its zip.
NOT_SHIPPED = {"__pycache__", "node_modules", ".DS_Store"}



# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def tree_files(root: Path, prefix: str = "") -> dict[str, bytes]:
    """Every file under `root` (path relative to it, under `prefix`) -> its bytes; caches and
    installed modules left out."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not NOT_SHIPPED.intersection(rel.parts):
            files[prefix + rel.as_posix()] = path.read_bytes()
    return files


def example_zip(example: str) -> bytes:
    """examples/<example> zipped as the README says: its files at the zip's root."""
    files = tree_files(SOURCES / example)
    assert files, f"no files in examples/{example}"
    return zip_of(files)



def deploy(client, name: str, runtime: str, example: str, handler: str, **extra) -> dict:
    """CreateFunction of examples/<example> (zipped) with this runtime and handler; waits until
    it is Active (long enough for the runtime's compile)."""
    created = create_function(
        client,
        name,
        example_zip(example),
        wait=False,
        Runtime=runtime,
        Handler=handler,
        **extra,
    )
    assert (created["Runtime"], created["Handler"]) == (runtime, handler), strip(created)
    return until_active(client, name)


def invoke(client, name: str, payload) -> SimpleNamespace:
    """RequestResponse Invoke with LogType=Tail: the response, its body (bytes), the log tail and
    the request id."""
    resp = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail")
    assert resp["StatusCode"] == 200, resp
    rid = resp["ResponseMetadata"]["RequestId"]
    assert re.fullmatch(REQUEST_ID, rid), resp["ResponseMetadata"]
    log = base64.b64decode(resp.get("LogResult", "")).decode("utf-8", errors="replace")
    return SimpleNamespace(resp=resp, raw=resp["Payload"].read(), log=log, request_id=rid)


def ok(res: SimpleNamespace):
    """The result of an invocation that succeeded."""
    assert "FunctionError" not in res.resp, (res.raw, res.log)
    return json.loads(res.raw)


def unhandled(res: SimpleNamespace) -> dict:
    """The error of an invocation that failed as Lambda reports a handler's exception."""
    assert res.resp.get("FunctionError") == "Unhandled", (res.resp, res.raw, res.log)
    headers = res.resp["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amz-function-error") == "Unhandled", headers
    error = json.loads(res.raw)
    assert set(error) == {"errorType", "errorMessage", "stackTrace"}, error
    assert isinstance(error["stackTrace"], list), error
    assert all(isinstance(frame, str) for frame in error["stackTrace"]), error
    return error


def function_lines(log: str, request_id: str) -> list[str]:
    """The lines of the log tail between this request's START and END (the function's own)."""
    lines = log.splitlines()
    start = lines.index(f"START RequestId: {request_id} Version: $LATEST")
    end = lines.index(f"END RequestId: {request_id}")
    return lines[start + 1 : end]


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the one line of the file that contains `text`."""
    [number] = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return number


def run(cmd: list[str], cwd: Path, what: str, env=None, timeout: float = INSTALL_TIMEOUT_S):
    """Run a command; fail the test with its output unless it exits 0."""
    try:
        done = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: timed out after {timeout:.0f} s: {cmd}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"{what}: exit code {done.returncode}: {cmd}\n--- stderr\n{done.stderr[-4000:]}\n"
            f"--- stdout\n{done.stdout[-4000:]}",
            pytrace=False,
        )
    return done


def cached_layer(kind: str, pinned: list[Path], install) -> Path:
    """The directory of a layer's contents built by install(tmp_dir) from the pinned files, kept
    in LAYER_CACHE under the hash of those files (built once, renamed into place when done)."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in pinned)).hexdigest()[:16]
    done = LAYER_CACHE / f"{kind}-{digest}"
    if not done.is_dir():
        LAYER_CACHE.mkdir(parents=True, exist_ok=True)
        building = LAYER_CACHE / f".{kind}-{digest}-{uuid.uuid4().hex[:8]}"
        try:
            install(building)
            try:
                building.rename(done)
            except OSError:  # built by someone else meanwhile
                if not done.is_dir():
                    raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return done


def python_layer_zip() -> bytes:
    """A layer of examples/python/layer-dep/requirements.txt: `pip install --target python/`."""
    requirements = SOURCES / "python" / "layer-dep" / "requirements.txt"

    def install(root: Path) -> None:
        cmd = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--only-binary=:all:", "--python-version", "3.14",
            "--target", str(root / "python"), "-r", str(requirements),
        ]  # fmt: skip
        run(cmd, REPO, "pip install of the Python layer")

    return zip_of(tree_files(cached_layer("python", [requirements], install)))


def node_layer_zip() -> bytes:
    """A layer of examples/node/layer-dep's package-lock.json: `npm ci` in nodejs/."""
    source = SOURCES / "node" / "layer-dep"
    pinned = [source / "package.json", source / "package-lock.json"]
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed on PATH to build the Node.js layer", pytrace=False)

    def install(root: Path) -> None:
        nodejs = root / "nodejs"
        nodejs.mkdir(parents=True)
        for path in pinned:
            shutil.copy(path, nodejs / path.name)
        cmd = [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"]
        run(cmd, nodejs, "npm ci of the Node.js layer")

    root = cached_layer("node", pinned, install)
    files = tree_files(root / "nodejs" / "node_modules", "nodejs/node_modules/")
    return zip_of(files)


@pytest.fixture
def publish_layer(client):
    """Factory: PublishLayerVersion of a zip for one runtime (deleted after the test)."""
    published = []

    def publish(zip_bytes: bytes, runtime: str) -> dict:
        layer = client.publish_layer_version(
            LayerName=unique_name("example-layer"),
            Content={"ZipFile": zip_bytes},
            CompatibleRuntimes=[runtime],
        )
        published.append(layer)
        return layer

    yield publish
    for layer in published:
        try:
            client.delete_layer_version(
                LayerName=layer["LayerArn"].rsplit(":", 1)[-1], VersionNumber=layer["Version"]
            )
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_names(lambkin):
    yield from name_factory(lambkin)


@pytest.fixture(scope="module", autouse=True)
def hellos(lambkin, module_names):
    """Both hello examples, created before anything else: the server compiles both runtimes
    concurrently while they are Pending. Their names."""
    client = lambkin.client
    fns = SimpleNamespace(python=module_names("ex-py-hello"), node=module_names("ex-node-hello"))
    for name, runtime, example, handler in [
        (fns.python, PYTHON, "python/hello", "lambda_function.lambda_handler"),
        (fns.node, NODE, "node/hello", "index.handler"),
    ]:
        create_function(
            client, name, example_zip(example), wait=False, Runtime=runtime, Handler=handler
        )
    for name in (fns.python, fns.node):
        until_active(client, name)
    return fns


# ---------------------------------------------------------------------------------------------
# hello
# ---------------------------------------------------------------------------------------------


def test_python_hello(client, hellos):
    res = invoke(client, hellos.python, {"name": "Ada"})

    assert ok(res) == {"message": "Hello, Ada!"}
    assert res.resp["ExecutedVersion"] == "$LATEST", res.resp
    # logger.info in Lambda's Python format: [LEVEL]\t<UTC time>Z\t<request id>\t<message>.
    [line] = function_lines(res.log, res.request_id)
    m = re.fullmatch(r"\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(\S+)\t(.*)", line)
    assert m, repr(line)
    assert m.groups() == (res.request_id, f"greeting Ada in {hellos.python}"), line

    # No name: the default.
    assert ok(invoke(client, hellos.python, {})) == {"message": "Hello, world!"}


def test_node_hello(client, hellos):
    res = invoke(client, hellos.node, {"name": "Ada"})

    assert ok(res) == {"message": "Hello, Ada!"}
    assert res.resp["ExecutedVersion"] == "$LATEST", res.resp
    # console.log in Lambda's Node format: <UTC time>Z\t<request id>\tINFO\t<message>.
    [line] = function_lines(res.log, res.request_id)
    m = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(\S+)\tINFO\t(.*)", line)
    assert m, repr(line)
    assert m.groups() == (res.request_id, f"greeting Ada in {hellos.node}"), line

    assert ok(invoke(client, hellos.node, {})) == {"message": "Hello, world!"}


# ---------------------------------------------------------------------------------------------
# error
# ---------------------------------------------------------------------------------------------


def test_python_error(client, make_name):
    name = make_name("ex-py-error")
    deploy(client, name, PYTHON, "python/error", "lambda_function.lambda_handler")
    source = SOURCES / "python" / "error" / "lambda_function.py"

    res = invoke(client, name, {"orderId": 42})

    error = unhandled(res)
    assert error["errorType"] == "OrderNotFoundError", error
    assert error["errorMessage"] == "order 42 does not exist", error
    call = 'return find_order(event.get("orderId", "unknown"))'
    raise_ = 'raise OrderNotFoundError(f"order {order_id} does not exist")'
    assert error["stackTrace"] == [
        f'  File "/var/task/lambda_function.py", line {line_of(source, call)}, in lambda_handler\n'
        f"    {call}\n",
        f'  File "/var/task/lambda_function.py", line {line_of(source, raise_)}, in find_order\n'
        f"    {raise_}\n",
    ], error["stackTrace"]
    assert "[ERROR] OrderNotFoundError: order 42 does not exist\r" in res.log, res.log


def test_node_error(client, make_name):
    name = make_name("ex-node-error")
    deploy(client, name, NODE, "node/error", "index.handler")

    res = invoke(client, name, {"orderId": 42})

    error = unhandled(res)
    assert error["errorType"] == "OrderNotFoundError", error
    assert error["errorMessage"] == "order 42 does not exist", error
    trace = error["stackTrace"]
    assert trace[0] == "OrderNotFoundError: order 42 does not exist", trace
    assert len(trace) > 1 and all(frame.startswith("    at ") for frame in trace[1:]), trace
    assert any("/var/task/index.mjs:" in frame for frame in trace), trace
    assert "\tERROR\tInvoke Error \t" in res.log, res.log


# ---------------------------------------------------------------------------------------------
# stream
# ---------------------------------------------------------------------------------------------


def test_node_stream(client, make_name):
    name = make_name("ex-node-stream")
    deploy(client, name, NODE, "node/stream", "index.handler")

    chunks, arrivals, complete, resp = invoke_stream(client, name, {"count": 4, "pauseMs": 150})

    assert resp["ExecutedVersion"] == "$LATEST", resp
    assert complete is not None and "ErrorCode" not in complete, (complete, chunks)
    assert b"".join(chunks) == b"line 1 of 4\nline 2 of 4\nline 3 of 4\nline 4 of 4\n", chunks
    # One chunk per line, each sent as it was written (the handler pauses 150 ms between them).
    assert chunks == [f"line {i} of 4\n".encode() for i in range(1, 5)], chunks
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(gap >= 0.1 for gap in gaps), f"chunks were held back: {gaps}"
    log = base64.b64decode(complete.get("LogResult", "")).decode("utf-8", errors="replace")
    assert "START RequestId:" in log and "REPORT RequestId:" in log, log


def test_node_stream_through_a_response_stream_url(client, make_name):
    name = make_name("ex-node-stream-url")
    deploy(client, name, NODE, "node/stream", "index.handler")
    config = client.create_function_url_config(
        FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )

    status, headers, body = http_request(config["FunctionUrl"])

    # The stream is the body (the event is the URL's, so the handler's defaults: 3 lines)...
    assert status == 200, (status, headers, body)
    assert body == b"line 1 of 3\nline 2 of 3\nline 3 of 3\n", body
    # ...with the content type the handler set (no HttpResponseStream prelude).
    assert headers.get("content-type") == "text/plain", headers


# ---------------------------------------------------------------------------------------------
# url
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", [PYTHON, NODE])
def test_url(client, lambkin, make_name, runtime):
    python = runtime == PYTHON
    name = make_name("ex-py-url" if python else "ex-node-url")
    example, handler = (
        ("python/url", "lambda_function.lambda_handler")
        if python
        else ("node/url", "index.handler")
    )
    deploy(client, name, runtime, example, handler)
    created = client.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert status_of(created) == 201, created
    url = created["FunctionUrl"]
    assert url.startswith(f"http://127.0.0.1:{lambkin.port}/") and url.endswith("/"), url
    marker = "python-url" if python else "node-url"

    def call(method: str, path: str, body: bytes | None = None, content_type=None) -> dict:
        headers = {"content-type": content_type} if content_type else {}
        status, headers, raw = http_request(url + path, method, body, headers)
        assert status == 200, (method, path, status, headers, raw)
        assert headers.get("content-type") == "application/json", headers
        assert headers.get("x-example") == marker, headers
        assert re.fullmatch(REQUEST_ID, headers.get("x-amzn-requestid", "")), headers
        return json.loads(raw)

    got = call("GET", "items/7?name=Ada")
    assert got == {
        "method": "GET",
        "path": "/items/7",
        "greeting": "Hello, Ada!",
        "received": "",
    }, got

    # A text body arrives as it is.
    sent = json.dumps({"order": 17})
    got = call("POST", "orders?name=Bo&x=1", sent.encode(), "application/json")
    assert got == {"method": "POST", "path": "/orders", "greeting": "Hello, Bo!", "received": sent}

    # A binary body arrives base64-encoded (isBase64Encoded), which the handler decodes.
    got = call("POST", "upload", "héllo wörld".encode(), "application/octet-stream")
    assert got == {
        "method": "POST",
        "path": "/upload",
        "greeting": "Hello, world!",
        "received": "héllo wörld",
    }, got


# ---------------------------------------------------------------------------------------------
# layer-dep
# ---------------------------------------------------------------------------------------------


def test_python_layer_dep(client, make_name, publish_layer):
    layer = publish_layer(python_layer_zip(), PYTHON)
    name = make_name("ex-py-layer")
    cfg = deploy(
        client,
        name,
        PYTHON,
        "python/layer-dep",
        "lambda_function.lambda_handler",
        Layers=[layer["LayerVersionArn"]],
    )
    assert [x["Arn"] for x in cfg["Layers"]] == [layer["LayerVersionArn"]], cfg

    res = invoke(client, name, {"bytes": 3_000_000, "count": 1_234_567})

    # humanize's own answers (as the same release gives them on CPython anywhere).
    assert ok(res) == {
        "size": "3.0 MB",
        "count": "1,234,567",
        "words": "1.2 million",
        "humanize": "4.17.0",  # requirements.txt's pin
        "from": "/opt/python/humanize/__init__.py",
    }, res.raw


def test_node_layer_dep(client, make_name, publish_layer):
    layer = publish_layer(node_layer_zip(), NODE)
    name = make_name("ex-node-layer")
    cfg = deploy(
        client, name, NODE, "node/layer-dep", "index.handler", Layers=[layer["LayerVersionArn"]]
    )
    assert [x["Arn"] for x in cfg["Layers"]] == [layer["LayerVersionArn"]], cfg

    res = invoke(client, name, {"duration": "2 days", "millis": 90_000})

    assert ok(res) == {
        "millis": 172_800_000,
        "short": "2m",  # ms rounds 1.5 minutes
        "long": "2 minutes",
        "from": "/opt/nodejs/node_modules/ms/index.js",
    }, res.raw


# ---------------------------------------------------------------------------------------------
# the AWS CLI v1
# ---------------------------------------------------------------------------------------------


def test_python_hello_with_the_aws_cli_v1(tmp_path, lambkin, client, make_name):
    aws = shutil.which("aws")
    if aws is None:
        pytest.fail("the AWS CLI v1 (`aws`, pip package awscli) is not on PATH", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_PAGER="",
        AWS_CONFIG_FILE=str(tmp_path / "no-such-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-such-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    version = run([aws, "--version"], tmp_path, "aws --version", env, CLI_TIMEOUT_S)
    assert (version.stdout + version.stderr).startswith("aws-cli/1."), version

    def cli(*args: str):
        cmd = [aws, "lambda", *args, "--endpoint-url", lambkin.endpoint, "--output", "json"]
        return json.loads(run(cmd, tmp_path, f"aws lambda {args[0]}", env, CLI_TIMEOUT_S).stdout)

    name = make_name("ex-cli-hello")
    (tmp_path / "hello.zip").write_bytes(example_zip("python/hello"))
    created = cli(
        "create-function", "--function-name", name, "--runtime", PYTHON,
        "--handler", "lambda_function.lambda_handler", "--role", ROLE,
        "--zip-file", "fileb://hello.zip",
    )  # fmt: skip
    assert (created["Runtime"], created["Handler"]) == (PYTHON, "lambda_function.lambda_handler")
    until_active(client, name, WAIT_S)

    invoked = cli(
        "invoke", "--function-name", name, "--payload", '{"name": "CLI"}',
        "--log-type", "Tail", "out.json",
    )  # fmt: skip

    assert invoked["StatusCode"] == 200 and invoked["ExecutedVersion"] == "$LATEST", invoked
    assert "FunctionError" not in invoked, invoked
    assert json.loads((tmp_path / "out.json").read_bytes()) == {"message": "Hello, CLI!"}
    log = base64.b64decode(invoked["LogResult"]).decode()
    assert f"\tgreeting CLI in {name}" in log, log


# ---------------------------------------------------------------------------------------------
# hot reload: a local directory as the code (LocalStack's convention)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "runtime, example, source, handler",
    [
        (PYTHON, "python/hello", "lambda_function.py", "lambda_function.lambda_handler"),
        (NODE, "node/hello", "index.mjs", "index.handler"),
    ],
)
def test_hot_reload_serves_the_directory_as_it_is_now(
    client, make_name, tmp_path, runtime, example, source, handler
):
    """Code.S3Bucket `hot-reload` with S3Key an absolute path: a saved edit of the directory
    takes effect on the next invocation, with no UpdateFunctionCode."""
    live = tmp_path / "live"
    shutil.copytree(SOURCES / example, live)
    name = make_name("hot")
    created = client.create_function(
        FunctionName=name,
        Runtime=runtime,
        Handler=handler,
        Role=ROLE,
        Code={"S3Bucket": "hot-reload", "S3Key": str(live)},
    )
    assert created["CodeSha256"] == "hot-reloading-hash-not-available", strip(created)
    until_active(client, name)
    assert ok(invoke(client, name, {"name": "Ada"})) == {"message": "Hello, Ada!"}

    code = live / source
    code.write_text(code.read_text().replace("Hello, ", "Hot hello, "))
    edited = invoke(client, name, {"name": "Ada"})
    assert ok(edited) == {"message": "Hot hello, Ada!"}, edited.log
    # A new environment ran the edit: its Init is in this call's REPORT.
    assert "Init Duration" in edited.log, edited.log
    # Unchanged since: the warm environment answers.
    again = invoke(client, name, {"name": "Bo"})
    assert ok(again) == {"message": "Hot hello, Bo!"}
    assert "Init Duration" not in again.log, again.log
