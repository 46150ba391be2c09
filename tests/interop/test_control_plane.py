"""boto3 against lambkin's control plane: functions, versions, aliases, configs, account settings.

Every test makes its own functions (unique names, deleted afterwards), so tests are independent
of each other except for the account-wide numbers, which are computed from what the server lists.
The hard-restart test runs last.
"""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError, ParamValidationError, WaiterError

from conftest import ACCOUNT, REGION
from helpers import (
    FUNCTION_ARN_PREFIX,
    HANDLER,
    ISO_8601,
    ROLE,
    RUNTIME,
    client_error,
    create_function,
    sha256_b64,
    status_of,
    strip,
    update_configuration,
    wait_active,
    wait_updated,
    zip_of,
)

RUNTIME_ARN_PREFIX = f"arn:aws:lambda:{REGION}::runtime:"
UNKNOWN_RUNTIME_ARN = RUNTIME_ARN_PREFIX + "0" * 64
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/12345678-1234-1234-1234-123456789012"
INVALID_COMPONENT = b"\x00asm\x01\x00\x00\x00" + b"\xde\xad\xbe\xef not a component " * 8

WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 30}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def function_arn(name: str) -> str:
    return FUNCTION_ARN_PREFIX + name


def update_code(client, name: str, code: bytes, **kwargs) -> dict:
    resp = client.update_function_code(FunctionName=name, ZipFile=code, **kwargs)
    wait_updated(client, name)
    return resp


def publish_new_version(client, name: str) -> str:
    """Change $LATEST's configuration (description and environment), then publish it."""
    tag = uuid.uuid4().hex[:8]
    update_configuration(
        client, name, Description=f"revision {tag}", Environment={"Variables": {"REV": tag}}
    )
    return client.publish_version(FunctionName=name)["Version"]


def list_all_functions(client) -> list[dict]:
    functions = []
    for page in client.get_paginator("list_functions").paginate(
        PaginationConfig={"PageSize": 50}
    ):
        functions.extend(page["Functions"])
    return functions


@pytest.fixture
def hello_fn(client, function_name, hello_wasm) -> str:
    """An Active function running hello.wasm, nothing published."""
    create_function(client, function_name, hello_wasm)
    return function_name


@pytest.fixture
def two_versions(client, function_name, hello_wasm, echo_wasm) -> str:
    """An Active function with version 1 (hello.wasm) and version 2 (echo.wasm)."""
    create_function(client, function_name, hello_wasm)
    assert client.publish_version(FunctionName=function_name)["Version"] == "1"
    update_code(client, function_name, echo_wasm)
    assert client.publish_version(FunctionName=function_name)["Version"] == "2"
    return function_name


# ---------------------------------------------------------------------------------------------
# 1. CreateFunction
# ---------------------------------------------------------------------------------------------


def test_create_function_returns_configuration(client, function_name, hello_wasm):
    resp = create_function(client, function_name, hello_wasm, wait=False)

    assert status_of(resp) == 201
    assert resp["FunctionName"] == function_name
    assert resp["FunctionArn"] == function_arn(function_name)
    assert resp["Runtime"] == RUNTIME
    assert resp["Role"] == ROLE
    assert resp["Handler"] == HANDLER
    assert resp["CodeSize"] == len(hello_wasm)
    assert resp["CodeSha256"] == sha256_b64(hello_wasm)
    assert resp["Version"] == "$LATEST"
    assert isinstance(resp["RevisionId"], str) and resp["RevisionId"]
    assert ISO_8601.match(resp["LastModified"]), resp["LastModified"]
    assert resp["MemorySize"] == 128
    assert resp["Timeout"] == 3
    assert resp["EphemeralStorage"] == {"Size": 512}
    assert resp["PackageType"] == "Zip"
    assert resp["Architectures"] == ["x86_64"]
    assert resp["State"] in ("Pending", "Active")


def test_create_function_from_zip_archive(client, function_name, hello_wasm):
    archive = zip_of({HANDLER: hello_wasm})

    resp = create_function(client, function_name, archive)

    assert status_of(resp) == 201
    assert resp["CodeSize"] == len(archive)
    assert resp["CodeSha256"] == sha256_b64(archive)
    assert resp["Handler"] == HANDLER


