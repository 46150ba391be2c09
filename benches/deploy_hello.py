"""Deploys examples' `hello` as function `hello` on a lambkin at 127.0.0.1:<port> and invokes it
once, so a load run starts warm. Shared by http_load.sh and logs_overhead.sh.

    python3 benches/deploy_hello.py <port> <hello.wasm>
"""

import sys
import time

import boto3

port, wasm = sys.argv[1], sys.argv[2]
client = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="x")
client.create_function(FunctionName="hello", Role="arn:aws:iam::000000000000:role/bench",
                       Runtime="provided.al2023", Handler="hello.wasm",
                       Code={"ZipFile": open(wasm, "rb").read()})
for _ in range(300):
    if client.get_function_configuration(FunctionName="hello")["State"] == "Active":
        break
    time.sleep(0.05)
assert client.invoke(FunctionName="hello", Payload=b'{"name":"load"}')["StatusCode"] == 200
