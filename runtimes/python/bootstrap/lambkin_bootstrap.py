"""lambkin's Python managed runtime: the `lambkin:function` world in Python.

componentize-py imports this module at build time and snapshots the interpreter with it (and
everything it imported) loaded. At run time the host calls the world's exports:

* `init`   -- Lambda's Init phase: set the search path, set up logging, import the handler
              named by `_HANDLER` (`module.function`, `pkg/mod.function`).
* `handle` -- one invocation: decode the JSON event, call the handler with a Lambda-shaped
              context object, encode the result as JSON.

Behaviour follows Lambda's Python runtime (awslambdaric's bootstrap): the same error types and
messages, the same stack-trace shape, the same log format. Nothing here reads the network.
"""

import decimal
import importlib
import json
import linecache
import logging
import math
import os
import sys
import time
import traceback

import wit_world
try:
    from componentize_py_types import Err  # componentize-py >= 0.18
except ImportError:
    from wit_world.types import Err  # componentize-py 0.17 (CPython 3.12)
from wit_world.imports import runtime as _host
from wit_world.imports.lambkin_function_types import FunctionError

import lambkin_snapshot_init

# --- where things are --------------------------------------------------------------------------

PY_VERSION = "%d.%d" % sys.version_info[:2]
# Where componentize-py mounted the standard library while building the snapshot: the modules
# imported then carry paths under it (their __file__, __path__, code objects' co_filename).
BUILD_STDLIB = sys.prefix  # "/python"
# Where the host mounts the runtime's files (read-only) at run time, first one that exists wins.
# /var/lang/lib/python3.X is Lambda's own place; /opt/lang/lib/python3.X lets a layer carry
# the standard library until the host mounts it.
STDLIB_CANDIDATES = (
    "/var/lang/lib/python" + PY_VERSION,
    "/opt/lang/lib/python" + PY_VERSION,
)
TASK_ROOT = "/var/task"
BOOTSTRAP_FILE = __file__

# --- modules loaded into the snapshot ----------------------------------------------------------
#
# Imported here, at build time, they cost nothing at run time (a cold start imports none of
# them); anything else in the standard library is imported from the mounted directory.
PRELOAD = (
    # what the runtime itself and nearly every handler uses
    "base64", "collections", "collections.abc", "copy", "dataclasses", "datetime", "enum",
    "functools", "hashlib", "hmac", "io", "itertools", "json", "logging", "logging.handlers",
    "operator", "random", "re", "secrets", "string", "struct", "textwrap", "time", "traceback",
    "types", "typing", "uuid", "warnings", "weakref", "zlib",
    # data formats and text
    "binascii", "calendar", "csv", "decimal", "fractions", "gzip", "html", "html.parser",
    "numbers", "pprint", "statistics", "unicodedata", "zoneinfo", "xml.etree.ElementTree",
    "xml.dom.minidom", "email", "email.message", "email.parser", "email.utils", "mimetypes",
    "configparser", "tomllib", "shlex", "difflib", "fnmatch", "glob",
    # web-ish (urllib.request goes out through wasi:http: lambkin_http)
    "urllib", "urllib.parse", "http", "http.client", "http.cookies",
    # files and paths
    "pathlib", "shutil", "tempfile", "stat", "zipfile", "tarfile",
    # concurrency and misc
    "contextlib", "contextvars", "asyncio", "threading", "queue", "heapq", "bisect", "abc",
    "inspect", "argparse", "locale", "platform", "sqlite3", "ipaddress", "array", "codecs",
    "importlib.metadata", "importlib.resources", "importlib.util",
    "encodings.idna", "encodings.latin_1", "encodings.ascii", "encodings.utf_16",
    "encodings.utf_8_sig", "encodings.cp1252", "encodings.cp437",
    # common in handlers, even where the sandbox cannot do what they are for (no sockets,
    # threads or processes): importing them must be cheap and work
    "email.mime.text", "email.mime.multipart", "email.mime.application", "email.mime.base",
    "urllib.request", "urllib.error", "concurrent.futures", "pickle", "socket", "select",
    "selectors", "subprocess", "signal", "xml.sax", "xml.sax.saxutils", "xml.dom",
    "logging.config", "gettext", "optparse", "getpass", "ast", "copyreg", "shelve", "quopri",
)