def test_waiters_active_and_updated_succeed_after_create(client, function_name, hello_wasm):
    create_function(client, function_name, hello_wasm, wait=False)

    client.get_waiter("function_active_v2").wait(
        FunctionName=function_name, WaiterConfig=WAITER_CONFIG
    )
    client.get_waiter("function_updated_v2").wait(
        FunctionName=function_name, WaiterConfig=WAITER_CONFIG
    )

    cfg = client.get_function_configuration(FunctionName=function_name)
    assert cfg["State"] == "Active"
    assert cfg["LastUpdateStatus"] == "Successful"
    assert cfg["RuntimeVersionConfig"]["RuntimeVersionArn"].startswith(RUNTIME_ARN_PREFIX)


def test_create_existing_name_conflicts(client, hello_fn, hello_wasm):
    with client_error("ResourceConflictException", 409):
        create_function(client, hello_fn, hello_wasm, wait=False)


def test_create_with_unsupported_runtime_rejected(client, function_name, hello_wasm):
    with client_error("InvalidParameterValueException", 400):
        create_function(client, function_name, hello_wasm, wait=False, Runtime="python3.12")


def test_create_zip_without_handler_file_rejected(client, function_name, hello_wasm):
    archive = zip_of({"other.wasm": hello_wasm})
    with client_error("InvalidParameterValueException", 400):
        create_function(client, function_name, archive, wait=False)


def test_create_code_neither_zip_nor_wasm_rejected(client, function_name):
    with client_error("InvalidParameterValueException", 400):
        create_function(client, function_name, b"not a zip nor wasm", wait=False)


def test_create_invalid_component_fails_after_create(lambkin, client, function_name):
    resp = create_function(client, function_name, INVALID_COMPONENT, wait=False)
    assert status_of(resp) == 201

    with pytest.raises(WaiterError):
        client.get_waiter("function_active_v2").wait(
            FunctionName=function_name, WaiterConfig=WAITER_CONFIG
        )

    cfg = client.get_function_configuration(FunctionName=function_name)
    assert cfg["State"] == "Failed"
    assert isinstance(cfg.get("StateReason"), str) and cfg["StateReason"]
    assert cfg["StateReasonCode"] == "InvalidZipFileException"
    # The server is still up and serving.
    assert lambkin.proc.poll() is None
    assert lambkin.healthy()
    client.list_functions(MaxItems=1)


def test_create_with_publish_returns_version_1(client, function_name, hello_wasm):
    resp = create_function(client, function_name, hello_wasm, Publish=True)

    assert resp["Version"] == "1"


# ---------------------------------------------------------------------------------------------
# 2. GetFunction, function identifiers
# ---------------------------------------------------------------------------------------------


def test_get_function_returns_configuration_and_code(client, hello_fn):
    resp = client.get_function(FunctionName=hello_fn)

    assert resp["Configuration"]["FunctionName"] == hello_fn
    assert resp["Configuration"]["FunctionArn"] == function_arn(hello_fn)
    assert resp["Configuration"]["Version"] == "$LATEST"
    assert resp["Code"]["RepositoryType"] == "S3"
    assert isinstance(resp["Code"]["Location"], str)


def test_get_function_with_version_qualifier(client, hello_fn):
    client.publish_version(FunctionName=hello_fn)

    cfg = client.get_function(FunctionName=hello_fn, Qualifier="1")["Configuration"]

    assert cfg["Version"] == "1"
    assert cfg["FunctionArn"] == function_arn(hello_fn) + ":1"


def test_get_function_with_alias_qualifier(client, two_versions):
    client.create_alias(FunctionName=two_versions, Name="live", FunctionVersion="1")

    cfg = client.get_function(FunctionName=two_versions, Qualifier="live")["Configuration"]

    assert cfg["Version"] == "1"


def test_get_missing_function_not_found(client, function_name):
    with client_error("ResourceNotFoundException", 404):
        client.get_function(FunctionName=function_name)


@pytest.mark.parametrize("form", ["name", "arn", "partial-arn"])
def test_function_identifier_forms(client, hello_fn, form):
    identifier = {
        "name": hello_fn,
        "arn": function_arn(hello_fn),
        "partial-arn": f"{ACCOUNT}:function:{hello_fn}",
    }[form]

    got = client.get_function(FunctionName=identifier)["Configuration"]
    cfg = client.get_function_configuration(FunctionName=identifier)

    assert got["FunctionName"] == hello_fn
    assert got["FunctionArn"] == function_arn(hello_fn)
    assert cfg["FunctionName"] == hello_fn


