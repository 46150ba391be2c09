"""boto3 against lambkin's layers: PublishLayerVersion, GetLayerVersion, ListLayerVersions,
DeleteLayerVersion, ListLayers, the layer version permissions (AddLayerVersionPermission,
GetLayerVersionPolicy, RemoveLayerVersionPermission), and functions that reference layer versions.

Every test makes its own layers (unique names; their versions are deleted afterwards, best effort)
and its own functions (deleted afterwards). ListLayers is account-wide, so its tests only look for
their own layers among whatever the server lists. The hard-restart test runs last.
"""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import ACCOUNT, REGION
from helpers import (
    ISO_8601,
    RUNTIME,
    client_error,
    create_function,
    sha256_b64,
    status_of,
    strip,
    update_configuration,
    zip_of,
)

LAYER_ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:"

LAYER_FILES = {"config/greeting.txt": b"hello from a layer"}
DESCRIPTION = "greeting layer"
LICENSE = "MIT"
ARCHITECTURES = ["x86_64"]
MAX_LAYERS_PER_FUNCTION = 5


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def layer_arn(name: str) -> str:
    return LAYER_ARN_PREFIX + name


def layer_version_arn(name: str, version: int) -> str:
    return f"{layer_arn(name)}:{version}"


LAYER_ZIP = zip_of(LAYER_FILES)


def publish(client, name: str, content: bytes = LAYER_ZIP, **extra) -> dict:
    """PublishLayerVersion with the suite's defaults (description, provided.al2023, MIT, x86_64);
    keyword arguments override or add parameters."""
    params = {
        "LayerName": name,
        "Content": {"ZipFile": content},
        "Description": DESCRIPTION,
        "CompatibleRuntimes": [RUNTIME],
        "LicenseInfo": LICENSE,
        "CompatibleArchitectures": ARCHITECTURES,
    }
    params.update(extra)
    return client.publish_layer_version(**params)


def without_location(resp: dict) -> dict:
    """A layer version (Get/Publish output) minus ResponseMetadata, with Content.Location checked
    and set aside (it may be a presigned URL whose signature or expiry differs between calls)."""
    out = strip(resp)
    content = dict(out["Content"])
    location = content.pop("Location", None)
    assert isinstance(location, str) and location, out
    out["Content"] = content
    return out


def as_list_item(version: dict) -> dict:
    """What ListLayerVersions / ListLayers report for a layer version, given its Publish or Get
    output: everything but Content and LayerArn."""
    return {
        k: v
        for k, v in version.items()
        if k not in ("ResponseMetadata", "Content", "LayerArn")
    }


def list_versions(client, name: str, **kwargs) -> list[int]:
    resp = client.list_layer_versions(LayerName=name, **kwargs)
    return [v["Version"] for v in resp["LayerVersions"]]


def list_all_layers(client, **filters) -> dict[str, dict]:
    """Every layer ListLayers reports (all pages), by name."""
    layers: dict[str, dict] = {}
    for page in client.get_paginator("list_layers").paginate(
        PaginationConfig={"PageSize": 50}, **filters
    ):
        for layer in page["Layers"]:
            assert layer["LayerName"] not in layers, f"listed twice: {layer}"
            layers[layer["LayerName"]] = layer
    return layers


def layer_reference(version: dict) -> dict:
    """How a function's configuration lists a layer version (given its Publish output)."""
    return {"Arn": version["LayerVersionArn"], "CodeSize": version["Content"]["CodeSize"]}


@pytest.fixture
def make_layer_name(lambkin):
    """Factory of unique layer names; every version of every layer so named is deleted after the
    test (best effort)."""
    names: list[str] = []

    def make(prefix: str = "layer") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        names.append(name)
        return name

    yield make
    for name in names:
        client = lambkin.client
        if client is None:
            break
        try:
            for version in list_versions(client, name, MaxItems=50):
                client.delete_layer_version(LayerName=name, VersionNumber=version)
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass


@pytest.fixture
def layer_name(make_layer_name) -> str:
    return make_layer_name()


