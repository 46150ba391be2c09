"""The AWS JavaScript SDK v3 (@aws-sdk/client-lambda) against lambkin: one Lambda session, the
operations of the Terraform suite, driven step by step from Node.

The SDK's own serializers, deserializers, waiters and error classes are the client here: a field
lambkin spells differently, a status it answers differently or an error body the SDK cannot map
shows up as a step that throws or a value that differs from what AWS would answer. The function URL
is called with Node's global fetch exactly as CreateFunctionUrlConfig handed it out, so it must be
resolvable and callable from Node as it is.

js/lambda_session.mjs performs the session and prints what every step saw as one JSON object; this
module asserts on it. Its node_modules come from the committed js/package-lock.json (`npm ci`, run
by a fixture when they are missing or older than the lockfile). Needs `node` (20 or later) and
`npm` on PATH, and the npm registry the first time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, HOST, REGION, unique_name
from helpers import (
    FUNCTION_ARN_PREFIX,
    HANDLER,
    ROLE,
    RUNTIME,
    RecordingProxy,
    example_wasm,
    sha256_b64,
    zip_of,
)

JS_DIR = Path(__file__).resolve().parent / "js"
SCRIPT = JS_DIR / "lambda_session.mjs"
LOCKFILE = JS_DIR / "package-lock.json"
# npm writes this on every install into node_modules: its age is the age of node_modules' contents.
INSTALLED_LOCKFILE = JS_DIR / "node_modules" / ".package-lock.json"
NODE = shutil.which("node")
NPM = shutil.which("npm")
NPM_TIMEOUT_S = 600
SESSION_TIMEOUT_S = 300
OUTPUT_TAIL = 6000  # characters of the script's stderr kept in a failure message

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None, reason="node and npm are needed on PATH for the JS SDK suite"
)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def tail(text: str) -> str:
    return (text or "")[-OUTPUT_TAIL:]


@pytest.fixture(scope="session")
def js_sdk() -> Path:
    """tests/interop/js with its node_modules installed: `npm ci` from the committed lockfile when
    node_modules is absent or older than package-lock.json. A failed install fails the test."""
    stale = (
        not INSTALLED_LOCKFILE.is_file()
        or INSTALLED_LOCKFILE.stat().st_mtime < LOCKFILE.stat().st_mtime
    )
    if stale:
        cmd = [NPM, "ci", "--no-audit", "--no-fund"]
        try:
            done = subprocess.run(
                cmd,
                cwd=JS_DIR,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`npm ci` in {JS_DIR} timed out after {NPM_TIMEOUT_S} s", pytrace=False)
        if done.returncode != 0:
            pytest.fail(
                f"`npm ci` in {JS_DIR}: exit code {done.returncode}\n"
                f"--- stderr (tail)\n{tail(done.stderr)}\n--- stdout (tail)\n{tail(done.stdout)}",
                pytrace=False,
            )
    return JS_DIR


def node_env(tmp_path: Path) -> dict:
    """The environment node runs in: no AWS_* setting of the caller's (profile, endpoint, retry
    mode) and no shared config or credentials files, so only the script's explicit client
    configuration counts; the SDK's notice about Node versions is silenced."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED="true",
    )
    return env


class Session:
    """What one run of lambda_session.mjs saw: `step(name)` is one step's record."""

    def __init__(self, steps: dict):
        self.steps = steps

    def step(self, name: str) -> dict:
        assert name in self.steps, f"the script recorded no step {name!r}: {sorted(self.steps)}"
        return self.steps[name]


