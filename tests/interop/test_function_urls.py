"""Function URLs through boto3: Create/Get/Update/Delete/ListFunctionUrlConfig(s) (AuthType, Cors,
InvokeMode, qualifiers: $LATEST or an alias, never a version), then HTTP requests to a URL: the
FunctionUrl handed out (http://127.0.0.1:<port>/lambda-url/<url-id>/, called as it is) and its host
name (<url-id>.lambda-url.<region>.localhost, sent as the Host header to 127.0.0.1).

Every test makes its own functions (unique names, deleted afterwards).
"""

from __future__ import annotations

import datetime
import json
import re
import uuid

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from conftest import HOST, REGION
from helpers import FUNCTION_ARN_PREFIX as ARN
from helpers import (
    http_request,
    ISO_8601,
    client_error,
    create_function,
    example_path,
    status_of,
    strip,
)

CORS = {
    "AllowOrigins": ["https://example.com"],
    "AllowMethods": ["GET", "POST"],
    "AllowHeaders": ["content-type"],
    "ExposeHeaders": ["x-custom"],
    "MaxAge": 300,
    "AllowCredentials": True,
}
HTTP_TIMEOUT_S = 10



def url_pattern(port: int) -> re.Pattern:
    return re.compile(rf"^http://127\.0\.0\.1:{port}/lambda-url/(?P<id>[a-z0-9]{{32}})/$")


def url_id(lambkin, function_url: str) -> str:
    match = url_pattern(lambkin.port).match(function_url)
    assert match, function_url
    return match.group("id")


def unqualified_arn_ok(arn: str, name: str) -> bool:
    """The FunctionArn of a URL on $LATEST: the unqualified ARN (as Lambda answers), or the one
    qualified with :$LATEST."""
    return arn in (ARN + name, ARN + name + ":$LATEST")


@pytest.fixture
def fn(client, function_name, hello_wasm) -> str:
    create_function(client, function_name, hello_wasm)
    return function_name


@pytest.fixture
def fn_with_alias(client, fn) -> str:
    """fn with version 1 and alias live -> 1."""
    assert client.publish_version(FunctionName=fn)["Version"] == "1"
    client.create_alias(FunctionName=fn, Name="live", FunctionVersion="1")
    return fn


def parse_time(text: str) -> datetime.datetime:
    """An ISO-8601 time (Z, +00:00 or +0000) as an aware datetime."""
    text = re.sub(r"Z$", "+00:00", text)
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    return datetime.datetime.fromisoformat(text)


def http_get(url: str, headers=None) -> tuple[int, dict, bytes]:
    """GET without proxies; (status, lower-cased headers, body) for any status."""
    return http_request(url, headers=headers, timeout=HTTP_TIMEOUT_S)


# ---------------------------------------------------------------------------------------------
# CRUD
# ---------------------------------------------------------------------------------------------


def test_create_returns_201_with_the_url(client, lambkin, fn):
    resp = client.create_function_url_config(FunctionName=fn, AuthType="NONE")

    assert status_of(resp) == 201
    url_id(lambkin, resp["FunctionUrl"])
    assert unqualified_arn_ok(resp["FunctionArn"], fn), resp
    assert resp["AuthType"] == "NONE"
    assert resp["InvokeMode"] == "BUFFERED"  # the default
    assert ISO_8601.match(resp["CreationTime"]), resp["CreationTime"]


def test_urls_are_distinct_per_function(client, lambkin, make_name, hello_wasm):
    names = [make_name("url") for _ in range(2)]
    urls = []
    for name in names:
        create_function(client, name, hello_wasm)
        urls.append(client.create_function_url_config(FunctionName=name, AuthType="NONE"))
    assert len({url_id(lambkin, u["FunctionUrl"]) for u in urls}) == 2, urls


def test_second_create_conflicts(client, fn):
    client.create_function_url_config(FunctionName=fn, AuthType="NONE")

    with client_error("ResourceConflictException", 409):
        client.create_function_url_config(FunctionName=fn, AuthType="AWS_IAM")