@pytest.fixture
def two_layer_versions(client, layer_name) -> tuple[str, dict, dict]:
    """A layer with versions 1 and 2 (same content; version 2 described "second")."""
    v1 = publish(client, layer_name)
    v2 = publish(client, layer_name, Description="second")
    assert (v1["Version"], v2["Version"]) == (1, 2)
    return layer_name, v1, v2


# ---------------------------------------------------------------------------------------------
# 1. PublishLayerVersion
# ---------------------------------------------------------------------------------------------


def test_publish_layer_version_returns_version_1(client, layer_name):
    resp = publish(client, layer_name)

    assert status_of(resp) == 201
    assert resp["LayerArn"] == layer_arn(layer_name)
    assert resp["LayerVersionArn"] == layer_version_arn(layer_name, 1)
    assert resp["Version"] == 1
    assert resp["Description"] == DESCRIPTION
    assert isinstance(resp["CreatedDate"], str)
    assert ISO_8601.match(resp["CreatedDate"]), resp["CreatedDate"]
    assert resp["CompatibleRuntimes"] == [RUNTIME]
    assert resp["LicenseInfo"] == LICENSE
    assert resp["CompatibleArchitectures"] == ARCHITECTURES
    assert isinstance(resp["Content"]["Location"], str) and resp["Content"]["Location"]
    assert resp["Content"]["CodeSha256"] == sha256_b64(LAYER_ZIP)
    assert resp["Content"]["CodeSize"] == len(LAYER_ZIP)


def test_publish_identical_content_again_returns_version_2(client, layer_name):
    first = publish(client, layer_name)
    second = publish(client, layer_name)

    assert first["Version"] == 1
    assert second["Version"] == 2
    assert second["LayerArn"] == layer_arn(layer_name)
    assert second["LayerVersionArn"] == layer_version_arn(layer_name, 2)
    assert second["Content"]["CodeSha256"] == first["Content"]["CodeSha256"]
    assert second["Content"]["CodeSize"] == first["Content"]["CodeSize"]


def test_layer_version_numbers_not_reused_after_delete(client, two_layer_versions):
    name, _, _ = two_layer_versions
    client.delete_layer_version(LayerName=name, VersionNumber=2)

    third = publish(client, name)

    assert third["Version"] == 3
    assert third["LayerVersionArn"] == layer_version_arn(name, 3)
    assert list_versions(client, name) == [3, 1]


def test_publish_layer_not_a_zip_rejected(client, layer_name):
    with client_error("InvalidParameterValueException", 400):
        publish(client, layer_name, content=b"not a zip")


def test_publish_layer_zip_with_path_traversal_rejected(client, layer_name):
    archive = zip_of({"../escape.txt": b"outside the layer"})
    with client_error("InvalidParameterValueException", 400):
        publish(client, layer_name, content=archive)


def test_publish_layer_without_content_source_rejected(client, layer_name):
    with client_error("InvalidParameterValueException", 400):
        publish(client, layer_name, Content={})


def test_publish_layer_with_invalid_name_rejected(client):
    with client_error("InvalidParameterValueException", 400):
        publish(client, "bad name!")


def test_rejected_publish_creates_no_version(client, layer_name):
    with client_error("InvalidParameterValueException", 400):
        publish(client, layer_name, content=b"not a zip")

    assert list_versions(client, layer_name) == []
    assert publish(client, layer_name)["Version"] == 1


# ---------------------------------------------------------------------------------------------
# 2. GetLayerVersion
# ---------------------------------------------------------------------------------------------


def test_get_layer_version_matches_publish_response(client, layer_name):
    published = publish(client, layer_name)

    got = client.get_layer_version(LayerName=layer_name, VersionNumber=1)

    assert status_of(got) == 200
    assert without_location(got) == without_location(published)


def test_get_layer_version_by_layer_arn(client, layer_name):
    published = publish(client, layer_name)

    got = client.get_layer_version(LayerName=layer_arn(layer_name), VersionNumber=1)

    assert without_location(got) == without_location(published)


def test_get_each_layer_version(client, two_layer_versions):
    name, v1, v2 = two_layer_versions

    for published in (v1, v2):
        got = client.get_layer_version(LayerName=name, VersionNumber=published["Version"])
        assert without_location(got) == without_location(published)


def test_get_missing_layer_version_not_found(client, layer_name):
    publish(client, layer_name)

    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version(LayerName=layer_name, VersionNumber=2)


def test_get_version_of_missing_layer_not_found(client, layer_name):
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version(LayerName=layer_name, VersionNumber=1)


# ---------------------------------------------------------------------------------------------
# 3. ListLayerVersions
# ---------------------------------------------------------------------------------------------


def test_list_layer_versions_newest_first(client, two_layer_versions):
    name, v1, v2 = two_layer_versions

    resp = client.list_layer_versions(LayerName=name)

    assert status_of(resp) == 200
    assert resp["LayerVersions"] == [as_list_item(v2), as_list_item(v1)]
    assert "NextMarker" not in resp


def test_list_layer_versions_items_have_no_content(client, two_layer_versions):
    name, _, _ = two_layer_versions

    items = client.list_layer_versions(LayerName=name)["LayerVersions"]

    for item in items:
        assert "Content" not in item, item
        assert set(item) == {
            "LayerVersionArn",
            "Version",
            "Description",
            "CreatedDate",
            "CompatibleRuntimes",
            "LicenseInfo",
            "CompatibleArchitectures",
        }


def test_list_layer_versions_max_items_and_marker(client, two_layer_versions):
    name, _, _ = two_layer_versions

    first = client.list_layer_versions(LayerName=name, MaxItems=1)
    assert [v["Version"] for v in first["LayerVersions"]] == [2]
    assert isinstance(first.get("NextMarker"), str) and first["NextMarker"]

    second = client.list_layer_versions(LayerName=name, MaxItems=1, Marker=first["NextMarker"])
    assert [v["Version"] for v in second["LayerVersions"]] == [1]
    if second.get("NextMarker"):
        third = client.list_layer_versions(
            LayerName=name, MaxItems=1, Marker=second["NextMarker"]
        )
        assert third["LayerVersions"] == []


def test_list_layer_versions_paginator(client, two_layer_versions):
    name, _, _ = two_layer_versions
    publish(client, name)

    seen = []
    for page in client.get_paginator("list_layer_versions").paginate(
        LayerName=name, PaginationConfig={"PageSize": 1}
    ):
        assert len(page["LayerVersions"]) <= 1
        seen.extend(v["Version"] for v in page["LayerVersions"])

    assert seen == [3, 2, 1]


def test_list_versions_of_never_published_layer_is_empty(client, layer_name):
    resp = client.list_layer_versions(LayerName=layer_name)

    assert status_of(resp) == 200
    assert resp["LayerVersions"] == []


def test_list_versions_of_layer_with_all_versions_deleted_is_empty(client, two_layer_versions):
    name, _, _ = two_layer_versions
    for version in (1, 2):
        client.delete_layer_version(LayerName=name, VersionNumber=version)

    resp = client.list_layer_versions(LayerName=name)

    assert status_of(resp) == 200
    assert resp["LayerVersions"] == []


# ---------------------------------------------------------------------------------------------
# 4. DeleteLayerVersion
# ---------------------------------------------------------------------------------------------


def test_delete_layer_version_returns_204_then_get_not_found(client, two_layer_versions):
    name, v1, _ = two_layer_versions

    resp = client.delete_layer_version(LayerName=name, VersionNumber=2)

    assert status_of(resp) == 204
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version(LayerName=name, VersionNumber=2)
    assert without_location(client.get_layer_version(LayerName=name, VersionNumber=1)) == (
        without_location(v1)
    )
    assert list_versions(client, name) == [1]


def test_delete_layer_version_twice_is_idempotent(client, layer_name):
    publish(client, layer_name)
    client.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    resp = client.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    assert status_of(resp) == 204
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version(LayerName=layer_name, VersionNumber=1)


# ---------------------------------------------------------------------------------------------
# 5. ListLayers
# ---------------------------------------------------------------------------------------------


def test_list_layers_reports_latest_version(client, make_layer_name):
    one, two = make_layer_name(), make_layer_name()
    publish(client, one)
    latest_one = publish(client, one, Description="latest of one")
    latest_two = publish(client, two)

    layers = list_all_layers(client)

    assert layers[one] == {
        "LayerName": one,
        "LayerArn": layer_arn(one),
        "LatestMatchingVersion": as_list_item(latest_one),
    }
    assert layers[two] == {
        "LayerName": two,
        "LayerArn": layer_arn(two),
        "LatestMatchingVersion": as_list_item(latest_two),
    }


def test_list_layers_latest_version_after_deleting_newest(client, two_layer_versions):
    name, v1, _ = two_layer_versions
    client.delete_layer_version(LayerName=name, VersionNumber=2)

    layers = list_all_layers(client)

    assert layers[name]["LatestMatchingVersion"] == as_list_item(v1)


def test_list_layers_omits_layer_without_versions(client, make_layer_name):
    emptied, never = make_layer_name(), make_layer_name()
    publish(client, emptied)
    client.delete_layer_version(LayerName=emptied, VersionNumber=1)

    layers = list_all_layers(client)

    assert emptied not in layers
    assert never not in layers


def test_list_layers_compatible_runtime_filter(client, make_layer_name):
    matching, other = make_layer_name(), make_layer_name()
    latest = publish(client, matching)
    client.publish_layer_version(LayerName=other, Content={"ZipFile": LAYER_ZIP})

    unfiltered = list_all_layers(client)
    filtered = list_all_layers(client, CompatibleRuntime=RUNTIME)

    assert matching in unfiltered and other in unfiltered
    assert other not in filtered
    assert filtered[matching]["LatestMatchingVersion"] == as_list_item(latest)
    for layer in filtered.values():
        assert RUNTIME in layer["LatestMatchingVersion"].get("CompatibleRuntimes", []), layer


def test_list_layers_compatible_runtime_filter_reports_latest_matching_version(
    client, layer_name
):
    matching = publish(client, layer_name)
    client.publish_layer_version(LayerName=layer_name, Content={"ZipFile": LAYER_ZIP})

    filtered = list_all_layers(client, CompatibleRuntime=RUNTIME)
    unfiltered = list_all_layers(client)

    assert filtered[layer_name]["LatestMatchingVersion"] == as_list_item(matching)
    assert unfiltered[layer_name]["LatestMatchingVersion"]["Version"] == 2


# ---------------------------------------------------------------------------------------------
# 6. Functions with layers
# ---------------------------------------------------------------------------------------------


def test_create_function_with_layer(client, function_name, layer_name, hello_wasm):
    version = publish(client, layer_name)

    resp = create_function(
        client, function_name, hello_wasm, Layers=[version["LayerVersionArn"]]
    )

    expected = [{"Arn": layer_version_arn(layer_name, 1), "CodeSize": len(LAYER_ZIP)}]
    assert status_of(resp) == 201
    assert resp["Layers"] == expected
    assert client.get_function_configuration(FunctionName=function_name)["Layers"] == expected
    assert client.get_function(FunctionName=function_name)["Configuration"]["Layers"] == expected


def test_update_configuration_sets_layers_in_order(
    client, function_name, make_layer_name, hello_wasm
):
    first = publish(client, make_layer_name())
    second = publish(client, make_layer_name(), content=zip_of({"other.txt": b"second layer"}))
    create_function(client, function_name, hello_wasm)

    resp = update_configuration(
        client,
        function_name,
        Layers=[second["LayerVersionArn"], first["LayerVersionArn"]],
    )

    expected = [layer_reference(second), layer_reference(first)]
    assert resp["Layers"] == expected
    assert client.get_function_configuration(FunctionName=function_name)["Layers"] == expected


def test_update_configuration_with_empty_layers_clears_them(
    client, function_name, layer_name, hello_wasm
):
    version = publish(client, layer_name)
    create_function(client, function_name, hello_wasm, Layers=[version["LayerVersionArn"]])

    update_configuration(client, function_name, Layers=[])

    cfg = client.get_function_configuration(FunctionName=function_name)
    assert cfg.get("Layers", []) == []


