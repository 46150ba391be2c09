"""SigV4 against a lambkin started with credentials: boto3 and the AWS CLI sign as they always do
and are let in; a wrong secret, an unknown key, an unsigned, tampered, expired or stale request
gets 403 and AWS's error code. Function URLs: NONE is public, AWS_IAM needs a valid signature."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from unittest import mock

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import REGION, name_factory, own_server
from helpers import FUNCTION_ARN_PREFIX, create_function, example_wasm

ACCESS_KEY = "AKIDLAMBKINPRIMARY"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# A second profile of the same credentials file.
CI_ACCESS_KEY = "AKIDLAMBKINCI"
CI_SECRET = "0123456789abcdefghij0123456789ABCDEFGHIJ"
WRONG_SECRET = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
# LocalStack's habit: a secret of any length (here 4 bytes, not AWS's 40).
LOCALSTACK_KEY = "test"
LOCALSTACK_SECRET = "test"
# Longer than HMAC's 64-byte block, so the first key of SigV4's chain is hashed (RFC 2104).
LONG_KEY = "AKIDLAMBKINLONG"
LONG_SECRET = "a-generated-secret-of-more-than-sixty-four-bytes/" * 3

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A server that requires signatures: the keys of a shared credentials file."""
    path = tmp_path_factory.mktemp("keys") / "credentials"
    path.write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET}\n\n"
        f"[ci]\naws_access_key_id = {CI_ACCESS_KEY}\naws_secret_access_key = {CI_SECRET}\n\n"
        f"[localstack]\naws_access_key_id = {LOCALSTACK_KEY}\naws_secret_access_key = {LOCALSTACK_SECRET}\n\n"
        f"[long]\naws_access_key_id = {LONG_KEY}\naws_secret_access_key = {LONG_SECRET}\n"
    )
    with own_server(
        tmp_path_factory,
        "signed",
        extra_args=["--credentials-file", str(path)],
        keys=(ACCESS_KEY, SECRET),
    ) as server:
        yield server


@pytest.fixture
def make_name(signed):
    yield from name_factory(signed)


def client_for(server, access_key: str, secret: str):
    return boto3.client(
        "lambda",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}),
    )


def fetch(request: urllib.request.Request):
    """(status, headers, body) of a raw HTTP request, errors included."""
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def signed_request(method: str, url: str, body: bytes = b"", secret: str = SECRET, key: str = ACCESS_KEY):
    """A botocore-signed request (service lambda), as urllib would send it."""
    aws = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "lambda", REGION).add_auth(aws)
    prepared = aws.prepare()
    return urllib.request.Request(url, data=body or None, method=method, headers=dict(prepared.headers))


def deploy_hello(signed, make_name) -> str:
    name = make_name("auth")
    create_function(signed.client, name, example_wasm("hello"))
    return name


def test_boto3_with_the_right_keys_does_everything(signed, make_name):
    client = signed.client
    name = deploy_hello(signed, make_name)
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    # ARNs and qualifiers put ':' in the path; the SDK encodes it twice to sign it.
    for function in (name, f"{FUNCTION_ARN_PREFIX}{name}", f"{FUNCTION_ARN_PREFIX}{name}:live", f"{name}:{version}"):
        response = client.invoke(FunctionName=function, Payload=json.dumps({"name": "signed"}))
        assert response["StatusCode"] == 200, function
        assert "signed" in response["Payload"].read().decode(), function
    assert client.get_function_configuration(FunctionName=name, Qualifier="live")["Version"] == version
    assert client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    names = [f["FunctionName"] for f in client.list_functions(MaxItems=50)["Functions"]]
    assert name in names
    # The other profile of the file is a key too.
    other = client_for(signed, CI_ACCESS_KEY, CI_SECRET)
    assert other.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_a_wrong_secret_is_an_invalid_signature(signed, make_name):
    name = deploy_hello(signed, make_name)
    wrong = client_for(signed, ACCESS_KEY, WRONG_SECRET)
    for call in (
        lambda: wrong.list_functions(),
        lambda: wrong.invoke(FunctionName=name, Payload=b"{}"),
        lambda: wrong.delete_function(FunctionName=name),
    ):
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # Nothing the refused calls asked for happened.
    assert signed.client.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_an_unknown_access_key_is_unrecognized(signed):
    stranger = client_for(signed, "AKIDSOMEONEELSE", SECRET)
    with pytest.raises(ClientError) as raised:
        stranger.list_functions()
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "security token included in the request is invalid" in raised.value.response["Error"]["Message"]


