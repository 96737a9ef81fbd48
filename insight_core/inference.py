"""Ad-hoc classification of a file or of single texts, without touching the warehouse."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from insight_core.csv_output import write_safe_csv
from insight_core.errors import SourceError
from insight_core.modelling.bundle import ModelBundle, load_bundle
from insight_core.nlp.decision import decide_categories, embed_views
from insight_core.nlp.embed import EmbeddingCache, embed_with_cache
from insight_core.nlp.rules import RuleSet
from insight_core.nlp.taxonomy import Taxonomy
from insight_core.nlp.topics import OUTLIER_LABEL
from insight_core.prep.redact import redact_text
from insight_core.runtime import (
    get_embedder,
    load_decision_config,
    load_model_bundle,
    open_embedding_cache,
    require_champion,
)
from insight_core.settings import InsightSettings

OUTPUT_COLUMNS = ("category", "decided_by", "confidence", "topic_id", "topic_label")


@dataclass(frozen=True)
class Classifier:
    """Loaded model bundle, rules and taxonomy: classifies redacted texts."""

    settings: InsightSettings
    bundle: ModelBundle
    rules: RuleSet
    taxonomy: Taxonomy

    @classmethod
    def load(cls, settings: InsightSettings, version: str | None = None) -> Classifier:
        """The classifier of bundle ``version`` (default: the registry's champion)."""
        if version is None:
            version = require_champion(settings)[1]
        taxonomy, rules = load_decision_config(settings)
        return cls(settings, load_model_bundle(settings, version), rules, taxonomy)

    @classmethod
    def from_bundle_dir(cls, directory: Path) -> Classifier:
        """A self-contained classifier from a bundle folder (the MLflow pyfunc model).

        Uses the rules and taxonomy snapshot saved in the bundle and the embedding model it
        was trained with.
        """
        manifest = json.loads((directory / "manifest.json").read_text())
        settings = InsightSettings(
            embedding_model=manifest.get("embedding_model_setting", "bundled:all-MiniLM-L6-v2"),
            embedding_max_tokens=manifest.get("embedding_max_tokens"),
            embedding_quantize=manifest.get("embedding_quantize", False),
            rules_path=directory / "rules.yaml",
            taxonomy_path=directory / "taxonomy.yaml",
            abstain_threshold=manifest.get("abstain_threshold", 0.35),
        )
        taxonomy, rules = load_decision_config(settings)
        bundle = load_bundle(directory, get_embedder(settings))
        return cls(settings, bundle, rules, taxonomy)

    def classify(self, texts: Sequence[str], cache: EmbeddingCache | None = None) -> pl.DataFrame:
        """One row per text: category, evidence and topic (texts are redacted first)."""
        redacted = [redact_text(t) for t in texts]
        embedder = get_embedder(self.settings)
        vectors, _ = embed_with_cache(redacted, embedder, cache)
        decisions = decide_categories(
            redacted,
            vectors,
            self.rules,
            self.bundle.head,
            self.settings.abstain_threshold,
            self.taxonomy.fallback,
            views=embed_views(redacted, embedder, cache, vectors, self.bundle.head),
        )
        topic_ids, _ = self.bundle.topic_index.assign(vectors, self.settings.topics.min_similarity)
        lookup = self.bundle.topic_lookup()
        return pl.DataFrame(
            {
                "category": [d.category for d in decisions],
                "decided_by": [d.decided_by for d in decisions],
                "confidence": [round(d.confidence, 4) for d in decisions],
                "rule_id": [d.rule_id for d in decisions],
                "matched_phrase": [d.matched_phrase for d in decisions],
                "topic_id": [int(t) for t in topic_ids],
                "topic_label": [
                    lookup.get(int(t), (OUTLIER_LABEL, "", None))[0] for t in topic_ids
                ],
                "topic_words": [lookup.get(int(t), ("", "", None))[1] for t in topic_ids],
            },
            schema={
                "category": pl.String,
                "decided_by": pl.String,
                "confidence": pl.Float64,
                "rule_id": pl.String,
                "matched_phrase": pl.String,
                "topic_id": pl.Int64,
                "topic_label": pl.String,
                "topic_words": pl.String,
            },
        )


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV or Parquet file the user hands us."""
    if not path.exists():
        raise SourceError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=10000)
        if suffix == ".parquet":
            return pl.read_parquet(path)
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"cannot read {path}: {exc}".splitlines()[0]) from exc
    raise SourceError(f"unsupported input type '{suffix}' (use .csv or .parquet)")


def classify_file(
    settings: InsightSettings,
    source: Path,
    destination: Path,
    text_column: str = "text",
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add category, decided_by, confidence, topic_id and topic_label to every row."""
    frame = read_table(source)
    if text_column not in frame.columns:
        raise SourceError(
            f"{source} has no column '{text_column}' (columns: {', '.join(frame.columns)}); "
            "choose one with --text-column"
        )
    if destination.suffix.lower() not in {".csv", ".parquet"}:
        raise SourceError(f"unsupported output type '{destination.suffix}' (use .csv or .parquet)")
    classifier = Classifier.load(settings)
    texts = frame.get_column(text_column).cast(pl.String).fill_null("").to_list()
    cache = open_embedding_cache(settings)
    parts = []
    try:
        for start in range(0, len(texts), settings.chunk_size):
            parts.append(classifier.classify(texts[start : start + settings.chunk_size], cache))
            if progress is not None:
                progress(min(start + settings.chunk_size, len(texts)), len(texts))
    finally:
        cache.close()
    labels = pl.concat(parts) if parts else classifier.classify([])
    result = frame.drop([c for c in OUTPUT_COLUMNS if c in frame.columns]).hstack(
        labels.select(OUTPUT_COLUMNS)
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.suffix.lower() == ".csv":
        write_safe_csv(result, destination)
    else:
        result.write_parquet(destination)
    return result.height
