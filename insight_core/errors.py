"""Errors meant for people: each carries a one-line message the CLI prints as is."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


class InsightError(Exception):
    """A failure with a clear, user-facing explanation (no traceback needed)."""


class SourceError(InsightError):
    """The input source is missing, unreadable or lacks required columns."""


class ConfigError(InsightError):
    """A setting or configuration file is missing or invalid."""


class ModelNotFoundError(InsightError):
    """No topic/category model is available where one is required."""


class ChecksFailedError(InsightError):
    """Warehouse checks returned failing rows; the build was not published."""

    def __init__(self, failures: dict[str, int]) -> None:
        self.failures = failures
        summary = ", ".join(f"{name} ({rows} rows)" for name, rows in sorted(failures.items()))
        super().__init__(f"warehouse checks failed, nothing was published: {summary}")


class FewerRowsError(InsightError):
    """A run would replace a loaded date with fewer rows, and was not told to (``--replace``)."""

    def __init__(self, run_date: object, loaded: int, incoming: int) -> None:
        self.loaded = loaded
        self.incoming = incoming
        super().__init__(
            f"refusing to replace {run_date}: {loaded} prompts are loaded for it and this run "
            f"would leave {incoming}; the published warehouse is unchanged. Check the source "
            "(an unreadable or partial file?), or run again with --replace (flow parameter "
            "replace=true) to replace the date with fewer rows"
        )


class DiskFullError(InsightError):
    """A write failed because its file system is full (``ENOSPC``): final, no retry helps."""

    def __init__(self, path: Path, free_bytes: int | None = None) -> None:
        self.path = path
        free = f" ({free_bytes / 1e6:.1f} MB free)" if free_bytes is not None else ""
        super().__init__(
            f"disk full: no space left on the device of {path}{free}; free some space there "
            "and rerun the date"
        )


# How the libraries that write our files report ENOSPC when it is not an OSError: polars
# (Rust's "os error 28"), DuckDB (an IOException with the C library's text).
_DISK_FULL_TEXTS = ("no space left on device", "os error 28")


def is_disk_full(error: BaseException) -> bool:
    """Is ``error`` (or an error it was raised from) a full file system?"""
    seen: BaseException | None = error
    for _ in range(10):  # the cause chain, bounded
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if any(text in str(seen).lower() for text in _DISK_FULL_TEXTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _free_bytes(path: Path) -> int | None:
    for folder in (path, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


@contextlib.contextmanager
def disk_full_names(path: Path) -> Iterator[None]:
    """Turn a full disk inside the block into a :class:`DiskFullError` that names the file (the
    one the error names, else ``path``: a write to an open file carries no name)."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as error:
        if not is_disk_full(error):
            raise
        named = getattr(error, "filename", None)
        target = Path(named) if isinstance(named, str | os.PathLike) else path
        raise DiskFullError(target, _free_bytes(target)) from error
