"""Terraform's AWS provider (hashicorp/aws) against lambkin: one configuration with the Lambda
resources a real deployment uses, applied, changed, re-applied and destroyed.

The configuration holds a layer version and its permission (shared with an account, then with an
organization: the provider replaces it), a code signing config (Warn, then Enforce; description and
tags) that the function uses, the function (tags, env, layers, published versions), a weighted
alias, a function URL, a permission, async and provisioned concurrency configs, the recursion
(Terminate, then Allow) and runtime management (FunctionUpdate, then Manual pinned to the host's
runtime version) configs, an invocation, and the data sources aws_lambda_function, _alias,
_function_url, _functions, _layer_version, _code_signing_config and _invocation. One terraform run
sequence (the provider is slow to start): apply, a clean `plan -detailed-exitcode`, an update,
another clean plan, destroy. After each step boto3 checks what the server holds, the data sources'
outputs are compared with it, and after destroy that nothing is left (for the layer permission and
the function's recursion and runtime configs, which go with what holds them, that destroy made the
calls removing them).

Terraform calls operations boto3 tests rarely touch (code signing, tags, policies) and reads every
attribute back after each change, so a missing operation or an answer that differs from AWS shows
up as a failed apply or as a plan that is never clean (drift).

Needs `terraform` on PATH and the provider in a local plugin mirror (no registry access):
  LAMBKIN_TF_PLUGIN_DIR  the mirror directory (default /opt/tf-plugins), holding
                         registry.terraform.io/hashicorp/aws/<version>/<os_arch>/...
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, HOST, REGION, unique_name
from helpers import (
    FUNCTION_ARN_PREFIX,
    ROLE,
    RUNTIME,
    RecordingProxy,
    client_error,
    example_wasm,
    zip_of,
)

TERRAFORM = shutil.which("terraform")
PLUGIN_DIR = Path(os.environ.get("LAMBKIN_TF_PLUGIN_DIR", "/opt/tf-plugins"))
# A provider start alone takes several seconds, more on a busy machine: be generous per command.
COMMAND_TIMEOUT_S = 600
OUTPUT_TAIL = 6000  # characters of terraform's output kept in a failure message

# The one publisher the code signing config allows (lambkin stores it and checks no signatures),
# the account the layer version is first shared with, and the organization it is shared with after.
SIGNING_PROFILE = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/lambkin/abcdef0123"
SHARED_ACCOUNT = "210987654321"
ORGANIZATION = "o-abcdefghij"

pytestmark = [
    pytest.mark.skipif(TERRAFORM is None, reason="terraform is not on PATH"),
    pytest.mark.skipif(
        not PLUGIN_DIR.is_dir(),
        reason=f"no Terraform plugin mirror at {PLUGIN_DIR} (set LAMBKIN_TF_PLUGIN_DIR)",
    ),
]

# The configuration is fixed; what changes between applies comes in through variables
# (terraform.tfvars.json), so the second apply is a real in-place update of the same resources.
MAIN_TF = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" { type = string }
variable "function_name" { type = string }
variable "layer_name" { type = string }
variable "role" { type = string }
variable "runtime" { type = string }
variable "memory_size" { type = number }
variable "stage" { type = string }
variable "tags" { type = map(string) }
variable "weights" { type = map(number) }
variable "csc_policy" { type = string }
variable "layer_principal" { type = string }
variable "layer_organization_id" {
  type    = string
  default = null
}
variable "recursive_loop" { type = string }
variable "update_runtime_on" { type = string }
variable "runtime_version_arn" {
  type    = string
  default = null
}

provider "aws" {
  region     = "%(region)s"
  access_key = "test"
  secret_key = "test"
  # No STS, IAM or metadata service here: only the Lambda endpoint exists.
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    lambda = var.endpoint
  }
}

resource "aws_lambda_layer_version" "greeting" {
  layer_name          = var.layer_name
  filename            = "layer.zip"
  source_code_hash    = filebase64sha256("layer.zip")
  compatible_runtimes = [var.runtime]
}

# Principal and organization are ForceNew in the provider: the update replaces the permission.
resource "aws_lambda_layer_version_permission" "share" {
  layer_name      = aws_lambda_layer_version.greeting.layer_name
  version_number  = aws_lambda_layer_version.greeting.version
  statement_id    = "share-greeting"
  action          = "lambda:GetLayerVersion"
  principal       = var.layer_principal
  organization_id = var.layer_organization_id
}

resource "aws_lambda_code_signing_config" "signed" {
  description = "lambkin interop (${var.stage})"
  allowed_publishers {
    signing_profile_version_arns = [
      "%(signing_profile)s",
    ]
  }
  policies {
    untrusted_artifact_on_deployment = var.csc_policy
  }
  tags = var.tags
}

resource "aws_lambda_function" "hello" {
  function_name    = var.function_name
  filename         = "hello.zip"
  source_code_hash = filebase64sha256("hello.zip")
  handler          = "hello.wasm"
  runtime          = var.runtime
  role             = var.role
  memory_size      = var.memory_size
  publish          = true # every configuration change publishes a version
  layers           = [aws_lambda_layer_version.greeting.arn]
  # lambkin checks that the configuration exists (no signatures: it compiles the wasm it is given).
  code_signing_config_arn = aws_lambda_code_signing_config.signed.arn
  environment {
    variables = { STAGE = var.stage }
  }
  tags = var.tags
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.hello.function_name
  function_version = aws_lambda_function.hello.version
  # Weighted routing needs a second version: only the second apply has one.
  dynamic "routing_config" {
    for_each = length(var.weights) > 0 ? [1] : []
    content {
      additional_version_weights = var.weights
    }
  }
}

resource "aws_lambda_function_url" "live" {
  function_name      = aws_lambda_function.hello.function_name
  qualifier          = aws_lambda_alias.live.name
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "events" {
  statement_id  = "nightly-rule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.hello.function_name
  qualifier     = aws_lambda_alias.live.name
  principal     = "events.amazonaws.com"
  source_arn    = "arn:aws:events:%(region)s:%(account)s:rule/nightly"
}

resource "aws_lambda_function_event_invoke_config" "hello" {
  function_name                = aws_lambda_function.hello.function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 120
}

# On the published version rather than the alias: AWS refuses provisioned concurrency on an alias
# with weighted routing.
resource "aws_lambda_provisioned_concurrency_config" "current" {
  function_name                     = aws_lambda_function.hello.function_name
  qualifier                         = aws_lambda_function.hello.version
  provisioned_concurrent_executions = 1
}

resource "aws_lambda_invocation" "hello" {
  function_name = aws_lambda_function.hello.function_name
  input         = jsonencode({ name = "terraform" })
}

resource "aws_lambda_function_recursion_config" "hello" {
  function_name  = aws_lambda_function.hello.function_name
  recursive_loop = var.recursive_loop
}

resource "aws_lambda_runtime_management_config" "hello" {
  function_name       = aws_lambda_function.hello.function_name
  update_runtime_on   = var.update_runtime_on
  runtime_version_arn = var.runtime_version_arn
}

data "aws_lambda_function" "hello" {
  function_name = aws_lambda_function.hello.function_name
}

data "aws_lambda_alias" "live" {
  function_name = aws_lambda_function.hello.function_name
  name          = aws_lambda_alias.live.name
}

data "aws_lambda_function_url" "live" {
  function_name = aws_lambda_function.hello.function_name
  qualifier     = aws_lambda_function_url.live.qualifier
}

# Nothing in its arguments names the function: without depends_on the first plan would list the
# functions before this one exists.
data "aws_lambda_functions" "all" {
  depends_on = [aws_lambda_function.hello]
}

# No version given: the provider lists the versions (filtered by runtime) and gets the newest.
data "aws_lambda_layer_version" "greeting" {
  layer_name         = aws_lambda_layer_version.greeting.layer_name
  compatible_runtime = var.runtime
}

data "aws_lambda_code_signing_config" "signed" {
  arn = aws_lambda_code_signing_config.signed.arn
}

data "aws_lambda_invocation" "live" {
  function_name = aws_lambda_function.hello.function_name
  qualifier     = aws_lambda_alias.live.name
  input         = jsonencode({ name = "data source" })
}

output "invocation" { value = aws_lambda_invocation.hello.result }
output "version" { value = aws_lambda_function.hello.version }
output "data_arn" { value = data.aws_lambda_function.hello.arn }
output "data_memory_size" { value = data.aws_lambda_function.hello.memory_size }
output "function_url" { value = aws_lambda_function_url.live.function_url }
output "layer_arn" { value = aws_lambda_layer_version.greeting.arn }
output "layer_permission_policy" { value = aws_lambda_layer_version_permission.share.policy }
output "csc_arn" { value = aws_lambda_code_signing_config.signed.arn }
output "csc_config_id" { value = aws_lambda_code_signing_config.signed.config_id }
output "data_csc_arn_of_function" { value = data.aws_lambda_function.hello.code_signing_config_arn }
output "runtime_management_function_arn" {
  value = aws_lambda_runtime_management_config.hello.function_arn
}
output "data_alias" {
  value = {
    arn              = data.aws_lambda_alias.live.arn
    function_version = data.aws_lambda_alias.live.function_version
    invoke_arn       = data.aws_lambda_alias.live.invoke_arn
  }
}
output "data_function_url" {
  value = {
    function_url       = data.aws_lambda_function_url.live.function_url
    authorization_type = data.aws_lambda_function_url.live.authorization_type
    url_id             = data.aws_lambda_function_url.live.url_id
    function_arn       = data.aws_lambda_function_url.live.function_arn
  }
}
output "data_function_names" { value = data.aws_lambda_functions.all.function_names }
output "data_function_arns" { value = data.aws_lambda_functions.all.function_arns }
output "data_layer_version" {
  value = {
    arn                 = data.aws_lambda_layer_version.greeting.arn
    layer_arn           = data.aws_lambda_layer_version.greeting.layer_arn
    version             = data.aws_lambda_layer_version.greeting.version
    code_sha256         = data.aws_lambda_layer_version.greeting.code_sha256
    compatible_runtimes = data.aws_lambda_layer_version.greeting.compatible_runtimes
    source_code_size    = data.aws_lambda_layer_version.greeting.source_code_size
  }
}
output "data_csc" {
  value = {
    config_id          = data.aws_lambda_code_signing_config.signed.config_id
    description        = data.aws_lambda_code_signing_config.signed.description
    last_modified      = data.aws_lambda_code_signing_config.signed.last_modified
    allowed_publishers = data.aws_lambda_code_signing_config.signed.allowed_publishers
    policies           = data.aws_lambda_code_signing_config.signed.policies
  }
}
output "data_invocation" { value = data.aws_lambda_invocation.live.result }
""" % {"region": REGION, "account": ACCOUNT, "signing_profile": SIGNING_PROFILE}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


