"""Terraform's AWS provider (hashicorp/aws) against lambkin: one configuration with the Lambda
resources a real deployment uses, applied, changed, re-applied and destroyed.

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
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, HOST, REGION, unique_name
from helpers import ROLE, RUNTIME, RecordingProxy, example_wasm, zip_of

TERRAFORM = shutil.which("terraform")
PLUGIN_DIR = Path(os.environ.get("LAMBKIN_TF_PLUGIN_DIR", "/opt/tf-plugins"))
# A provider start alone takes several seconds, more on a busy machine: be generous per command.
COMMAND_TIMEOUT_S = 600
OUTPUT_TAIL = 6000  # characters of terraform's output kept in a failure message

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

data "aws_lambda_function" "hello" {
  function_name = aws_lambda_function.hello.function_name
}

output "invocation" { value = aws_lambda_invocation.hello.result }
output "version" { value = aws_lambda_function.hello.version }
output "data_arn" { value = data.aws_lambda_function.hello.arn }
output "data_memory_size" { value = data.aws_lambda_function.hello.memory_size }
output "function_url" { value = aws_lambda_function_url.live.function_url }
output "layer_arn" { value = aws_lambda_layer_version.greeting.arn }
""" % {"region": REGION, "account": ACCOUNT}


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

    try:
        tf.run("init", f"-plugin-dir={PLUGIN_DIR}")

        # -- first apply: everything created ----------------------------------------------
        tf.set_vars(
            **common,
            memory_size=128,
            stage="one",
            tags={"team": "interop", "stage": "one"},
            weights={},
        )
        tf.run("apply", "-auto-approve")
        out = tf.outputs()
        assert json.loads(out["invocation"]) == {"message": "Hello, terraform!"}, out
        assert out["version"] == "1", out
        assert out["data_arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}", out
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

        # Every attribute read back must match what was applied.
        tf.plan_is_clean()

        # -- second apply: an in-place update (memory, env, tags added/changed/removed) that
        # publishes version 2, and the alias moves to it with weight left on version 1 ---------
        tf.set_vars(
            **common,
            memory_size=256,
            stage="two",
            tags={"stage": "two", "owner": "qa"},
            weights={"1": 0.25},
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

        tf.plan_is_clean()

        # -- destroy: nothing left -----------------------------------------------------------
        tf.run("destroy", "-auto-approve")
        assert not alive(client.get_function, FunctionName=function_name), "function survived"
        assert not alive(
            client.get_layer_version, LayerName=layer_name, VersionNumber=1
        ), "layer version survived"
    finally:
        # make_name removes the function; layer versions are ours to remove (best effort).
        for version in range(1, 3):
            try:
                client.delete_layer_version(LayerName=layer_name, VersionNumber=version)
            except Exception:  # noqa: BLE001 - cleanup is best effort
                pass
