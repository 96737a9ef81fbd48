"""A static embedding model distilled from the transformer: the cheap first step of the cascade.

``model2vec`` turns every word piece of the transformer's vocabulary into one vector (the
transformer's output for that piece alone, reduced by PCA and weighted by estimated word
frequency); a text's vector is then the mean of its pieces' vectors: a table lookup in numpy,
about a hundred times faster than a transformer pass (docs/benchmarks.md, "Embedding options").
Distilling needs only the transformer already installed and takes about 20 s on two cores, so
it runs once per home on first use instead of shipping a second model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from insight_core.errors import ConfigError
from insight_core.nlp.embed import load_transformer_parts, resolve_model

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
SOURCE_FILE = "distilled_from.json"
# Longer texts are cut here: the mean over 512 pieces is already stable.
MAX_PIECES = 512


class StaticEmbedder:
    """A distilled model2vec model in a folder; vectors are L2-normalised float32."""

    def __init__(self, directory: Path) -> None:
        from model2vec import StaticModel

        if not (directory / WEIGHTS_FILE).exists():
            raise ConfigError(f"no static embedding model at {directory}")
        self.directory = directory
        self._model = StaticModel.from_pretrained(str(directory))
        # A tokenizer that kept the transformer's padding to 128 pieces would put [PAD] pieces
        # into every mean and drown the text; encode() truncates by itself.
        self._model.tokenizer.no_padding()
        self._model.tokenizer.no_truncation()
        self.dimension = int(self._model.dim)
        digest = hashlib.sha256((directory / WEIGHTS_FILE).read_bytes()).hexdigest()[:12]
        self.model_id = f"static-{self.dimension}@{digest}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.asarray(
            self._model.encode(
                list(texts),
                max_length=MAX_PIECES,
                batch_size=1024,
                show_progress_bar=False,
                use_multiprocessing=False,
            ),
            dtype=np.float32,
        )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        # A text of unknown pieces only has a zero vector: keep it zero, not NaN.
        return vectors / np.where(norms > 0, norms, 1.0)


def distill_static_model(model_spec: str, out: Path, dims: int) -> None:
    """Distil the transformer a model setting names (its adapter merged) into ``out``."""
    source_id = resolve_model(model_spec)[2]
    log.info(
        "distilling a %d-dim static embedding model from %s (once per home, about 20 s)",
        dims,
        source_id,
    )
    transformer, tokenizer = load_transformer_parts(model_spec)
    distill_from_transformer(transformer, tokenizer, source_id, out, dims)


def distill_from_transformer(
    transformer: Any, tokenizer: Any, source_id: str, out: Path, dims: int
) -> None:
    """Distil a loaded transformers model into ``out``.

    Written to a temporary folder and renamed into place, so a reader never sees half a model.
    """
    from model2vec.distill import distill_from_model

    model = distill_from_model(model=transformer, tokenizer=tokenizer, pca_dims=dims, device="cpu")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save_pretrained(str(staging))
        (staging / SOURCE_FILE).write_text(json.dumps({"source": source_id, "dims": dims}))
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
