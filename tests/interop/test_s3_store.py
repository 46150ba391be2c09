"""The registry on S3 (`--store s3://bucket/prefix`), against moto's S3-compatible server on
127.0.0.1: documents land in the bucket, `Code.S3Bucket`/`S3Key` are read from S3, and a second
node started on the same store (with an empty data directory) sees everything the first wrote,
after the first was killed with SIGKILL."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import boto3
import pytest

from conftest import HOST, LAMBKIN_BIN, REGION, Lambkin, free_port, unique_name
from helpers import ROLE, strip

REGISTRY_BUCKET = "lambkin-registry"
CODE_BUCKET = "deploys"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """A moto S3 server on a free loopback port, for this module only."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    endpoint = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 30
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while True:
        try:
            opener.open(f"{endpoint}/moto-api/", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("moto server did not start", pytrace=False)
            time.sleep(0.1)
    try:
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def s3(s3_endpoint):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=REGISTRY_BUCKET)
    client.create_bucket(Bucket=CODE_BUCKET)
    return client


def s3_node(tmp_path_factory, endpoint: str, label: str) -> Lambkin:
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    node = Lambkin(
        LAMBKIN_BIN,
        tmp_path_factory.mktemp(label),
        extra_args=["--store", f"s3://{REGISTRY_BUCKET}/prod"],
        extra_env=env,
    )
    node.start()
    return node


def wait_active(client, name: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        config = client.get_function_configuration(FunctionName=name)
        if config["State"] != "Pending" and config["LastUpdateStatus"] != "InProgress":
            return config
        assert time.monotonic() < deadline, f"{name} stayed {config['State']}"
        time.sleep(0.05)


def test_registry_on_s3_survives_and_is_shared(tmp_path_factory, s3, s3_endpoint, hello_wasm):
    s3.put_object(Bucket=CODE_BUCKET, Key="fns/hello.wasm", Body=hello_wasm)
    first = s3_node(tmp_path_factory, s3_endpoint, "node-a")
    try:
        name = unique_name("s3fn")
        created = first.client.create_function(
            FunctionName=name,
            Role=ROLE,
            Runtime="provided.al2023",
            Handler="hello.wasm",
            Code={"S3Bucket": CODE_BUCKET, "S3Key": "fns/hello.wasm"},
        )
        assert created["CodeSize"] == len(hello_wasm)
        assert wait_active(first.client, name)["State"] == "Active"
        first.client.publish_version(FunctionName=name)
        first.client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
        before = strip(first.client.get_function_configuration(FunctionName=name, Qualifier="live"))
        versions_before = strip(first.client.list_versions_by_function(FunctionName=name))

        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=REGISTRY_BUCKET, Prefix="prod/").get("Contents", [])]
        assert f"prod/functions/{name}.json" in keys
        assert f"prod/counters/{name}.json" in keys
        assert any(k.startswith("prod/code/") and k.endswith(".wasm") for k in keys)

        missing = first.client.exceptions.InvalidParameterValueException
        with pytest.raises(missing):
            first.client.create_function(
                FunctionName=unique_name("nokey"),
                Role=ROLE,
                Runtime="provided.al2023",
                Handler="hello.wasm",
                Code={"S3Bucket": CODE_BUCKET, "S3Key": "fns/absent.wasm"},
            )
    finally:
        first.proc.kill()  # SIGKILL: nothing flushed on exit
        first.proc.wait(timeout=10)
        first.proc = None

    second = s3_node(tmp_path_factory, s3_endpoint, "node-b")
    try:
        assert not any((second.data_dir / "functions").glob("*")), "node B has no local registry"
        after = strip(second.client.get_function_configuration(FunctionName=name, Qualifier="live"))
        assert after == before
        assert strip(second.client.list_versions_by_function(FunctionName=name)) == versions_before
        published = second.client.publish_version(FunctionName=name, Description="from node b")
        assert published["Version"] == "1", "nothing changed: publishing again is a no-op"
    finally:
        second.stop()
