"""Memory housekeeping of a nightly run, in one place; the task layer calls it between stages.

Domain steps never call it: what a chunk or a publication keeps in memory is the orchestration's
concern, not the stage's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache

from insight_core.runtime import drop_loaded_models

# From this many loaded prompts, a night publishes after releasing its models: the
# publication's DuckDB memory then does not come on top of them at the night's end. The next
# night in the same process loads them again, which only a small night would notice.
RELEASE_MODELS_FROM_ROWS = 50_000


def release_before_publication(rows_loaded: int) -> None:
    """Release the models before a large night's publication (``RELEASE_MODELS_FROM_ROWS``)."""
    if rows_loaded >= RELEASE_MODELS_FROM_ROWS:
        release_models()


def release_models() -> None:
    """Drop the embedders and model bundles this process holds, and hand their memory back.

    They load again on next use. Called before a large night's publication, which no longer
    needs them (docs/benchmarks.md, "Memory through the night").
    """
    drop_loaded_models()
    gc.collect()
    release_freed_memory()


def release_freed_memory() -> None:
    """Hand memory freed by finished work back to the operating system (glibc only).

    glibc keeps freed heap pages of every thread's arena for reuse; after each chunk's model
    passes (activations of ever-new shapes, from several worker threads) that kept memory grows
    a night's RSS with its length. Trimming after each chunk keeps it flat
    (docs/benchmarks.md, "Memory across a night"). Elsewhere (musl, macOS) a no-op.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    library = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(library).malloc_trim if library else None
    except (OSError, AttributeError):
        return None
