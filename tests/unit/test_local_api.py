"""The local Prefect server's child process dies with its parent, even on SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux"),
]

PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from flows.local_api import die_with_parent_hook
    hook = die_with_parent_hook() if sys.argv[1] == "hook" else None
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                             preexec_fn=hook)
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


def _orphan_after_parent_killed(mode: str) -> psutil.Process:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE, text=True, env=env
    )
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    parent.stdout.close()
    return child


def _gone(process: psutil.Process, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_child_with_the_hook_dies_with_its_killed_parent() -> None:
    child = _orphan_after_parent_killed("hook")
    assert _gone(child, 10)


def test_child_without_the_hook_outlives_its_killed_parent() -> None:
    """The control: what Prefect's own temporary server does (and why the hook exists)."""
    child = _orphan_after_parent_killed("plain")
    try:
        assert not _gone(child, 1)
    finally:
        child.kill()
