from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from insight_core.nlp.embed import EmbeddingCache, HashingEmbedder, embed_with_cache, normalize_text

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