class Terraform:
    """terraform in one working directory, non-interactive, with a failure message that carries
    the command's output tail and the calls lambkin refused."""

    def __init__(self, workdir: Path, proxy: RecordingProxy):
        self.workdir = workdir
        self.proxy = proxy
        cli_config = workdir / "empty.tfrc"  # no ~/.terraformrc, no credentials helpers
        cli_config.write_text("")
        self.env = {
            **os.environ,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "CHECKPOINT_DISABLE": "1",  # no version check over the (absent) network
        }
        for var in ("TF_LOG", "TF_LOG_PATH", "TF_CLI_ARGS", "TF_DATA_DIR", "TF_WORKSPACE"):
            self.env.pop(var, None)

    def set_vars(self, **variables) -> None:
        (self.workdir / "terraform.tfvars.json").write_text(json.dumps(variables, indent=2))

    def run(self, *args: str, failure: str | None = None) -> subprocess.CompletedProcess:
        """Run `terraform <args>`; any exit code but 0 fails the test (`failure` says what a
        non-zero exit means, when more than "it failed")."""
        cmd = [TERRAFORM, *args, "-no-color"]
        if args[0] != "output":  # `output` takes no -input
            cmd.append("-input=false")
        try:
            done = subprocess.run(
                cmd,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as e:
            raise AssertionError(self.report(f"timed out after {COMMAND_TIMEOUT_S} s", cmd, e))
        if done.returncode != 0:
            what = f"exit code {done.returncode}" + (f" ({failure})" if failure else "")
            raise AssertionError(self.report(what, cmd, done))
        return done

    def report(self, what: str, cmd, done) -> str:
        def tail(text) -> str:
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            return (text or "")[-OUTPUT_TAIL:]

        return (
            f"`{' '.join(cmd[1:])}`: {what}\n"
            f"--- stderr (tail)\n{tail(done.stderr)}\n"
            f"--- calls lambkin answered with an error (all commands so far)\n"
            f"{self.proxy.failed_calls()}\n"
            f"--- stdout (tail)\n{tail(done.stdout)}"
        )

    def outputs(self) -> dict:
        done = self.run("output", "-json")
        return {name: value["value"] for name, value in json.loads(done.stdout).items()}

    def plan_is_clean(self) -> None:
        """`plan -detailed-exitcode`: 0 means no changes; 2 (changes) is drift in what lambkin
        reports back."""
        self.run(
            "plan",
            "-detailed-exitcode",
            failure="2: the plan has changes, i.e. lambkin reads back something other than what"
            " was applied; the diff is in stdout",
        )


def alive(get, **kwargs) -> bool:
    """Whether a boto3 Get* call finds its resource (ResourceNotFoundException: it does not)."""
    try:
        return bool(get(**kwargs))
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise


def http_get_function_url(url: str) -> tuple[int, bytes]:
    """GET a function URL as Terraform's output names it (lambkin's name its listener)."""
    parts = urlsplit(url)
    assert parts.hostname == HOST, url
    conn = http.client.HTTPConnection(HOST, parts.port, timeout=30)
    try:
        conn.request("GET", parts.path or "/")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(lambkin):
    p = RecordingProxy(lambkin.port)
    yield p
    p.close()


def test_apply_update_and_destroy_every_lambda_resource(tmp_path, client, make_name, proxy):
    function_name = make_name("tf")  # make_name deletes it afterwards, whatever happened
    layer_name = unique_name("tf-layer")
    (tmp_path / "main.tf").write_text(MAIN_TF)
    (tmp_path / "hello.zip").write_bytes(zip_of({"hello.wasm": example_wasm("hello")}))
    (tmp_path / "layer.zip").write_bytes(zip_of({"config/greeting.txt": b"hello from a layer"}))
    tf = Terraform(tmp_path, proxy)
    common = {
        "endpoint": proxy.endpoint,
        "function_name": function_name,
        "layer_name": layer_name,
        "role": ROLE,
        "runtime": RUNTIME,
    }
    function_arn = f"{FUNCTION_ARN_PREFIX}{function_name}"
    alias_arn = f"{function_arn}:live"
    # Any code signing config that appears is this test's: the cleanup deletes what destroy did not.
    cscs_before = code_signing_config_arns(client)

    try:
        tf.run("init", f"-plugin-dir={PLUGIN_DIR}")

        # -- first apply: everything created ----------------------------------------------
        tf.set_vars(
            **common,
            memory_size=128,
            stage="one",
            tags={"team": "interop", "stage": "one"},
            weights={},
            csc_policy="Warn",
            layer_principal=SHARED_ACCOUNT,
            layer_organization_id=None,
            recursive_loop="Terminate",
            update_runtime_on="FunctionUpdate",
            runtime_version_arn=None,
        )
        tf.run("apply", "-auto-approve")
        out = tf.outputs()
        csc_arn = out["csc_arn"]
        assert json.loads(out["invocation"]) == {"message": "Hello, terraform!"}, out
        assert out["version"] == "1", out
        assert out["data_arn"] == function_arn, out
        assert out["data_memory_size"] == 128, out

        cfg = client.get_function(FunctionName=function_name)
        assert cfg["Configuration"]["Layers"][0]["Arn"] == out["layer_arn"], cfg
        assert cfg["Configuration"]["Environment"]["Variables"] == {"STAGE": "one"}, cfg
        assert cfg.get("Tags") == {"team": "interop", "stage": "one"}, cfg
        alias = client.get_alias(FunctionName=function_name, Name="live")
        assert alias["FunctionVersion"] == "1", alias
        policy = client.get_policy(FunctionName=function_name, Qualifier="live")
        policy = json.loads(policy["Policy"])
        assert "nightly-rule" in {s["Sid"] for s in policy["Statement"]}, policy
        eic = client.get_function_event_invoke_config(FunctionName=function_name)
        assert (eic["MaximumRetryAttempts"], eic["MaximumEventAgeInSeconds"]) == (1, 120), eic
        pcc = client.get_provisioned_concurrency_config(FunctionName=function_name, Qualifier="1")
        assert pcc["RequestedProvisionedConcurrentExecutions"] == 1, pcc
        status, body = http_get_function_url(out["function_url"])
        assert status == 200 and b"Hello" in body, (out["function_url"], status, body)

        # The code signing config, and the function that uses it.
        check_code_signing_config(
            client,
            out,
            csc_arn,
            policy="Warn",
            description="lambkin interop (one)",
            tags={"team": "interop", "stage": "one"},
        )
        csc_of_function = client.get_function_code_signing_config(FunctionName=function_name)
        assert csc_of_function["CodeSigningConfigArn"] == csc_arn, csc_of_function
        assert out["data_csc_arn_of_function"] == csc_arn, out
        users = client.list_functions_by_code_signing_config(CodeSigningConfigArn=csc_arn)
        assert users["FunctionArns"] == [function_arn], users

        # The layer version's policy: one statement, for one account.
        statement = check_layer_policy(client, out, layer_name)
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{SHARED_ACCOUNT}:root"}, statement
        assert "Condition" not in statement, statement

        recursion = client.get_function_recursion_config(FunctionName=function_name)
        assert recursion["RecursiveLoop"] == "Terminate", recursion
        runtime = client.get_runtime_management_config(FunctionName=function_name)
        assert runtime["UpdateRuntimeOn"] == "FunctionUpdate", runtime
        assert "RuntimeVersionArn" not in runtime, runtime
        assert out["runtime_management_function_arn"] == runtime["FunctionArn"], (out, runtime)

        check_data_sources(client, out, function_name, layer_name, alias_arn, csc_arn)
        assert out["data_alias"]["function_version"] == "1", out

        # Every attribute read back must match what was applied.
        tf.plan_is_clean()

        # -- second apply: an in-place update (memory, env, tags added/changed/removed) that
        # publishes version 2, and the alias moves to it with weight left on version 1; the code
        # signing config, recursion and runtime management configs change in place; the layer
        # permission is replaced (its principal and organization are ForceNew) ------------------
        runtime_version_arn = client.get_function_configuration(FunctionName=function_name)[
            "RuntimeVersionConfig"
        ]["RuntimeVersionArn"]
        calls_before = len(proxy.calls)
        tf.set_vars(
            **common,
            memory_size=256,
            stage="two",
            tags={"stage": "two", "owner": "qa"},
            weights={"1": 0.25},
            csc_policy="Enforce",
            layer_principal="*",
            layer_organization_id=ORGANIZATION,
            recursive_loop="Allow",
            update_runtime_on="Manual",
            runtime_version_arn=runtime_version_arn,
        )
        tf.run("apply", "-auto-approve")
        out = tf.outputs()
        assert out["version"] == "2", out
        assert out["data_memory_size"] == 256, out

        cfg = client.get_function(FunctionName=function_name)
        assert cfg["Configuration"]["MemorySize"] == 256, cfg
        assert cfg["Configuration"]["Environment"]["Variables"] == {"STAGE": "two"}, cfg
        assert cfg.get("Tags") == {"stage": "two", "owner": "qa"}, cfg
        alias = client.get_alias(FunctionName=function_name, Name="live")
        assert alias["FunctionVersion"] == "2", alias
        assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"1": 0.25}}, alias
        pcc = client.get_provisioned_concurrency_config(FunctionName=function_name, Qualifier="2")
        assert pcc["RequestedProvisionedConcurrentExecutions"] == 1, pcc

        assert out["csc_arn"] == csc_arn, out  # updated in place, not replaced
        check_code_signing_config(
            client,
            out,
            csc_arn,
            policy="Enforce",
            description="lambkin interop (two)",
            tags={"stage": "two", "owner": "qa"},
        )
        csc_of_function = client.get_function_code_signing_config(FunctionName=function_name)
        assert csc_of_function["CodeSigningConfigArn"] == csc_arn, csc_of_function

        # Replaced: its statement removed, then added again with the new grant.
        policy_path = f"/2018-10-31/layers/{layer_name}/versions/1/policy"
        update_calls = calls_since(proxy, calls_before)
        removed = update_calls.index(("DELETE", f"{policy_path}/share-greeting", 204))
        assert ("POST", policy_path, 201) in update_calls[removed:], update_calls
        statement = check_layer_policy(client, out, layer_name)
        assert statement["Principal"] == "*", statement
        in_organization = {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION}}
        assert statement["Condition"] == in_organization, statement

        recursion = client.get_function_recursion_config(FunctionName=function_name)
        assert recursion["RecursiveLoop"] == "Allow", recursion
        runtime = client.get_runtime_management_config(FunctionName=function_name)
        assert runtime["UpdateRuntimeOn"] == "Manual", runtime
        assert runtime["RuntimeVersionArn"] == runtime_version_arn, runtime

        check_data_sources(client, out, function_name, layer_name, alias_arn, csc_arn)
        assert out["data_alias"]["function_version"] == "2", out

        tf.plan_is_clean()

        # -- destroy: nothing left -----------------------------------------------------------
        calls_before = len(proxy.calls)
        tf.run("destroy", "-auto-approve")
        assert not alive(client.get_function, FunctionName=function_name), "function survived"
        assert not alive(
            client.get_layer_version, LayerName=layer_name, VersionNumber=1
        ), "layer version survived"
        assert not alive(
            client.get_code_signing_config, CodeSigningConfigArn=csc_arn
        ), "code signing config survived"
        with client_error("ResourceNotFoundException", 404):
            client.list_tags(Resource=csc_arn)
        # The permission, recursion and runtime configs go before what holds them, so the server
        # cannot show it afterwards: destroy must have made (successfully) the calls that remove
        # them (recursion back to Terminate, runtime back to Auto: the provider's deletes).
        destroy_calls = calls_since(proxy, calls_before)
        for method, path, status in [
            ("DELETE", f"{policy_path}/share-greeting", 204),
            ("PUT", f"/2024-08-31/functions/{function_name}/recursion-config", 200),
            ("PUT", f"/2021-07-20/functions/{function_name}/runtime-management-config", 200),
            ("DELETE", f"/2020-04-22/code-signing-configs/{csc_arn}", 204),
        ]:
            assert (method, path, status) in destroy_calls, (method, path, destroy_calls)
    finally:
        # make_name removes the function; layer versions and the code signing config are ours to
        # remove (best effort).
        for version in range(1, 3):
            try:
                client.delete_layer_version(LayerName=layer_name, VersionNumber=version)
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass
        leftover = code_signing_config_arns(client) - cscs_before
        if leftover:  # a config in use cannot be deleted: the function goes first
            try:
                client.delete_function(FunctionName=function_name)
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass
        for arn in leftover:
            try:
                client.delete_code_signing_config(CodeSigningConfigArn=arn)
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass


def calls_since(proxy, start: int) -> list[tuple[str, str, int]]:
    """(method, decoded path without query, status) of each call the proxy passed on since
    its `start`-th."""
    return [
        (method, unquote(urlsplit(path).path), status)
        for method, path, status, _ in proxy.calls[start:]
    ]


def code_signing_config_arns(client) -> set[str]:
    return {
        c["CodeSigningConfigArn"]
        for page in client.get_paginator("list_code_signing_configs").paginate()
        for c in page["CodeSigningConfigs"]
    }


def check_code_signing_config(client, out, arn, policy, description, tags) -> None:
    """The code signing config as lambkin has it, and as Terraform's data source read it."""
    config = client.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"]
    assert config["CodeSigningConfigArn"] == arn, config
    assert config["CodeSigningConfigId"] == out["csc_config_id"], (config, out)
    assert arn.endswith(f":code-signing-config:{config['CodeSigningConfigId']}"), config
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [SIGNING_PROFILE]}, config
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": policy}, config
    assert config["Description"] == description, config
    assert client.list_tags(Resource=arn)["Tags"] == tags
    assert out["data_csc"] == {
        "config_id": config["CodeSigningConfigId"],
        "description": description,
        "last_modified": config["LastModified"],
        "allowed_publishers": [{"signing_profile_version_arns": [SIGNING_PROFILE]}],
        "policies": [{"untrusted_artifact_on_deployment": policy}],
    }, out["data_csc"]