def test_get_function_configuration_by_qualified_arn(client, hello_fn):
    client.publish_version(FunctionName=hello_fn)

    cfg = client.get_function_configuration(FunctionName=function_arn(hello_fn) + ":1")

    assert cfg["FunctionName"] == hello_fn
    assert cfg["Version"] == "1"
    assert cfg["FunctionArn"].endswith(":1")


# ---------------------------------------------------------------------------------------------
# 3. ListFunctions
# ---------------------------------------------------------------------------------------------


def test_list_functions_includes_created_functions(client, make_name, hello_wasm):
    names = [make_name() for _ in range(2)]
    for name in names:
        create_function(client, name, hello_wasm)

    listed = {f["FunctionName"]: f for f in list_all_functions(client)}

    for name in names:
        assert name in listed
        assert listed[name]["FunctionArn"] == function_arn(name)


def test_list_functions_max_items_returns_next_marker(client, make_name, hello_wasm):
    for _ in range(2):
        create_function(client, make_name(), hello_wasm)

    resp = client.list_functions(MaxItems=1)

    assert len(resp["Functions"]) == 1
    assert isinstance(resp.get("NextMarker"), str) and resp["NextMarker"]


def test_list_functions_paginator_sees_every_function_once(client, make_name, hello_wasm):
    names = [make_name() for _ in range(3)]
    for name in names:
        create_function(client, name, hello_wasm)

    seen = []
    pages = 0
    for page in client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1}):
        pages += 1
        assert len(page["Functions"]) <= 1
        seen.extend(f["FunctionName"] for f in page["Functions"])

    assert pages >= 3
    assert len(seen) == len(set(seen)), seen
    for name in names:
        assert seen.count(name) == 1


# ---------------------------------------------------------------------------------------------
# 4. UpdateFunctionConfiguration
# ---------------------------------------------------------------------------------------------


def test_update_configuration_applies_fields(client, hello_fn):
    resp = client.update_function_configuration(
        FunctionName=hello_fn,
        MemorySize=256,
        Timeout=10,
        Description="updated by the interop suite",
        Environment={"Variables": {"GREETING": "hi"}},
        EphemeralStorage={"Size": 1024},
    )
    client.get_waiter("function_updated_v2").wait(FunctionName=hello_fn, WaiterConfig=WAITER_CONFIG)

    cfg = client.get_function_configuration(FunctionName=hello_fn)
    for got in (resp, cfg):
        assert got["MemorySize"] == 256
        assert got["Timeout"] == 10
        assert got["Description"] == "updated by the interop suite"
        assert got["Environment"]["Variables"] == {"GREETING": "hi"}
        assert got["EphemeralStorage"] == {"Size": 1024}
    assert cfg["LastUpdateStatus"] == "Successful"


def test_update_configuration_echoes_aws_only_fields(client, hello_fn):
    resp = update_configuration(
        client, hello_fn, TracingConfig={"Mode": "Active"}, KMSKeyArn=KMS_KEY_ARN
    )

    cfg = client.get_function_configuration(FunctionName=hello_fn)
    for got in (resp, cfg):
        assert got["TracingConfig"]["Mode"] == "Active"
        assert got["KMSKeyArn"] == KMS_KEY_ARN


def test_revision_id_changes_after_every_update(client, hello_fn):
    revisions = [client.get_function_configuration(FunctionName=hello_fn)["RevisionId"]]
    for memory in (192, 256, 320):
        resp = update_configuration(client, hello_fn, MemorySize=memory)
        assert resp["RevisionId"] != revisions[-1]
        revisions.append(client.get_function_configuration(FunctionName=hello_fn)["RevisionId"])

    assert all(isinstance(r, str) and r for r in revisions)
    assert len(set(revisions)) == len(revisions), revisions


def test_update_configuration_with_current_revision_id_succeeds(client, hello_fn):
    revision = client.get_function_configuration(FunctionName=hello_fn)["RevisionId"]

    resp = update_configuration(client, hello_fn, RevisionId=revision, MemorySize=256)

    assert resp["MemorySize"] == 256
    assert resp["RevisionId"] != revision


