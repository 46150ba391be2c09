"""Node.js functions on lambkin's managed runtime `nodejs22.x`, as Lambda's documentation writes them.

What: functions created with boto3 from a zip of .js/.mjs sources (Runtime="nodejs22.x", Handler
"file.export"; lambkin unpacks the zip read-only at /var/task and runs it on its embedded Node-
compatible runtime component, see runtimes/node/README.md), invoked the ways Lambda offers:

- the seeds' code unchanged (copied into runtimes/node/ beside this module): the getting-started
  index.mjs, and the streaming handlers (`awslambda.streamifyResponse` with `require("stream")` /
  `pipeline`, and with write()/end()) through InvokeWithResponseStream and, as the seeds' tutorial
  does, through a RESPONSE_STREAM function URL with AWS_IAM auth; chunks arriving as they are
  written; `awslambda.HttpResponseStream.from` (status, headers, cookies) through a function URL
  fetched with urllib exactly as FunctionUrl is handed out;
- CommonJS `exports.handler`, ESM `export const handler`, the callback form; `process.env`;
  console.* lines in the Lambda Node runtime's format in the Tail log; require() of a file in the
  zip, of a package in the zip's node_modules and of a pure-JS package a layer puts in
  /opt/nodejs/node_modules; the Node built-ins a handler commonly uses;
- synchronous and Event invocation (delivery observed at an OnSuccess webhook destination), an
  alias and a published version (each version keeps its own code and environment), SnapStart on a
  published version, provisioned concurrency on a version; the context object;
- each error as the Node runtime reports it: a thrown Error, Runtime.ImportModuleError,
  Runtime.HandlerNotFound, Runtime.UserCodeSyntaxError, the timeout (Sandbox.Timedout, "Task timed
  out after 1.00 seconds"), Runtime.OutOfMemory; FunctionError "Unhandled" on all of them.

Why: a managed runtime is only useful if code written for Lambda runs on it as it is; these are
the shapes that code and its callers (SDKs, function URL clients, destinations) depend on.

Cost: the first function of a fresh server compiles the 22 MB runtime component (the `node`
fixture waits up to COMPILE_WAIT_S for it); the SnapStart version is published right after, so its
snapshot is taken while the other tests run, and its test comes last. Other functions share the
compiled runtime and become Active in well under a second.

Not checked (a known host gap): a streamified handler called with plain Invoke answers an
empty payload here, where Lambda buffers the stream.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, name_factory, unique_name
from helpers import FUNCTION_ARN_PREFIX as ARN
from helpers import ROLE, invoke_event, invoke_stream, status_of, strip, zip_of

RUNTIME = "nodejs22.x"
SOURCES = Path(__file__).resolve().parent / "runtimes" / "node"
COMPILE_WAIT_S = 300.0  # the first function of a fresh server: the runtime component's compile
SNAPSHOT_WAIT_S = 300.0  # a SnapStart version: Init, snapshot, and the snapshot's compile
WAIT_S = 30.0
HTTP_TIMEOUT_S = 15
MEMORY_MB = 256
TIMEOUT_S = 10

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# One console.* call in the Lambda Node runtime's text format: time, request id, level, message.
CONSOLE_LINE = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\t(?P<id>[^\t]+)\t"
    r"(?P<level>INFO|WARN|ERROR|DEBUG|TRACE|FATAL)\t(?P<message>.*)$"
)
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PLATFORM_LINE = ("INIT_START ", "INIT_REPORT ", "START RequestId: ", "END RequestId: ", "REPORT RequestId: ")


def seed(path: str) -> bytes:
    """A seed handler as copied (unchanged) into runtimes/node/."""
    return (SOURCES / path).read_bytes()


# ---------------------------------------------------------------------------------------------
# the code the functions run (besides the seeds')
# ---------------------------------------------------------------------------------------------

# CommonJS: require() of a file in the zip, of a package in the zip's node_modules and of one the
# layer puts in /opt/nodejs/node_modules; process.env; console.*; the context object.
APP_JS = r"""
const { shout } = require('./lib/shout');
const greeter = require('greeter');
const padder = require('padder');

