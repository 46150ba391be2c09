"""Helpers and constants shared by several test modules of the boto3 interop suite.

Test modules import them with `from helpers import ...` (this directory is on sys.path, as for
`conftest`). conftest registers this module for pytest's assertion rewriting.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import time
import zipfile
from contextlib import contextmanager

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"
RUNTIME = "provided.al2023"
HANDLER = "hello.wasm"
FUNCTION_ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")

WAIT_S = 30.0  # bound of every polling loop


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def strip(resp: dict) -> dict:
    """A response without botocore's ResponseMetadata."""
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def status_of(resp: dict) -> int:
    return resp["ResponseMetadata"]["HTTPStatusCode"]


@contextmanager
def client_error(code: str, status: int | None = None):
    """Expect a botocore ClientError with this error code (and HTTP status)."""
    with pytest.raises(ClientError) as excinfo:
        yield excinfo
    response = excinfo.value.response
    assert response["Error"]["Code"] == code, response
    if status is not None:
        assert response["ResponseMetadata"]["HTTPStatusCode"] == status, response


def poll_configuration(client, name: str, done, qualifier: str | None = None) -> dict:
    """GetFunctionConfiguration until done(config) holds (at most WAIT_S seconds)."""
    kwargs = {"FunctionName": name}
    if qualifier is not None:
        kwargs["Qualifier"] = qualifier
    deadline = time.monotonic() + WAIT_S
    while True:
        cfg = strip(client.get_function_configuration(**kwargs))
        if done(cfg):
            return cfg
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not settle within {WAIT_S:.0f} s: {cfg}")
        time.sleep(0.05)


def wait_active(client, name: str) -> dict:
    cfg = poll_configuration(client, name, lambda c: c.get("State") != "Pending")
    assert cfg["State"] == "Active", cfg
    return cfg


def wait_updated(client, name: str) -> dict:
    cfg = poll_configuration(
        client,
        name,
        lambda c: c.get("State") != "Pending" and c.get("LastUpdateStatus") != "InProgress",
    )
    assert cfg.get("LastUpdateStatus") == "Successful", cfg
    return cfg


def create_function(client, name: str, code: bytes, *, wait: bool = True, **extra) -> dict:
    """CreateFunction with the suite's defaults (role, runtime, handler hello.wasm; keyword
    arguments override or add parameters), then (unless wait=False) wait until the function is
    Active. Returns the CreateFunction response."""
    params = {
        "FunctionName": name,
        "Runtime": RUNTIME,
        "Role": ROLE,
        "Handler": HANDLER,
        "Code": {"ZipFile": code},
    }
    params.update(extra)
    resp = client.create_function(**params)
    if wait:
        wait_active(client, name)
    return resp


def update_configuration(client, name: str, **kwargs) -> dict:
    resp = client.update_function_configuration(FunctionName=name, **kwargs)
    wait_updated(client, name)
    return resp