def test_update_configuration_with_stale_revision_id_fails(client, hello_fn):
    with client_error("PreconditionFailedException", 412):
        client.update_function_configuration(
            FunctionName=hello_fn, RevisionId="stale", MemorySize=256
        )


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"Environment": {"Variables": {"AWS_REGION": "eu-west-1"}}}, id="reserved-env-key"),
        pytest.param({"Environment": {"Variables": {"BIG": "x" * 4200}}}, id="env-over-4KB"),
        pytest.param({"MemorySize": 20000}, id="memory-20000"),
        pytest.param({"Timeout": 901}, id="timeout-901"),
        pytest.param({"Runtime": "nodejs20.x"}, id="runtime-nodejs"),
    ],
)
def test_update_configuration_invalid_value_rejected(client, hello_fn, params):
    before = client.get_function_configuration(FunctionName=hello_fn)

    with client_error("InvalidParameterValueException", 400):
        client.update_function_configuration(FunctionName=hello_fn, **params)

    after = client.get_function_configuration(FunctionName=hello_fn)
    assert after["RevisionId"] == before["RevisionId"]
    assert after["MemorySize"] == before["MemorySize"]


def test_update_configuration_memory_below_model_minimum_rejected_by_botocore(client, hello_fn):
    with pytest.raises(ParamValidationError):
        client.update_function_configuration(FunctionName=hello_fn, MemorySize=64)


# ---------------------------------------------------------------------------------------------
# 5. UpdateFunctionCode
# ---------------------------------------------------------------------------------------------


def test_update_code_changes_code_sha(client, hello_fn, hello_wasm, echo_wasm):
    resp = update_code(client, hello_fn, echo_wasm)

    assert resp["CodeSha256"] == sha256_b64(echo_wasm)
    assert resp["CodeSha256"] != sha256_b64(hello_wasm)
    assert resp["CodeSize"] == len(echo_wasm)
    cfg = client.get_function_configuration(FunctionName=hello_fn)
    assert cfg["CodeSha256"] == sha256_b64(echo_wasm)


def test_update_code_with_publish_returns_new_version(client, hello_fn, echo_wasm):
    assert client.publish_version(FunctionName=hello_fn)["Version"] == "1"

    resp = update_code(client, hello_fn, echo_wasm, Publish=True)

    assert resp["Version"] == "2"
    v2 = client.get_function_configuration(FunctionName=hello_fn, Qualifier="2")
    assert v2["CodeSha256"] == sha256_b64(echo_wasm)


def test_update_code_with_stale_revision_id_fails(client, hello_fn, echo_wasm):
    with client_error("PreconditionFailedException", 412):
        client.update_function_code(FunctionName=hello_fn, ZipFile=echo_wasm, RevisionId="stale")


# ---------------------------------------------------------------------------------------------
# 6. PublishVersion, ListVersionsByFunction
# ---------------------------------------------------------------------------------------------


def test_publish_version_numbers_are_monotonic(client, hello_fn):
    versions = [client.publish_version(FunctionName=hello_fn)["Version"]]
    for _ in range(2):
        versions.append(publish_new_version(client, hello_fn))

    assert versions == ["1", "2", "3"]


def test_publish_version_response(client, hello_fn, hello_wasm):
    resp = client.publish_version(FunctionName=hello_fn, Description="first")

    assert status_of(resp) == 201
    assert resp["Version"] == "1"
    assert resp["FunctionArn"] == function_arn(hello_fn) + ":1"
    assert resp["CodeSha256"] == sha256_b64(hello_wasm)


def test_publish_without_changes_returns_last_version(client, hello_fn, echo_wasm):
    assert client.publish_version(FunctionName=hello_fn)["Version"] == "1"
    assert client.publish_version(FunctionName=hello_fn)["Version"] == "1"

    update_code(client, hello_fn, echo_wasm)
    assert client.publish_version(FunctionName=hello_fn)["Version"] == "2"
    assert client.publish_version(FunctionName=hello_fn)["Version"] == "2"

    versions = client.list_versions_by_function(FunctionName=hello_fn)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]


def test_publish_with_mismatched_code_sha_rejected(client, hello_fn, echo_wasm):
    with client_error("InvalidParameterValueException", 400):
        client.publish_version(FunctionName=hello_fn, CodeSha256=sha256_b64(echo_wasm))


def test_publish_with_matching_code_sha_succeeds(client, hello_fn, hello_wasm):
    resp = client.publish_version(FunctionName=hello_fn, CodeSha256=sha256_b64(hello_wasm))

    assert resp["Version"] == "1"