def _preload(names):
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as e:  # a module this interpreter lacks (its C part not built in)
            missing.append("%s: %s" % (name, e))
    return missing


PRELOAD_MISSING = _preload(PRELOAD)

# urlopen() and urllib's default openers send through wasi:http, under the egress policy.
import lambkin_http  # noqa: E402

lambkin_http.install()


def _adapt_asyncio():
    """The sandbox has no socketpair(), which asyncio's selector loop uses as its self-pipe.
    That pipe only wakes the loop from other threads or from signal handlers, and neither
    exists in a wasm32-wasi environment: the loop runs without it (timers, futures, tasks work)."""
    try:
        from asyncio import selector_events
    except ImportError:
        return
    loop = selector_events.BaseSelectorEventLoop

    def _make_self_pipe(self):
        self._ssock = self._csock = None

    def _close_self_pipe(self):
        self._ssock = self._csock = None

    def _write_to_self(self):
        pass

    loop._make_self_pipe = _make_self_pipe
    loop._close_self_pipe = _close_self_pipe
    loop._write_to_self = _write_to_self


if sys.platform == "wasi":
    _adapt_asyncio()

# --- Lambda's error and log shapes -------------------------------------------------------------

ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as Lambda's runtime indents traces in the log
LAMBDA_WARNING = "LAMBDA_WARNING"
UNHANDLED_EXCEPTION_WARNING = (
    LAMBDA_WARNING + ": Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with a change in the "
    "runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


class Fault(Exception):
    """An error of the runtime's own (Lambda's `Runtime.*` types)."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


def _display_path(filename):
    """A frame's file as the function's author would see it: the run-time stdlib path."""
    if _stdlib and filename.startswith(BUILD_STDLIB + "/"):
        return _stdlib + filename[len(BUILD_STDLIB):]
    return filename


def _stack_trace(tb):
    """Lambda's stackTrace: traceback.format_list of the frames after the runtime's own."""
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if frame.filename != BOOTSTRAP_FILE:
            frames = frames[i:]
            break
    else:
        frames = []
    rows = []
    for f in frames:
        shown = _display_path(f.filename)
        line = f.line
        if not line and shown != f.filename:
            line = linecache.getline(shown, f.lineno).strip()
        rows.append((shown, f.lineno, f.name, line))
    return traceback.StackSummary.from_list(rows).format()


def _error_from_exception(exc):
    return FunctionError(type(exc).__name__, str(exc), _stack_trace(exc.__traceback__))


def _error_from_fault(fault):
    return FunctionError(fault.error_type, fault.message, list(fault.trace))


def _log_error(error):
    """Writes the `[ERROR] Type: message` record Lambda's runtime logs for a failed call."""
    description = "[ERROR]"
    if error.error_type:
        description += " " + error.error_type
    if error.error_message:
        if error.error_type:
            description += ":"
        description += " " + error.error_message
    lines = [description, "Traceback (most recent call last):"]
    for element in error.stack_trace:
        if element == "":
            lines.append("")
            continue
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(ERROR_LOG_IDENT * (len(line) - len(stripped)) + stripped)
    _write_log(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def _write_log(text):
    out = sys.stdout
    out.write(text)
    out.flush()


# --- logging -----------------------------------------------------------------------------------

_request_id = None
_tenant_id = None


class LambdaLoggerHandler(logging.Handler):
    def emit(self, record):
        try:
            _write_log(self.format(record))
        except Exception:
            self.handleError(record)


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        record.tenant_id = _tenant_id
        return True


_JSON_RESERVED = {
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "aws_request_id", "tenant_id", "taskName",
}


class JsonFormatter(logging.Formatter):
    """AWS_LAMBDA_LOG_FORMAT=JSON: one JSON object a line, Lambda's keys."""

    def __init__(self):
        super().__init__(datefmt="%Y-%m-%dT%H:%M:%SZ")

    def format(self, record):
        level = min(50, max(0, record.levelno)) // 10 * 10
        exc = record.exc_info
        out = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": logging.getLevelName(level),
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc[2]) if exc else None,
            "errorType": exc[0].__name__ if exc else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": "%s:%s:%s" % (record.pathname, record.funcName, record.lineno) if exc else None,
        }
        if getattr(record, "tenant_id", None) is not None:
            out["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _JSON_RESERVED and key not in out:
                out[key] = value
        return json.dumps({k: v for k, v in out.items() if v is not None}, ensure_ascii=False, default=str) + "\n"


def _setup_logging():
    log_format = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper()
    raw_level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    log_level = {None: "", "TRACE": "DEBUG"}.get(raw_level, raw_level or "").upper()
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    handler = LambdaLoggerHandler()
    if log_format == "JSON":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    # Without AWS_LAMBDA_LOG_LEVEL the root logger keeps Python's default (WARNING), as on Lambda.
    if log_level in logging._nameToLevel:
        root.setLevel(log_level)
    handler.addFilter(LambdaLoggerFilter())
    root.addHandler(handler)


# --- the search path ---------------------------------------------------------------------------

_stdlib = None


def _remap(path, old, new):
    if isinstance(path, str) and (path == old or path.startswith(old + "/")):
        return new + path[len(old):]
    return path


def _relocate(module, old, new, package_dirs):
    """Points a module loaded from `old` at `new`: its file, its spec, its loader (which is
    how linecache finds its source) and, for a package, its __path__, which becomes one entry
    per directory of `package_dirs` (so `encodings.cp1252` or `xml.sax` import from the mount)."""
    attrs = getattr(module, "__dict__", None)
    if not attrs:
        return
    for key in ("__file__", "__cached__"):
        value = attrs.get(key)
        if isinstance(value, str):
            attrs[key] = _remap(value, old, new)
    pkg_path = attrs.get("__path__")
    relocated = None
    if isinstance(pkg_path, list):
        relocated = []
        for p in pkg_path:
            if isinstance(p, str) and (p == old or p.startswith(old + "/")):
                relocated += [d + p[len(old):] for d in package_dirs]
            else:
                relocated.append(p)
        pkg_path[:] = relocated
    spec = attrs.get("__spec__")
    if spec is not None:
        if isinstance(spec.origin, str) and spec.has_location:
            spec.origin = _remap(spec.origin, old, new)
        if getattr(spec, "_cached", None):
            spec._cached = _remap(spec._cached, old, new)
        locations = spec.submodule_search_locations
        if isinstance(locations, list) and locations is not pkg_path and relocated is not None:
            locations[:] = relocated
    loader = attrs.get("__loader__")
    if isinstance(getattr(loader, "path", None), str):
        try:
            loader.path = _remap(loader.path, old, new)
        except Exception:
            pass


def _relocate_snapshot_modules(new, package_dirs, names=None):
    """Relocates every module (of `names`, default all) still under the build-time stdlib."""
    prefix = BUILD_STDLIB + "/"
    moved = []
    for name in list(sys.modules if names is None else names):
        module = sys.modules.get(name)
        f = getattr(module, "__file__", None)
        if isinstance(f, str) and f.startswith(prefix):
            _relocate(module, BUILD_STDLIB, new, package_dirs)
            moved.append(name)
    return moved


def _isdir(path):
    try:
        return os.path.isdir(path)
    except OSError:
        return False


def _setup_paths(isdir=_isdir):
    global _stdlib
    _stdlib = next((p for p in STDLIB_CANDIDATES if isdir(p)), STDLIB_CANDIDATES[0])
    prefix = os.path.dirname(os.path.dirname(_stdlib))  # /var/lang
    t = time.perf_counter()
    # Done at build time already; this catches what the build imported after this module
    # (nothing, with componentize-py 0.25: looking at the new names only costs ~0).
    moved = _relocate_snapshot_modules(STDLIB_CANDIDATES[0], STDLIB_CANDIDATES, sys.modules.keys() - _BUILD_MODULES)
    timings["remap_ms"] = (time.perf_counter() - t) * 1000
    timings["relocated_at_init"] = moved
    timings["modules"] = len(sys.modules)
    sys._stdlib_dir = _stdlib
    sys.prefix = sys.exec_prefix = sys.base_prefix = sys.base_exec_prefix = prefix
    sys.path[:] = [
        TASK_ROOT,
        "/opt/python/lib/python%s/site-packages" % PY_VERSION,
        "/opt/python",
        _stdlib,
        _stdlib + "/site-packages",
    ]
    # Every finder is made anew for the new entries (importlib.invalidate_caches() would also
    # import importlib.metadata's finder: not needed, and not there without a stdlib mount).
    sys.path_importer_cache.clear()
    # Read-only mounts: writing .pyc files would only fail.
    sys.dont_write_bytecode = True
    if isdir is _isdir:
        _enter_task_root()


def _enter_task_root():
    if _isdir(TASK_ROOT):
        try:
            os.chdir(TASK_ROOT)
        except OSError:
            pass


# --- the handler -------------------------------------------------------------------------------


def _get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise Fault(Fault.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, str(e)))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise Fault(
                Fault.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise Fault(Fault.IMPORT_MODULE_ERROR, "Unable to import module '{}': {}".format(modname, str(e)))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise Fault(
            Fault.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, str(e)),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise Fault(Fault.HANDLER_NOT_FOUND, "Handler '{}' missing on module '{}'".format(fname, modname))


# --- the context object (awslambdaric's LambdaContext) ------------------------------------------


def _obj_from_dict(cls, values):
    if values is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, values.get(field, None))
    return obj


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "%s([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            type(self).__name__, self.cognito_identity_id, self.cognito_identity_pool_id)


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __repr__(self):
        return "%s([%s])" % (type(self).__name__, ",".join("%s=%s" % (k, getattr(self, k)) for k in self.__slots__))


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return "%s([custom=%s,env=%s,client=%s])" % (type(self).__name__, self.custom, self.env, self.client)


