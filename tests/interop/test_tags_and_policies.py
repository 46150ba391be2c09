"""boto3 against lambkin's tags and resource-based policies, and the small operations tools read
before they change anything: TagResource, UntagResource, ListTags, Tags on CreateFunction and
GetFunction; AddPermission, GetPolicy, RemovePermission (errors as the service model has them);
Get/Put/DeleteFunctionCodeSigningConfig, Get/PutFunctionRecursionConfig,
ListEventSourceMappings.
"""

from __future__ import annotations

import json

from conftest import ACCOUNT, REGION
from helpers import client_error, create_function, status_of

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
CSC_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:csc-0123456789abcdefg"


def test_tags_on_create_read_back_and_change(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm, Tags={"team": "core", "stage": "dev"})
    arn = FUNCTION_ARN + function_name
    assert client.list_tags(Resource=arn)["Tags"] == {"team": "core", "stage": "dev"}
    assert client.get_function(FunctionName=function_name)["Tags"] == {"team": "core", "stage": "dev"}

    client.tag_resource(Resource=arn, Tags={"stage": "prod", "owner": "ops"})
    assert client.list_tags(Resource=arn)["Tags"] == {"team": "core", "stage": "prod", "owner": "ops"}
    client.untag_resource(Resource=arn, TagKeys=["team", "owner"])
    assert client.list_tags(Resource=arn)["Tags"] == {"stage": "prod"}
    client.untag_resource(Resource=arn, TagKeys=["stage"])
    assert client.list_tags(Resource=arn)["Tags"] == {}
    assert "Tags" not in client.get_function(FunctionName=function_name)


def test_tags_follow_lambdas_limits(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)
    arn = FUNCTION_ARN + function_name
    with client_error("InvalidParameterValueException", 400):
        client.tag_resource(Resource=arn, Tags={"aws:reserved": "x"})
    with client_error("InvalidParameterValueException", 400):
        client.tag_resource(Resource=arn, Tags={f"k{i}": "v" for i in range(51)})
    with client_error("InvalidParameterValueException", 400):
        client.tag_resource(Resource=arn + ":1", Tags={"a": "b"})
    with client_error("ResourceNotFoundException", 404):
        client.list_tags(Resource=FUNCTION_ARN + function_name + "-missing")
    # Nothing of a refused request was kept.
    assert client.list_tags(Resource=arn)["Tags"] == {}


def test_permissions_are_added_read_and_removed(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)
    with client_error("ResourceNotFoundException", 404):
        client.get_policy(FunctionName=function_name)

    added = client.add_permission(
        FunctionName=function_name,
        StatementId="allow-s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket",
        SourceAccount="123456789012",
    )
    assert status_of(added) == 201
    statement = json.loads(added["Statement"])
    assert statement["Sid"] == "allow-s3"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Resource"] == FUNCTION_ARN + function_name
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == "arn:aws:s3:::my-bucket"

    client.add_permission(
        FunctionName=function_name,
        StatementId="allow-url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    policy = client.get_policy(FunctionName=function_name)
    document = json.loads(policy["Policy"])
    assert document["Version"] == "2012-10-17"
    assert [s["Sid"] for s in document["Statement"]] == ["allow-s3", "allow-url"]
    assert document["Statement"][1]["Principal"] == "*"

    # A duplicate statement id, and a stale revision, are refused as the model says.
    with client_error("ResourceConflictException", 409):
        client.add_permission(
            FunctionName=function_name, StatementId="allow-s3",
            Action="lambda:InvokeFunction", Principal="sns.amazonaws.com")
    with client_error("PreconditionFailedException", 412):
        client.add_permission(
            FunctionName=function_name, StatementId="late", Action="lambda:InvokeFunction",
            Principal="sns.amazonaws.com", RevisionId="not-the-current-one")
    with client_error("PreconditionFailedException", 412):
        client.remove_permission(
            FunctionName=function_name, StatementId="allow-s3", RevisionId="not-the-current-one")

    client.remove_permission(
        FunctionName=function_name, StatementId="allow-s3", RevisionId=policy["RevisionId"])
    remaining = json.loads(client.get_policy(FunctionName=function_name)["Policy"])["Statement"]
    assert [s["Sid"] for s in remaining] == ["allow-url"]
    with client_error("ResourceNotFoundException", 404):
        client.remove_permission(FunctionName=function_name, StatementId="allow-s3")
    client.remove_permission(FunctionName=function_name, StatementId="allow-url")
    with client_error("ResourceNotFoundException", 404):
        client.get_policy(FunctionName=function_name)


def test_permissions_of_a_qualifier_are_its_own(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm, Publish=True)
    client.add_permission(
        FunctionName=function_name, Qualifier="1", StatementId="v1",
        Action="lambda:InvokeFunction", Principal="123456789012")
    statement = json.loads(client.get_policy(FunctionName=function_name, Qualifier="1")["Policy"])["Statement"][0]
    assert statement["Resource"] == f"{FUNCTION_ARN}{function_name}:1"
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    with client_error("ResourceNotFoundException", 404):
        client.get_policy(FunctionName=function_name)
    with client_error("ResourceNotFoundException", 404):
        client.add_permission(
            FunctionName=function_name, Qualifier="7", StatementId="v7",
            Action="lambda:InvokeFunction", Principal="*")
    with client_error("InvalidParameterValueException", 400):
        client.add_permission(
            FunctionName=function_name, StatementId="bad", Action="s3:GetObject", Principal="*")


def test_code_signing_and_recursion_configs_are_stored_and_echoed(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)
    unset = client.get_function_code_signing_config(FunctionName=function_name)
    assert unset["CodeSigningConfigArn"] == ""
    assert unset["FunctionName"] == function_name
    put = client.put_function_code_signing_config(FunctionName=function_name, CodeSigningConfigArn=CSC_ARN)
    assert put["CodeSigningConfigArn"] == CSC_ARN
    assert client.get_function_code_signing_config(FunctionName=function_name)["CodeSigningConfigArn"] == CSC_ARN
    client.delete_function_code_signing_config(FunctionName=function_name)
    assert client.get_function_code_signing_config(FunctionName=function_name)["CodeSigningConfigArn"] == ""

    assert client.get_function_recursion_config(FunctionName=function_name)["RecursiveLoop"] == "Terminate"
    client.put_function_recursion_config(FunctionName=function_name, RecursiveLoop="Allow")
    assert client.get_function_recursion_config(FunctionName=function_name)["RecursiveLoop"] == "Allow"
    with client_error("InvalidParameterValueException", 400):
        client.put_function_recursion_config(FunctionName=function_name, RecursiveLoop="Sometimes")


def test_event_source_mappings_are_listed_empty_and_refused_on_create(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)
    assert client.list_event_source_mappings()["EventSourceMappings"] == []
    assert client.list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"] == []
    with client_error("InvalidParameterValueException", 400):
        client.create_event_source_mapping(
            FunctionName=function_name,
            EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue")