def test_unsigned_requests_are_refused_but_health_answers(signed):
    status, headers, body = fetch(urllib.request.Request(f"{signed.endpoint}/2015-03-31/functions/"))
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert json.loads(body)["Message"] == "Missing Authentication Token"
    create = urllib.request.Request(
        f"{signed.endpoint}/2015-03-31/functions", data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    assert fetch(create)[0] == 403
    assert fetch(urllib.request.Request(f"{signed.endpoint}/health"))[0] == 200
    # A Prometheus scraper cannot sign: the metrics answer unsigned too.
    status, _, body = fetch(urllib.request.Request(f"{signed.endpoint}/metrics"))
    assert status == 200 and body.endswith(b"# EOF\n"), body[-200:]


def test_a_tampered_body_no_longer_matches_its_signature(signed, make_name):
    name = deploy_hello(signed, make_name)
    url = f"{signed.endpoint}/2015-03-31/functions/{name}/invocations"
    request = signed_request("POST", url, b'{"name": "original"}')
    status, _, body = fetch(request)
    assert status == 200 and b"original" in body
    request = signed_request("POST", url, b'{"name": "original"}')
    request.data = b'{"name": "tampered"}'
    request.headers["Content-length"] = str(len(request.data))
    status, headers, _ = fetch(request)
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "InvalidSignatureException"


@pytest.mark.parametrize("minutes", [-20, 20])
def test_requests_signed_outside_the_clock_skew_window_are_refused(signed, minutes):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when.replace(tzinfo=None)):
        request = signed_request("GET", f"{signed.endpoint}/2015-03-31/functions/")
    status, headers, body = fetch(request)
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert "Signature" in json.loads(body)["Message"]
    # Within the window (5 minutes off) the same request is fine.
    near = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5 if minutes > 0 else -5)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=near.replace(tzinfo=None)):
        request = signed_request("GET", f"{signed.endpoint}/2015-03-31/functions/")
    assert fetch(request)[0] == 200


def test_presigned_urls_work_until_they_expire(signed, make_name):
    name = deploy_hello(signed, make_name)
    url = signed.client.generate_presigned_url(
        "get_function_configuration", Params={"FunctionName": name}, ExpiresIn=2
    )
    assert "X-Amz-Signature=" in url and "Authorization" not in url
    status, _, body = fetch(urllib.request.Request(url))
    assert status == 200, body
    assert json.loads(body)["FunctionName"] == name
    forged = url.replace(name, name + "x")
    assert fetch(urllib.request.Request(forged))[0] == 403
    time.sleep(3.5)
    status, headers, body = fetch(urllib.request.Request(url))
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert "expired" in json.loads(body)["Message"]


def test_function_urls_none_is_public_and_aws_iam_needs_a_valid_signature(signed, make_name):
    public = deploy_hello(signed, make_name)
    private = deploy_hello(signed, make_name)
    public_url = signed.client.create_function_url_config(FunctionName=public, AuthType="NONE")["FunctionUrl"]
    private_url = signed.client.create_function_url_config(FunctionName=private, AuthType="AWS_IAM")[
        "FunctionUrl"
    ]

    def by_path(function_url: str) -> str:
        """The FunctionUrl handed out: the path form, <endpoint>/lambda-url/<url-id>/."""
        assert function_url.startswith(f"{signed.endpoint}/lambda-url/"), function_url
        return function_url

    status, _, body = fetch(urllib.request.Request(by_path(public_url) + "?name=anyone"))
    assert status == 200, body
    assert fetch(urllib.request.Request(by_path(private_url)))[0] == 403
    assert fetch(signed_request("GET", by_path(private_url), secret=WRONG_SECRET))[0] == 403
    assert fetch(signed_request("GET", by_path(private_url), key="AKIDSOMEONEELSE"))[0] == 403
    status, _, body = fetch(signed_request("POST", by_path(private_url), b'{"name": "iam"}'))
    assert status == 200, body


AWS_CLI = shutil.which("aws")  # installed by requirements.txt (awscli)


@pytest.mark.parametrize(
    "key, secret, wrong",
    [
        (ACCESS_KEY, SECRET, WRONG_SECRET),
        (LOCALSTACK_KEY, LOCALSTACK_SECRET, "tesT"),
        (LONG_KEY, LONG_SECRET, LONG_SECRET[:-1]),
    ],
    ids=["aws-shaped-keys", "localstack-test-test", "a-150-byte-secret"],
)
def test_the_aws_cli_signs_in_and_a_wrong_secret_is_refused(signed, make_name, tmp_path, key, secret, wrong):
    name = deploy_hello(signed, make_name)
    cli = AWS_CLI or f"{sys.executable} -m awscli"

    def aws(secret: str, *args: str) -> subprocess.CompletedProcess:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("AWS_")
        } | {
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_MAX_ATTEMPTS": "1",
        }
        return subprocess.run(
            [*cli.split(), "lambda", *args, "--endpoint-url", signed.endpoint, "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    listed = aws(secret, "list-functions")
    assert listed.returncode == 0, listed.stderr
    assert name in [f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]]
    out = tmp_path / "out.json"
    invoked = aws(secret, "invoke", "--function-name", f"{FUNCTION_ARN_PREFIX}{name}", str(out))
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["StatusCode"] == 200
    refused = aws(wrong, "list-functions")
    assert refused.returncode != 0
    assert "InvalidSignatureException" in refused.stderr