def test_update_configuration_without_layers_keeps_them(
    client, function_name, layer_name, hello_wasm
):
    version = publish(client, layer_name)
    create_function(client, function_name, hello_wasm, Layers=[version["LayerVersionArn"]])

    update_configuration(client, function_name, Description="layers untouched")

    cfg = client.get_function_configuration(FunctionName=function_name)
    assert cfg["Layers"] == [layer_reference(version)]


def test_create_function_with_unknown_layer_version_rejected(
    client, function_name, layer_name, hello_wasm
):
    publish(client, layer_name)

    with client_error("InvalidParameterValueException", 400):
        create_function(
            client,
            function_name,
            hello_wasm,
            wait=False,
            Layers=[layer_version_arn(layer_name, 99)],
        )
    with client_error("ResourceNotFoundException", 404):
        client.get_function(FunctionName=function_name)


def test_update_configuration_with_unknown_layer_version_rejected(
    client, function_name, layer_name, hello_wasm
):
    version = publish(client, layer_name)
    create_function(client, function_name, hello_wasm, Layers=[version["LayerVersionArn"]])

    with client_error("InvalidParameterValueException", 400):
        client.update_function_configuration(
            FunctionName=function_name, Layers=[layer_version_arn(layer_name, 99)]
        )
    cfg = client.get_function_configuration(FunctionName=function_name)
    assert cfg["Layers"] == [layer_reference(version)]


def test_create_function_with_five_layers_accepted(
    client, function_name, make_layer_name, hello_wasm
):
    versions = [publish(client, make_layer_name()) for _ in range(MAX_LAYERS_PER_FUNCTION)]

    resp = create_function(
        client, function_name, hello_wasm, Layers=[v["LayerVersionArn"] for v in versions]
    )

    assert resp["Layers"] == [layer_reference(v) for v in versions]


def test_create_function_with_six_layers_rejected(
    client, function_name, make_layer_name, hello_wasm
):
    # Six distinct layers, so that only the count (not a repeated layer) can be the reason.
    arns = [
        publish(client, make_layer_name())["LayerVersionArn"]
        for _ in range(MAX_LAYERS_PER_FUNCTION + 1)
    ]

    with client_error("InvalidParameterValueException", 400):
        create_function(client, function_name, hello_wasm, wait=False, Layers=arns)


def test_update_configuration_with_six_layers_rejected(
    client, function_name, make_layer_name, hello_wasm
):
    arns = [
        publish(client, make_layer_name())["LayerVersionArn"]
        for _ in range(MAX_LAYERS_PER_FUNCTION + 1)
    ]
    create_function(client, function_name, hello_wasm)

    with client_error("InvalidParameterValueException", 400):
        client.update_function_configuration(FunctionName=function_name, Layers=arns)
    assert client.get_function_configuration(FunctionName=function_name).get("Layers", []) == []


# ---------------------------------------------------------------------------------------------
# 7. AddLayerVersionPermission, GetLayerVersionPolicy, RemoveLayerVersionPermission
# ---------------------------------------------------------------------------------------------


def layer_policy(client, name: str, version: int) -> tuple[list[dict], str]:
    """The statements of a layer version's policy and its RevisionId."""
    resp = client.get_layer_version_policy(LayerName=name, VersionNumber=version)
    document = json.loads(resp["Policy"])
    assert (document["Version"], document["Id"]) == ("2012-10-17", "default"), document
    return document["Statement"], resp["RevisionId"]


