"""Models shared by a stage's threads are loaded once, however many chunks start together."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import pytest

from insight_core import runtime
from insight_core.nlp.embed import HashingEmbedder
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit


def test_threads_starting_together_share_one_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []

    @lru_cache(maxsize=4)
    def slow_load(model_spec: str, *options: object) -> HashingEmbedder:
        loads.append(model_spec)
        time.sleep(0.2)  # long enough for every thread to miss the cache without the lock
        return HashingEmbedder(16)

    monkeypatch.setattr(runtime, "load_embedder", slow_load)
    settings = InsightSettings(embedding_model="hashing-16")
    with ThreadPoolExecutor(max_workers=4) as pool:
        embedders = list(pool.map(lambda _: runtime.get_embedder(settings), range(4)))
    assert loads == ["hashing-16"]
    assert len({id(embedder) for embedder in embedders}) == 1


def test_shared_passes_follow_the_derived_parallelism_unless_set() -> None:
    from insight_core.environment import parallelism

    derived = InsightSettings(embedding_model="hashing-16")
    limited = runtime.shared_embedder(derived)
    assert limited._slots._initial_value == parallelism(derived).concurrent_passes >= 1  # type: ignore[attr-defined]
    explicit = InsightSettings(embedding_model="hashing-16", embedding_concurrent_passes=3)
    assert runtime.shared_embedder(explicit)._slots._initial_value == 3  # type: ignore[attr-defined]
