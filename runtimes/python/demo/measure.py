#!/usr/bin/env python3
"""Timings and memory of the Python runtime in a real `lambkin serve` (see demo.py for the checks).

    python3 runtimes/python/demo/measure.py [--rounds 9] [--json out.json]

Reports: create -> Active (compile), first invoke (layer unpack + cold start), cold starts of new
revisions (code compiled, layers unpacked: what a scale-out costs), warm Duration, RSS per idle
environment, SnapStart publish and restored first invocations. Medians over --rounds.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo  # noqa: E402


def med(xs):
    return round(statistics.median(xs), 2) if xs else None


def rss_kib(pid, field="VmRSS"):
    return int(re.search(field + r":\s+(\d+)", open("/proc/%d/status" % pid).read()).group(1))


def scale_out(c, name, qualifier, rounds):
    firsts = []
    for k in range(rounds):
        with concurrent.futures.ThreadPoolExecutor(k + 1) as pool:
            rs = list(pool.map(lambda _: demo.invoke(c, name, {"name": "s", "sleep": 0.4}, qualifier=qualifier), range(k + 1)))
        firsts += [x for x in rs if x["value"]["bootstrap_timings"]["first_call"]]
    return {
        "count": len(firsts),
        "wall_ms_median": med([x["wall_ms"] - 400 for x in firsts]),
        "init_duration_ms_median": med([x["report"]["Init Duration"] for x in firsts if "Init Duration" in x["report"]]),
        "duration_ms_median": med([x["report"]["Duration"] - 400 for x in firsts]),
        "bootstrap_init_ms_median": med([x["value"]["bootstrap_timings"]["init_ms"] for x in firsts]),
        "note": "wall and Duration less the 400 ms the handler sleeps",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lambkin", default=os.path.join(demo.ROOT, "target/release/lambkin"))
    ap.add_argument("--runtime-dir", default=os.path.join(demo.ROOT, "target/runtimes/python3.14"))
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    wasm = open(os.path.join(args.runtime_dir, "runtime.wasm"), "rb").read()
    stdlib_zip = open(os.path.join(args.runtime_dir, "stdlib-layer.zip"), "rb").read()
    tmp = tempfile.mkdtemp(prefix="lambkin-python-measure-")
    server = demo.Lambkin(args.lambkin, tmp)
    c = server.client
    fig = {"runtime_wasm_bytes": len(wasm), "load_average_at_start": os.getloadavg()}
    try:
        stdlib_arn = c.publish_layer_version(LayerName="stdlib", Content={"ZipFile": stdlib_zip})["LayerVersionArn"]
        code_arn = c.publish_layer_version(LayerName="code", Content={"ZipFile": demo.handler_layer()})["LayerVersionArn"]
        layers = [stdlib_arn, code_arn]

        def create(name, handler, snap=False, env=None):
            kw = dict(FunctionName=name, Runtime="provided.al2023", Role=demo.ROLE, Handler=handler,
                      Code={"ZipFile": wasm}, Layers=layers, Timeout=30)
            if snap:
                kw["SnapStart"] = {"ApplyOn": "PublishedVersions"}
            if env:
                kw["Environment"] = {"Variables": env}
            t = time.perf_counter()
            c.create_function(**kw)
            cfg = demo.wait_active(c, name)
            assert cfg["State"] == "Active", cfg
            return (time.perf_counter() - t) * 1000

        fig["create_to_active_first_ms"] = round(create("hello", "lambda_function.lambda_handler"))
        fig["create_to_active_same_code_ms"] = round(create("hello2", "lambda_function.lambda_handler"))
        r = demo.invoke(c, "hello", {"name": "a"})
        fig["first_invoke"] = {"wall_ms": round(r["wall_ms"], 1), **r["report"], "bootstrap": r["value"].get("bootstrap_timings")}

        walls, inits, durs, boots = [], [], [], []
        for i in range(args.rounds):
            c.update_function_configuration(FunctionName="hello", Environment={"Variables": {"REV": str(i)}})
            demo.wait_active(c, "hello")
            r = demo.invoke(c, "hello", {"name": "a"})
            walls.append(r["wall_ms"])
            inits.append(r["report"]["Init Duration"])
            durs.append(r["report"]["Duration"])
            boots.append(r["value"].get("bootstrap_timings"))
        fig["cold_start"] = {
            "wall_ms_median": med(walls), "wall_ms_min": round(min(walls), 1),
            "init_duration_ms_median": med(inits), "init_duration_ms_min": min(inits),
            "duration_ms_median": med(durs),
            "bootstrap_init_ms_median": med([b["init_ms"] for b in boots]),
            "bootstrap_remap_ms_median": med([b["remap_ms"] for b in boots]),
            "bootstrap_import_handler_ms_median": med([b["import_ms"] for b in boots]),
        }
        warm = [demo.invoke(c, "hello", {"name": "w"}) for _ in range(max(20, args.rounds))]
        fig["warm"] = {"duration_ms_median": med([w["report"]["Duration"] for w in warm]),
                       "wall_ms_median": med([w["wall_ms"] for w in warm]),
                       "max_memory_used_mb": warm[-1]["report"].get("Max Memory Used")}

        # RSS per idle environment: N concurrent sleeps make N environments.
        create("density", "errors.sleep")
        demo.invoke(c, "density", {"s": 0})
        time.sleep(0.5)
        before = rss_kib(server.proc.pid)
        before_anon = rss_kib(server.proc.pid, "RssAnon")
        n = 16
        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            list(pool.map(lambda _: demo.invoke(c, "density", {"s": 2}), range(n)))
        time.sleep(0.5)
        after = rss_kib(server.proc.pid)
        after_anon = rss_kib(server.proc.pid, "RssAnon")
        pool_state = [p for p in server.pools()["pools"] if p["function"] == "density"][0]
        fig["rss_kib_per_idle_environment"] = round((after - before) / max(1, pool_state["idle"] - 1))
        fig["rss_anon_kib_per_idle_environment"] = round((after_anon - before_anon) / max(1, pool_state["idle"] - 1))
        fig["density_idle_environments"] = pool_state["idle"]

        # Scale-out cold starts on $LATEST: round k sends k+1 overlapping calls while k
        # environments are idle, so exactly one new environment starts per round.
        fig["scale_out_cold_start"] = scale_out(c, "hello", None, args.rounds)

        # SnapStart: publish, then restored environments, made the same way.
        create("snap", "lambda_function.lambda_handler", snap=True)
        t = time.perf_counter()
        ver = c.publish_version(FunctionName="snap")["Version"]
        cfg = demo.wait_active(c, "snap", qualifier=ver)
        fig["snapstart_publish_to_active_ms"] = round((time.perf_counter() - t) * 1000)
        assert cfg["State"] == "Active", cfg
        fig["snapstart_restore"] = scale_out(c, "snap", ver, args.rounds)
        fig["load_average_at_end"] = os.getloadavg()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(fig, indent=1))
    if args.json:
        json.dump(fig, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
