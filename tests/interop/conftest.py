"""Fixtures for the boto3 interop suite: a real `lambkin serve` process on 127.0.0.1.

Environment:
  LAMBKIN_BIN       the lambkin binary (default: <repo>/target/release/lambkin)
  LAMBKIN_EXAMPLES  directory holding the example components
                    (default: <repo>/examples/target/wasm32-wasip2/release)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

# helpers.py (shared by the test modules) asserts too: rewrite it like the test modules themselves,
# so that its failing asserts report the compared values.
pytest.register_assert_rewrite("helpers")

REPO = Path(__file__).resolve().parents[2]
LAMBKIN_BIN = Path(os.environ.get("LAMBKIN_BIN", REPO / "target" / "release" / "lambkin"))
EXAMPLES = Path(
    os.environ.get("LAMBKIN_EXAMPLES", REPO / "examples" / "target" / "wasm32-wasip2" / "release")
)

HOST = "127.0.0.1"
REGION = "us-east-1"
ACCOUNT = "000000000000"
HEALTH_TIMEOUT_S = 30.0

# Never send the loopback traffic through a proxy configured in the environment (both urllib and
# botocore honour NO_PROXY).
for _var in ("NO_PROXY", "no_proxy"):
    _current = os.environ.get(_var, "")
    if HOST not in _current.split(","):
        os.environ[_var] = ",".join(x for x in (_current, HOST, "localhost") if x)

# Server settings the suite relies on (region, account, listen address, store) come from flags;
# drop the variables that could override or contradict them.
_SERVER_ENV_DROP = (
    "LAMBKIN_LISTEN",
    "LAMBKIN_DATA_DIR",
    "LAMBKIN_STORE",
    "LAMBKIN_REGION",
    "LAMBKIN_ACCOUNT_ID",
)

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Every server started and not stopped (the session one and any module's own): a failing test's
# report carries the tail of each one's log.
_LIVE: list["Lambkin"] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Lambkin:
    """One `lambkin serve` process, restartable on the same port and data directory."""

    def __init__(self, binary: Path, workdir: Path, extra_args=(), extra_env=None):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.extra_env = dict(extra_env or {})
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "lambkin.log"
        self.port = free_port()
        self.endpoint = f"http://{HOST}:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.client = None
        # The keys `.client` signs with (an anonymous server accepts any).
        self.access_key_id = "test"
        self.secret_access_key = "test"

    # -- process control -------------------------------------------------------------------

    def _spawn(self) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_DROP}
        env.update(self.extra_env)
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== lambkin serve on {self.endpoint} at {time.ctime()} ====\n".encode())
            log.flush()
            return subprocess.Popen(
                [
                    str(self.binary),
                    "serve",
                    "--listen",
                    f"{HOST}:{self.port}",
                    "--data-dir",
                    str(self.data_dir),
                    *self.extra_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(self.workdir),
            )

    def healthy(self) -> bool:
        try:
            with _NO_PROXY_OPENER.open(f"{self.endpoint}/health", timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def start(self) -> None:
        """Start the server and wait (at most HEALTH_TIMEOUT_S) for GET /health to answer 200.

        A process that exits early (e.g. the port is briefly not bindable after a kill -9) is
        started again until the deadline."""
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        self.proc = self._spawn()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                time.sleep(0.2)
                self.proc = self._spawn()
                continue
            if self.healthy():
                self.client = self.make_client()
                if self not in _LIVE:
                    _LIVE.append(self)
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"lambkin did not become healthy on {self.endpoint} within {HEALTH_TIMEOUT_S:.0f} s;"
            f" log tail:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        self._close_client()
        if self in _LIVE:
            _LIVE.remove(self)
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def restart(self, hard: bool = True) -> None:
        """Stop the server (SIGKILL when hard, else SIGTERM) and start it again on the same port
        and data directory; `.client` is rebuilt."""
        self._close_client()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            if hard:
                proc.kill()  # SIGKILL: no graceful shutdown, nothing flushed on exit
                proc.wait(timeout=10)
            else:
                self.stop()
        self.proc = None
        self.start()

    # -- clients and logs ------------------------------------------------------------------

    def make_client(self):
        return boto3.client(
            "lambda",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(
                retries={"max_attempts": 0},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    def _close_client(self) -> None:
        client, self.client = self.client, None
        if client is not None and hasattr(client, "close"):
            try:
                client.close()
            except Exception:  # noqa: BLE001 - best effort
                pass

    def log_tail(self, max_bytes: int = 8000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "<no log>"
        return data[-max_bytes:].decode("utf-8", errors="replace")


@contextmanager
def own_server(tmp_path_factory, label: str, extra_args=(), extra_env=None, keys=None):
    """A started `lambkin serve` of its own (for a module whose server needs other flags than the
    session one), stopped on exit. `keys`: the (access key id, secret) its client signs with."""
    if not LAMBKIN_BIN.is_file():
        pytest.fail(f"lambkin binary not found at {LAMBKIN_BIN} (set LAMBKIN_BIN)", pytrace=False)
    server = Lambkin(
        LAMBKIN_BIN, tmp_path_factory.mktemp(label), extra_args=extra_args, extra_env=extra_env
    )
    if keys is not None:
        server.access_key_id, server.secret_access_key = keys
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lambkin(tmp_path_factory) -> Lambkin:
    with own_server(tmp_path_factory, "lambkin") as server:
        yield server


@pytest.fixture
def client(lambkin):
    """The current boto3 client (a new one after every restart)."""
    return lambkin.client


def _example(name: str) -> bytes:
    path = EXAMPLES / name
    if not path.is_file():
        pytest.fail(f"example component not found: {path} (set LAMBKIN_EXAMPLES)", pytrace=False)
    return path.read_bytes()


@pytest.fixture(scope="session")
def hello_wasm() -> bytes:
    return _example("hello.wasm")


@pytest.fixture(scope="session")
def echo_wasm() -> bytes:
    return _example("echo.wasm")


def unique_name(prefix: str = "fn") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def name_factory(server: Lambkin):
    """Generator body of a `make_name` fixture for `server`: yields a factory of unique function
    names, then deletes every function so named (with the server's client of that moment; whatever
    state the function is in; a missing function is fine)."""
    names: list[str] = []

    def make(prefix: str = "fn") -> str:
        name = unique_name(prefix)
        names.append(name)
        return name

    yield make
    for name in names:
        client = server.client
        if client is None:
            break
        try:
            client.delete_function(FunctionName=name)
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass


@pytest.fixture
def make_name(lambkin):
    """Factory of unique function names; every function so named is deleted after the test
    (whatever state it is in; a missing function is fine)."""
    yield from name_factory(lambkin)


@pytest.fixture
def function_name(make_name) -> str:
    return make_name()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in list(_LIVE):
            report.sections.append((f"lambkin log (tail) {server.endpoint}", server.log_tail()))


@pytest.fixture(scope="module")
def webhook():
    """An HTTP receiver standing in for webhook destinations (helpers.Webhook), one per module."""
    from helpers import Webhook  # helpers imports this module: imported when first used

    with Webhook() as hook:
        yield hook
