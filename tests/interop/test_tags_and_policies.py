"""boto3 against lambkin's tags and resource-based policies, and the small operations tools read
before they change anything: TagResource, UntagResource, ListTags, Tags on CreateFunction and
GetFunction; AddPermission, GetPolicy, RemovePermission (errors as the service model has them);
Create/Get/Update/Delete/ListCodeSigningConfig(s), ListFunctionsByCodeSigningConfig,
Get/Put/DeleteFunctionCodeSigningConfig, Get/PutFunctionRecursionConfig, ListEventSourceMappings.
"""

from __future__ import annotations

import json
import re

from conftest import ACCOUNT, REGION
from helpers import client_error, create_function, status_of

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
CSC_ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:code-signing-config:"
MISSING_CSC_ARN = CSC_ARN_PREFIX + "csc-0123456789abcdefa"
SIGNING_PROFILE = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/lambkin/abcdef0123"


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


def test_code_signing_configs_are_stored_echoed_and_used_by_functions(client, make_name, hello_wasm):
    created = client.create_code_signing_config(
        Description="release builds",
        AllowedPublishers={"SigningProfileVersionArns": [SIGNING_PROFILE]},
        Tags={"team": "core"},
    )
    assert status_of(created) == 201
    csc = created["CodeSigningConfig"]
    arn = csc["CodeSigningConfigArn"]
    try:
        assert re.fullmatch(r"csc-[a-z0-9]{17}", csc["CodeSigningConfigId"]), csc
        assert arn == CSC_ARN_PREFIX + csc["CodeSigningConfigId"]
        assert csc["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
        assert csc["AllowedPublishers"] == {"SigningProfileVersionArns": [SIGNING_PROFILE]}
        assert client.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"] == csc
        assert arn in [c["CodeSigningConfigArn"] for c in client.list_code_signing_configs()["CodeSigningConfigs"]]
        assert client.list_tags(Resource=arn)["Tags"] == {"team": "core"}
        client.tag_resource(Resource=arn, Tags={"stage": "prod"})
        assert client.list_tags(Resource=arn)["Tags"] == {"team": "core", "stage": "prod"}

        updated = client.update_code_signing_config(
            CodeSigningConfigArn=arn, CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"}
        )["CodeSigningConfig"]
        assert updated["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
        assert updated["Description"] == "release builds"

        # A function made with it, and one given it afterwards.
        made_with, given = make_name("signed"), make_name("signed")
        create_function(client, made_with, hello_wasm, CodeSigningConfigArn=arn)
        create_function(client, given, hello_wasm)
        unset = client.get_function_code_signing_config(FunctionName=given)
        assert (unset["CodeSigningConfigArn"], unset["FunctionName"]) == ("", given)
        put = client.put_function_code_signing_config(FunctionName=given, CodeSigningConfigArn=arn)
        assert put["CodeSigningConfigArn"] == arn
        for name in (made_with, given):
            assert client.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"] == arn
        used_by = client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"]
        assert sorted(used_by) == sorted(FUNCTION_ARN + n for n in (made_with, given))

        with client_error("ResourceConflictException", 409):
            client.delete_code_signing_config(CodeSigningConfigArn=arn)
        with client_error("CodeSigningConfigNotFoundException", 404):
            client.put_function_code_signing_config(FunctionName=given, CodeSigningConfigArn=MISSING_CSC_ARN)
        with client_error("CodeSigningConfigNotFoundException", 404):
            create_function(client, make_name("signed"), hello_wasm, wait=False, CodeSigningConfigArn=MISSING_CSC_ARN)
        client.delete_function_code_signing_config(FunctionName=given)
        assert client.get_function_code_signing_config(FunctionName=given)["CodeSigningConfigArn"] == ""
        client.delete_function(FunctionName=made_with)
        assert client.list_functions_by_code_signing_config(CodeSigningConfigArn=arn)["FunctionArns"] == []
    finally:
        client.delete_code_signing_config(CodeSigningConfigArn=arn)
    with client_error("ResourceNotFoundException", 404):
        client.get_code_signing_config(CodeSigningConfigArn=arn)
    with client_error("InvalidParameterValueException", 400):
        client.create_code_signing_config(
            AllowedPublishers={"SigningProfileVersionArns": [SIGNING_PROFILE]},
            CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Sometimes"},
        )


def test_recursion_configs_are_stored_and_echoed(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm)
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