def run_session(request, proxy: RecordingProxy, tmp_path: Path, **args: str) -> Session:
    """Run `node lambda_session.mjs --<key> <value>...` (keys with '_' spelled '-'), the SDK
    pointed at the proxy. A non-zero exit fails the test with the step that threw (err.name,
    err.message), the script's stderr and the calls lambkin refused; the script's stderr and
    output are attached to the report of any later failure too."""
    cmd = [NODE, str(SCRIPT), "--endpoint", proxy.endpoint]
    for key, value in args.items():
        cmd += [f"--{key.replace('_', '-')}", value]
    try:
        done = subprocess.run(
            cmd,
            cwd=tmp_path,
            env=node_env(tmp_path),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SESSION_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        stderr = e.stderr.decode("utf-8", "replace") if isinstance(e.stderr, bytes) else e.stderr
        raise AssertionError(
            f"lambda_session.mjs timed out after {SESSION_TIMEOUT_S} s\n"
            f"--- stderr (tail)\n{tail(stderr)}\n"
            f"--- calls lambkin answered with an error\n{proxy.failed_calls()}"
        ) from None
    request.node.add_report_section("call", "lambda_session.mjs stderr", done.stderr)
    request.node.add_report_section("call", "lambda_session.mjs stdout", done.stdout)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    except ValueError:
        result = {}
    if done.returncode != 0 or "steps" not in result:
        failed = result.get("failed")
        what = (
            f"step {failed['step']} threw {failed['name']} (HTTP {failed['status']}):"
            f" {failed['message']}"
            if failed
            else "no step result (the script itself failed)"
        )
        raise AssertionError(
            f"lambda_session.mjs: exit code {done.returncode}: {what}\n"
            f"--- steps done: {sorted(result.get('steps', {}))}\n"
            f"--- stderr (tail)\n{tail(done.stderr)}\n"
            f"--- calls lambkin answered with an error\n{proxy.failed_calls()}"
        )
    return Session(result["steps"])


def gone(get, **kwargs) -> bool:
    """Whether a boto3 Get* call answers ResourceNotFoundException."""
    try:
        get(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"] == "ResourceNotFoundException"
    return False


# ---------------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(lambkin):
    p = RecordingProxy(lambkin.port)
    yield p
    p.close()


def test_a_whole_lambda_session(request, tmp_path, lambkin, client, make_name, proxy, js_sdk):
    function_name = make_name("js")  # make_name deletes it afterwards, whatever happened
    layer_name = unique_name("js-layer")
    code = zip_of({"hello.wasm": example_wasm("hello")})
    layer_zip = zip_of({"config/greeting.txt": b"hello from a layer"})
    (tmp_path / "hello.zip").write_bytes(code)
    (tmp_path / "layer.zip").write_bytes(layer_zip)

    function_arn = f"{FUNCTION_ARN_PREFIX}{function_name}"
    alias_arn = f"{function_arn}:live"
    layer_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{layer_name}"
    layer_version_arn = f"{layer_arn}:1"

    try:
        s = run_session(
            request,
            proxy,
            tmp_path,
            function=function_name,
            layer=layer_name,
            role=ROLE,
            runtime=RUNTIME,
            code=str(tmp_path / "hello.zip"),
            layer_zip=str(tmp_path / "layer.zip"),
        )

        # -- the layer version ---------------------------------------------------------------
        published = s.step("publish_layer_version")
        assert published["status"] == 201, published
        assert (published["LayerArn"], published["LayerVersionArn"], published["Version"]) == (
            layer_arn,
            layer_version_arn,
            1,
        ), published
        assert published["CompatibleRuntimes"] == [RUNTIME], published
        assert published["Content"]["CodeSha256"] == sha256_b64(layer_zip), published
        assert published["Content"]["CodeSize"] == len(layer_zip), published
        got = s.step("get_layer_version")
        assert (got["LayerVersionArn"], got["Version"]) == (layer_version_arn, 1), got
        assert got["Content"]["CodeSha256"] == sha256_b64(layer_zip), got
        assert got["Description"] == "greeting for the js session", got
        listed = s.step("list_layer_versions")
        listed_arns = [v["LayerVersionArn"] for v in listed["LayerVersions"]]
        assert listed_arns == [layer_version_arn], listed

        # -- the function, published as version 1 ---------------------------------------------
        created = s.step("create_function")
        assert created["status"] == 201, created
        # With Publish, CreateFunction answers the published version's configuration.
        assert (created["FunctionArn"], created["Version"]) == (f"{function_arn}:1", "1"), created
        assert created["CodeSha256"] == sha256_b64(code), created
        assert created["Environment"] == {"Variables": {"STAGE": "one"}}, created
        assert [layer["Arn"] for layer in created["Layers"]] == [layer_version_arn], created
        waited = s.step("wait_active")
        assert waited == {"state": "SUCCESS", "configurationState": "Active"}, waited

        fn = s.step("get_function")
        cfg = fn["Configuration"]
        assert (cfg["FunctionArn"], cfg["Version"], cfg["State"]) == (
            function_arn,
            "$LATEST",
            "Active",
        ), cfg
        assert (cfg["Runtime"], cfg["Handler"], cfg["Role"], cfg["MemorySize"]) == (
            RUNTIME,
            HANDLER,
            ROLE,
            128,
        ), cfg
        assert cfg["Environment"] == {"Variables": {"STAGE": "one"}}, cfg
        assert [layer["Arn"] for layer in cfg["Layers"]] == [layer_version_arn], cfg
        assert fn.get("Tags") == {"team": "interop", "stage": "one"}, fn

        # -- tags ------------------------------------------------------------------------------
        assert s.step("list_tags_initial")["Tags"] == {"team": "interop", "stage": "one"}
        assert s.step("tag_resource")["status"] == 204, s.step("tag_resource")
        assert s.step("untag_resource")["status"] == 204, s.step("untag_resource")
        assert s.step("list_tags_final")["Tags"] == {"stage": "two", "owner": "qa"}

        # -- the configuration change, published as version 2 ----------------------------------
        updated = s.step("update_function_configuration")
        assert (updated["MemorySize"], updated["Environment"]) == (
            256,
            {"Variables": {"STAGE": "two"}},
        ), updated
        waited = s.step("wait_updated")
        assert waited == {"state": "SUCCESS", "lastUpdateStatus": "Successful"}, waited
        v2 = s.step("publish_version")
        assert v2["status"] == 201, v2
        assert (v2["FunctionArn"], v2["Version"], v2["MemorySize"]) == (
            f"{function_arn}:2",
            "2",
            256,
        ), v2
        assert v2["Environment"] == {"Variables": {"STAGE": "two"}}, v2
        assert v2["Description"] == "memory 256, stage two", v2

        # -- the alias -------------------------------------------------------------------------
        alias = s.step("create_alias")
        assert alias["status"] == 201, alias
        assert (alias["AliasArn"], alias["Name"], alias["FunctionVersion"]) == (
            alias_arn,
            "live",
            "1",
        ), alias
        assert "RoutingConfig" not in alias, alias
        weighted = s.step("update_alias")
        assert weighted["FunctionVersion"] == "2", weighted
        assert weighted["RoutingConfig"] == {"AdditionalVersionWeights": {"1": 0.25}}, weighted
        assert weighted["RevisionId"] != alias["RevisionId"], (alias, weighted)
        got = s.step("get_alias")
        assert {k: got.get(k) for k in ("AliasArn", "FunctionVersion", "RoutingConfig")} == {
            "AliasArn": alias_arn,
            "FunctionVersion": "2",
            "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.25}},
        }, got
        assert got["RevisionId"] == weighted["RevisionId"], (weighted, got)

        # -- the function URL, called from Node as handed out ---------------------------------
        url = s.step("create_function_url_config")
        assert url["status"] == 201, url
        assert (url["FunctionArn"], url["AuthType"]) == (alias_arn, "NONE"), url
        listener = f"http://{HOST}:{lambkin.port}/lambda-url/"
        assert url["FunctionUrl"].startswith(listener) and url["FunctionUrl"].endswith("/"), url
        fetched = s.step("fetch_function_url")
        assert fetched["url"] == url["FunctionUrl"], fetched
        assert fetched["status"] == 200, fetched
        assert json.loads(fetched["body"]) == {"message": "Hello, world!"}, fetched

        # -- permissions on the alias ------------------------------------------------------------
        def statement(sid: str, source_arn: str) -> dict:
            return {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": alias_arn,
                "Condition": {"ArnLike": {"AWS:SourceArn": source_arn}},
            }

        rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"
        added = s.step("add_permission")
        assert added["status"] == 201, added
        assert added["Statement"] == statement("nightly-rule", rule), added
        policy = s.step("get_policy")
        assert policy["Policy"]["Version"] == "2012-10-17", policy
        assert policy["Policy"]["Statement"] == [statement("nightly-rule", rule)], policy
        assert policy.get("RevisionId"), policy
        duplicate = s.step("add_permission_duplicate")
        assert (duplicate["error"], duplicate["status"]) == ("ResourceConflictException", 409), (
            duplicate
        )
        current = s.step("add_permission_current_revision")
        assert current["status"] == 201, current
        assert current["Statement"] == statement("with-revision", f"{rule}-2"), current
        stale = s.step("add_permission_stale_revision")
        assert (stale["error"], stale["status"]) == ("PreconditionFailedException", 412), stale
        both = s.step("get_policy_two_statements")["Policy"]["Statement"]
        assert both == [statement("nightly-rule", rule), statement("with-revision", f"{rule}-2")]
        assert s.step("remove_permission")["status"] == 204, s.step("remove_permission")
        left = s.step("get_policy_after_remove")["Policy"]["Statement"]
        assert left == [statement("nightly-rule", rule)], left

        # -- event-invoke config and provisioned concurrency -----------------------------------
        for name in ("put_function_event_invoke_config", "get_function_event_invoke_config"):
            eic = s.step(name)
            assert (
                eic["FunctionArn"],
                eic["MaximumRetryAttempts"],
                eic["MaximumEventAgeInSeconds"],
            ) == (f"{function_arn}:$LATEST", 1, 120), (name, eic)
        pcc = s.step("put_provisioned_concurrency_config")
        assert pcc["status"] == 202, pcc
        assert pcc["RequestedProvisionedConcurrentExecutions"] == 1, pcc
        pcc = s.step("get_provisioned_concurrency_config")
        assert pcc["Status"] == "READY", pcc
        assert (
            pcc["RequestedProvisionedConcurrentExecutions"],
            pcc["AllocatedProvisionedConcurrentExecutions"],
        ) == (1, 1), pcc

        # -- invocations -----------------------------------------------------------------------
        for name, version in (("invoke_latest", "$LATEST"), ("invoke_version", "2")):
            out = s.step(name)
            assert (out["status"], out["StatusCode"]) == (200, 200), (name, out)
            assert "FunctionError" not in out, (name, out)
            assert out["ExecutedVersion"] == version, (name, out)
            assert out["Payload"] == {"message": "Hello, js!"}, (name, out)
        log = s.step("invoke_latest")["LogResult"] or ""
        assert "REPORT RequestId:" in log and "Memory Size: 256 MB" in log, log

        # -- what lambkin answers with defaults --------------------------------------------------
        csc = s.step("get_function_code_signing_config")
        assert csc["FunctionName"] == function_name, csc
        assert not csc.get("CodeSigningConfigArn"), csc
        recursion = s.step("get_function_recursion_config")
        assert recursion["RecursiveLoop"] == "Terminate", recursion
        mappings = s.step("list_event_source_mappings")
        assert mappings["EventSourceMappings"] == [], mappings

        missing = s.step("get_missing_function")
        assert (missing["error"], missing["status"]) == ("ResourceNotFoundException", 404), missing

        # -- everything deleted ------------------------------------------------------------------
        for name in (
            "delete_function_url_config",
            "delete_provisioned_concurrency_config",
            "delete_alias",
            "delete_function",
            "delete_layer_version",
        ):
            assert s.step(name)["status"] == 204, (name, s.step(name))
        after = s.step("fetch_deleted_function_url")
        assert after["status"] == 403, after
        for name in ("get_deleted_function", "get_deleted_layer_version"):
            assert s.step(name)["error"] == "ResourceNotFoundException", (name, s.step(name))
        # And boto3, straight to lambkin, agrees.
        assert gone(client.get_function, FunctionName=function_name), "function survived"
        assert gone(
            client.get_layer_version, LayerName=layer_name, VersionNumber=1
        ), "layer version survived"
    finally:
        request.node.add_report_section(
            "call", "calls lambkin answered with an error", proxy.failed_calls()
        )
        # make_name removes the function; the layer version is ours to remove (best effort).
        try:
            client.delete_layer_version(LayerName=layer_name, VersionNumber=1)
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass
