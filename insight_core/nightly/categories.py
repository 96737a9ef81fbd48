"""Stage 6 of the nightly run: one category per prompt, with its evidence."""

from __future__ import annotations

import logging
import time
from collections import Counter

import numpy as np
import polars as pl

from insight_core.nightly.context import (
    ClassifiedChunk,
    EmbeddedChunk,
    RedactedChunk,
    RunContext,
    TopicChunk,
)
from insight_core.nightly.stage_files import (
    names_full_disk,
)
from insight_core.nlp.cascade import decide
from insight_core.nlp.topics import OUTLIER_LABEL
from insight_core.runtime import ChunkModels
from schemas.classified import CLASSIFIED_SCHEMA

log = logging.getLogger(__name__)


@names_full_disk
def categorize(
    ctx: RunContext,
    redacted: RedactedChunk,
    embedded: EmbeddedChunk,
    topics: TopicChunk,
    models: ChunkModels,
) -> ClassifiedChunk:
    """Stage 6: rules, then the model; one category per prompt with its evidence."""
    started = time.perf_counter()
    settings = ctx.settings
    bundle = models.bundle
    frame = pl.read_parquet(redacted.path)
    texts = frame.get_column("text").to_list()
    vectors = np.load(embedded.path)
    topic_frame = pl.read_parquet(topics.path)
    cache = models.open_cache()
    try:
        # Only the transformer's passes wait for each other (the shared embedder): this chunk's
        # rules and cheap heads run while another chunk's prompts are in the transformer.
        result = decide(
            texts,
            vectors,
            models.rules,
            bundle.head,
            bundle.cascade,
            models.embedder,
            cache,
            settings.abstain_threshold,
            models.taxonomy.fallback,
        )
    finally:
        cache.close()
    decisions, escalated = result.decisions, int(result.escalated.sum())
    lookup = bundle.topic_lookup()
    topic_ids = topic_frame.get_column("topic_id").to_list()
    classified = (
        frame.drop("text", "kept_text", strict=False)
        .with_columns(
            pl.lit(ctx.run_date).alias("run_date"),
            pl.Series("category", [d.category for d in decisions], dtype=pl.String),
            pl.Series("decided_by", [d.decided_by for d in decisions], dtype=pl.String),
            pl.Series("rule_id", [d.rule_id for d in decisions], dtype=pl.String),
            pl.Series("confidence", [d.confidence for d in decisions], dtype=pl.Float64),
            pl.Series("topic_id", topic_ids, dtype=pl.Int64),
            pl.Series(
                "topic_label",
                [lookup.get(t, (OUTLIER_LABEL, "", None))[0] for t in topic_ids],
                dtype=pl.String,
            ),
            pl.Series(
                "topic_words",
                [lookup.get(t, ("", "", None))[1] for t in topic_ids],
                dtype=pl.String,
            ),
            pl.lit(bundle.version).alias("model_version"),
        )
        .select(
            "prompt_id",
            "run_date",
            "event_ts",
            "user_hash",
            "department",
            "tool",
            "category",
            "decided_by",
            "rule_id",
            "confidence",
            "topic_id",
            "topic_label",
            "topic_words",
            "model_version",
            "pii_redacted",
        )
    )
    CLASSIFIED_SCHEMA.validate(classified, lazy=True)
    path = ctx.path(f"chunk-{redacted.index:04d}.classified.parquet")
    classified.write_parquet(path)
    counts = Counter(d.category for d in decisions)
    return ClassifiedChunk(
        index=redacted.index,
        path=path,
        rows=classified.height,
        seconds=time.perf_counter() - started,
        by_rule=sum(d.decided_by == "rule" for d in decisions),
        rows_escalated=escalated,
        categories=dict(counts),
    )
