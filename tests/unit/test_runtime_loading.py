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


def test_a_bundle_decides_with_the_transformer_it_was_fitted_with() -> None:
    settings = InsightSettings(embedding_precision="int8")
    fitted_on_the_published_model = {
        "version": "20260101T000000-abcdef",
        "embedding_model_setting": "bundled:all-MiniLM-L6-v2",
        "embedding_max_tokens": 128,
        "embedding_precision": "float32",
    }
    as_fitted = runtime.settings_as_fitted(settings, fitted_on_the_published_model)
    assert as_fitted.embedding_model == "bundled:all-MiniLM-L6-v2"
    assert (as_fitted.embedding_max_tokens, as_fitted.embedding_precision) == (128, "float32")
    # Everything else stays as set.
    assert as_fitted.home == settings.home and as_fitted.chunk_size == settings.chunk_size
    # A bundle fitted with today's settings, or one that does not say, changes nothing.
    same = {
        "embedding_model_setting": settings.embedding_model,
        "embedding_max_tokens": settings.embedding_max_tokens,
        "embedding_precision": "int8",
    }
    assert runtime.settings_as_fitted(settings, same) is settings
    assert runtime.settings_as_fitted(settings, {"version": "old"}) is settings
    # Bundles from before int8 was a precision said so with a flag.
    older = {**fitted_on_the_published_model, "embedding_quantize": True}
    assert runtime.settings_as_fitted(settings, older).embedding_precision == "int8"
    # The test embedder has no precision: a bundle fitted with it records float32.
    hashing = InsightSettings(embedding_model="hashing-16", embedding_precision="int8")
    fitted_with_hashing = {
        "embedding_model_setting": "hashing-16",
        "embedding_max_tokens": hashing.embedding_max_tokens,
        "embedding_precision": "float32",
    }
    assert runtime.settings_as_fitted(hashing, fitted_with_hashing) is hashing
