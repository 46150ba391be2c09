#!/usr/bin/env python3
"""Writes the handcrafted seeds of the fuzz corpus: fuzz/corpus/<target>/seed-*.

The committed corpus is these seeds plus what the fuzzer found, minimized (`cargo fuzz cmin`);
rerunning this script only adds or rewrites the seed-* files. Formats: see crates/api/src/fuzzing.rs.
"""

import base64
import io
import json
import os
import re
import struct
import zipfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"
LAYER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps:1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fixture"

# The smallest component (empty, preamble only) and the smallest core module.
COMPONENT = b"\0asm\x0d\x00\x01\x00"
CORE_MODULE = b"\0asm\x01\x00\x00\x00"


def write(target, name, data):
    directory = os.path.join(ROOT, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, f"seed-{name}"), "wb") as f:
        f.write(data)


def zip_of(entries, method=zipfile.ZIP_STORED, comment=b""):
    """entries: (name, bytes) or (ZipInfo, bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as z:
        for name, data in entries:
            z.writestr(name, data)
        z.comment = comment
    return out.getvalue()


def symlink_zip():
    info = zipfile.ZipInfo("function.wasm")
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    return zip_of([(info, "/etc/passwd"), ("README", b"hi")])


def directory_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("lib/"), b"")
        z.writestr(zipfile.ZipInfo("lib/nested/"), b"")
        z.writestr("lib/nested/data.txt", b"layer data " * 20)
        z.writestr("function.wasm", COMPONENT)
    return out.getvalue()


def zip64_zip():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        with z.open("function.wasm", "w", force_zip64=True) as f:
            f.write(COMPONENT)
    return out.getvalue()


def patch_all(data, old, new):
    assert old in data
    return data.replace(old, new)


def bad_crc_zip():
    data = zip_of([("function.wasm", COMPONENT)])
    crc = struct.pack("<I", zlib.crc32(COMPONENT))
    return patch_all(data, crc, b"\xde\xad\xbe\xef")


def encrypted_flag_zip():
    data = bytearray(zip_of([("function.wasm", COMPONENT)]))
    # General purpose flag bit 0 (encrypted) in the local header and the central directory.
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 1
    data[central + 8] |= 1
    return bytes(data)


def lying_size_zip():
    """A deflated entry whose headers claim 8 bytes but which inflates to 64 KiB."""
    payload = b"\0" * 65536
    data = zip_of([("function.wasm", payload)], method=zipfile.ZIP_DEFLATED)
    size = struct.pack("<I", len(payload))
    return patch_all(data, size, struct.pack("<I", 8))


def bomb_zip():
    return zip_of([("function.wasm", b"\0" * (1 << 20))], method=zipfile.ZIP_DEFLATED)


def cp437_name_zip():
    info = zipfile.ZipInfo("caf\u00e9.wasm")
    data = zip_of([(info, COMPONENT)])
    # Clear the UTF-8 flag (bit 11) so the name is read as CP437.
    data = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):
        at = data.find(sig)
        data[at + offset] &= ~0x08 & 0xFF
    return bytes(data)


def packages():
    stored = zip_of([("function.wasm", COMPONENT)])
    return {
        "raw-component": COMPONENT,
        "raw-core-module": CORE_MODULE,
        "zip-stored": stored,
        "zip-deflated": zip_of(
            [("README.md", b"# hello\n" * 10), ("function.wasm", COMPONENT)],
            method=zipfile.ZIP_DEFLATED,
        ),
        "zip-dot-slash": zip_of([("./function.wasm", COMPONENT)]),
        "zip-nested-dirs": directory_zip(),
        "zip-wrong-name": zip_of([("other.wasm", COMPONENT)]),
        "zip-duplicate-names": zip_of([("function.wasm", CORE_MODULE), ("function.wasm", COMPONENT)]),
        "zip-traversal": zip_of([("../function.wasm", COMPONENT)]),
        "zip-traversal-deep": zip_of([("lib/../../etc/function.wasm", COMPONENT)]),
        "zip-absolute": zip_of([("/etc/function.wasm", COMPONENT)]),
        "zip-backslash": zip_of([("..\\function.wasm", COMPONENT)]),
        "zip-symlink": symlink_zip(),
        "zip-empty": zip_of([]),
        "zip-comment": zip_of([("function.wasm", COMPONENT)], comment=b"lambkin"),
        "zip-bad-crc": bad_crc_zip(),
        "zip-encrypted-flag": encrypted_flag_zip(),
        "zip-lying-size": lying_size_zip(),
        "zip-bomb": bomb_zip(),
        "zip64": zip64_zip(),
        "zip-bzip2": zip_of([("function.wasm", COMPONENT * 4)], method=zipfile.ZIP_BZIP2),
        "zip-lzma": zip_of([("function.wasm", COMPONENT * 4)], method=zipfile.ZIP_LZMA),
        "zip-cp437-name": cp437_name_zip(),
        "zip-truncated": stored[: len(stored) // 2],
        "zip-no-eocd": stored[:-22],
        "pk-garbage": b"PK\x03\x04garbage",
        "text": b"hello, not a package",
    }


def fuzzing_bodies():
    """The request bodies api_json reads, in the order of its first byte: crates/api/src/fuzzing.rs's
    `BODIES`, read from there so the two never disagree."""
    source = open(os.path.join(os.path.dirname(ROOT), "..", "crates", "api", "src", "fuzzing.rs")).read()
    listing = re.search(r"pub const BODIES: \[&str; \d+\] = \[(.*?)\];", source, re.S)
    return re.findall(r'"(\w+)"', listing.group(1))


BODIES = fuzzing_bodies()


def b64(data):
    return base64.b64encode(data).decode()


def api_bodies():
    zipped = b64(zip_of([("function.wasm", COMPONENT)], method=zipfile.ZIP_DEFLATED))
    full_config = {
        "Role": ROLE,
        "Handler": "function.wasm",
        "Runtime": "provided.al2023",
        "Description": "a function",
        "Timeout": 30,
        "MemorySize": 256,
        "Environment": {"Variables": {"GREETING": "hello", "LOG_LEVEL": "debug"}},
        "EphemeralStorage": {"Size": 1024},
        "SnapStart": {"ApplyOn": "PublishedVersions"},
        "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "INFO"},
        "Layers": [LAYER],
        "TracingConfig": {"Mode": "Active"},
        "VpcConfig": {"SubnetIds": ["subnet-1"], "SecurityGroupIds": []},
        "DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"},
        "KMSKeyArn": "",
        "FileSystemConfigs": [],
    }
    create = {"FunctionName": "hello", "Code": {"ZipFile": zipped}, **full_config}
    create_minimal = {
        "FunctionName": "hello",
        "Runtime": "provided.al2023",
        "Role": ROLE,
        "Code": {"ZipFile": b64(COMPONENT)},
    }
    seeds = {
        "CreateFunction": {
            "full": {**create, "Publish": True, "PackageType": "Zip", "Architectures": ["arm64"]},
            "minimal": create_minimal,
            "s3": {**create_minimal, "Code": {"S3Bucket": "bucket", "S3Key": "fn.zip"}},
            "image": {**create_minimal, "Code": {"ImageUri": "repo:latest"}, "PackageType": "Image"},
            "bad-base64": {**create_minimal, "Code": {"ZipFile": "not base64!"}},
            "no-role": {"FunctionName": "hello", "Runtime": "provided.al2023", "Code": {}},
            "bad-runtime": {**create_minimal, "Runtime": "python3.12"},
            "reserved-env": {**create_minimal, "Environment": {"Variables": {"AWS_REGION": "x"}}},
            "two-architectures": {**create_minimal, "Architectures": ["x86_64", "arm64"]},
            "six-layers": {**create_minimal, "Layers": [LAYER] * 6},
            "arn-name": {**create_minimal, "FunctionName": FUNCTION_ARN},
        },
        "UpdateFunctionConfiguration": {
            "full": {**full_config, "RevisionId": "fixture-revision"},
            "empty": {},
            "stale-revision": {"RevisionId": "other", "Timeout": 10},
            "bad-timeout": {"Timeout": 0},
            "bad-memory": {"MemorySize": 10241},
            "bad-log-format": {"LoggingConfig": {"LogFormat": "XML"}},
            "bad-tracing": {"TracingConfig": {"Mode": "Off"}},
            "unknown-layer": {"Layers": [LAYER[:-1] + "7"]},
        },
        "UpdateFunctionCode": {
            "zip": {"ZipFile": zipped, "Publish": True, "RevisionId": "fixture-revision"},
            "raw": {"ZipFile": b64(COMPONENT), "DryRun": True, "Architectures": ["x86_64"]},
            "s3": {"S3Bucket": "bucket", "S3Key": "fn.zip"},
            "none": {},
            "image": {"ImageUri": "repo:latest"},
        },
        "PublishVersion": {
            "full": {"CodeSha256": "fixture-sha", "Description": "v1", "RevisionId": "fixture-revision"},
            "empty": {},
            "wrong-sha": {"CodeSha256": "other"},
            "long-description": {"Description": "d" * 300},
        },
        "CreateAlias": {
            "simple": {"Name": "live", "FunctionVersion": "1", "Description": "prod"},
            "weighted": {
                "Name": "canary",
                "FunctionVersion": "1",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}},
            },
            "latest": {"Name": "dev", "FunctionVersion": "$LATEST"},
            "numeric-name": {"Name": "123", "FunctionVersion": "1"},
            "bad-weight": {
                "Name": "x",
                "FunctionVersion": "1",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 1.5}},
            },
            "two-weights": {
                "Name": "x",
                "FunctionVersion": "1",
                "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1, "3": 0.2}},
            },
        },
        "UpdateAlias": {
            "version": {"FunctionVersion": "2", "RevisionId": "alias-revision"},
            "weights": {"RoutingConfig": {"AdditionalVersionWeights": {"2": 0.5}}},
            "clear-weights": {"RoutingConfig": {"AdditionalVersionWeights": {}}},
            "to-alias": {"FunctionVersion": "live"},
            "stale": {"RevisionId": "other"},
        },
        "PutFunctionConcurrency": {
            "ten": {"ReservedConcurrentExecutions": 10},
            "zero": {"ReservedConcurrentExecutions": 0},
            "too-many": {"ReservedConcurrentExecutions": 1000},
            "missing": {},
            "negative": {"ReservedConcurrentExecutions": -1},
        },
        "PutProvisionedConcurrencyConfig": {
            "five": {"ProvisionedConcurrentExecutions": 5},
            "zero": {"ProvisionedConcurrentExecutions": 0},
            "too-many": {"ProvisionedConcurrentExecutions": 5000},
            "missing": {},
        },
        "PutFunctionEventInvokeConfig": {
            "full": {
                "MaximumRetryAttempts": 1,
                "MaximumEventAgeInSeconds": 3600,
                "DestinationConfig": {
                    "OnSuccess": {"Destination": FUNCTION_ARN},
                    "OnFailure": {"Destination": "https://example.com/hook"},
                },
            },
            "sqs": {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:q"}}},
            "retries": {"MaximumRetryAttempts": 3},
            "age": {"MaximumEventAgeInSeconds": 59},
        },
        "CreateFunctionUrlConfig": {
            "full": {
                "AuthType": "NONE",
                "InvokeMode": "RESPONSE_STREAM",
                "Cors": {
                    "AllowCredentials": True,
                    "AllowHeaders": ["content-type"],
                    "AllowMethods": ["GET", "post", "*"],
                    "AllowOrigins": ["https://example.com"],
                    "ExposeHeaders": ["x-id"],
                    "MaxAge": 3600,
                },
            },
            "iam": {"AuthType": "AWS_IAM"},
            "bad-auth": {"AuthType": "BASIC"},
            "bad-method": {"AuthType": "NONE", "Cors": {"AllowMethods": ["TRACE"]}},
            "bad-age": {"AuthType": "NONE", "Cors": {"MaxAge": 86401}},
        },
        "PublishLayerVersion": {
            "full": {
                "Description": "deps",
                "Content": {"ZipFile": b64(directory_zip())},
                "CompatibleRuntimes": ["provided.al2023", "provided"],
                "LicenseInfo": "MIT",
                "CompatibleArchitectures": ["x86_64"],
            },
            "s3": {"Content": {"S3Bucket": "bucket", "S3Key": "layer.zip"}},
            "no-content": {},
            "traversal": {"Content": {"ZipFile": b64(zip_of([("../x", b"x")]))}},
            "bad-runtime": {"Content": {"ZipFile": zipped}, "CompatibleRuntimes": ["nodejs20.x"]},
        },
    }
    out = {}
    for body, variants in seeds.items():
        selector = bytes([BODIES.index(body)])
        for variant, value in variants.items():
            out[f"{body}-{variant}"] = selector + json.dumps(value).encode()
    # Bodies that are not JSON objects.
    out["CreateFunction-empty-body"] = bytes([0])
    out["CreateFunction-whitespace"] = bytes([0]) + b" \n\t"
    out["UpdateFunctionConfiguration-array"] = bytes([1]) + b"[1,2]"
    out["PublishVersion-truncated"] = bytes([3]) + b'{"Description": "x'
    invoke = bytes([BODIES.index("Invoke")])
    out["Invoke-payload"] = invoke + b'{"name": "world"}'
    out["Invoke-empty"] = invoke
    out["Invoke-headers"] = (
        invoke
        + b"x-amz-invocation-type: Event\nx-amz-log-type: Tail\n"
        + b"x-amz-client-context: "
        + base64.b64encode(b'{"custom": {"a": 1}}')
        + b"\n\n[1, 2, 3]"
    )
    out["Invoke-bad-context"] = invoke + b"x-amz-client-context: e30\n\n{}"
    out["Invoke-bad-log-type"] = invoke + b"x-amz-log-type: Full\n\n{}"
    out["Invoke-not-json"] = invoke + b"\n\nhello"
    out["Invoke-string"] = invoke + b'"just a string"'
    return out


def identifiers():
    return {
        "name": "hello",
        "name-underscore": "my_function-2",
        "name-qualified": "hello:live",
        "name-latest": "hello:$LATEST",
        "name-version": "hello:12",
        "partial-arn": f"{ACCOUNT}:function:hello",
        "partial-arn-qualified": f"{ACCOUNT}:function:hello:1",
        "full-arn": FUNCTION_ARN,
        "full-arn-qualified": f"{FUNCTION_ARN}:live",
        "full-arn-china": f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:hello",
        "other-account": f"arn:aws:lambda:{REGION}:000000000000:function:hello",
        "other-region": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:hello",
        "too-many-parts": f"{FUNCTION_ARN}:1:2",
        "qualifier-param": "hello\nlive",
        "qualifier-mismatch": "hello:1\n2",
        "qualifier-empty": "hello\n",
        "qualifier-bad": "hello\na/b",
        "empty": "",
        "long-name": "a" * 65,
        "long-id": "a" * 257,
        "unicode": "h\u00e9llo",
        "layer-name": "deps",
        "layer-arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps",
        "layer-version-arn": LAYER,
        "layer-version-list": ",".join([LAYER] * 2),
        "layer-version-list-too-long": ",".join([LAYER] * 6),
        "layer-unknown-version": LAYER[:-1] + "9",
        "role": ROLE,
        "role-short-account": "arn:aws:iam::1234:role/x",
        "alias-numeric": "123",
        "colons": ":::",
    }


def main():
    for name, data in packages().items():
        write("package", name, data)
    for name, data in api_bodies().items():
        write("api_json", name, data)
    for name, data in identifiers().items():
        write("identifiers", name, data)


if __name__ == "__main__":
    main()