def test_publish_with_stale_revision_id_fails(client, hello_fn):
    with client_error("PreconditionFailedException", 412):
        client.publish_version(FunctionName=hello_fn, RevisionId="stale")


def test_version_numbers_not_reused_after_delete_and_recreate(
    client, function_name, hello_wasm, echo_wasm
):
    create_function(client, function_name, hello_wasm)
    assert client.publish_version(FunctionName=function_name)["Version"] == "1"
    update_code(client, function_name, echo_wasm)
    assert client.publish_version(FunctionName=function_name)["Version"] == "2"
    client.delete_function(FunctionName=function_name)

    create_function(client, function_name, hello_wasm)

    assert client.publish_version(FunctionName=function_name)["Version"] == "3"


def test_list_versions_starts_with_latest_then_ascending(client, two_versions):
    publish_new_version(client, two_versions)

    resp = client.list_versions_by_function(FunctionName=two_versions)

    assert [v["Version"] for v in resp["Versions"]] == ["$LATEST", "1", "2", "3"]
    assert resp["Versions"][0]["FunctionArn"] == function_arn(two_versions) + ":$LATEST" or (
        resp["Versions"][0]["FunctionArn"] == function_arn(two_versions)
    )
    assert resp["Versions"][1]["FunctionArn"] == function_arn(two_versions) + ":1"


def test_list_versions_pagination_with_marker(client, two_versions):
    seen = []
    marker = None
    for _ in range(10):  # bounded: 3 entries, one per page
        kwargs = {"FunctionName": two_versions, "MaxItems": 1}
        if marker:
            kwargs["Marker"] = marker
        resp = client.list_versions_by_function(**kwargs)
        assert len(resp["Versions"]) <= 1
        seen.extend(v["Version"] for v in resp["Versions"])
        marker = resp.get("NextMarker")
        if not marker:
            break

    assert seen == ["$LATEST", "1", "2"]


def test_list_versions_paginator(client, two_versions):
    paginator = client.get_paginator("list_versions_by_function")
    pages = list(paginator.paginate(FunctionName=two_versions, PaginationConfig={"PageSize": 2}))

    versions = [v["Version"] for page in pages for v in page["Versions"]]
    assert versions == ["$LATEST", "1", "2"]
    assert len(pages) == 2


def test_published_version_configuration_is_immutable(client, hello_fn):
    assert client.publish_version(FunctionName=hello_fn)["Version"] == "1"

    update_configuration(client, hello_fn, MemorySize=256)

    assert client.get_function_configuration(FunctionName=hello_fn, Qualifier="1")["MemorySize"] == 128
    assert client.get_function_configuration(FunctionName=hello_fn)["MemorySize"] == 256


# ---------------------------------------------------------------------------------------------
# 7. Aliases
# ---------------------------------------------------------------------------------------------


def test_create_alias_returns_alias_configuration(client, two_versions):
    resp = client.create_alias(
        FunctionName=two_versions, Name="live", FunctionVersion="1", Description="production"
    )

    assert status_of(resp) == 201
    assert resp["AliasArn"] == function_arn(two_versions) + ":live"
    assert resp["Name"] == "live"
    assert resp["FunctionVersion"] == "1"
    assert resp["Description"] == "production"
    assert isinstance(resp["RevisionId"], str) and resp["RevisionId"]


def test_get_alias_returns_created_alias(client, two_versions):
    created = client.create_alias(
        FunctionName=two_versions, Name="live", FunctionVersion="1", Description="production"
    )

    got = client.get_alias(FunctionName=two_versions, Name="live")

    assert got["AliasArn"] == function_arn(two_versions) + ":live"
    assert got["Name"] == "live"
    assert got["FunctionVersion"] == "1"
    assert got["Description"] == "production"
    assert got["RevisionId"] == created["RevisionId"]


def test_list_aliases_with_and_without_version_filter(client, two_versions):
    client.create_alias(FunctionName=two_versions, Name="live", FunctionVersion="1")
    client.create_alias(FunctionName=two_versions, Name="beta", FunctionVersion="2")

    every = client.list_aliases(FunctionName=two_versions)["Aliases"]
    on_1 = client.list_aliases(FunctionName=two_versions, FunctionVersion="1")["Aliases"]
    on_2 = client.list_aliases(FunctionName=two_versions, FunctionVersion="2")["Aliases"]

    assert sorted(a["Name"] for a in every) == ["beta", "live"]
    assert [a["Name"] for a in on_1] == ["live"]
    assert [a["Name"] for a in on_2] == ["beta"]
    assert {a["Name"]: a["AliasArn"] for a in every} == {
        "live": function_arn(two_versions) + ":live",
        "beta": function_arn(two_versions) + ":beta",
    }


