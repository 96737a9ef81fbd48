"""Helpers for tests that start real server processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_insight(
    args: list[str],
    home: Path,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    new_session: bool = False,
) -> subprocess.Popen:
    """``insight <args>`` as a real process on ``home``, output to ``log_file``.

    ``env`` replaces this process's environment (``INSIGHT_HOME`` is still set to ``home``);
    ``new_session`` starts it as the leader of its own process group, as a terminal does, so
    :func:`signal_group` reaches it and everything it started in that group.
    """
    insight = Path(sys.executable).with_name("insight")
    assert insight.exists(), "the `insight` console script is not installed in this environment"
    env = {**(env if env is not None else os.environ), "INSIGHT_HOME": str(home)}
    with log_file.open("w") as log:
        return subprocess.Popen(
            [str(insight), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=new_session,
        )


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to ``process``'s whole process group (Ctrl-C in a terminal)."""
    os.killpg(os.getpgid(process.pid), signum)


def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen, timeout: float, log_file: Path
) -> None:
    """Poll ``condition`` until it holds, failing if ``process`` ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the process ended first:\n{log_file.read_text()}"
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)