exports.handler = async (event, context) => {
  console.log('event %j', event);
  console.info('an object', { a: 1, nested: { b: [1, 2] } });
  console.warn('careful: %d left', 3);
  console.error('line one\nline two');
  console.debug('debug', 42);
  return {
    shout: shout(event.name),
    greeting: greeter.greet(event.name),
    padded: padder.left('7', 3, '0'),
    resolved: [require.resolve('./lib/shout'), require.resolve('greeter'), require.resolve('padder')],
    filename: __filename,
    greetingVar: process.env.GREETING,
    functionNameVar: process.env.AWS_LAMBDA_FUNCTION_NAME,
    handlerVar: process.env._HANDLER,
    context: {
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      invokedFunctionArn: context.invokedFunctionArn,
      memoryLimitInMB: context.memoryLimitInMB,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      remainingTimeInMillis: context.getRemainingTimeInMillis(),
      callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
    },
  };
};
"""

APP_FILES = {
    "app.js": APP_JS,
    "lib/shout.js": "exports.shout = (s) => String(s).toUpperCase() + '!';\n",
    "node_modules/greeter/package.json": json.dumps(
        {"name": "greeter", "version": "1.0.0", "main": "lib/greet.js"}
    ),
    "node_modules/greeter/lib/greet.js": (
        "const util = require('util');\n"
        "exports.greet = (name) => util.format('Hello, %s!', name);\n"
    ),
}

# A pure-JS dependency as a layer ships it for Node.js: nodejs/node_modules/<package>.
LAYER_FILES = {
    "nodejs/node_modules/padder/package.json": json.dumps(
        {"name": "padder", "version": "2.0.0", "main": "index.js"}
    ),
    "nodejs/node_modules/padder/index.js": (
        "exports.left = (s, width, fill) => String(s).padStart(width, fill);\n"
    ),
}

# ESM, `export const handler`, with the Node built-ins a handler commonly uses.
BUILTINS_MJS = r"""
import { Buffer } from 'node:buffer';
import util from 'util';
import { EventEmitter, once } from 'events';
import path from 'node:path';
import { URL, fileURLToPath } from 'url';
import querystring from 'querystring';
import { createHash, randomUUID } from 'node:crypto';
import { Readable, Transform, Writable, pipeline } from 'stream';
import { pipeline as pipelinePromise } from 'node:stream/promises';

export const handler = async (event) => {
  const seen = [];
  await pipelinePromise(
    Readable.from(['ab', 'cd', 'ef']),
    new Transform({ transform(chunk, _enc, cb) { cb(null, chunk.toString().toUpperCase()); } }),
    new Writable({ write(chunk, _enc, cb) { seen.push(chunk.toString()); cb(); } }),
  );
  const viaCallback = await util.promisify(pipeline)(
    Readable.from(['x']),
    new Writable({ write(_chunk, _enc, cb) { cb(); } }),
  );
  const emitter = new EventEmitter();
  const got = [];
  emitter.on('item', (x) => got.push(x));
  emitter.emit('item', 1);
  emitter.emit('item', 2);
  setTimeout(() => emitter.emit('done', 'finished'), 1);
  const [done] = await once(emitter, 'done');
  const u = new URL('https://example.com:8443/a/b?x=1&y=two#frag');
  const text = event.text;
  return {
    buffer: {
      hex: Buffer.from(text).toString('hex'),
      base64: Buffer.from(text).toString('base64'),
      byteLength: Buffer.byteLength(text),
      fromBase64: Buffer.from(Buffer.from(text).toString('base64'), 'base64').toString('utf8'),
      isGlobal: Buffer === globalThis.Buffer,
    },
    util: {
      format: util.format('%s has %d items: %j', 'cart', 3, { a: 1 }),
      inspect: util.inspect({ a: [1, 2], b: 'x' }),
      isDeepStrictEqual: util.isDeepStrictEqual({ a: [1] }, { a: [1] }),
    },
    events: { got, done, listeners: emitter.listenerCount('item') },
    path: {
      join: path.join('/var/task', 'a', '..', 'b.js'),
      extname: path.extname('x/y.tar.gz'),
      basename: path.basename('/p/q/r.txt', '.txt'),
      here: path.dirname(fileURLToPath(import.meta.url)),
    },
    url: { host: u.host, pathname: u.pathname, y: u.searchParams.get('y'), hash: u.hash, meta: import.meta.url },
    querystring: {
      parse: querystring.parse('a=1&b=2&b=3&c=%20x'),
      stringify: querystring.stringify({ x: [1, 2], y: 'z w' }),
    },
    crypto: {
      sha256: createHash('sha256').update(text).digest('hex'),
      md5: createHash('md5').update(text).digest('base64'),
      uuids: [randomUUID(), randomUUID()],
    },
    stream: { seen, viaCallback: viaCallback === undefined },
  };
};
"""

# The callback form; module state lives as long as the environment.
CALLBACK_JS = r"""
let calls = 0;
exports.handler = function (event, context, callback) {
  calls += 1;
  setTimeout(() => callback(null, { calls, doubled: event.n * 2 }), 20);
};
exports.fails = function (event, context, callback) {
  callback(new TypeError('bad input, via callback'));
};
"""

# Writes a chunk every pauseMs: each write reaches the caller as it is written.
CHUNKS_MJS = r"""
import { setTimeout as sleep } from 'node:timers/promises';
export const handler = awslambda.streamifyResponse(async (event, responseStream, _context) => {
  for (let i = 0; i < event.chunks; i++) {
    if (i > 0) await sleep(event.pauseMs);
    responseStream.write(`chunk ${i}\n`);
  }
  responseStream.end();
});
"""

# A RESPONSE_STREAM function URL's answer: status, headers and cookies first, then the body.
HTTP_STREAM_MJS = r"""
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const http = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'x-request-id': context.awsRequestId,
      'x-raw-path': event.rawPath,
      'x-query': event.rawQueryString,
    },
    cookies: ['session=abc; Path=/', 'theme=dark'],
  });
  http.write('first\n');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await pipeline(Readable.from(['second\n', 'third\n']), http);
});
"""

# Module state, the initialization type seen by Init and by the invocation, the code's own mark
# and the environment: what tells versions, SnapStart and provisioned environments apart.
STATEFUL_JS = r"""
const CODE = '%s';
const initTypeAtLoad = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
let calls = 0;
exports.handler = async (event, context) => {
  calls += 1;
  return {
    code: CODE,
    calls,
    stage: process.env.STAGE,
    initTypeAtLoad,
    initType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
  };
};
"""

EVENTED_MJS = r"""
export const handler = async (event, context) => ({ doubled: event.n * 2, awsRequestId: context.awsRequestId });
"""

ERRORS_JS = r"""
class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
  }
}
function check(order) {
  if (!order.items || order.items.length === 0) throw new ValidationError('the order has no items');
  return order.items.length;
}
exports.thrown = async (event) => ({ count: check(event) });
exports.waits = async () => {
  await new Promise((resolve) => setTimeout(resolve, 10000));
  return 'too late';
};
exports.spins = async () => {
  for (;;) {}
};
exports.hog = async (event) => {
  if (!event.hog) return 'fine';
  const keep = [];
  for (;;) keep.push(new Uint8Array(1 << 20).fill(1));
};
exports.neverSettles = async () => new Promise(() => {});
exports.pending = function () {
  return new Promise(() => {});
};
exports.notAFunction = 42;
"""

ERROR_FILES = {
    "errors.js": ERRORS_JS,
    "broken.js": "exports.handler = async (event) => {\n  return { ok: true ;\n};\n",
    "needs.js": (
        "const sdk = require('some-package-that-is-not-there');\n"
        "exports.handler = async () => sdk;\n"
    ),
}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def wait_state(client, name: str, timeout: float = WAIT_S, qualifier: str | None = None) -> dict:
    """GetFunctionConfiguration until the function (or version) is no longer Pending nor being
    updated (at most `timeout` s); it must then be Active."""
    kwargs = {"FunctionName": name}
    if qualifier is not None:
        kwargs["Qualifier"] = qualifier
    deadline = time.monotonic() + timeout
    while True:
        cfg = strip(client.get_function_configuration(**kwargs))
        if cfg.get("State") != "Pending" and cfg.get("LastUpdateStatus") != "InProgress":
            assert cfg["State"] == "Active", cfg
            return cfg
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}:{qualifier} not Active within {timeout:.0f} s: {cfg}")
        time.sleep(0.1)


def deploy(client, name: str, files: dict, handler: str, *, wait_s: float = WAIT_S, **extra) -> dict:
    """CreateFunction: Runtime nodejs22.x, Code a zip of `files` (path -> source), then wait until
    it is Active. Defaults MemorySize 256 and Timeout 10 (keyword arguments override)."""
    params = {"MemorySize": MEMORY_MB, "Timeout": TIMEOUT_S, **extra}
    resp = client.create_function(
        FunctionName=name,
        Runtime=RUNTIME,
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": zip_of(files)},
        **params,
    )
    assert resp["Runtime"] == RUNTIME and resp["Handler"] == handler, strip(resp)
    return wait_state(client, name, wait_s)


def invoke(client, name: str, payload=None, **kwargs) -> dict:
    """RequestResponse Invoke with the log tail; the response with "Body" (bytes) and "Log"."""
    body = json.dumps({} if payload is None else payload).encode()
    resp = client.invoke(FunctionName=name, Payload=body, LogType="Tail", **kwargs)
    resp["Body"] = resp["Payload"].read()
    resp["Log"] = base64.b64decode(resp.get("LogResult", "")).decode("utf-8", errors="replace")
    return resp


def request_id(resp: dict) -> str:
    rid = resp["ResponseMetadata"]["RequestId"]
    assert rid and resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == rid, resp
    return rid


def result(resp: dict):
    """The handler's result (JSON) of an invocation that succeeded."""
    assert resp["StatusCode"] == 200, resp
    assert "FunctionError" not in resp, (resp["Body"], resp["Log"])
    return json.loads(resp["Body"])