def test_get_adds_last_modified_time(client, fn):
    created = strip(
        client.create_function_url_config(
            FunctionName=fn, AuthType="AWS_IAM", InvokeMode="RESPONSE_STREAM"
        )
    )

    got = client.get_function_url_config(FunctionName=fn)

    assert status_of(got) == 200
    got = strip(got)
    assert ISO_8601.match(got["LastModifiedTime"]), got
    for key in ("FunctionUrl", "FunctionArn", "AuthType", "CreationTime", "InvokeMode"):
        assert got[key] == created[key], (key, got, created)
    assert got["AuthType"] == "AWS_IAM"
    assert got["InvokeMode"] == "RESPONSE_STREAM"


def test_cors_round_trip(client, fn):
    created = client.create_function_url_config(FunctionName=fn, AuthType="NONE", Cors=CORS)

    assert created["Cors"] == CORS
    assert client.get_function_url_config(FunctionName=fn)["Cors"] == CORS


def test_update_changes_auth_cors_and_invoke_mode(client, fn):
    created = client.create_function_url_config(FunctionName=fn, AuthType="NONE")

    updated = client.update_function_url_config(
        FunctionName=fn, AuthType="AWS_IAM", Cors=CORS, InvokeMode="RESPONSE_STREAM"
    )

    assert status_of(updated) == 200
    assert updated["FunctionUrl"] == created["FunctionUrl"]  # the URL never changes
    assert updated["FunctionArn"] == created["FunctionArn"]
    assert updated["CreationTime"] == created["CreationTime"]
    assert (updated["AuthType"], updated["InvokeMode"]) == ("AWS_IAM", "RESPONSE_STREAM")
    assert updated["Cors"] == CORS
    assert ISO_8601.match(updated["LastModifiedTime"]), updated
    got = client.get_function_url_config(FunctionName=fn)
    assert (got["AuthType"], got["InvokeMode"], got["Cors"]) == ("AWS_IAM", "RESPONSE_STREAM", CORS)
    assert parse_time(got["LastModifiedTime"]) >= parse_time(created["CreationTime"])


def test_update_of_missing_url_is_not_found(client, fn):
    with client_error("ResourceNotFoundException", 404):
        client.update_function_url_config(FunctionName=fn, AuthType="AWS_IAM")


def test_delete_then_get_is_not_found(client, fn):
    client.create_function_url_config(FunctionName=fn, AuthType="NONE")

    deleted = client.delete_function_url_config(FunctionName=fn)

    assert status_of(deleted) == 204
    with client_error("ResourceNotFoundException", 404):
        client.get_function_url_config(FunctionName=fn)


def test_get_without_url_is_not_found(client, fn):
    with client_error("ResourceNotFoundException", 404):
        client.get_function_url_config(FunctionName=fn)


def test_create_on_missing_function_is_not_found(client, function_name):
    with client_error("ResourceNotFoundException", 404):
        client.create_function_url_config(FunctionName=function_name, AuthType="NONE")


def test_list_function_url_configs(client, lambkin, fn_with_alias):
    fn = fn_with_alias
    assert client.list_function_url_configs(FunctionName=fn)["FunctionUrlConfigs"] == []
    latest = client.create_function_url_config(FunctionName=fn, AuthType="NONE")
    live = client.create_function_url_config(FunctionName=fn, Qualifier="live", AuthType="AWS_IAM")

    listed = client.list_function_url_configs(FunctionName=fn)["FunctionUrlConfigs"]

    by_url = {c["FunctionUrl"]: c for c in listed}
    assert set(by_url) == {latest["FunctionUrl"], live["FunctionUrl"]}, listed
    assert unqualified_arn_ok(by_url[latest["FunctionUrl"]]["FunctionArn"], fn), listed
    assert by_url[live["FunctionUrl"]]["FunctionArn"] == ARN + fn + ":live", listed
    assert by_url[live["FunctionUrl"]]["AuthType"] == "AWS_IAM"
    for config in listed:
        url_id(lambkin, config["FunctionUrl"])
        assert ISO_8601.match(config["CreationTime"]), config
        assert ISO_8601.match(config["LastModifiedTime"]), config


# ---------------------------------------------------------------------------------------------
# parameters and qualifiers
# ---------------------------------------------------------------------------------------------


