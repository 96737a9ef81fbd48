"""Versioned model bundles on disk: topic model + category head + topic catalogue.

A bundle is a folder ``<models_dir>/<version>/`` holding the BERTopic model (safetensors),
the category head (safetensors), the topic catalogue (Parquet) and ``manifest.json`` (embedding
model, taxonomy version, rules hash, parameters, metrics). Which bundle serves is decided by the
model registry (see ``lifecycle``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from insight_core.errors import ModelNotFoundError
from insight_core.nlp.embed import Embedder
from insight_core.nlp.head import CategoryHead
from insight_core.nlp.topics import TopicIndex, load_topic_model


@dataclass(frozen=True)
class ModelBundle:
    """Everything the category and topic decision needs, loaded."""

    version: str
    directory: Path
    manifest: dict[str, Any]
    head: CategoryHead
    topic_index: TopicIndex
    topics: pl.DataFrame  # topic_id, label, words, size, category

    @property
    def embedding_model(self) -> str:
        return str(self.manifest["embedding_model"])

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


def load_bundle(directory: Path, embedder: Embedder | None = None) -> ModelBundle:
    """Load a bundle folder; the embedder is attached to BERTopic for word-level calls."""
    manifest_file = directory / "manifest.json"
    if not manifest_file.exists():
        raise ModelNotFoundError(f"no model bundle at {directory}")
    manifest = json.loads(manifest_file.read_text())
    topic_model = load_topic_model(directory / "topics", embedder)
    return ModelBundle(
        version=str(manifest["version"]),
        directory=directory,
        manifest=manifest,
        head=CategoryHead.load(directory),
        topic_index=TopicIndex.from_model(topic_model),
        topics=pl.read_parquet(directory / "topics.parquet"),
    )