def check_layer_policy(client, out, layer_name) -> dict:
    """The layer version's policy holds the one statement Terraform added (returned), and the
    resource's `policy` attribute is what GetLayerVersionPolicy answers."""
    got = client.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)
    assert got["RevisionId"], got
    assert json.loads(out["layer_permission_policy"]) == json.loads(got["Policy"]), (out, got)
    statements = json.loads(got["Policy"])["Statement"]
    assert len(statements) == 1, statements
    statement = statements[0]
    assert statement["Sid"] == "share-greeting", statement
    assert statement["Effect"] == "Allow", statement
    assert statement["Action"] == "lambda:GetLayerVersion", statement
    assert statement["Resource"] == out["layer_arn"], statement
    return statement


def check_data_sources(client, out, function_name, layer_name, alias_arn, csc_arn) -> None:
    """What the data sources read (the code signing config's is check_code_signing_config's)
    against what boto3 gets."""
    alias = client.get_alias(FunctionName=function_name, Name="live")
    assert out["data_alias"]["arn"] == alias_arn == alias["AliasArn"], (out, alias)
    assert out["data_alias"]["function_version"] == alias["FunctionVersion"], (out, alias)
    assert out["data_alias"]["invoke_arn"].endswith(f"/functions/{alias_arn}/invocations"), out

    url = client.get_function_url_config(FunctionName=function_name, Qualifier="live")
    assert out["data_function_url"]["function_url"] == url["FunctionUrl"] == out["function_url"]
    assert out["data_function_url"]["authorization_type"] == "NONE", out
    assert out["data_function_url"]["function_arn"] == url["FunctionArn"] == alias_arn, (out, url)
    assert out["data_function_url"]["url_id"], out

    listed = [
        f
        for page in client.get_paginator("list_functions").paginate()
        for f in page["Functions"]
    ]
    assert function_name in out["data_function_names"], out
    assert sorted(out["data_function_names"]) == sorted(f["FunctionName"] for f in listed), out
    assert sorted(out["data_function_arns"]) == sorted(f["FunctionArn"] for f in listed), out

    layer = client.get_layer_version(LayerName=layer_name, VersionNumber=1)
    assert out["data_layer_version"] == {
        "arn": out["layer_arn"],
        "layer_arn": layer["LayerArn"],
        "version": 1,
        "code_sha256": layer["Content"]["CodeSha256"],
        "compatible_runtimes": [RUNTIME],
        "source_code_size": layer["Content"]["CodeSize"],
    }, (out["data_layer_version"], layer)
    assert out["layer_arn"] == layer["LayerVersionArn"], (out, layer)

    assert json.loads(out["data_invocation"]) == {"message": "Hello, data source!"}, out