def test_invalid_auth_type_is_rejected(client, fn):
    try:
        client.create_function_url_config(FunctionName=fn, AuthType="BOGUS")
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e.response
        assert e.response["Error"]["Code"] in (
            "InvalidParameterValueException",
            "ValidationException",
        ), e.response
    except ParamValidationError:
        pass  # botocore refused it itself
    else:
        pytest.fail("AuthType BOGUS was accepted")
    with client_error("ResourceNotFoundException", 404):
        client.get_function_url_config(FunctionName=fn)  # nothing was created


def test_qualifier_cannot_be_a_version(client, fn_with_alias):
    with client_error("InvalidParameterValueException", 400):
        client.create_function_url_config(
            FunctionName=fn_with_alias, Qualifier="1", AuthType="NONE"
        )


def test_url_on_an_alias(client, lambkin, fn_with_alias):
    fn = fn_with_alias

    created = client.create_function_url_config(FunctionName=fn, Qualifier="live", AuthType="NONE")

    assert status_of(created) == 201
    assert created["FunctionArn"] == ARN + fn + ":live"
    url_id(lambkin, created["FunctionUrl"])
    got = client.get_function_url_config(FunctionName=fn, Qualifier="live")
    assert got["FunctionUrl"] == created["FunctionUrl"]
    with client_error("ResourceNotFoundException", 404):
        client.get_function_url_config(FunctionName=fn)  # $LATEST has none
    with client_error("ResourceNotFoundException", 404):
        client.create_function_url_config(FunctionName=fn, Qualifier="nope", AuthType="NONE")


# ---------------------------------------------------------------------------------------------
# HTTP through the URL (the `http` example component)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def http_url(client, lambkin, function_name) -> str:
    """An `http` function with an AuthType NONE URL; returns the URL's id."""
    path = example_path("http")
    if not path.is_file():
        pytest.skip(f"example component not built yet: {path}")
    create_function(client, function_name, path.read_bytes())
    created = client.create_function_url_config(FunctionName=function_name, AuthType="NONE")
    return url_id(lambkin, created["FunctionUrl"])


def path_form(lambkin, url_id_: str, rest: str) -> str:
    return f"http://{HOST}:{lambkin.port}/lambda-url/{url_id_}/{rest.lstrip('/')}"


def test_the_function_url_handed_out_is_called_as_it_is(client, function_name, http_url):
    function_url = client.get_function_url_config(FunctionName=function_name)["FunctionUrl"]

    status, _headers, body = http_get(function_url + "hello?name=Urllib")

    assert status == 200, body
    assert body.decode() == "Hello, Urllib!"


def test_get_through_the_path_form(lambkin, http_url):
    status, _headers, body = http_get(path_form(lambkin, http_url, "hello?name=Ada"))

    assert status == 200, body
    assert body.decode() == "Hello, Ada!"


def test_get_through_the_host_name(lambkin, http_url):
    host = f"{http_url}.lambda-url.{REGION}.localhost:{lambkin.port}"

    status, _headers, body = http_get(
        f"http://{HOST}:{lambkin.port}/hello?name=Grace", headers={"Host": host}
    )

    assert status == 200, body
    assert body.decode() == "Hello, Grace!"


def test_bare_json_response(lambkin, http_url):
    status, headers, body = http_get(path_form(lambkin, http_url, "json"))

    assert status == 200, body
    assert headers.get("content-type", "").split(";")[0].strip() == "application/json", headers
    assert json.loads(body) == {"bare": True, "path": "/json"}


def test_function_error_is_502(lambkin, http_url):
    status, _headers, body = http_get(path_form(lambkin, http_url, "error"))

    assert status == 502, body


def test_unknown_url_id_is_403(lambkin):
    unknown = uuid.uuid4().hex  # 32 lowercase hex characters: the shape of an id, but no URL's

    status, _headers, body = http_get(path_form(lambkin, unknown, "hello"))

    assert status == 403, body


def test_deleted_url_stops_answering(client, lambkin, function_name, http_url):
    client.delete_function_url_config(FunctionName=function_name)

    status, _headers, body = http_get(path_form(lambkin, http_url, "hello?name=Ada"))

    assert status == 403, body
