"""Helpers for tests that start real server processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_insight(args: list[str], home: Path, log_file: Path) -> subprocess.Popen:
    """``insight <args>`` as a real process on ``home``, output to ``log_file``."""
    insight = Path(sys.executable).with_name("insight")
    assert insight.exists(), "the `insight` console script is not installed in this environment"
    env = {**os.environ, "INSIGHT_HOME": str(home)}
    with log_file.open("w") as log:
        return subprocess.Popen(
            [str(insight), *args], stdout=log, stderr=subprocess.STDOUT, env=env
        )
