"""Which runs of a home are alive, and what a dead one left behind.

A run holds an OS file lock (``<runs_dir>/<run_id>.lock``) for its whole life and describes
itself in a marker beside it (``<run_id>.json``: date, source, mode, Prefect and MLflow ids;
never any prompt data). The operating system drops the lock when the process dies however it
dies, kill -9 included, so a marker or work folder whose lock nobody holds belongs to a dead
run, while a live concurrent run's lock cannot be taken. The lock is taken before the marker
and the work folder exist, so a run is never seen half-started.

The same module holds the home-wide lock that makes fitting the first model a one-at-a-time
affair.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"
MARKER_SUFFIX = ".json"

# Locks of the runs this process is running, by run id. The lock is taken in one thread and
# released in another (Prefect tasks), hence thread_local=False.
_HELD: dict[str, FileLock] = {}


def _lock(path: Path) -> FileLock:
    return FileLock(path, thread_local=False, is_singleton=False)


def _write_marker(runs_dir: Path, run_id: str, marker: dict[str, Any]) -> None:
    tmp = runs_dir / f".{run_id}{MARKER_SUFFIX}.tmp"
    tmp.write_text(json.dumps(marker, default=str), encoding="utf-8")
    tmp.replace(runs_dir / f"{run_id}{MARKER_SUFFIX}")


def start_run(runs_dir: Path, run_id: str, marker: dict[str, Any]) -> Path:
    """Take the run's lock, write its marker and create its work folder; returns the folder."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(runs_dir / f"{run_id}{LOCK_SUFFIX}")
    lock.acquire()
    _HELD[run_id] = lock
    _write_marker(runs_dir, run_id, {**marker, "run_id": run_id, "pid": os.getpid()})
    work_dir = runs_dir / run_id
    work_dir.mkdir(exist_ok=True)
    return work_dir


def update_marker(runs_dir: Path, run_id: str, **fields: Any) -> None:
    """Add what became known later (the MLflow run id) to a live run's marker."""
    path = runs_dir / f"{run_id}{MARKER_SUFFIX}"
    marker = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    _write_marker(runs_dir, run_id, {**marker, **fields})


def _forget(runs_dir: Path, run_id: str) -> None:
    """Delete a run's work folder, then its marker and lock file (the caller holds the lock)."""
    shutil.rmtree(runs_dir / run_id, ignore_errors=True)
    (runs_dir / f"{run_id}{MARKER_SUFFIX}").unlink(missing_ok=True)
    (runs_dir / f"{run_id}{LOCK_SUFFIX}").unlink(missing_ok=True)


def finish_run(runs_dir: Path, run_id: str) -> None:
    """Delete the run's work folder and marker and drop its lock (safe to call twice)."""
    lock = _HELD.pop(run_id, None)
    if lock is None:
        shutil.rmtree(runs_dir / run_id, ignore_errors=True)
        return
    try:
        _forget(runs_dir, run_id)
    finally:
        lock.release(force=True)


def is_alive(runs_dir: Path, run_id: str) -> bool:
    """Is run ``run_id`` still running (in this process or another)?"""
    if run_id in _HELD:
        return True
    lock_file = runs_dir / f"{run_id}{LOCK_SUFFIX}"
    if not lock_file.exists():  # finished runs delete their lock file
        return False
    lock = _lock(lock_file)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release(force=True)
    return False


@dataclass(frozen=True)
class DeadRun:
    """A run whose process is gone without finishing: what its marker said about it."""

    run_id: str
    marker: dict[str, Any]


def _candidates(runs_dir: Path) -> set[str]:
    """Run ids with a marker or a work folder (a lock file alone is nothing to clean up)."""
    if not runs_dir.is_dir():
        return set()
    found = set()
    for entry in runs_dir.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found.add(entry.name)
        elif entry.name.endswith(MARKER_SUFFIX):
            found.add(entry.name.removesuffix(MARKER_SUFFIX))
    return found


def _read_marker(runs_dir: Path, run_id: str) -> dict[str, Any]:
    path = runs_dir / f"{run_id}{MARKER_SUFFIX}"
    try:
        marker: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return marker


@contextlib.contextmanager
def claim_dead_runs(runs_dir: Path) -> Iterator[list[DeadRun]]:
    """The dead runs of ``runs_dir``, their work folders (raw input) already deleted.

    Their locks are held while the block records them; when it succeeds their markers and lock
    files go too. When it fails the markers stay (they hold no prompt data), so the next run
    records them again. Runs of this process and live runs of other processes are skipped.
    """
    claimed: list[tuple[DeadRun, FileLock]] = []
    try:
        for run_id in sorted(_candidates(runs_dir) - set(_HELD)):
            lock = _lock(runs_dir / f"{run_id}{LOCK_SUFFIX}")
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue  # alive: its process holds the lock
            marker_file = runs_dir / f"{run_id}{MARKER_SUFFIX}"
            if not marker_file.exists() and not (runs_dir / run_id).exists():
                lock.release(force=True)  # another process cleaned it up meanwhile
                continue
            marker = _read_marker(runs_dir, run_id)
            shutil.rmtree(runs_dir / run_id, ignore_errors=True)
            log.warning("run %s died without finishing: deleted its work folder", run_id)
            claimed.append((DeadRun(run_id, marker), lock))
        yield [run for run, _ in claimed]
        for run, _ in claimed:
            _forget(runs_dir, run.run_id)
    finally:
        for _, lock in claimed:
            lock.release(force=True)


@contextlib.contextmanager
def model_fit_lock(home: Path) -> Iterator[None]:
    """One process at a time may fit and register a model for ``home`` (waits for the lock)."""
    home.mkdir(parents=True, exist_ok=True)
    with _lock(home / "model-fit.lock"):
        yield
