# Probes what works in the sandbox and what does not (reported, never raised).
import sys


def _try(fn):
    try:
        return "ok: %r" % (fn(),)
    except BaseException as e:
        return "%s: %s" % (type(e).__name__, e)


def lambda_handler(event, context):
    import asyncio, threading, socket, subprocess, os, time, random, zoneinfo, datetime, locale, hashlib, tempfile
    import concurrent.futures

    async def coro():
        await asyncio.sleep(0.01)
        return "slept"

    def thread():
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        return "joined"

    def sock():
        s = socket.create_connection(("1.1.1.1", 80), timeout=1)
        return s

    def tz():
        return str(datetime.datetime(2024, 7, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")).utcoffset())

    def tmpfile():
        with tempfile.NamedTemporaryFile("w+") as f:
            f.write("x")
            f.flush()
            return os.path.getsize(f.name)

    return {
        "asyncio.run": _try(lambda: asyncio.run(coro())),
        "threading.Thread": _try(thread),
        "ThreadPoolExecutor": _try(lambda: concurrent.futures.ThreadPoolExecutor(1).submit(lambda: 1).result()),
        "socket.connect": _try(sock),
        "subprocess": _try(lambda: subprocess.run(["true"])),
        "os.getpid": _try(os.getpid),
        "os.cpu_count": _try(os.cpu_count),
        "time.sleep(0.05)": _try(lambda: (lambda t: (time.sleep(0.05), round(time.monotonic() - t, 3))[1])(time.monotonic())),
        "random": _try(lambda: random.random() != random.random()),
        "zoneinfo Europe/Paris": _try(tz),
        "datetime.now().astimezone()": _try(lambda: str(datetime.datetime.now().astimezone().tzinfo)),
        "locale.getlocale": _try(locale.getlocale),
        "hashlib.md5/sha3/blake2": _try(lambda: [hashlib.new(n, b"x").hexdigest()[:8] for n in ("md5", "sha3_256", "blake2b")]),
        "hashlib.algorithms_available": sorted(hashlib.algorithms_available),
        "tempfile in /tmp": _try(tmpfile),
        "os.getcwd": _try(os.getcwd),
        "sys.platform": sys.platform,
        "sys.getrecursionlimit": sys.getrecursionlimit(),
        "deep recursion 5000": _try(lambda: (lambda f: f(f, 5000))(lambda f, n: n if n == 0 else f(f, n - 1))),
        "hash(str) seed fixed": hash("lambkin"),
        "os.environ AWS_REGION": os.environ.get("AWS_REGION"),
        "_X_AMZN_TRACE_ID": os.environ.get("_X_AMZN_TRACE_ID"),
        "sys.flags.optimize": sys.flags.optimize,
    }