def function_error(resp: dict) -> dict:
    """The error payload of an invocation that failed: 200, FunctionError Unhandled."""
    assert resp["StatusCode"] == 200, resp
    assert resp.get("FunctionError") == "Unhandled", (resp["Body"], resp["Log"])
    error = json.loads(resp["Body"])
    assert isinstance(error, dict), error
    return error


def report_line(log: str) -> str:
    lines = [line for line in log.splitlines() if line.startswith("REPORT RequestId: ")]
    assert len(lines) == 1, log
    return lines[0]


def console_lines(log: str) -> list[tuple[str, str, str]]:
    """(request id, level, message) of every line of the tail that is not the platform's own; each
    must be in the Lambda Node runtime's format."""
    out = []
    for line in log.split("\n"):  # not splitlines(): a message's own \r stays in its line
        if not line or line.startswith(PLATFORM_LINE):
            continue
        match = CONSOLE_LINE.match(line)
        assert match, f"not a console line in Lambda's Node format: {line!r}\n{log}"
        out.append((match["id"], match["level"], match["message"]))
    return out


def runtime_error_line(log: str, label: str) -> dict:
    """The error the runtime logged as `ERROR\\t<label> \\t{json}` (Invoke Error, Uncaught
    Exception), parsed."""
    for _rid, level, message in console_lines(log):
        if level == "ERROR" and message.startswith(f"{label} \t"):
            return json.loads(message[len(label) + 2 :])
    raise AssertionError(f"no ERROR {label!r} line in the log:\n{log}")