def _parse_json_header(text, name):
    try:
        return json.loads(text)
    except Exception as e:
        raise Fault(Fault.LAMBDA_CONTEXT_UNMARSHAL_ERROR, "Unable to parse {} JSON: {}".format(name, str(e)))


class LambdaContext(object):
    def __init__(self, ctx):
        self.aws_request_id = ctx.request_id
        self.log_group_name = ctx.log_group_name
        self.log_stream_name = ctx.log_stream_name
        self.function_name = ctx.function_name
        # A string, as on Lambda (whose runtime reads AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
        self.memory_limit_in_mb = str(ctx.memory_limit_mb)
        self.function_version = ctx.function_version
        self.invoked_function_arn = ctx.invoked_function_arn
        self.tenant_id = None
        client_context = _parse_json_header(ctx.client_context, "Client Context") if ctx.client_context else None
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        identity = _parse_json_header(ctx.identity, "Cognito Identity") if ctx.identity else None
        self.identity = _obj_from_dict(CognitoIdentity, {})
        if identity is not None:
            self.identity.cognito_identity_id = identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = ctx.deadline_ms

    def get_remaining_time_in_millis(self):
        delta_ms = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta_ms if delta_ms > 0 else 0

    def log(self, msg):
        _write_log(str(msg))

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )


# --- marshalling (Lambda's python3.12+ encoder: ensure_ascii=False, NaN allowed, Decimal exact) --


class _Encoder(json.JSONEncoder):
    def __init__(self, raw):
        super().__init__(ensure_ascii=False, allow_nan=True)
        self._raw = raw

    def default(self, obj):
        if isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return math.nan
            # A placeholder string, replaced by the number's digits after encoding.
            self._raw.append(str(obj))
            return "%s%d\x00" % (_RAW_MARK, len(self._raw) - 1)
        return super().default(obj)


_RAW_MARK = "\x00lambkin-decimal:"


def _to_json(obj):
    raw = []
    text = _Encoder(raw).encode(obj)
    if raw:
        escaped = json.dumps(_RAW_MARK, ensure_ascii=False)[1:-1]
        for i, digits in enumerate(raw):
            text = text.replace('"%s%d\\u0000"' % (escaped, i), digits, 1)
    return text


def _marshal(response):
    if isinstance(response, (bytes, bytearray)):
        return bytes(response)
    try:
        return _to_json(response).encode("utf-8")
    except Exception as e:
        raise Fault(Fault.MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e)))


def _unmarshal(event):
    try:
        return json.loads(event)
    except Exception as e:
        raise Fault(Fault.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e)))


def _exit(status, why):
    """An error Lambda's runtime would die of: the environment goes, the caller gets
    Runtime.ExitError (or Runtime.OutOfMemory when the host refused memory)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    _host.report_panic(why)
    os._exit(status)


def _exit_status(exc):
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        _write_log(str(code) + "\n")
        return 1
    return 1


# --- the world ---------------------------------------------------------------------------------

_handler = None
# Set when this environment was restored from a SnapStart snapshot and has not been invoked yet.
_restored = False
# Set when the snapshot holds the runtime only: the handler is imported by the first invocation.
_deferred = False
# How long the Python side of Init took (paths, logging, importing the handler), for diagnostics.
init_ms = None
timings = {}


def _load_function(isdir=_isdir):
    """Init's work: the search path, then the handler. Returns the error, if any."""
    global _handler, init_ms
    started = time.perf_counter()
    error = None
    try:
        _setup_paths(isdir)
        t = time.perf_counter()
        _handler = _get_handler(os.environ.get("_HANDLER", ""))
        timings["import_ms"] = (time.perf_counter() - t) * 1000
    except Fault as fault:
        error = _error_from_fault(fault)
    except MemoryError:
        _exit(1, "exit status 1")
    except Exception as exc:
        error = _error_from_exception(exc)
    except BaseException as exc:
        status = _exit_status(exc)
        _exit(status, "exit status %d" % status)
    init_ms = (time.perf_counter() - started) * 1000
    if error is not None:
        logging.warning(UNHANDLED_EXCEPTION_WARNING)
        _log_error(error)
    return error


