"""A local Prefect API for commands run without a Prefect server, that dies with its parent.

Without ``PREFECT_API_URL`` Prefect starts a temporary server itself, but (in Prefect 3.9) a
kill -9 of the parent leaves that server running, re-parented to PID 1, and two processes
starting on a fresh home migrate the same SQLite database at once. So the CLI starts the same
server (uvicorn on Prefect's app factory, UI off) itself before the first flow runs:

- as a child that the kernel kills when the parent dies, however it dies (Linux
  ``PR_SET_PDEATHSIG``);
- one at a time per ``PREFECT_HOME`` (a file lock held until the server answers), so
  concurrent first runs do not race on the database migrations;
- waiting as long as ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` allows (a first
  start migrates a new database, about 30 s on a small machine).

The server is stopped when the command exits. A configured ``PREFECT_API_URL`` (or one a test
harness set) is always used as is.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from filelock import FileLock

from insight_core.errors import InsightError

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
STARTS = 3  # attempts, each on a fresh port, when the server exits before answering


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent_hook() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive SIGKILL when its parent dies.

    ``None`` where the kernel has no such request (not Linux). The libc handle is loaded
    before the fork: loading libraries between fork and exec is not safe.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was in place
            os._exit(1)

    return hook


class LocalPrefectServer:
    """A Prefect API server process owned by this process."""

    def __init__(self, prefect_home: Path, timeout: float) -> None:
        self.prefect_home = prefect_home
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.log_file = prefect_home / "local-server.log"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _spawn(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        import prefect

        self.port = _free_port()
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(prefect.__file__).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ]
        with self.log_file.open("ab") as log:
            return subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Called before the flows start threads; the hook only calls prctl.
                preexec_fn=die_with_parent_hook(),
                # Its own session: Ctrl-C in the terminal (a signal to the whole process
                # group) stops the run, which then needs the server to record itself as
                # cancelled. The server is stopped when the command exits, and killed by the
                # kernel if the command dies (die_with_parent_hook).
                start_new_session=True,
            )

    def start(self, env: dict[str, str]) -> str:
        """Start the server and wait until it answers; returns its API URL."""
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        # One server start (and database migration) at a time per Prefect home.
        with FileLock(self.prefect_home / "server-start.lock"):
            deadline = time.monotonic() + self.timeout
            for _ in range(STARTS):
                self.process = self._spawn(env)
                if self._wait_healthy(deadline):
                    atexit.register(self.stop)
                    return self.api_url
                if self.process.poll() is None:  # still starting: out of time
                    break
            self.stop()
        tail = self.log_file.read_text(errors="replace")[-800:] if self.log_file.exists() else ""
        raise InsightError(
            f"the local Prefect server did not answer within {self.timeout:.0f}s (raise "
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or set PREFECT_API_URL to a "
            f"running server); its log ends: {tail.strip()[-400:]}"
        )

    def _wait_healthy(self, deadline: float) -> bool:
        assert self.process is not None
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ensure_prefect_api() -> LocalPrefectServer | None:
    """Start a local Prefect server unless a Prefect API is configured; returns it if started.

    Call after the environment defaults are applied (``PREFECT_HOME`` under INSIGHT_HOME and
    the startup timeout) and before the first flow runs.
    """
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    current = get_current_settings()
    if current.api.url:
        return None
    server = LocalPrefectServer(
        Path(current.home), float(current.server.ephemeral.startup_timeout_seconds)
    )
    env = {
        **os.environ,
        **current.to_environment_variables(exclude_unset=True),
        # As Prefect runs its temporary server: no UI, services for an ephemeral server.
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    os.environ["PREFECT_API_URL"] = server.start(env)
    refresh_global_settings_context()
    return server