def stream_log(complete: dict) -> str:
    return base64.b64decode(complete.get("LogResult", "")).decode("utf-8", errors="replace")


def http_get(url: str, headers=None):
    """GET without proxies, the body read piece by piece as it arrives: (status, headers (an
    email.message.Message), [(seconds since the request, bytes)])."""
    req = urllib.request.Request(url, headers=dict(headers or {}), method="GET")
    started = time.monotonic()
    try:
        resp = _OPENER.open(req, timeout=HTTP_TIMEOUT_S)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, [(time.monotonic() - started, err.read())]
    with resp:
        pieces = []
        while True:
            piece = resp.read1(65536)
            if not piece:
                break
            pieces.append((time.monotonic() - started, piece))
        return resp.status, resp.headers, pieces


def sigv4_headers(lambkin, url: str) -> dict:
    """The headers of a GET of `url` signed for the service `lambda` (a function URL with AWS_IAM
    auth), with the keys the suite's client signs with."""
    request = AWSRequest(method="GET", url=url)
    creds = Credentials(lambkin.access_key_id, lambkin.secret_access_key)
    SigV4Auth(creds, "lambda", REGION).add_auth(request)
    return dict(request.headers.items())


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_names(lambkin):
    """Names for the module's shared functions; they are deleted after the module."""
    yield from name_factory(lambkin)


@pytest.fixture(scope="module")
def node(lambkin, module_names):
    """The shared functions: the first one waits for the runtime's compile; the SnapStart version
    is published right after it, so that its snapshot is taken while the other tests run."""
    client = lambkin.client
    layer = client.publish_layer_version(
        LayerName=unique_name("node-deps"),
        Content={"ZipFile": zip_of(LAYER_FILES)},
        CompatibleRuntimes=[RUNTIME],
    )
    fns = SimpleNamespace(layer_arn=layer["LayerVersionArn"])
    try:
        fns.getting_started = module_names("node-gs")
        deploy(
            client,
            fns.getting_started,
            {"index.mjs": seed("getting-started/index.mjs")},
            "index.handler",
            wait_s=COMPILE_WAIT_S,
        )

        fns.snap = module_names("node-snap")
        deploy(
            client,
            fns.snap,
            {"index.js": STATEFUL_JS % "snap"},
            "index.handler",
            SnapStart={"ApplyOn": "PublishedVersions"},
        )
        fns.snap_published = client.publish_version(FunctionName=fns.snap)

        streaming = {
            "echo.js": seed("streaming/echo.js"),
            "index.mjs": seed("streaming/index.mjs"),
            "hello.js": seed("streaming/hello.js"),
            "chunks.mjs": CHUNKS_MJS,
            "http.mjs": HTTP_STREAM_MJS,
        }
        for attr, handler in [
            ("echo", "echo.echo"),
            ("tutorial", "index.handler"),
            ("hello", "hello.handler"),
            ("chunks", "chunks.handler"),
            ("http_stream", "http.handler"),
        ]:
            setattr(fns, attr, module_names(f"node-{attr.replace('_', '-')}"))
            deploy(client, getattr(fns, attr), streaming, handler)

        fns.app = module_names("node-app")
        deploy(
            client,
            fns.app,
            APP_FILES,
            "app.handler",
            Layers=[fns.layer_arn],
            Environment={"Variables": {"GREETING": "hello from the environment"}},
        )
        fns.builtins = module_names("node-builtins")
        deploy(client, fns.builtins, {"index.mjs": BUILTINS_MJS}, "index.handler")
        fns.callback = module_names("node-callback")
        deploy(client, fns.callback, {"callback.js": CALLBACK_JS}, "callback.handler")
        yield fns
    finally:
        # The functions go with module_names; the layer version here.
        try:
            lambkin.client.delete_layer_version(
                LayerName=layer["LayerArn"].rsplit(":", 1)[-1], VersionNumber=layer["Version"]
            )
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass


# ---------------------------------------------------------------------------------------------
# 1. the seeds' code, unchanged
# ---------------------------------------------------------------------------------------------


def test_the_runtimes_own_unit_tests_pass():
    """The runtime's bootstrap has unit tests of its own (node --test: the source transforms against
    acorn, the loader); the host build has installed its node_modules."""
    bootstrap = Path(__file__).resolve().parents[2] / "runtimes" / "node" / "bootstrap"
    tests = sorted(str(p.relative_to(bootstrap)) for p in (bootstrap / "test").glob("*.test.mjs"))
    assert tests, "no unit tests found"
    done = subprocess.run(["node", "--test", *tests], cwd=bootstrap, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"^# fail 0$", done.stdout, re.M), done.stdout[-2000:]


def test_seed_getting_started_index_mjs(client, node):
    resp = invoke(client, node.getting_started, {"length": 6, "width": 7})

    # The seed returns JSON.stringify(data): the payload is that string, JSON-encoded.
    assert result(resp) == '{"area":42}', resp["Body"]
    assert resp["ExecutedVersion"] == "$LATEST"
    rid = request_id(resp)
    assert console_lines(resp["Log"]) == [
        (rid, "INFO", "The area is 42"),
        # console.log('CloudWatch log group: ', name): util.format joins the arguments with a space.
        (rid, "INFO", f"CloudWatch log group:  /aws/lambda/{node.getting_started}"),
    ]
    log = resp["Log"]
    assert f"START RequestId: {rid} Version: $LATEST" in log, log
    assert f"END RequestId: {rid}" in log, log
    assert "\tMemory Size: 256 MB\t" in report_line(log)


