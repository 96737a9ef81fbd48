"""Fitting a model bundle: category head from the labeled example set, BERTopic on a training
window, and each topic's majority category."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from insight_core.modelling.bundle import ModelBundle, new_version, save_cascade, write_manifest
from insight_core.modelling.examples import examples_cross_validation, train_cascade, train_head
from insight_core.nlp.cascade import Cascade, decide
from insight_core.nlp.decision import majority_categories
from insight_core.nlp.embed import Embedder, EmbeddingCache, embed_with_cache
from insight_core.nlp.taxonomy import examples_fingerprint
from insight_core.nlp.topics import (
    OUTLIER_TOPIC,
    TRUSTED_SOURCE,
    allowed_vocabulary,
    fit_topic_model,
    save_topic_model,
    topic_table,
)
from insight_core.runtime import (
    get_embedder,
    get_static_embedder,
    load_decision_config,
    load_model_bundle,
    open_embedding_cache,
    static_model_dir,
)
from insight_core.settings import InsightSettings, TopicSettings

log = logging.getLogger(__name__)


STORED_TEXT_SCHEMA = pl.Schema(
    {"prompt_id": pl.String(), "text": pl.String(), "user_hash": pl.String()}
)


def stored_texts(texts_dir: Path, start: date, end: date) -> pl.DataFrame:
    """Redacted texts (``prompt_id``, ``text``, ``user_hash``) of published run dates in
    [start, end]; ``user_hash`` is null in files written before it was kept."""
    files = [
        texts_dir / f"{day:%Y-%m-%d}.parquet"
        for day in (start + timedelta(days=i) for i in range((end - start).days + 1))
    ]
    frames = []
    for path in (f for f in files if f.exists()):
        frame = pl.read_parquet(path)
        if "user_hash" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("user_hash"))
        frames.append(frame.select(list(STORED_TEXT_SCHEMA)).cast(STORED_TEXT_SCHEMA))
    if not frames:
        return pl.DataFrame(schema=STORED_TEXT_SCHEMA)
    return pl.concat(frames)


def train_bundle(
    settings: InsightSettings,
    docs: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None,
    training_window: tuple[date, date] | None = None,
    doc_users: Sequence[str | None] | None = None,
) -> ModelBundle:
    """Fit and save a new model bundle (registration and promotion: see ``lifecycle``).

    ``doc_users`` holds each doc's user hash (``None``: unknown; no list: all unknown). Topic
    words are limited to terms used by at least ``min_group_size`` distinct users.
    """
    taxonomy, rules = load_decision_config(settings)
    head, examples = train_head(settings, taxonomy, embedder, cache)
    examples_cv = examples_cross_validation(
        settings, examples, head, rules, taxonomy, embedder, cache
    )
    training_docs = list(docs)
    training_users: list[str | None] = (
        list(doc_users) if doc_users is not None else [None] * len(training_docs)
    )
    cold_start = len(training_docs) < settings.topics.min_training_docs
    if cold_start:
        # Too few prompts for stable clusters: seed them with the labeled examples.
        log.warning(
            "only %d training prompts (< %d): adding the %d labeled examples to the topic fit",
            len(training_docs),
            settings.topics.min_training_docs,
            examples.height,
        )
        training_docs += examples.get_column("text").to_list()
        # The examples are written by the team: their words may be topic words.
        training_users += [TRUSTED_SOURCE] * examples.height
    cascade: Cascade | None = None
    cascade_scores: dict[str, float] = {}
    if settings.embedding_cascade:
        static = get_static_embedder(settings)
        cascade, cascade_scores = train_cascade(
            settings, taxonomy, rules, examples, static, head, embedder, cache
        )
        log.info(
            "cascade threshold %.2f (out of fold: macro-F1 %.3f against %.3f for the "
            "transformer alone, %.0f%% of examples sent to the transformer)",
            cascade.threshold,
            cascade_scores["cascade_oof_macro_f1"],
            cascade_scores["transformer_oof_macro_f1"],
            100 * cascade_scores["cascade_oof_escalated_share"],
        )
    # With the cascade, topics live in the static model's space: assigning them never needs
    # the transformer.
    topic_embedder = cascade.static if cascade is not None else embedder
    vectors, _ = embed_with_cache(training_docs, topic_embedder, None if cascade else cache)
    topic_settings = effective_topic_settings(settings)
    vocabulary = allowed_vocabulary(
        training_docs, training_users, topic_settings, settings.min_group_size
    )
    topic_model = fit_topic_model(
        training_docs, vectors, topic_settings, topic_embedder, vocabulary=vocabulary
    )
    doc_topics = [int(t) for t in topic_model.topics_]
    decisions = decide(
        training_docs,
        vectors,
        rules,
        head,
        cascade,
        embedder,
        cache,
        settings.abstain_threshold,
        taxonomy.fallback,
    ).decisions
    topic_category = majority_categories(doc_topics, [d.category for d in decisions])
    topic_category[OUTLIER_TOPIC] = None
    version = new_version()
    directory = settings.models_dir / version
    save_topic_model(topic_model, directory / "topics", topic_embedder.model_id)
    head.save(directory)
    cascade_entry = (
        save_cascade(directory, cascade, static_model_dir(settings)) if cascade else None
    )
    # A snapshot of the decision configuration makes the bundle self-contained (MLflow model).
    shutil.copyfile(settings.rules_file, directory / "rules.yaml")
    shutil.copyfile(settings.taxonomy_file, directory / "taxonomy.yaml")
    table = topic_table(topic_model).with_columns(
        pl.col("topic_id")
        .map_elements(lambda t: topic_category.get(int(t)), return_dtype=pl.String)
        .alias("category")
    )
    table.write_parquet(directory / "topics.parquet")
    outliers = sum(1 for t in doc_topics if t == OUTLIER_TOPIC)
    manifest: dict[str, Any] = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(),
        "embedding_model": embedder.model_id,
        "embedding_model_setting": settings.embedding_model,
        "embedding_max_tokens": settings.embedding_max_tokens,
        # As resolved on the fitting machine, so the bundle's own classifier repeats it.
        "embedding_precision": getattr(embedder, "precision", "float32"),
        "taxonomy_version": taxonomy.version,
        "rules_hash": rules.file_hash,
        "examples_hash": examples_fingerprint(examples),
        "n_examples": examples.height,
        "n_training_docs": len(training_docs),
        "n_topic_terms_allowed": len(vocabulary),
        "cold_start": cold_start,
        "training_window": [d.isoformat() for d in training_window] if training_window else None,
        "n_topics": int((table.get_column("topic_id") != OUTLIER_TOPIC).sum()),
        "outlier_share": outliers / max(len(doc_topics), 1),
        "topic_params": topic_settings.model_dump(exclude={"extra_stopwords"}),
        "abstain_threshold": settings.abstain_threshold,
        "head_temperature": head.temperature,
        "examples_cv": examples_cv,
        "cascade": cascade_entry,
        "cascade_scores": cascade_scores,
        "topic_embedding_model": topic_embedder.model_id,
    }
    write_manifest(directory, manifest)
    log.info(
        "fitted model %s: %d topics from %d prompts (%.0f%% outliers)",
        version,
        manifest["n_topics"],
        len(training_docs),
        100 * manifest["outlier_share"],
    )
    return load_model_bundle(settings, version)


def latest_stored_date(texts_dir: Path) -> date | None:
    """The most recent run date whose redacted texts are stored."""
    dates = []
    for path in texts_dir.glob("*.parquet") if texts_dir.exists() else []:
        try:
            dates.append(date.fromisoformat(path.stem))
        except ValueError:
            continue
    return max(dates) if dates else None


def training_window(
    settings: InsightSettings, end: date | None = None, window_days: int | None = None
) -> tuple[date, date]:
    """[start, end] of a training window; ``end`` defaults to the latest stored run date."""
    window_days = window_days or settings.topics.training_window_days
    end = end or latest_stored_date(settings.texts_dir) or datetime.now(UTC).date()
    return end - timedelta(days=window_days - 1), end


def effective_topic_settings(settings: InsightSettings) -> TopicSettings:
    """Topic parameters with the best ones found by ``tune`` applied, when there are any."""
    tuned_file = settings.tuned_topics_file
    if not tuned_file.exists():
        return settings.topics
    tuned = json.loads(tuned_file.read_text())
    return settings.topics.model_copy(update=tuned.get("params", {}))


@dataclass(frozen=True)
class WindowFit:
    """A bundle fitted on one training window, with the prompts it was fitted on."""

    bundle: ModelBundle
    docs: list[str]
    window: tuple[date, date]


def fit_on_window(
    settings: InsightSettings,
    end: date | None = None,
    window_days: int | None = None,
    tonight: pl.DataFrame | None = None,
) -> WindowFit:
    """Fit a bundle on the redacted prompts of the window of ``window_days`` ending at ``end``.

    The one window rule of every fit (first nightly fit, ``insight train``, refit): the days
    ``[end - window_days + 1, end]``. ``tonight`` holds the prompts (``prompt_id``, ``text``,
    ``user_hash``) of ``end`` itself when they are not stored yet (a nightly run fits before it
    publishes); they replace any stored ones. With no prompts at all the fit is a cold start
    on the shipped example set.
    """
    start, end = training_window(settings, end, window_days)
    stored_until = end - timedelta(days=1) if tonight is not None else end
    stored = stored_texts(settings.texts_dir, start, stored_until)
    if tonight is not None:
        tonight = tonight.select(stored.columns).cast(STORED_TEXT_SCHEMA)
        stored = pl.concat([stored, tonight])
    docs = stored.get_column("text").to_list()
    cache = open_embedding_cache(settings)
    try:
        bundle = train_bundle(
            settings,
            docs,
            get_embedder(settings),
            cache,
            training_window=(start, end),
            doc_users=stored.get_column("user_hash").to_list(),
        )
    finally:
        cache.close()
    return WindowFit(bundle, docs, (start, end))