class WitWorld(wit_world.WitWorld):
    def init(self):
        global _restored, _deferred
        _setup_logging()
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
            error = _load_function()
        elif os.environ.get("LAMBKIN_SNAPSHOT_RUNTIME_ONLY"):
            # The host's second try: importing the module left files open (it reads one as it
            # is imported), which a snapshot cannot keep. This one holds the runtime only.
            _restored = _deferred = True
            return
        else:
            # This Init is being snapshotted: the handler is imported without leaving a WASI
            # handle open, which a restored environment would not have.
            error = lambkin_snapshot_init.run(lambda: _load_function(lambkin_snapshot_init.is_dir))
            _restored = True
        if error is not None:
            raise Err(error)

    def handle(self, event, context):
        global _request_id, _restored, _deferred
        if _restored:
            lambkin_snapshot_init.restored()
            _restored = False
            if not _deferred:
                _enter_task_root()
        if _deferred:
            error = _load_function()
            if error is not None:
                raise Err(error)
            _deferred = False
        _request_id = context.request_id
        if context.trace_id is not None:
            os.environ["_X_AMZN_TRACE_ID"] = context.trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        error = None
        try:
            lambda_context = LambdaContext(context)
            response = _handler(_unmarshal(event), lambda_context)
            return _marshal(response)
        except Fault as fault:
            error = _error_from_fault(fault)
        except MemoryError:
            _exit(1, "exit status 1")
        except Exception as exc:
            error = _error_from_exception(exc)
        except BaseException as exc:
            status = _exit_status(exc)
            _exit(status, "exit status %d" % status)
        _log_error(error)
        raise Err(error)


# --- build time: make the snapshot ready to run -------------------------------------------------
#
# The modules loaded now are relocated once, here, rather than at every Init: their __file__ and
# sources under /var/lang/lib/python3.X, their packages' __path__ listing both run-time
# candidates, then the build-time directory (which keeps imports working for the rest of the
# build). Then everything is collected once and moved out of the collector's reach (gc.freeze),
# so that no collection at run time writes to those objects' headers, which would turn the
# snapshot's copy-on-write pages into private copies in every environment.
_relocate_snapshot_modules(STDLIB_CANDIDATES[0], STDLIB_CANDIDATES + (BUILD_STDLIB,))
_BUILD_MODULES = frozenset(sys.modules)
import gc  # noqa: E402

gc.collect()
gc.freeze()