def test_seed_echo_streams_the_event_back(client, node):
    event = {"echo": [1, 2, 3], "text": "héllo"}

    chunks, _, complete, resp = invoke_stream(client, node.echo, event)

    assert resp["ExecutedVersion"] == "$LATEST"
    assert json.loads(b"".join(chunks)) == event
    assert "ErrorCode" not in complete, complete
    log = stream_log(complete)
    assert "START RequestId:" in log and "REPORT RequestId:" in log, log


def test_seed_write_and_end_streams_every_write(client, node):
    chunks, _, complete, _ = invoke_stream(client, node.hello, {})

    assert b"".join(chunks) == b"Hello world from Lambda!"
    assert "ErrorCode" not in complete, complete


def test_seed_tutorial_streams_through_invoke_with_response_stream(client, node):
    chunks, _, complete, _ = invoke_stream(client, node.tutorial, {"tutorial": True})

    assert json.loads(b"".join(chunks)) == {"tutorial": True}
    assert "ErrorCode" not in complete, complete


def test_seed_tutorial_through_its_aws_iam_response_stream_url(client, lambkin, node):
    # As the tutorial: create-function-url-config --auth-type AWS_IAM --invoke-mode RESPONSE_STREAM,
    # then a SigV4-signed GET of the URL.
    config = client.create_function_url_config(
        FunctionName=node.tutorial, AuthType="AWS_IAM", InvokeMode="RESPONSE_STREAM"
    )
    assert status_of(config) == 201
    url = config["FunctionUrl"]

    status, headers, pieces = http_get(url, sigv4_headers(lambkin, url))

    assert status == 200, pieces
    # Without an HttpResponseStream prelude the stream is the body, as application/octet-stream.
    assert headers.get("content-type") == "application/octet-stream", headers.items()
    event = json.loads(b"".join(piece for _, piece in pieces))
    assert event["version"] == "2.0", event
    assert event["rawPath"] == "/", event
    assert event["requestContext"]["http"]["method"] == "GET", event
    assert event["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 "), event
    assert event["requestContext"]["requestId"] == headers.get("x-amzn-requestid"), event

    unsigned, _, _ = http_get(url)
    assert unsigned == 403


# ---------------------------------------------------------------------------------------------
# 2. streaming: chunks as they are written, the HTTP prelude
# ---------------------------------------------------------------------------------------------


def test_stream_chunks_arrive_as_they_are_written(client, node):
    chunks, arrivals, complete, _ = invoke_stream(client, node.chunks, {"chunks": 3, "pauseMs": 200})

    assert chunks == [b"chunk 0\n", b"chunk 1\n", b"chunk 2\n"]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(gap >= 0.15 for gap in gaps), f"chunks were held back: {gaps}"
    assert "ErrorCode" not in complete, complete
    report = report_line(stream_log(complete))
    duration_ms = float(re.search(r"\tDuration: ([\d.]+) ms", report).group(1))
    assert duration_ms >= 400, report


def test_http_response_stream_through_a_response_stream_url(client, node):
    config = client.create_function_url_config(
        FunctionName=node.http_stream, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )
    url = config["FunctionUrl"]  # called exactly as it is handed out

    status, headers, pieces = http_get(url + "some/path?x=1&y=2")

    assert status == 201, pieces
    assert headers.get("content-type") == "text/plain; charset=utf-8", headers.items()
    assert headers.get("x-raw-path") == "/some/path", headers.items()
    assert headers.get("x-query") == "x=1&y=2", headers.items()
    # context.awsRequestId is the request id the URL answers with.
    assert headers.get("x-request-id") == headers.get("x-amzn-requestid"), headers.items()
    assert sorted(headers.get_all("set-cookie") or []) == ["session=abc; Path=/", "theme=dark"]
    body = b"".join(piece for _, piece in pieces)
    assert body == b"first\nsecond\nthird\n", pieces
    # "first" came before the handler's 300 ms pause ended, the rest after it.
    first_at = next(at for at, piece in pieces if piece)
    rest_at = next(at for at, piece in pieces if b"second" in piece)
    assert pieces[0][1].startswith(b"first"), pieces
    assert rest_at - first_at >= 0.2, pieces


# ---------------------------------------------------------------------------------------------
# 3. module formats, require(), layers, environment, console, built-ins, the callback form
# ---------------------------------------------------------------------------------------------


def test_commonjs_requires_zip_files_node_modules_and_layer_packages(client, node):
    body = result(invoke(client, node.app, {"name": "Ada"}))

    assert body["shout"] == "ADA!"
    assert body["greeting"] == "Hello, Ada!"
    assert body["padded"] == "007"
    assert body["resolved"] == [
        "/var/task/lib/shout.js",
        "/var/task/node_modules/greeter/lib/greet.js",
        "/opt/nodejs/node_modules/padder/index.js",
    ]
    assert body["filename"] == "/var/task/app.js"


