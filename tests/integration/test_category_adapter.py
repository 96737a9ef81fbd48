"""The shipped category adapter, merged into the bundled model at load time."""

from __future__ import annotations

import numpy as np
import pytest

from insight_core.errors import ConfigError
from insight_core.nlp.embed import (
    SentenceTransformerEmbedder,
    category_adapter_dir,
    load_transformer_parts,
    resolve_model,
    split_adapter,
)
from insight_core.settings import ADAPTED_BUNDLED_MODEL, InsightSettings

pytestmark = pytest.mark.integration

BASE = "bundled:all-MiniLM-L6-v2"


def test_the_adapted_model_is_the_bundled_one_with_an_id_of_its_own() -> None:
    assert f"{BASE}+categories" == ADAPTED_BUNDLED_MODEL
    assert InsightSettings().embedding_model == ADAPTED_BUNDLED_MODEL
    base_location, offline, base_id = resolve_model(BASE)
    location, tuned_offline, tuned_id = resolve_model(ADAPTED_BUNDLED_MODEL)
    # Same weights on disk, offline, but a model id of its own: cached vectors and bundles of
    # the two are never mixed.
    assert (location, tuned_offline) == (base_location, offline) and offline
    assert tuned_id.startswith(base_id + "+categories-") and tuned_id != base_id
    assert (category_adapter_dir() / "adapter_model.safetensors").stat().st_size < 5_000_000
    assert (category_adapter_dir() / "TRAINING.md").exists()


def test_the_adapter_is_for_the_bundled_model_only() -> None:
    with pytest.raises(ConfigError, match="bundled model only"):
        split_adapter("/models/some-other-model+categories")
    assert split_adapter(BASE) == (BASE, None)


def test_the_merged_model_is_a_plain_model_with_other_vectors() -> None:
    texts = ["reset my password for the payroll portal", "write a haiku about autumn rain"]
    base = SentenceTransformerEmbedder(BASE)
    tuned = SentenceTransformerEmbedder(ADAPTED_BUNDLED_MODEL)
    # Merged, not wrapped: no LoRA layers remain, so a pass costs what the base model's does.
    names = [name for name, _ in tuned._model.named_parameters()]
    assert names == [name for name, _ in base._model.named_parameters()]
    assert not any("lora" in name for name in names)
    tuned_vectors = tuned.embed(texts)
    assert np.allclose(np.linalg.norm(tuned_vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(tuned_vectors, base.embed(texts), atol=1e-3)
    assert np.array_equal(tuned_vectors, tuned.embed(texts))
    # What the static model is distilled from is the same merged model.
    model, tokenizer = load_transformer_parts(ADAPTED_BUNDLED_MODEL)
    query = tuned._model[0].auto_model.encoder.layer[0].attention.self.query.weight
    assert np.array_equal(
        model.encoder.layer[0].attention.self.query.weight.detach().numpy(),
        query.detach().numpy(),
    )
    assert tokenizer("hello")["input_ids"]
