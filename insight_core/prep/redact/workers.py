"""Redacting a batch, spread over worker processes (the patterns are pure Python, so threads
would share one core)."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import polars as pl

from insight_core.prep.redact.engine import redact_text
from insight_core.prep.redact.pseudonyms import hash_user_id

log = logging.getLogger(__name__)

# Below this many texts a batch is redacted in the calling process: handing it to the pool
# would cost more than it saves.
PARALLEL_MIN_TEXTS = 200

_pool_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


def _redaction_pool(processes: int) -> ProcessPoolExecutor:
    """A pool of ``processes`` redaction processes, started on first use, kept for the process.

    Spawned, not forked: the caller has threads (and maybe a torch model) that a fork would copy
    in an unsafe state.
    """
    with _pool_lock:
        if processes not in _pools:
            _pools[processes] = ProcessPoolExecutor(
                max_workers=processes, mp_context=multiprocessing.get_context("spawn")
            )
            log.info("redaction: started %d worker processes", processes)
        return _pools[processes]


def _redact_batch(texts: list[str]) -> list[str]:
    return [redact_text(text) for text in texts]


def _redact_and_derive(
    derive: Callable[[str], str] | None, texts: list[str]
) -> tuple[list[str], list[str]]:
    redacted = _redact_batch(texts)
    return redacted, [derive(text) for text in redacted] if derive is not None else []


def redact_texts(texts: Sequence[str], processes: int = 1) -> list[str]:
    """``redact_text`` of every text, in order; with ``processes`` > 1 spread over that many
    worker processes (the patterns are pure Python, so threads would share one core).

    A daemonic process (a Dask worker) may not start processes of its own: there, and for
    small batches, the texts are redacted in the calling process.
    """
    return redact_and_derive(texts, None, processes)[0]


def redact_and_derive(
    texts: Sequence[str], derive: Callable[[str], str] | None, processes: int = 1
) -> tuple[list[str], list[str]]:
    """:func:`redact_texts`, and ``derive`` (a module-level function, so that worker
    processes can receive it) of each redacted text, computed in the same worker processes;
    without ``derive`` the second list is empty."""
    texts = list(texts)
    work = partial(_redact_and_derive, derive)
    if (
        processes <= 1
        or len(texts) < PARALLEL_MIN_TEXTS
        or multiprocessing.current_process().daemon
    ):
        return work(texts)
    size = -(-len(texts) // processes)
    parts = [texts[start : start + size] for start in range(0, len(texts), size)]
    done = list(_redaction_pool(processes).map(work, parts))
    return [t for part, _ in done for t in part], [t for _, part in done for t in part]


def redact_frame(
    frame: pl.DataFrame,
    secret: str,
    processes: int = 1,
    derive: tuple[str, Callable[[str], str]] | None = None,
) -> pl.DataFrame:
    """Redact ``text`` and replace ``user_id`` by ``user_hash`` in a validated batch
    (``processes``: see :func:`redact_texts`). With ``derive`` (a column name and a function),
    that column is added: the function of each redacted text."""
    redacted, derived = redact_and_derive(
        frame.get_column("text").to_list(), derive[1] if derive else None, processes
    )
    hashes = [hash_user_id(uid, secret) for uid in frame.get_column("user_id").to_list()]
    columns = [
        pl.Series("text", redacted, dtype=pl.String),
        pl.Series("user_hash", hashes, dtype=pl.String),
    ]
    if derive is not None:
        columns.append(pl.Series(derive[0], derived, dtype=pl.String))
    return frame.with_columns(columns).drop("user_id")