def test_process_env_has_the_function_variables(client, node):
    body = result(invoke(client, node.app, {"name": "env"}))

    assert body["greetingVar"] == "hello from the environment"
    assert body["functionNameVar"] == node.app
    assert body["handlerVar"] == "app.handler"


def test_console_lines_in_the_tail_log_are_in_lambdas_node_format(client, node):
    resp = invoke(client, node.app, {"name": "Ada"})
    result(resp)
    rid = request_id(resp)

    assert console_lines(resp["Log"]) == [
        (rid, "INFO", 'event {"name":"Ada"}'),
        (rid, "INFO", "an object { a: 1, nested: { b: [ 1, 2 ] } }"),
        (rid, "WARN", "careful: 3 left"),
        (rid, "ERROR", "line one\rline two"),  # one log event: newlines become \r
        (rid, "DEBUG", "debug 42"),
    ]


def test_context_object(client, node):
    resp = invoke(client, node.app, {"name": "ctx"})
    context = result(resp)["context"]

    assert context["awsRequestId"] == request_id(resp)
    assert context["functionName"] == node.app
    assert context["functionVersion"] == "$LATEST"
    assert context["invokedFunctionArn"] == ARN + node.app
    assert context["memoryLimitInMB"] == str(MEMORY_MB)  # a string, as Lambda's
    assert context["logGroupName"] == f"/aws/lambda/{node.app}"
    assert re.match(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$", context["logStreamName"]), context
    remaining = context["remainingTimeInMillis"]
    assert isinstance(remaining, int) and 0 < remaining <= TIMEOUT_S * 1000, context
    assert remaining > TIMEOUT_S * 1000 - 5000, context  # the call took far less than 5 s
    assert context["callbackWaitsForEmptyEventLoop"] is True


def test_esm_handler_with_node_builtins(client, node):
    text = "héllo wörld"

    body = result(invoke(client, node.builtins, {"text": text}))

    data = text.encode()
    assert body["buffer"] == {
        "hex": data.hex(),
        "base64": base64.b64encode(data).decode(),
        "byteLength": len(data),
        "fromBase64": text,
        "isGlobal": True,
    }
    assert body["util"] == {
        "format": 'cart has 3 items: {"a":1}',
        "inspect": "{ a: [ 1, 2 ], b: 'x' }",
        "isDeepStrictEqual": True,
    }
    assert body["events"] == {"got": [1, 2], "done": "finished", "listeners": 1}
    assert body["path"] == {
        "join": "/var/task/b.js",
        "extname": ".gz",
        "basename": "r",
        "here": "/var/task",
    }
    assert body["url"] == {
        "host": "example.com:8443",
        "pathname": "/a/b",
        "y": "two",
        "hash": "#frag",
        "meta": "file:///var/task/index.mjs",
    }
    assert body["querystring"] == {
        "parse": {"a": "1", "b": ["2", "3"], "c": " x"},
        "stringify": "x=1&x=2&y=z%20w",
    }
    assert body["crypto"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["crypto"]["md5"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    first, second = body["crypto"]["uuids"]
    assert UUID4.match(first) and UUID4.match(second) and first != second, body["crypto"]
    assert body["stream"] == {"seen": ["AB", "CD", "EF"], "viaCallback": True}


def test_callback_form_and_module_state(client, node):
    first = invoke(client, node.callback, {"n": 21})
    second = invoke(client, node.callback, {"n": 2})

    assert result(first) == {"calls": 1, "doubled": 42}
    assert result(second) == {"calls": 2, "doubled": 4}  # the same environment, its state kept
    assert "Init Duration" in report_line(first["Log"])
    assert "Init Duration" not in report_line(second["Log"])


def test_callback_with_an_error(client, make_name):
    name = make_name("node-cb-fails")
    deploy(client, name, {"callback.js": CALLBACK_JS}, "callback.fails")

    resp = invoke(client, name, {})

    error = function_error(resp)
    assert error["errorType"] == "TypeError", error
    assert error["errorMessage"] == "bad input, via callback", error
    assert error["stackTrace"][0] == "TypeError: bad input, via callback", error
    assert any("/var/task/callback.js:" in frame for frame in error["stackTrace"][1:]), error


# ---------------------------------------------------------------------------------------------
# 4. invocation types, versions, aliases, provisioned concurrency
# ---------------------------------------------------------------------------------------------


def test_event_invoke_is_delivered_to_the_on_success_destination(client, make_name, webhook):
    name = make_name("node-event")
    deploy(client, name, {"index.mjs": EVENTED_MJS}, "index.handler")
    url = webhook.url("node-success")
    client.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": url}}
    )

    rid = invoke_event(client, name, {"n": 21})

    [record] = webhook.wait_records(url)
    assert record["requestContext"] == {
        "requestId": rid,
        "functionArn": ARN + name + ":$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"n": 21}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"doubled": 42, "awsRequestId": rid}


def test_published_version_and_alias_keep_their_code_and_environment(client, make_name):
    name = make_name("node-versions")
    deploy(
        client,
        name,
        {"index.js": STATEFUL_JS % "one"},
        "index.handler",
        Environment={"Variables": {"STAGE": "one"}},
    )
    published = client.publish_version(FunctionName=name)
    assert published["Version"] == "1", strip(published)
    assert published["Runtime"] == RUNTIME, strip(published)
    wait_state(client, name, qualifier="1")
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    # $LATEST moves on: new code and a new environment.
    client.update_function_code(FunctionName=name, ZipFile=zip_of({"index.js": STATEFUL_JS % "two"}))
    wait_state(client, name)
    client.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"STAGE": "two"}}
    )
    wait_state(client, name)

    live = invoke(client, name, {}, Qualifier="live")
    version = invoke(client, name, {}, Qualifier="1")
    latest = invoke(client, name, {})

    assert live["ExecutedVersion"] == "1"
    body = result(live)
    assert (body["code"], body["stage"], body["functionVersion"]) == ("one", "one", "1"), body
    assert body["invokedFunctionArn"] == ARN + name + ":live", body
    assert f"START RequestId: {request_id(live)} Version: 1" in live["Log"], live["Log"]
    assert version["ExecutedVersion"] == "1"
    body = result(version)
    assert (body["code"], body["stage"]) == ("one", "one"), body
    assert body["invokedFunctionArn"] == ARN + name + ":1", body
    assert latest["ExecutedVersion"] == "$LATEST"
    body = result(latest)
    assert (body["code"], body["stage"], body["functionVersion"]) == ("two", "two", "$LATEST"), body
    assert body["invokedFunctionArn"] == ARN + name, body


