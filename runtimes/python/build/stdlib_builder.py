"""Build step, not a function: componentize-py imports this module while it pre-initialises a
component, i.e. inside the very CPython (wasm32-wasi) that runtime.wasm embeds. It copies the
standard library componentize-py ships (mounted at /python for the build) to the output mount
(/1, the second --python-path) and compiles it to .pyc with that interpreter, so the bytecode's
magic number is the runtime's by construction. The .pyc files are unchecked-hash: valid whatever
the files' mtimes become after a zip or a copy, and never compared with their sources at import.
The component this build produces is thrown away.
"""

import compileall
import json
import os
import py_compile
import shutil
import sys
import time

import wit_world

VERSION = "%d.%d" % sys.version_info[:2]
SRC = sys.prefix  # "/python"
OUT_ROOT = "/1"
OUT = OUT_ROOT + "/lib/python" + VERSION
# Parts that cannot work in this interpreter (no _tkinter, no pip wheels, no C toolchain):
# left out so the directory is what the runtime can import.
SKIP = {
    "__pycache__",
    "config-%s-wasm32-wasi" % VERSION,
    "idlelib",
    "tkinter",
    "turtledemo",
    "turtle.py",
    "ensurepip",
}

started = time.time()
if os.path.exists(OUT_ROOT + "/lib"):
    shutil.rmtree(OUT_ROOT + "/lib")
# Plain copies (no copystat: older WASI hosts lack utime/chmod).
for dirpath, dirnames, filenames in os.walk(SRC):
    dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
    target = os.path.join(OUT, os.path.relpath(dirpath, SRC))
    os.makedirs(target, exist_ok=True)
    for name in filenames:
        if name not in SKIP and not name.endswith(".pyc"):
            shutil.copyfile(os.path.join(dirpath, name), os.path.join(target, name))
copied = time.time()
compiled_ok = compileall.compile_dir(
    OUT,
    quiet=1,
    workers=1,
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
)
compiled = time.time()

modules = sorted(
    {
        name[:-3] if name.endswith(".py") else name
        for name in os.listdir(OUT)
        if (name.endswith(".py") or os.path.isfile(os.path.join(OUT, name, "__init__.py")))
        and name not in ("__phello__", "__hello__.py", "antigravity.py", "this.py")
    }
    | set(sys.builtin_module_names)
)
importable, failed = [], {}
for name in modules:
    try:
        __import__(name)
        importable.append(name)
    except BaseException as e:  # noqa: BLE001 - a build-time survey, any failure is a data point
        failed[name] = "%s: %s" % (type(e).__name__, e)

with open(OUT_ROOT + "/build-info.json", "w") as f:
    json.dump(
        {
            "python": sys.version,
            "version": VERSION,
            "version_info": list(sys.version_info[:3]),
            "cache_tag": sys.implementation.cache_tag,
            "magic": py_compile.importlib.util.MAGIC_NUMBER.hex(),
            "copy_seconds": round(copied - started, 2),
            "compile_seconds": round(compiled - copied, 2),
            "compiled_ok": bool(compiled_ok),
            "skipped": sorted(SKIP),
            "builtin_modules": sorted(sys.builtin_module_names),
            "importable": importable,
            "not_importable": failed,
        },
        f,
        indent=1,
    )


class WitWorld(wit_world.WitWorld):
    def init(self):
        raise RuntimeError("the stdlib builder is not a function")

    def handle(self, event, context):
        raise RuntimeError("the stdlib builder is not a function")
