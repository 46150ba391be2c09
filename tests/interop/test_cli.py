"""The AWS CLI, v1 and v2, against lambkin: one whole Lambda session per CLI, and the README's CLI
session as it is typed there.

The CLIs are what people type first, and they are not boto3: v1 shares botocore with boto3 but
has its own argument parsing (shorthand syntax, fileb://, waiters, --outfile), and v2 carries its
own fork of botocore with other defaults (base64 payloads, ISO timestamps, other exit codes). The
session runs the operations of the Terraform test (layers, tags, versions, a weighted alias, a
function URL, a resource policy, event-invoke and provisioned concurrency configs, invoke, the
small Get* calls tools make, errors, deletes), each one a CLI process whose JSON output is
checked.

  v1  the pip package `awscli` (tests/interop/requirements.txt), run as `python -m awscli`
  v2  Debian's `awscli` package (2.9.x), binary LAMBKIN_AWS_CLI_V2 (default /usr/bin/aws);
      that parameter is skipped when the binary is absent
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ACCOUNT, EXAMPLES, HOST, REGION, REPO, unique_name
from helpers import (
    FUNCTION_ARN_PREFIX,
    HANDLER,
    ROLE,
    RUNTIME,
    WAIT_S,
    RecordingProxy,
    example_wasm,
    sha256_b64,
    zip_of,
)

CLI_V2 = Path(os.environ.get("LAMBKIN_AWS_CLI_V2", "/usr/bin/aws"))
COMMAND_TIMEOUT_S = 120  # one CLI process; a start alone takes about half a second
OUTPUT_TAIL = 4000  # characters of a command's output kept in a failure message
LAYER_ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:"

# Direct to lambkin (function URLs name its listener), never through a proxy of the environment.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


class CliError(AssertionError):
    """A CLI command that did not do what the test expected of it."""


class Cli:
    """One AWS CLI (argv prefix `argv`) talking to `proxy`.

    `cli("get-function", function_name="f")` runs `aws lambda get-function --function-name f
    --endpoint-url <proxy> --output json` in `workdir` and returns its stdout parsed (None when it
    printed nothing); a keyword becomes its option (underscores as dashes, True a bare flag),
    positional arguments follow the operation as they are. Any exit code but 0 raises CliError
    with the command, its output and the calls lambkin refused. Nothing of the user's
    configuration is read: keys and region come from the environment, the config and credentials
    files it names do not exist."""

    def __init__(self, argv: list[str], workdir: Path, proxy: RecordingProxy):
        self.argv = list(argv)
        self.workdir = workdir
        self.proxy = proxy
        self.major = None  # set by the fixture once --version has been checked
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION=REGION,
            AWS_PAGER="",
            AWS_CONFIG_FILE=str(workdir / "no-such-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-such-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CLI_AUTO_PROMPT="off",
        )

    def version(self) -> str:
        """The first line of `aws --version` (old v1 releases wrote it to stderr)."""
        done = subprocess.run(
            [*self.argv, "--version"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )
        return ((done.stdout + done.stderr).strip().splitlines() or ["<no output>"])[0]

    def raw(self, operation: str, *args: str, **options) -> subprocess.CompletedProcess:
        """Run `aws lambda <operation> <args> <options>` against the proxy, whatever its exit
        code."""
        cmd = [*self.argv, "lambda", operation, *args]
        for key, value in options.items():
            cmd.append("--" + key.replace("_", "-"))
            if value is not True:
                cmd.append(str(value))
        cmd += ["--endpoint-url", self.proxy.endpoint, "--output", "json"]
        try:
            return subprocess.run(
                cmd,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as e:
            raise CliError(self.report(f"timed out after {COMMAND_TIMEOUT_S} s", e)) from None

    def __call__(self, operation: str, *args: str, **options):
        done = self.raw(operation, *args, **options)
        if done.returncode != 0:
            raise CliError(self.report(f"exit code {done.returncode}", done))
        return self.parsed(done)

    def fails(self, operation: str, *args: str, code: str, **options) -> str:
        """Run a command that must fail with the error code `code` named on stderr (as both CLIs
        print it: "An error occurred (<code>) when calling ..."); returns stderr."""
        done = self.raw(operation, *args, **options)
        if done.returncode == 0 or f"({code})" not in done.stderr:
            what = f"expected a non-zero exit naming {code}; exit code {done.returncode}"
            raise CliError(self.report(what, done))
        return done.stderr

    def optional(self, operation: str, *args: str, **options):
        """Like calling the CLI, but None when this CLI release does not know the operation: its
        argument parser refuses it ("Invalid choice") before any request is made."""
        done = self.raw(operation, *args, **options)
        if done.returncode != 0 and "Invalid choice" in done.stderr:
            return None
        if done.returncode != 0:
            raise CliError(self.report(f"exit code {done.returncode}", done))
        return self.parsed(done)

    def parsed(self, done: subprocess.CompletedProcess):
        if not done.stdout.strip():
            return None
        try:
            return json.loads(done.stdout)
        except ValueError:
            raise CliError(self.report("stdout is not JSON", done)) from None

    def report(self, what: str, done, command: str | None = None) -> str:
        """A failure message: the command (`aws ...`, unless `command` names it), what went
        wrong, stderr, the calls lambkin answered with an error so far, stdout."""

        def tail(text) -> str:
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            return (text or "")[-OUTPUT_TAIL:]

        if command is None:
            cmd = done.args if isinstance(done, subprocess.CompletedProcess) else done.cmd
            command = f"`aws {' '.join(cmd[len(self.argv) :])}`"
        return (
            f"{command}: {what}\n"
            f"--- stderr (tail)\n{tail(done.stderr)}\n"
            f"--- calls lambkin answered with an error (all commands so far)\n"
            f"{self.proxy.failed_calls()}\n"
            f"--- stdout (tail)\n{tail(done.stdout)}"
        )


def http_get(url: str) -> tuple[int, bytes]:
    """GET a URL exactly as given (status and body; an HTTP error status is returned, not
    raised)."""
    try:
        with _NO_PROXY_OPENER.open(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def poll(get, done, what: str):
    """Call get() (a CLI command, about half a second each) until done(value) holds, at most
    WAIT_S seconds; returns the last value."""
    deadline = time.monotonic() + WAIT_S
    while True:
        value = get()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not settle within {WAIT_S:.0f} s: {value}")
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(lambkin):
    p = RecordingProxy(lambkin.port)
    yield p
    p.close()


@pytest.fixture(params=["v1", "v2"])
def cli(request, tmp_path, proxy) -> Cli:
    """The CLI of this parameter, its major version checked (`cli.major`)."""
    if request.param == "v1":
        if importlib.util.find_spec("awscli") is None:
            pytest.fail(
                "the awscli package is not installed (pip install -r requirements.txt)",
                pytrace=False,
            )
        tool, prefix, major = Cli([sys.executable, "-m", "awscli"], tmp_path, proxy), "1.", 1
    else:
        if not CLI_V2.is_file():
            pytest.skip(
                f"AWS CLI v2 not found at {CLI_V2} (apt-get install awscli, or set"
                " LAMBKIN_AWS_CLI_V2)"
            )
        tool, prefix, major = Cli([str(CLI_V2)], tmp_path, proxy), "2.", 2
    version = tool.version()
    assert version.startswith(f"aws-cli/{prefix}"), f"{tool.argv} is not CLI v{major}: {version}"
    tool.major = major
    return tool


# ---------------------------------------------------------------------------------------------
# the whole session, per CLI
# ---------------------------------------------------------------------------------------------


def test_a_whole_lambda_session(cli, tmp_path, lambkin, client, make_name):
    name = make_name(f"cli{cli.major}")  # make_name deletes it afterwards, whatever happened
    layer = unique_name(f"cli{cli.major}-layer")
    hello_zip = zip_of({"hello.wasm": example_wasm("hello")})
    layer_zip = zip_of({"config/greeting.txt": b"hello from a layer"})
    (tmp_path / "hello.zip").write_bytes(hello_zip)
    (tmp_path / "layer.zip").write_bytes(layer_zip)
    fn_arn = FUNCTION_ARN_PREFIX + name
    alias_arn = fn_arn + ":live"
    layer_arn = f"{LAYER_ARN_PREFIX}{layer}:1"
    fn = {"function_name": name}

    try:
        # -- a layer ---------------------------------------------------------------------------
        published = cli(
            "publish-layer-version",
            layer_name=layer,
            zip_file="fileb://layer.zip",
            compatible_runtimes=RUNTIME,
        )
        assert published["LayerVersionArn"] == layer_arn, published
        assert published["LayerArn"] == LAYER_ARN_PREFIX + layer, published
        assert published["Version"] == 1, published
        assert published["Content"]["CodeSha256"] == sha256_b64(layer_zip), published
        assert published["Content"]["CodeSize"] == len(layer_zip), published
        got = cli("get-layer-version", layer_name=layer, version_number=1)
        assert got["LayerVersionArn"] == layer_arn, got
        assert got["CompatibleRuntimes"] == [RUNTIME], got
        assert got["Content"]["CodeSha256"] == sha256_b64(layer_zip), got
        listed = cli("list-layer-versions", layer_name=layer)
        assert [v["LayerVersionArn"] for v in listed["LayerVersions"]] == [layer_arn], listed

        # -- the function, published as version 1, then Active -------------------------------
        created = cli(
            "create-function",
            **fn,
            runtime=RUNTIME,
            handler=HANDLER,
            role=ROLE,
            zip_file="fileb://hello.zip",
            tags="team=interop,stage=one",
            environment="Variables={STAGE=one}",
            layers=layer_arn,
            publish=True,
        )
        assert (created["FunctionArn"], created["Version"]) == (fn_arn + ":1", "1"), created
        assert created["CodeSha256"] == sha256_b64(hello_zip), created
        assert (created["Runtime"], created["Handler"], created["Role"]) == (RUNTIME, HANDLER, ROLE)
        assert created["Layers"] == [{"Arn": layer_arn, "CodeSize": len(layer_zip)}], created
        assert created["Environment"] == {"Variables": {"STAGE": "one"}}, created
        assert cli("wait", "function-active-v2", **fn) is None
        got = cli("get-function", **fn)
        config = got["Configuration"]
        assert (config["FunctionArn"], config["Version"]) == (fn_arn, "$LATEST"), got
        assert config["State"] == "Active", got
        assert config["Environment"] == {"Variables": {"STAGE": "one"}}, got
        assert [layer_["Arn"] for layer_ in config["Layers"]] == [layer_arn], got
        assert got["Tags"] == {"team": "interop", "stage": "one"}, got

        # -- tags: one changed, one added, one removed ------------------------------------------
        assert cli("tag-resource", resource=fn_arn, tags="stage=two,owner=qa") is None
        assert cli("untag-resource", resource=fn_arn, tag_keys="team") is None
        tags = cli("list-tags", resource=fn_arn)
        assert tags == {"Tags": {"stage": "two", "owner": "qa"}}, tags

        # -- a configuration change, published as version 2 ----------------------------------
        updated = cli(
            "update-function-configuration",
            **fn,
            memory_size=256,
            environment="Variables={STAGE=two}",
        )
        assert updated["MemorySize"] == 256, updated
        assert updated["Environment"] == {"Variables": {"STAGE": "two"}}, updated
        assert cli("wait", "function-updated-v2", **fn) is None
        version = cli("publish-version", **fn, description="second")
        assert (version["FunctionArn"], version["Version"]) == (fn_arn + ":2", "2"), version
        assert (version["MemorySize"], version["Description"]) == (256, "second"), version
        assert version["Environment"] == {"Variables": {"STAGE": "two"}}, version

        # -- an alias: version 1, then version 2 with a quarter of the traffic left on 1 -------
        alias = cli("create-alias", **fn, name="live", function_version=1)
        assert (alias["AliasArn"], alias["FunctionVersion"]) == (alias_arn, "1"), alias
        alias = cli(
            "update-alias",
            **fn,
            name="live",
            function_version=2,
            routing_config="AdditionalVersionWeights={1=0.25}",
        )
        assert alias["FunctionVersion"] == "2", alias
        alias = cli("get-alias", **fn, name="live")
        assert (alias["AliasArn"], alias["FunctionVersion"]) == (alias_arn, "2"), alias
        assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"1": 0.25}}, alias

        # -- a public function URL on the alias, called exactly as handed out ------------------
        url_config = cli("create-function-url-config", **fn, qualifier="live", auth_type="NONE")
        assert (url_config["FunctionArn"], url_config["AuthType"]) == (alias_arn, "NONE")
        function_url = url_config["FunctionUrl"]
        url_form = rf"http://{re.escape(HOST)}:{lambkin.port}/lambda-url/[0-9a-z]+/"
        assert re.fullmatch(url_form, function_url), url_config
        status, body = http_get(function_url)
        assert status == 200, (function_url, status, body)
        assert json.loads(body) == {"message": "Hello, world!"}, (function_url, body)

        # -- a resource policy on the alias: added, read, refused twice, removed -------------
        rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"
        permission = {
            **fn,
            "qualifier": "live",
            "statement_id": "nightly-rule",
            "action": "lambda:InvokeFunction",
            "principal": "events.amazonaws.com",
            "source_arn": rule,
        }
        statement = {
            "Sid": "nightly-rule",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": alias_arn,
            "Condition": {"ArnLike": {"AWS:SourceArn": rule}},
        }
        added = cli("add-permission", **permission)
        assert json.loads(added["Statement"]) == statement, added
        policy = json.loads(cli("get-policy", **fn, qualifier="live")["Policy"])
        assert (policy["Version"], policy["Statement"]) == ("2012-10-17", [statement]), policy
        stderr = cli.fails("add-permission", **permission, code="ResourceConflictException")
        assert "nightly-rule" in stderr, stderr
        removed = cli("remove-permission", **fn, qualifier="live", statement_id="nightly-rule")
        assert removed is None, removed
        cli.fails("get-policy", **fn, qualifier="live", code="ResourceNotFoundException")

        # -- asynchronous invocation settings --------------------------------------------------
        eic = cli(
            "put-function-event-invoke-config",
            **fn,
            maximum_retry_attempts=1,
            maximum_event_age_in_seconds=120,
        )
        assert eic["FunctionArn"] == fn_arn + ":$LATEST", eic
        assert (eic["MaximumRetryAttempts"], eic["MaximumEventAgeInSeconds"]) == (1, 120), eic
        eic = cli("get-function-event-invoke-config", **fn)
        assert eic["FunctionArn"] == fn_arn + ":$LATEST", eic
        assert (eic["MaximumRetryAttempts"], eic["MaximumEventAgeInSeconds"]) == (1, 120), eic

        # -- provisioned concurrency on version 2 (not on the weighted alias: AWS refuses it) --
        pcc = cli(
            "put-provisioned-concurrency-config",
            **fn,
            qualifier=2,
            provisioned_concurrent_executions=1,
        )
        assert pcc["RequestedProvisionedConcurrentExecutions"] == 1, pcc
        assert pcc["Status"] in ("IN_PROGRESS", "READY"), pcc
        pcc = poll(
            lambda: cli("get-provisioned-concurrency-config", **fn, qualifier=2),
            lambda p: p["Status"] != "IN_PROGRESS",
            "provisioned concurrency on version 2",
        )
        assert pcc["Status"] == "READY", pcc
        requested = pcc["RequestedProvisionedConcurrentExecutions"]
        assert (requested, pcc["AllocatedProvisionedConcurrentExecutions"]) == (1, 1), pcc

        # -- invoke version 2, the response written to a file (v2 reads --payload as base64
        # unless told otherwise) ------------------------------------------------------------
        raw_payload = {"cli_binary_format": "raw-in-base64-out"} if cli.major == 2 else {}
        invoked = cli(
            "invoke", "response.json", **fn, qualifier=2, payload='{"name":"cli"}', **raw_payload
        )
        assert invoked == {"StatusCode": 200, "ExecutedVersion": "2"}, invoked
        response = (tmp_path / "response.json").read_bytes()
        assert json.loads(response) == {"message": "Hello, cli!"}, response

        # -- what tools read before they change anything -------------------------------------
        csc = cli("get-function-code-signing-config", **fn)
        assert csc == {"CodeSigningConfigArn": "", "FunctionName": name}, csc
        recursion = cli.optional("get-function-recursion-config", **fn)
        if recursion is None:
            # CLI 2.9 predates the operation (2024); v1 from pip has it.
            assert cli.major == 2, "CLI v1 does not know get-function-recursion-config"
        else:
            assert recursion == {"RecursiveLoop": "Terminate"}, recursion
        mappings = cli("list-event-source-mappings", **fn)
        assert mappings == {"EventSourceMappings": []}, mappings
        missing = name + "-missing"
        stderr = cli.fails("get-function", function_name=missing, code="ResourceNotFoundException")
        assert missing in stderr, stderr

        # -- delete everything -----------------------------------------------------------------
        assert cli("delete-function-url-config", **fn, qualifier="live") is None
        status, _ = http_get(function_url)
        assert status == 403, f"{function_url} still answers {status} after its config is deleted"
        assert cli("delete-provisioned-concurrency-config", **fn, qualifier=2) is None
        assert cli("delete-alias", **fn, name="live") is None
        deleted = cli("delete-function", **fn)
        # Newer service models (v1's botocore) give DeleteFunction an output: the HTTP status.
        assert deleted in (None, {"StatusCode": 204}), deleted
        assert cli("delete-layer-version", layer_name=layer, version_number=1) is None
        cli.fails("get-function", **fn, code="ResourceNotFoundException")
        cli.fails(
            "get-layer-version",
            layer_name=layer,
            version_number=1,
            code="ResourceNotFoundException",
        )
    finally:
        try:  # make_name removes the function; the layer version is ours (best effort)
            client.delete_layer_version(LayerName=layer, VersionNumber=1)
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass


# ---------------------------------------------------------------------------------------------
# the README's session, as typed
# ---------------------------------------------------------------------------------------------


def readme_cli_session() -> str:
    """The README's shell block that creates a component function with the AWS CLI (the Python
    one beside it is a two-line sketch, its handler run by test_runtime_examples.py)."""
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    found = [b for b in blocks if "aws lambda create-function" in b and "provided.al2023" in b]
    assert len(found) == 1, f"expected one README block creating a provided.al2023 function: {found}"
    return found[0]


@pytest.mark.skipif(shutil.which("zip") is None, reason="the README's session zips with `zip`")
def test_the_readme_session_as_typed(tmp_path, client, make_name, proxy):
    """The README's commands run by bash, unchanged but for the endpoint, the zip's path, the
    function's name and `aws` (the v1 CLI, first on PATH); then the function answers."""
    name = make_name("readme")
    zip_path = tmp_path / "hello.zip"
    script = readme_cli_session()
    substitutions = {
        "http://127.0.0.1:9001": proxy.endpoint,
        "/tmp/hello.zip": str(zip_path),
        "examples/target/wasm32-wasip2/release": str(EXAMPLES),
        "--function-name hello": f"--function-name {name}",
    }
    for old, new in substitutions.items():
        assert old in script, f"the README's CLI session no longer has {old!r}:\n{script}"
        script = script.replace(old, new)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "aws"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m awscli "$@"\n')
    shim.chmod(0o755)
    v1 = Cli([str(shim)], tmp_path, proxy)
    assert v1.version().startswith("aws-cli/1."), v1.version()
    # The commands name no region: as a configured CLI would, this one has AWS_DEFAULT_REGION
    # (without any, both CLIs stop with "You must specify a region").
    env = {**v1.env, "PATH": f"{bin_dir}{os.pathsep}{v1.env.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    if done.returncode != 0:
        what = f"exit code {done.returncode}"
        raise CliError(v1.report(what, done, command=f"the README's session\n{script}"))
    created = json.loads(done.stdout)  # create-function's output (the CLI's default is JSON)
    assert created["FunctionArn"] == FUNCTION_ARN_PREFIX + name, created
    assert created["CodeSha256"] == sha256_b64(zip_path.read_bytes()), created

    config = client.get_function_configuration(FunctionName=name)
    assert config["State"] == "Active", config
    assert (config["Runtime"], config["Handler"]) == ("provided.al2023", "hello.wasm"), config
    assert config["Role"] == f"arn:aws:iam::{ACCOUNT}:role/any", config
    invoked = v1("invoke", "out.json", function_name=name, payload='{"name":"Ada"}')
    assert invoked == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}, invoked
    assert json.loads((tmp_path / "out.json").read_bytes()) == {"message": "Hello, Ada!"}