def test_provisioned_concurrency_on_a_version(client, make_name):
    name = make_name("node-provisioned")
    deploy(client, name, {"index.js": STATEFUL_JS % "pc"}, "index.handler")
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    wait_state(client, name, qualifier="1")

    put = client.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    assert status_of(put) == 202, put
    deadline = time.monotonic() + WAIT_S
    while True:
        config = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
        if config["Status"] != "IN_PROGRESS":
            break
        assert time.monotonic() < deadline, strip(config)
        time.sleep(0.05)
    assert config["Status"] == "READY", strip(config)
    assert config["AvailableProvisionedConcurrentExecutions"] == 1, strip(config)

    first = invoke(client, name, {}, Qualifier="1")
    second = invoke(client, name, {}, Qualifier="1")
    on_demand = invoke(client, name, {})

    body = result(first)
    # Init ran before the call, as provisioned concurrency's, in the environment that served it.
    assert body["initType"] == body["initTypeAtLoad"] == "provisioned-concurrency", body
    assert body["calls"] == 1 and body["functionVersion"] == "1", body
    assert "Init Duration" not in report_line(first["Log"]), first["Log"]
    assert "INIT_START" not in first["Log"], first["Log"]
    assert result(second)["calls"] == 2
    body = result(on_demand)
    assert body["initType"] == "on-demand", body
    assert "Init Duration" in report_line(on_demand["Log"]), on_demand["Log"]


# ---------------------------------------------------------------------------------------------
# 5. errors, as the Node runtime reports them
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def errors_fn(client, make_name):
    """Factory: a function running ERROR_FILES with this handler (and settings); its name."""

    def make(handler: str, **extra) -> str:
        name = make_name("node-err")
        deploy(client, name, ERROR_FILES, handler, **extra)
        return name

    return make


def test_thrown_error(client, errors_fn):
    name = errors_fn("errors.thrown")

    resp = invoke(client, name, {"items": []})

    error = function_error(resp)
    assert set(error) == {"errorType", "errorMessage", "stackTrace"}, error
    assert error["errorType"] == "ValidationError", error
    assert error["errorMessage"] == "the order has no items", error
    trace = error["stackTrace"]
    assert trace[0] == "ValidationError: the order has no items", trace
    assert all(frame.startswith("    at ") for frame in trace[1:]), trace
    assert any(frame.startswith("    at check (/var/task/errors.js:") for frame in trace), trace
    logged = runtime_error_line(resp["Log"], "Invoke Error")
    assert (logged["errorType"], logged["errorMessage"]) == (error["errorType"], error["errorMessage"])
    assert logged["stack"] == trace, logged
    # The environment survives a handler's error: the next call is warm and succeeds.
    again = invoke(client, name, {"items": [1, 2]})
    assert result(again) == {"count": 2}
    assert "Init Duration" not in report_line(again["Log"])


def assert_init_error(resp: dict, error_type: str) -> dict:
    error = function_error(resp)
    assert error["errorType"] == error_type, error
    assert error["stackTrace"][0].startswith(f"{error_type}: "), error
    logged = runtime_error_line(resp["Log"], "Uncaught Exception")
    assert logged["errorType"] == error_type, logged
    assert re.search(
        rf"^INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\tError Type: {re.escape(error_type)}$",
        resp["Log"],
        re.M,
    ), resp["Log"]
    return error


def test_missing_handler_module_is_import_module_error(client, errors_fn):
    name = errors_fn("nope.handler")

    error = assert_init_error(invoke(client, name), "Runtime.ImportModuleError")

    assert error["errorMessage"] == (
        "Error: Cannot find module 'nope'\nRequire stack:\n- /var/runtime/index.mjs"
    ), error


def test_missing_dependency_is_import_module_error(client, errors_fn):
    name = errors_fn("needs.handler")

    error = assert_init_error(invoke(client, name), "Runtime.ImportModuleError")

    assert error["errorMessage"] == (
        "Error: Cannot find module 'some-package-that-is-not-there'\n"
        "Require stack:\n- /var/task/needs.js"
    ), error


