"""Versioned model bundles on disk: topic model + category head + topic catalogue.

A bundle is a folder ``<models_dir>/<version>/`` holding the BERTopic model (safetensors),
the category head (safetensors), the topic catalogue (Parquet) and ``manifest.json`` (embedding
model, taxonomy version, rules hash, parameters, metrics). Which bundle serves is decided by the
model registry (see ``lifecycle``).
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from insight_core.errors import ModelNotFoundError
from insight_core.nlp.cascade import Cascade
from insight_core.nlp.embed import Embedder, EmbeddingCache, embed_with_cache
from insight_core.nlp.head import CategoryHead
from insight_core.nlp.lexical import LexicalHead
from insight_core.nlp.static import StaticEmbedder
from insight_core.nlp.topics import TopicIndex, load_topic_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelBundle:
    """Everything the category and topic decision needs, loaded."""

    version: str
    directory: Path
    manifest: dict[str, Any]
    head: CategoryHead
    topic_index: TopicIndex
    topics: pl.DataFrame  # topic_id, label, words, size, category
    # With the embedding cascade: the static model (which also carries the topics) and its head.
    cascade: Cascade | None = None

    @property
    def embedding_model(self) -> str:
        return str(self.manifest["embedding_model"])

    def topic_vectors(
        self, texts: Sequence[str], embedder: Embedder, cache: EmbeddingCache | None
    ) -> np.ndarray:
        """``texts`` embedded in the space of this bundle's topics.

        With a cascade that is its static model (a table lookup, not worth caching); without
        one the transformer ``embedder``, through ``cache``.
        """
        if self.cascade is not None:
            return embed_with_cache(texts, self.cascade.static, None)[0]
        return embed_with_cache(texts, embedder, cache)[0]

    def topic_lookup(self) -> dict[int, tuple[str, str, str | None]]:
        """topic_id -> (label, words, category)."""
        return {
            row["topic_id"]: (row["label"], row["words"], row["category"])
            for row in self.topics.iter_rows(named=True)
        }


def new_version() -> str:
    """Sortable, unique model version: UTC time plus a short random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


STATIC_MODEL_DIR = "static"
STATIC_HEAD_DIR = "static_head"
LEXICAL_HEAD_DIR = "lexical_head"


def save_cascade(directory: Path, cascade: Cascade, source: Path) -> dict[str, Any]:
    """Copy the static model (from ``source``) and its head into a bundle; manifest entry."""
    shutil.copytree(source, directory / STATIC_MODEL_DIR, dirs_exist_ok=True)
    cascade.head.save(directory / STATIC_HEAD_DIR)
    entry: dict[str, Any] = {
        "static_model": cascade.static.model_id,
        "threshold": cascade.threshold,
    }
    if cascade.lexical is not None:
        cascade.lexical.save(directory / LEXICAL_HEAD_DIR)
        entry["lexical_head"] = LEXICAL_HEAD_DIR
    return entry


def _load_cascade(directory: Path, manifest: dict[str, Any]) -> Cascade | None:
    entry = manifest.get("cascade")
    if not entry:
        return None
    static = StaticEmbedder(directory / STATIC_MODEL_DIR)
    if static.model_id != entry["static_model"]:
        raise ModelNotFoundError(f"the static model in bundle {directory.name} was altered")
    # Bundles fitted before the lexical head existed decide with the static head alone.
    lexical = entry.get("lexical_head")
    return Cascade(
        static,
        CategoryHead.load(directory / STATIC_HEAD_DIR),
        float(entry["threshold"]),
        LexicalHead.load(directory / lexical) if lexical else None,
    )


@dataclass(frozen=True)
class BundleCatalogue:
    """What a bundle says about itself, read without loading any of its models."""

    version: str
    manifest: dict[str, Any]
    topics: pl.DataFrame
    cascade: bool


def read_manifest(directory: Path) -> dict[str, Any]:
    """A bundle's manifest alone (no models, no topic table)."""
    manifest_file = directory / "manifest.json"
    if not manifest_file.exists():
        raise ModelNotFoundError(f"no model bundle at {directory}")
    manifest: dict[str, Any] = json.loads(manifest_file.read_text())
    return manifest


def read_bundle_catalogue(directory: Path) -> BundleCatalogue:
    """A bundle's manifest and topic catalogue: for reports after its models are released."""
    manifest = read_manifest(directory)
    return BundleCatalogue(
        version=str(manifest["version"]),
        manifest=manifest,
        topics=pl.read_parquet(directory / "topics.parquet"),
        cascade=bool(manifest.get("cascade")),
    )


Precision = Literal["float32", "bfloat16", "int8", "auto"]


def bundle_precision(manifest: dict[str, Any]) -> Precision:
    """The transformer arithmetic a bundle was fitted with, as ``INSIGHT_EMBEDDING_PRECISION``
    names it (bundles from before int8 was a precision record it as ``embedding_quantize``)."""
    if manifest.get("embedding_quantize"):
        return "int8"
    recorded = manifest.get("embedding_precision", "float32")
    return "bfloat16" if recorded == "bfloat16" else "int8" if recorded == "int8" else "float32"


def load_bundle(directory: Path, embedder: Embedder | None = None) -> ModelBundle:
    """Load a bundle folder; the embedder is attached to BERTopic for word-level calls.

    A cascade bundle's topics live in its static model's space, so that model is attached.
    """
    manifest = read_manifest(directory)
    cascade = _load_cascade(directory, manifest)
    fitted_with = manifest.get("embedding_model")
    if embedder is not None and fitted_with and fitted_with != embedder.model_id:
        # Topics and head read vectors of the space they were fitted in; another embedder's
        # vectors (another model, or an int8/truncated variant) shift every decision.
        log.warning(
            "model bundle %s was fitted on '%s' embeddings but the embedder is '%s': "
            "refit, or set the embedding settings the bundle was trained with",
            directory.name,
            fitted_with,
            embedder.model_id,
        )
    topic_model = load_topic_model(
        directory / "topics", cascade.static if cascade is not None else embedder
    )
    return ModelBundle(
        version=str(manifest["version"]),
        directory=directory,
        manifest=manifest,
        head=CategoryHead.load(directory),
        topic_index=TopicIndex.from_model(topic_model),
        topics=pl.read_parquet(directory / "topics.parquet"),
        cascade=cascade,
    )