def test_update_alias_version_and_routing(client, two_versions):
    created = client.create_alias(FunctionName=two_versions, Name="live", FunctionVersion="1")
    routing = {"AdditionalVersionWeights": {"1": 0.3}}

    resp = client.update_alias(
        FunctionName=two_versions, Name="live", FunctionVersion="2", RoutingConfig=routing
    )
    got = client.get_alias(FunctionName=two_versions, Name="live")

    for alias in (resp, got):
        assert alias["FunctionVersion"] == "2"
        assert alias["RoutingConfig"] == routing
        assert alias["AliasArn"] == function_arn(two_versions) + ":live"
    assert resp["RevisionId"] != created["RevisionId"]
    assert got["RevisionId"] == resp["RevisionId"]


def test_alias_with_numeric_name_rejected(client, two_versions):
    with client_error("InvalidParameterValueException", 400):
        client.create_alias(FunctionName=two_versions, Name="123", FunctionVersion="1")


def test_alias_to_missing_version_not_found(client, two_versions):
    with client_error("ResourceNotFoundException", 404):
        client.create_alias(FunctionName=two_versions, Name="live", FunctionVersion="99")


def test_alias_routing_to_two_additional_versions_rejected(client, two_versions):
    assert publish_new_version(client, two_versions) == "3"

    with client_error("InvalidParameterValueException", 400):
        client.create_alias(
            FunctionName=two_versions,
            Name="live",
            FunctionVersion="3",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.1, "2": 0.1}},
        )


def test_alias_weight_above_one_rejected(client, two_versions):
    # botocore's model says max 1.0 but botocore only checks minimums, so this reaches the server;
    # a client-side ParamValidationError would be fine too.
    with pytest.raises((ClientError, ParamValidationError)) as excinfo:
        client.create_alias(
            FunctionName=two_versions,
            Name="live",
            FunctionVersion="2",
            RoutingConfig={"AdditionalVersionWeights": {"1": 1.5}},
        )
    if isinstance(excinfo.value, ClientError):
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameterValueException"


@pytest.mark.parametrize(
    "primary, additional",
    [pytest.param("$LATEST", "1", id="primary-latest"), pytest.param("1", "$LATEST", id="additional-latest")],
)
def test_weighted_alias_involving_latest_rejected(client, two_versions, primary, additional):
    with client_error("InvalidParameterValueException", 400):
        client.create_alias(
            FunctionName=two_versions,
            Name="weighted",
            FunctionVersion=primary,
            RoutingConfig={"AdditionalVersionWeights": {additional: 0.5}},
        )


def test_create_alias_with_existing_name_conflicts(client, two_versions):
    client.create_alias(FunctionName=two_versions, Name="live", FunctionVersion="1")

    with client_error("ResourceConflictException", 409):
        client.create_alias(FunctionName=two_versions, Name="live", FunctionVersion="2")


def test_update_alias_with_stale_revision_id_fails(client, two_versions):
    client.create_alias(FunctionName=two_versions, Name="live", FunctionVersion="1")

    with client_error("PreconditionFailedException", 412):
        client.update_alias(
            FunctionName=two_versions, Name="live", FunctionVersion="2", RevisionId="stale"
        )


def test_delete_version_blocked_while_alias_routes_to_it(client, two_versions):
    client.create_alias(FunctionName=two_versions, Name="live", FunctionVersion="1")

    with client_error("ResourceConflictException", 409):
        client.delete_function(FunctionName=two_versions, Qualifier="1")

    assert status_of(client.delete_alias(FunctionName=two_versions, Name="live")) == 204
    client.delete_function(FunctionName=two_versions, Qualifier="1")
    with client_error("ResourceNotFoundException", 404):
        client.get_function_configuration(FunctionName=two_versions, Qualifier="1")
    # The function itself and its other version are still there.
    assert client.get_function_configuration(FunctionName=two_versions, Qualifier="2")["Version"] == "2"


def test_get_missing_alias_not_found(client, two_versions):
    with client_error("ResourceNotFoundException", 404):
        client.get_alias(FunctionName=two_versions, Name="nope")