def test_missing_export_is_handler_not_found(client, errors_fn):
    name = errors_fn("errors.missing")

    error = assert_init_error(invoke(client, name), "Runtime.HandlerNotFound")

    assert error["errorMessage"] == "errors.missing is undefined or not exported", error


def test_export_that_is_not_a_function_is_handler_not_found(client, errors_fn):
    name = errors_fn("errors.notAFunction")

    error = assert_init_error(invoke(client, name), "Runtime.HandlerNotFound")

    assert error["errorMessage"] == "errors.notAFunction is not a function", error


def test_syntax_error_is_user_code_syntax_error(client, errors_fn):
    name = errors_fn("broken.handler")

    error = assert_init_error(invoke(client, name), "Runtime.UserCodeSyntaxError")

    assert error["errorMessage"].startswith("SyntaxError: "), error
    assert any("/var/task/broken.js:2" in frame for frame in error["stackTrace"]), error


@pytest.mark.parametrize("handler", ["errors.waits", "errors.spins"], ids=["timer", "loop"])
def test_timeout(client, errors_fn, handler):
    name = errors_fn(handler, Timeout=1)

    started = time.monotonic()
    resp = invoke(client, name)
    elapsed = time.monotonic() - started

    error = function_error(resp)
    assert error["errorType"] == "Sandbox.Timedout", error
    rid = request_id(resp)
    assert error["errorMessage"] == f"RequestId: {rid} Error: Task timed out after 1.00 seconds", error
    assert "Task timed out after 1.00 seconds" in resp["Log"], resp["Log"]
    assert 0.9 < elapsed < 5, f"the 1 s timeout took {elapsed:.2f} s to answer"


def test_out_of_memory(client, errors_fn):
    name = errors_fn("errors.hog", MemorySize=128)

    resp = invoke(client, name, {"hog": True})

    error = function_error(resp)
    assert error["errorType"] == "Runtime.OutOfMemory", error
    assert error["errorMessage"].startswith(f"RequestId: {request_id(resp)} Error: "), error
    assert "\tMemory Size: 128 MB\t" in report_line(resp["Log"])
    # The environment is gone: the next call starts a new one, which works.
    again = invoke(client, name, {})
    assert result(again) == "fine"
    assert "Init Duration" in report_line(again["Log"]), again["Log"]


# Lambda's Node runtime (aws-lambda-nodejs-runtime-interface-client, Runtime.js
# _setDefaultExitListener) answers when the event loop empties with the handler's promise still
# pending: an `async` handler fails with Runtime.NodeJsExit (Errors.js NodeJsExit), any other
# handler answers null. The environment lives on.


def test_async_handler_whose_promise_never_settles_is_runtime_nodejs_exit(client, errors_fn):
    name = errors_fn("errors.neverSettles")

    error = function_error(invoke(client, name))

    assert error["errorType"] == "Runtime.NodeJsExit", error
    assert error["errorMessage"].startswith(
        "The Lambda runtime client detected an unexpected Node.js exit code."
    ), error
    # The same environment answers the next call: no new Init.
    again = invoke(client, name)
    assert function_error(again)["errorType"] == "Runtime.NodeJsExit"
    assert "Init Duration" not in report_line(again["Log"]), again["Log"]


def test_plain_handler_whose_promise_never_settles_answers_null(client, errors_fn):
    name = errors_fn("errors.pending")

    assert result(invoke(client, name)) is None


# ---------------------------------------------------------------------------------------------
# 6. SnapStart (last: its snapshot was started by the `node` fixture)
# ---------------------------------------------------------------------------------------------


def test_snap_start_version_restores_without_init(client, node):
    published = strip(node.snap_published)
    assert published["Version"] == "1", published
    assert published["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert published["State"] == "Pending", published

    cfg = wait_state(client, node.snap, SNAPSHOT_WAIT_S, qualifier="1")
    assert cfg["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}, cfg

    first = invoke(client, node.snap, {}, Qualifier="1")
    second = invoke(client, node.snap, {}, Qualifier="1")

    body = result(first)
    # Init ran when the version was published (as snap-start), not for this call.
    assert body["initTypeAtLoad"] == body["initType"] == "snap-start", body
    assert (body["code"], body["calls"], body["functionVersion"]) == ("snap", 1, "1"), body
    assert "Init Duration" not in report_line(first["Log"]), first["Log"]
    assert "INIT_START" not in first["Log"], first["Log"]
    # Lambda reports the restore instead, billed apart.
    assert first["Log"].startswith("RESTORE_START Runtime Version: nodejs22.x."), first["Log"]
    assert re.search(r"\tRestore Duration: [\d.]+ ms\tBilled Restore Duration: \d+ ms$", report_line(first["Log"])), first["Log"]
    assert result(second)["calls"] == 2
    assert "Restore Duration" not in report_line(second["Log"]), second["Log"]
    # $LATEST has no snapshot: its first call pays Init.
    latest = invoke(client, node.snap, {})
    assert result(latest)["initType"] == "on-demand"
    assert "Init Duration" in report_line(latest["Log"]), latest["Log"]
