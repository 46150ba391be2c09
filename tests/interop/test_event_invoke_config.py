"""Put/Get/Update/Delete/ListFunctionEventInvokeConfig(s) through boto3: bounds, destinations
lambkin can deliver to, Put replacing and Update merging, per-qualifier configs."""

from __future__ import annotations

import datetime
import time

import pytest
from botocore.exceptions import ClientError

from helpers import FUNCTION_ARN_PREFIX as ARN
from helpers import ROLE


@pytest.fixture
def fn(client, function_name, hello_wasm):
    client.create_function(
        FunctionName=function_name,
        Role=ROLE,
        Runtime="provided.al2023",
        Handler="hello.wasm",
        Code={"ZipFile": hello_wasm},
    )
    deadline = time.monotonic() + 30
    while client.get_function_configuration(FunctionName=function_name)["State"] != "Active":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return function_name


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_put_get_and_list(client, fn):
    put = client.put_function_event_invoke_config(
        FunctionName=fn,
        MaximumRetryAttempts=1,
        MaximumEventAgeInSeconds=120,
        DestinationConfig={
            "OnSuccess": {"Destination": ARN + "audit"},
            "OnFailure": {"Destination": "http://127.0.0.1:9/failures"},
        },
    )
    assert put["FunctionArn"] == ARN + fn + ":$LATEST"
    assert put["MaximumRetryAttempts"] == 1
    assert put["MaximumEventAgeInSeconds"] == 120
    assert put["DestinationConfig"]["OnFailure"]["Destination"] == "http://127.0.0.1:9/failures"
    assert isinstance(put["LastModified"], datetime.datetime)
    got = client.get_function_event_invoke_config(FunctionName=fn)
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == {
        k: v for k, v in put.items() if k != "ResponseMetadata"
    }
    listed = client.list_function_event_invoke_configs(FunctionName=fn)["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"] for c in listed] == [ARN + fn + ":$LATEST"]


def test_put_replaces_and_update_merges(client, fn):
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0, MaximumEventAgeInSeconds=300)
    updated = client.update_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=2)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (2, 300)
    replaced = client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1)
    assert replaced["MaximumRetryAttempts"] == 1
    assert "MaximumEventAgeInSeconds" not in replaced


def test_bounds_and_destinations_are_checked(client, fn):
    for kwargs in (
        {"MaximumRetryAttempts": 3},
        {"MaximumEventAgeInSeconds": 59},
        {"MaximumEventAgeInSeconds": 21601},
        {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}}},
    ):
        try:
            client.put_function_event_invoke_config(FunctionName=fn, **kwargs)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "InvalidParameterValueException", kwargs
        except Exception as e:  # botocore refuses values below the model's minimum itself
            assert type(e).__name__ == "ParamValidationError", (kwargs, e)
        else:
            pytest.fail(f"accepted {kwargs}")


def test_missing_configs_and_qualifiers(client, fn):
    with pytest.raises(ClientError) as excinfo:
        client.get_function_event_invoke_config(FunctionName=fn)
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        client.update_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1)
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        client.put_function_event_invoke_config(FunctionName=fn, Qualifier="7", MaximumRetryAttempts=1)
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_configs_per_qualifier_and_delete(client, fn):
    client.publish_version(FunctionName=fn)
    client.create_alias(FunctionName=fn, Name="live", FunctionVersion="1")
    client.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    client.put_function_event_invoke_config(FunctionName=fn, Qualifier="live", MaximumRetryAttempts=2)
    assert client.get_function_event_invoke_config(FunctionName=fn, Qualifier="live")["MaximumRetryAttempts"] == 2
    assert client.get_function_event_invoke_config(FunctionName=fn)["MaximumRetryAttempts"] == 0
    listed = client.list_function_event_invoke_configs(FunctionName=fn)["FunctionEventInvokeConfigs"]
    assert sorted(c["FunctionArn"] for c in listed) == sorted([ARN + fn + ":$LATEST", ARN + fn + ":live"])
    client.delete_function_event_invoke_config(FunctionName=fn, Qualifier="live")
    with pytest.raises(ClientError) as excinfo:
        client.get_function_event_invoke_config(FunctionName=fn, Qualifier="live")
    assert error_code(excinfo) == "ResourceNotFoundException"