# ---------------------------------------------------------------------------------------------
# 8. Reserved concurrency
# ---------------------------------------------------------------------------------------------


def test_put_and_get_function_concurrency(client, hello_fn):
    put = client.put_function_concurrency(FunctionName=hello_fn, ReservedConcurrentExecutions=5)
    got = client.get_function_concurrency(FunctionName=hello_fn)

    assert strip(put) == {"ReservedConcurrentExecutions": 5}
    assert got["ReservedConcurrentExecutions"] == 5


def test_get_function_shows_reserved_concurrency(client, hello_fn):
    client.put_function_concurrency(FunctionName=hello_fn, ReservedConcurrentExecutions=5)

    resp = client.get_function(FunctionName=hello_fn)

    assert resp["Concurrency"] == {"ReservedConcurrentExecutions": 5}


def test_delete_function_concurrency(client, hello_fn):
    client.put_function_concurrency(FunctionName=hello_fn, ReservedConcurrentExecutions=5)

    resp = client.delete_function_concurrency(FunctionName=hello_fn)

    assert status_of(resp) == 204
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=hello_fn)


def test_reserving_beyond_unreserved_minimum_rejected(client, hello_fn):
    with client_error("InvalidParameterValueException", 400):
        client.put_function_concurrency(FunctionName=hello_fn, ReservedConcurrentExecutions=950)

    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=hello_fn)


# ---------------------------------------------------------------------------------------------
# 9. Runtime management
# ---------------------------------------------------------------------------------------------


def test_runtime_management_defaults_to_auto(client, hello_fn):
    resp = client.get_runtime_management_config(FunctionName=hello_fn)

    assert resp["UpdateRuntimeOn"] == "Auto"


def test_put_runtime_management_function_update(client, hello_fn):
    resp = client.put_runtime_management_config(FunctionName=hello_fn, UpdateRuntimeOn="FunctionUpdate")

    assert resp["UpdateRuntimeOn"] == "FunctionUpdate"
    assert resp["FunctionArn"] in (function_arn(hello_fn), function_arn(hello_fn) + ":$LATEST")
    assert client.get_runtime_management_config(FunctionName=hello_fn)["UpdateRuntimeOn"] == "FunctionUpdate"


def test_put_runtime_management_manual_with_current_runtime_version(client, hello_fn):
    cfg = client.get_function(FunctionName=hello_fn)["Configuration"]
    runtime_arn = cfg["RuntimeVersionConfig"]["RuntimeVersionArn"]

    put = client.put_runtime_management_config(
        FunctionName=hello_fn, UpdateRuntimeOn="Manual", RuntimeVersionArn=runtime_arn
    )
    got = client.get_runtime_management_config(FunctionName=hello_fn)

    assert put["UpdateRuntimeOn"] == "Manual"
    assert put["RuntimeVersionArn"] == runtime_arn
    assert got["UpdateRuntimeOn"] == "Manual"
    assert got["RuntimeVersionArn"] == runtime_arn


def test_put_runtime_management_manual_with_unknown_runtime_version_rejected(client, hello_fn):
    with client_error("InvalidParameterValueException", 400):
        client.put_runtime_management_config(
            FunctionName=hello_fn, UpdateRuntimeOn="Manual", RuntimeVersionArn=UNKNOWN_RUNTIME_ARN
        )

    assert client.get_runtime_management_config(FunctionName=hello_fn)["UpdateRuntimeOn"] == "Auto"


# ---------------------------------------------------------------------------------------------
# 10. GetAccountSettings
# ---------------------------------------------------------------------------------------------


def test_account_settings_limits(client):
    limit = client.get_account_settings()["AccountLimit"]

    assert limit["ConcurrentExecutions"] == 1000
    assert limit["CodeSizeZipped"] == 52428800
    assert limit["CodeSizeUnzipped"] == 262144000


def test_account_unreserved_concurrency_subtracts_reservations(client, hello_fn):
    client.put_function_concurrency(FunctionName=hello_fn, ReservedConcurrentExecutions=7)

    reserved = sum(
        client.get_function_concurrency(FunctionName=f["FunctionName"]).get(
            "ReservedConcurrentExecutions", 0
        )
        for f in list_all_functions(client)
    )
    settings = client.get_account_settings()

    assert reserved >= 7
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 1000 - reserved


def test_account_function_count_matches_list_functions(client, hello_fn):
    count = client.get_account_settings()["AccountUsage"]["FunctionCount"]

    listed = list_all_functions(client)
    assert hello_fn in {f["FunctionName"] for f in listed}
    assert count == len(listed)


