#!/usr/bin/env python3
"""One function, one layer, a few invocations: `try.py HANDLER [PAYLOAD] [--env K=V ...] [--times N]`.

A development aid next to demo.py: starts lambkin serve, publishes demo/layer as the layer,
creates a function running runtime.wasm with HANDLER, invokes it and prints the result and log.
"""
import argparse
import json
import subprocess
import tempfile
import time
import urllib.request
import shutil
from pathlib import Path

import demo


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("handler")
    ap.add_argument("payload", nargs="?", default="{}")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--times", type=int, default=1)
    ap.add_argument("--memory", type=int, default=256)
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="lambkin-node-try-"))
    port = demo.free_port()
    server = subprocess.Popen(
        [str(demo.LAMBKIN), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        d = demo.Demo(port, data_dir)
        d.publish_layer()
        env = dict(kv.split("=", 1) for kv in args.env)
        d.client.create_function(
            FunctionName="try", Runtime="provided.al2023", Role=demo.ROLE, Handler=args.handler,
            Code={"ZipFile": d.wasm}, Layers=[d.layer_arn], MemorySize=args.memory, Timeout=30,
            Environment={"Variables": env or {"NONE": "1"}},
        )
        d.wait_active("try")
        for _ in range(args.times):
            out = d.invoke("try", json.loads(args.payload))
            print(json.dumps(out["payload"], indent=2)[:4000])
            print(out["log"])
            print("wall", out["wall_ms"], "ms")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
