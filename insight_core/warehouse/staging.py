"""Staged publication: a staging copy of the catalog that replaces the published one atomically.

Analysts (and the API) open the *published* catalog read-only; a writer never touches it. It
copies the (small) catalog to a staging file beside it, works there under the publish lock,
and only on success replaces the published file with ``os.replace`` (atomic on POSIX). A
reader that opened the old catalog keeps a consistent old snapshot; a failure deletes the
staging copy and the Parquet files the build wrote, and leaves everything published untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

from insight_core.errors import ConfigError, disk_full_names
from insight_core.interrupts import shielded
from insight_core.warehouse.migrations import apply_migrations
from insight_core.warehouse.partitions import (
    PartitionFiles,
    adopt_partitioned_storage,
    discard_unnamed_partitions,
    partitions_root,
)

log = logging.getLogger(__name__)


@contextlib.contextmanager
def publish_lock(published: Path) -> Iterator[None]:
    """Serialise publishers of one warehouse (readers are never blocked)."""
    published.parent.mkdir(parents=True, exist_ok=True)
    with published.with_name(published.name + ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def discard_stale_staging(published: Path, *companions: Path) -> list[Path]:
    """Delete staging copies (and their ``.wal``) a dead publisher left; returns them.

    Staging files exist only while their publisher holds the publish lock, so when the lock
    is free every one of them is a leftover. While another run publishes, nothing is touched.
    """
    lock_file = published.with_name(published.name + ".lock")
    if not lock_file.exists():
        return []
    removed: list[Path] = []
    with lock_file.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []
        try:
            for target in (published, *companions):
                for stale in target.parent.glob(f".{target.name}.staging-*"):
                    if stale.is_dir():  # DuckDB's spill folder (``<staging>.tmp``)
                        shutil.rmtree(stale, ignore_errors=True)
                    else:
                        stale.unlink(missing_ok=True)
                    removed.append(stale)
            removed += discard_unnamed_partitions(published)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return removed


@contextlib.contextmanager
def staged_build(
    published: Path,
    companions: list[tuple[Path, Path]] | None = None,
    files: PartitionFiles | None = None,
    memory_limit: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to a staging copy that replaces ``published`` on success.

    Any exception inside the block discards the staging copy and leaves ``published`` as it was.
    ``(staging file, target)`` pairs the block appends to ``companions`` are published right
    after, under the same lock (the analyst copy), or deleted on failure. Parquet files the
    block lists in ``files.written`` are deleted on failure; ``files.expired`` are deleted
    after a successful publication. ``memory_limit`` caps DuckDB's memory (DuckDB's default:
    80% of the machine's).
    """
    companions = companions if companions is not None else []
    files = files if files is not None else PartitionFiles()
    with publish_lock(published):
        staging = published.with_name(f".{published.name}.staging-{uuid.uuid4().hex[:8]}")
        con: duckdb.DuckDBPyConnection | None = None
        swapped = False
        try:
            with disk_full_names(staging):
                if published.exists():
                    shutil.copyfile(published, staging)
                con = duckdb.connect(
                    str(staging), config={"memory_limit": memory_limit} if memory_limit else {}
                )
                apply_migrations(con)
                adopt_partitioned_storage(con, partitions_root(published), files)
            yield con
            with disk_full_names(staging):
                started = time.perf_counter()
                con.execute("CHECKPOINT")
                con.close()
                log.debug("checkpoint took %.3f s", time.perf_counter() - started)
                with staging.open("rb+") as handle:
                    os.fsync(handle.fileno())
            # A stop signal waits for the swap: half a publication (the catalog replaced, its
            # new files then deleted below as a failure's) must never be seen.
            with shielded():
                staging.replace(published)
                swapped = True
                for companion, target in companions:
                    companion.replace(target)
        except BaseException as error:
            if swapped:
                # Published (a stop signal held during the swap is raised now): the catalog
                # names the new files, so nothing may be undone. Leftovers of a failed
                # companion swap are discarded by the next run (discard_stale_staging).
                raise
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()
            for path in [staging, *(companion for companion, _ in companions)]:
                path.unlink(missing_ok=True)
                Path(str(path) + ".wal").unlink(missing_ok=True)
            for path in files.written:
                path.unlink(missing_ok=True)
            if memory_limit and _out_of_memory(error):
                raise ConfigError(
                    f"publishing needed more than the {memory_limit} DuckDB may use: raise "
                    "INSIGHT_WAREHOUSE_MEMORY_LIMIT (the published warehouse is unchanged)"
                ) from error
            raise
        for path in files.expired:
            path.unlink(missing_ok=True)


def _out_of_memory(error: BaseException) -> bool:
    """Did DuckDB run out of its memory, directly or under a model's error (``raise from``)?"""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, duckdb.OutOfMemoryException):
            return True
        cause = cause.__cause__
    return False