# ---------------------------------------------------------------------------------------------
# 11. Error wire format
# ---------------------------------------------------------------------------------------------


def test_error_wire_format_for_missing_function(client, function_name):
    with pytest.raises(ClientError) as excinfo:
        client.get_function_configuration(FunctionName=function_name)

    response = excinfo.value.response
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["RequestId"]


def test_missing_function_raises_modeled_exception_class(client, function_name):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function(FunctionName=function_name)


# ---------------------------------------------------------------------------------------------
# 13. DeleteFunction
# ---------------------------------------------------------------------------------------------


def test_delete_function_then_get_not_found(client, hello_fn):
    client.delete_function(FunctionName=hello_fn)

    with client_error("ResourceNotFoundException", 404):
        client.get_function(FunctionName=hello_fn)
    assert hello_fn not in {f["FunctionName"] for f in list_all_functions(client)}


def test_delete_missing_function_not_found(client, function_name):
    with client_error("ResourceNotFoundException", 404):
        client.delete_function(FunctionName=function_name)


# ---------------------------------------------------------------------------------------------
# 12. Hard restart (kept last: it replaces the server process the whole session shares)
# ---------------------------------------------------------------------------------------------


def compiled_files(data_dir) -> dict[str, int]:
    root = data_dir / "compiled"
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()
    }


def without_code_location(resp: dict) -> dict:
    """GetFunction's output minus ResponseMetadata, with Code.Location checked and set aside (it
    may be a presigned URL whose signature or expiry differs between calls)."""
    out = strip(resp)
    if "Code" in out:
        code = dict(out["Code"])
        assert isinstance(code.pop("Location", None), str), out
        out["Code"] = code
    return out


def control_plane_snapshot(client, name: str) -> dict:
    return {
        "function": without_code_location(client.get_function(FunctionName=name)),
        "function:1": without_code_location(client.get_function(FunctionName=name, Qualifier="1")),
        "function:2": without_code_location(client.get_function(FunctionName=name, Qualifier="2")),
        "function:live": without_code_location(
            client.get_function(FunctionName=name, Qualifier="live")
        ),
        "configuration": strip(client.get_function_configuration(FunctionName=name)),
        "versions": strip(client.list_versions_by_function(FunctionName=name)),
        "aliases": strip(client.list_aliases(FunctionName=name)),
        "alias": strip(client.get_alias(FunctionName=name, Name="live")),
        "concurrency": strip(client.get_function_concurrency(FunctionName=name)),
        "runtime": strip(client.get_runtime_management_config(FunctionName=name)),
    }


def test_state_survives_hard_restart(lambkin, make_name, hello_wasm, echo_wasm):
    client = lambkin.client
    name = make_name("restart")
    create_function(client, name, hello_wasm, Description="survives kill -9")
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    update_code(client, name, echo_wasm)
    update_configuration(client, name, MemorySize=256, Environment={"Variables": {"KEY": "v"}})
    assert client.publish_version(FunctionName=name)["Version"] == "2"
    client.create_alias(
        FunctionName=name,
        Name="live",
        FunctionVersion="2",
        Description="weighted",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.25}},
    )
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=3)
    runtime_arn = client.get_function(FunctionName=name)["Configuration"]["RuntimeVersionConfig"][
        "RuntimeVersionArn"
    ]
    client.put_runtime_management_config(
        FunctionName=name, UpdateRuntimeOn="Manual", RuntimeVersionArn=runtime_arn
    )
    before = control_plane_snapshot(client, name)
    compiled_before = compiled_files(lambkin.data_dir)
    assert compiled_before, f"nothing under {lambkin.data_dir / 'compiled'} before the restart"

    lambkin.restart(hard=True)
    client = lambkin.client

    after = control_plane_snapshot(client, name)
    assert after == before
    wait_active(client, name)
    time.sleep(0.5)  # room for a (wrong) background recompilation to show up
    compiled_after = compiled_files(lambkin.data_dir)
    added = sorted(set(compiled_after) - set(compiled_before))
    rewritten = sorted(
        p for p in compiled_after if p in compiled_before and compiled_after[p] != compiled_before[p]
    )
    assert added == [], f"compiled after the restart: {added}"
    assert rewritten == [], f"recompiled after the restart: {rewritten}"
