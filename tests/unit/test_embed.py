from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from insight_core.nlp import embed as embed_module
from insight_core.nlp.embed import (
    ConcurrencyLimitedEmbedder,
    EmbeddingCache,
    HashingEmbedder,
    embed_with_cache,
    normalize_text,
)

pytestmark = pytest.mark.unit


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(16)
        self.calls: list[str] = []

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.calls.extend(texts)
        return super().embed(texts)


def test_cache_avoids_recomputing_known_and_repeated_texts(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    first, computed = embed_with_cache(["a b", "c", "a  b "], embedder, cache)
    assert computed == 2 and embedder.calls == ["a b", "c"]
    assert np.allclose(first[0], first[2])
    cache.close()
    reopened = EmbeddingCache(tmp_path / "c.sqlite")
    again, computed = embed_with_cache(["c", "a b", "d"], embedder, reopened)
    assert computed == 1 and embedder.calls[-1] == "d"
    assert np.allclose(again[1], first[0])


def test_cache_is_keyed_by_model() -> None:
    assert EmbeddingCache.key("m1", "x") != EmbeddingCache.key("m2", "x")
    assert normalize_text("  a\n\tb  ") == "a b"


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    vectors = HashingEmbedder(32).embed(["vpn down", "vpn down", ""])
    assert np.allclose(vectors[0], vectors[1])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_sorting_by_length_feeds_the_embedder_longest_first_and_keeps_input_order() -> None:
    texts = [f"w{i} " * n for i, n in enumerate([3, 9, 1, 7, 5, 2, 8])]
    sorted_embedder, plain_embedder = CountingEmbedder(), CountingEmbedder()
    sorted_vectors, computed = embed_with_cache(
        texts, sorted_embedder, None, batch_size=3, sort_by_length=True
    )
    plain_vectors, _ = embed_with_cache(texts, plain_embedder, None, batch_size=3)
    assert computed == len(texts)
    lengths = [len(t) for t in sorted_embedder.calls]
    assert lengths == sorted(lengths, reverse=True)
    assert plain_embedder.calls == [normalize_text(t) for t in texts]
    # Rows still follow the input order: the same vector for the same text either way.
    assert np.array_equal(sorted_vectors, plain_vectors)


class SlowEmbedder(HashingEmbedder):
    """Records how many passes overlap in time."""

    def __init__(self) -> None:
        super().__init__(8)
        self.running = 0
        self.most_at_once = 0
        self._count = threading.Lock()

    def embed(self, texts):  # type: ignore[no-untyped-def]
        with self._count:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.05)
        with self._count:
            self.running -= 1
        return super().embed(texts)


@pytest.mark.parametrize("slots", [1, 2])
def test_concurrency_limited_embedder_runs_at_most_its_slots_at_once(slots: int) -> None:
    inner = SlowEmbedder()
    limited = ConcurrencyLimitedEmbedder(inner, threading.BoundedSemaphore(slots))
    texts = [[f"text {i}"] for i in range(8)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        vectors = list(pool.map(limited.embed, texts))
    assert inner.most_at_once == slots
    assert limited.model_id == inner.model_id and limited.dimension == inner.dimension
    assert all(np.array_equal(v, inner.embed(t)) for v, t in zip(vectors, texts, strict=True))


class _RefusedFirst:
    """A real SQLite connection whose first statement is refused as if another connection
    were closing the file: the case SQLite's busy timeout does not wait for."""

    def __init__(self, con: sqlite3.Connection, error: str) -> None:
        self._con, self._error = con, error

    def execute(self, *args):  # type: ignore[no-untyped-def]
        if self._error:
            raise sqlite3.OperationalError(self._error)
        return self._con.execute(*args)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._con, name)


def _connect_refusing(monkeypatch: pytest.MonkeyPatch, errors: list[str]) -> list[str]:
    real_connect = sqlite3.connect
    attempts: list[str] = []

    def connect(*args, **kwargs):  # type: ignore[no-untyped-def]
        error = errors[len(attempts)] if len(attempts) < len(errors) else ""
        attempts.append(error)
        return _RefusedFirst(real_connect(*args, **kwargs), error)

    monkeypatch.setattr(embed_module.sqlite3, "connect", connect)
    return attempts


def test_cache_opens_once_a_briefly_locked_file_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = _connect_refusing(monkeypatch, ["database is locked", "database is locked"])
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    cache.put_many({"k": np.ones(4)})
    assert cache.get_many(["k"])["k"].tolist() == [1.0, 1.0, 1.0, 1.0]
    cache.close()
    assert len(attempts) == 3


def test_cache_does_not_retry_errors_other_than_a_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = _connect_refusing(monkeypatch, ["file is not a database"])
    with pytest.raises(sqlite3.OperationalError, match="not a database"):
        EmbeddingCache(tmp_path / "cache.sqlite")
    assert len(attempts) == 1
