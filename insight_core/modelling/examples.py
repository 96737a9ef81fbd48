"""The category head learned from the shipped labeled example set, and its out-of-fold score."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from insight_core.modelling.metrics import cross_validate_head
from insight_core.nlp.decision import embed_views
from insight_core.nlp.embed import Embedder, EmbeddingCache, embed_with_cache
from insight_core.nlp.head import CategoryHead, train_category_head
from insight_core.nlp.rules import RuleSet
from insight_core.nlp.taxonomy import Taxonomy, load_examples
from insight_core.settings import InsightSettings


def train_head(
    settings: InsightSettings,
    taxonomy: Taxonomy,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> tuple[CategoryHead, pl.DataFrame]:
    """Train the category head on the labeled example set plus the category descriptions."""
    examples = load_examples(settings.examples_file, taxonomy, settings.extra_examples_paths)
    texts = examples.get_column("text").to_list() + list(taxonomy.descriptions.values())
    labels = examples.get_column("category").to_list() + list(taxonomy.descriptions)
    vectors, _ = embed_with_cache(texts, embedder, cache)
    return train_category_head(vectors, labels), examples


def examples_cross_validation(
    settings: InsightSettings,
    examples: pl.DataFrame,
    head: CategoryHead,
    rules: RuleSet,
    taxonomy: Taxonomy,
    embedder: Embedder,
    cache: EmbeddingCache | None,
) -> dict[str, float]:
    """Out-of-fold scores of the hybrid decision on the shipped example set (for MLflow)."""
    texts = examples.get_column("text").to_list()
    vectors, _ = embed_with_cache(texts, embedder, cache)

    def fold_head(fold_vectors: np.ndarray, fold_labels: Sequence[str]) -> CategoryHead:
        fitted = train_category_head(fold_vectors, fold_labels, calibration_folds=0)
        return replace(fitted, temperature=head.temperature)

    report = cross_validate_head(
        examples,
        vectors,
        rules,
        fold_head,
        settings.abstain_threshold,
        taxonomy.categories,
        taxonomy.fallback,
        views=embed_views(texts, embedder, cache),
    )
    scores = {"accuracy": report.accuracy, "macro_f1": report.macro_f1}
    scores.update(
        {f"f1_{row['category']}": row["f1"] for row in report.per_category.iter_rows(named=True)}
    )
    return scores
