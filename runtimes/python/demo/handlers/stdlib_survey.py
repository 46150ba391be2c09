import sys
import time


def lambda_handler(event, context):
    before = set(sys.modules)
    tried, failed, from_snapshot, from_files = 0, {}, 0, 0
    started = time.perf_counter()
    for name in event["expected"]:
        tried += 1
        if name in before:
            from_snapshot += 1
            continue
        try:
            __import__(name)
            from_files += 1
        except BaseException as e:
            failed[name] = "%s: %s" % (type(e).__name__, e)
    return {"tried": tried, "imported": tried - len(failed), "from_snapshot": from_snapshot,
            "from_files": from_files, "failed": failed,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 1)}
