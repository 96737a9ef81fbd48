"""Ad-hoc classification of a file or of single texts, without touching the warehouse.

:meth:`Classifier.load_serving` is what ``insight classify``, the API and the web app use: the
registry's champion when there is one, otherwise the head-only model trained on first use from
the shipped examples (see :mod:`insight_core.examples_head`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from insight_core.csv_output import write_safe_csv
from insight_core.errors import SourceError
from insight_core.examples_head import (
    TOPICS_UNAVAILABLE,
    ensure_examples_head,
    is_examples_head,
    load_examples_head,
)
from insight_core.modelling.bundle import ModelBundle, bundle_precision, load_bundle
from insight_core.nlp.cascade import decide
from insight_core.nlp.embed import EmbeddingCache
from insight_core.nlp.rules import RuleSet
from insight_core.nlp.taxonomy import Taxonomy
from insight_core.nlp.topics import OUTLIER_LABEL
from insight_core.prep.redact import redact_text
from insight_core.runtime import (
    champion_bundle_version,
    get_embedder,
    load_decision_config,
    load_model_bundle,
    open_embedding_cache,
    require_champion,
    settings_as_fitted,
)
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)

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
        bundle = load_model_bundle(settings, version)
        return cls(settings_as_fitted(settings, bundle.manifest), bundle, rules, taxonomy)

    @classmethod
    def load_serving(cls, settings: InsightSettings) -> Classifier:
        """The champion's classifier, or on a home without a champion the head-only classifier
        trained from the shipped examples (trained on first use, then cached under the home).
        """
        champion = champion_bundle_version(settings) if _registry_exists(settings) else None
        if champion is not None:
            return cls.load(settings, champion[1])
        return cls.from_examples(settings)

    @classmethod
    def from_examples(cls, settings: InsightSettings) -> Classifier:
        """The head-only classifier of the shipped examples (no topics), cached under the home."""
        taxonomy, rules = load_decision_config(settings)
        directory = ensure_examples_head(settings, taxonomy, rules, get_embedder(settings))
        log.debug("no champion model yet: serving %s (no topics)", directory.name)
        return cls(settings, load_examples_head(directory), rules, taxonomy)

    @property
    def topics_available(self) -> bool:
        """False for the head-only examples model, whose topic is always -1 (unclustered)."""
        return not is_examples_head(self.bundle)

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
            embedding_precision=bundle_precision(manifest),
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
        # As the nightly run decides: in the topic space of the model (static with a cascade).
        vectors = self.bundle.topic_vectors(redacted, embedder, cache)
        decisions = decide(
            redacted,
            vectors,
            self.rules,
            self.bundle.head,
            self.bundle.cascade,
            embedder,
            cache,
            self.settings.abstain_threshold,
            self.taxonomy.fallback,
        ).decisions
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


def _registry_exists(settings: InsightSettings) -> bool:
    """False when the registry is a SQLite file that does not exist yet (so has no champion).

    Asking it anyway would create it: MLflow runs its schema migrations on first contact, and
    two processes doing that at once on a new home (say the API and ``insight classify``)
    collide. A tracking server or an existing file is asked.
    """
    prefix = "sqlite:///"
    uri = settings.tracking_uri
    return not uri.startswith(prefix) or Path(uri.removeprefix(prefix)).exists()


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


def classify_frame(
    classifier: Classifier,
    frame: pl.DataFrame,
    text_column: str,
    columns: Sequence[str] = OUTPUT_COLUMNS,
    chunk_size: int = 64,
    cache: EmbeddingCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """``frame`` with the prediction ``columns`` appended (replacing same-named ones),
    classified ``chunk_size`` rows at a time with ``progress(done, total)`` after each."""
    if text_column not in frame.columns:
        raise SourceError(f"no column '{text_column}' (columns: {', '.join(frame.columns)})")
    texts = frame.get_column(text_column).cast(pl.String).fill_null("").to_list()
    parts = []
    for start in range(0, len(texts), chunk_size):
        parts.append(classifier.classify(texts[start : start + chunk_size], cache))
        if progress is not None:
            progress(min(start + chunk_size, len(texts)), len(texts))
    labels = pl.concat(parts) if parts else classifier.classify([])
    kept = frame.drop([c for c in columns if c in frame.columns])
    return kept.hstack(labels.select(columns))


def classify_file(
    settings: InsightSettings,
    source: Path,
    destination: Path,
    text_column: str = "text",
    progress: Callable[[int, int], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> int:
    """Add category, decided_by, confidence, topic_id and topic_label to every row.

    Without a champion the head-only examples model answers (trained on first use), and
    ``notice`` hears that topics are unavailable.
    """
    frame = read_table(source)
    if text_column not in frame.columns:
        raise SourceError(
            f"{source} has no column '{text_column}' (columns: {', '.join(frame.columns)}); "
            "choose one with --text-column"
        )
    if destination.suffix.lower() not in {".csv", ".parquet"}:
        raise SourceError(f"unsupported output type '{destination.suffix}' (use .csv or .parquet)")
    classifier = Classifier.load_serving(settings)
    if not classifier.topics_available and notice is not None:
        notice(TOPICS_UNAVAILABLE)
    cache = open_embedding_cache(settings)
    try:
        result = classify_frame(
            classifier, frame, text_column, OUTPUT_COLUMNS, settings.chunk_size, cache, progress
        )
    finally:
        cache.close()
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.suffix.lower() == ".csv":
        write_safe_csv(result, destination)
    else:
        result.write_parquet(destination)
    return result.height