def test_layer_permissions_are_added_read_and_removed(client, two_layer_versions):
    name, _v1, v2 = two_layer_versions
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version_policy(LayerName=name, VersionNumber=2)

    added = client.add_layer_version_permission(
        LayerName=name,
        VersionNumber=2,
        StatementId="xaccount",
        Action="lambda:GetLayerVersion",
        Principal="210987654321",
    )
    assert status_of(added) == 201
    assert json.loads(added["Statement"]) == {
        "Sid": "xaccount",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": v2["LayerVersionArn"],
    }
    org = client.add_layer_version_permission(
        LayerName=layer_arn(name),  # the layer's ARN names it too
        VersionNumber=2,
        StatementId="my-org",
        Action="lambda:GetLayerVersion",
        Principal="*",
        OrganizationId="o-abcdefghij",
        RevisionId=added["RevisionId"],
    )
    statements, revision = layer_policy(client, name, 2)
    assert [s["Sid"] for s in statements] == ["xaccount", "my-org"]
    assert statements[1]["Principal"] == "*"
    assert statements[1]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
    assert revision == org["RevisionId"] != added["RevisionId"]
    # Version 1 has its own (empty) policy.
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version_policy(LayerName=name, VersionNumber=1)

    with client_error("ResourceConflictException", 409):
        client.add_layer_version_permission(
            LayerName=name,
            VersionNumber=2,
            StatementId="xaccount",
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
    with client_error("PreconditionFailedException", 412):
        client.remove_layer_version_permission(
            LayerName=name, VersionNumber=2, StatementId="xaccount", RevisionId=added["RevisionId"]
        )
    client.remove_layer_version_permission(
        LayerName=name, VersionNumber=2, StatementId="xaccount", RevisionId=revision
    )
    assert [s["Sid"] for s in layer_policy(client, name, 2)[0]] == ["my-org"]
    with client_error("ResourceNotFoundException", 404):
        client.remove_layer_version_permission(LayerName=name, VersionNumber=2, StatementId="xaccount")
    client.remove_layer_version_permission(LayerName=name, VersionNumber=2, StatementId="my-org")
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version_policy(LayerName=name, VersionNumber=2)


def test_layer_permissions_refuse_what_a_layer_cannot_grant(client, two_layer_versions):
    name, _v1, _v2 = two_layer_versions
    grant = {"LayerName": name, "VersionNumber": 1, "StatementId": "s"}
    with client_error("InvalidParameterValueException", 400):
        client.add_layer_version_permission(**grant, Action="lambda:InvokeFunction", Principal="*")
    with client_error("InvalidParameterValueException", 400):
        client.add_layer_version_permission(
            **grant, Action="lambda:GetLayerVersion", Principal="s3.amazonaws.com"
        )
    with client_error("ResourceNotFoundException", 404):
        client.add_layer_version_permission(
            LayerName=name,
            VersionNumber=9,
            StatementId="s",
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
    # Nothing of a refused request was kept.
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version_policy(LayerName=name, VersionNumber=1)


def test_deleting_a_layer_version_deletes_its_policy(client, layer_name):
    publish(client, layer_name)
    client.add_layer_version_permission(
        LayerName=layer_name,
        VersionNumber=1,
        StatementId="everyone",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    client.delete_layer_version(LayerName=layer_name, VersionNumber=1)
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version_policy(LayerName=layer_name, VersionNumber=1)


# ---------------------------------------------------------------------------------------------
# 8. Hard restart (kept last: it replaces the server process the whole session shares)
# ---------------------------------------------------------------------------------------------


def layers_snapshot(client, function: str, layer: str) -> dict:
    return {
        "layer:1": without_location(client.get_layer_version(LayerName=layer, VersionNumber=1)),
        "versions": strip(client.list_layer_versions(LayerName=layer)),
        "function layers": client.get_function_configuration(FunctionName=function)["Layers"],
    }


def test_layers_survive_hard_restart(lambkin, make_name, make_layer_name, hello_wasm):
    client = lambkin.client
    function, layer = make_name("layered"), make_layer_name()
    v1 = publish(client, layer)
    publish(client, layer, Description="deleted before the restart")
    client.delete_layer_version(LayerName=layer, VersionNumber=2)
    create_function(client, function, hello_wasm, Layers=[v1["LayerVersionArn"]])
    client.add_layer_version_permission(
        LayerName=layer,
        VersionNumber=1,
        StatementId="everyone",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    before = layers_snapshot(client, function, layer)
    before["policy"] = layer_policy(client, layer, 1)
    assert before["function layers"] == [layer_reference(v1)]

    lambkin.restart(hard=True)
    client = lambkin.client

    after = layers_snapshot(client, function, layer)
    after["policy"] = layer_policy(client, layer, 1)
    assert after == before
    with client_error("ResourceNotFoundException", 404):
        client.get_layer_version(LayerName=layer, VersionNumber=2)
    assert publish(client, layer)["Version"] == 3
