"""Stages 4-5 of the nightly run: choose (or fit) the night's model, embed each chunk in its
space and assign each prompt its nearest topic."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import polars as pl

from insight_core.lifecycle.champion import train_champion
from insight_core.nightly import run_state
from insight_core.nightly.context import (
    EmbeddedChunk,
    ModelChoice,
    RedactedChunk,
    RunContext,
    TopicChunk,
)
from insight_core.nightly.stage_files import (
    names_full_disk,
)
from insight_core.nlp.embed import embed_with_cache
from insight_core.nlp.topics import OUTLIER_TOPIC
from insight_core.runtime import (
    ChunkModels,
    champion_bundle_version,
    require_champion,
)

log = logging.getLogger(__name__)


@names_full_disk
def embed(ctx: RunContext, chunk: RedactedChunk, models: ChunkModels) -> EmbeddedChunk:
    """Stage 4: embed the redacted texts of a chunk in the space of the model's topics.

    Transformer vectors reuse the on-disk cache. A cascade model's topics live in its static
    model's space: those vectors are a table lookup, computed afresh (no cache needed).
    """
    started = time.perf_counter()
    texts = pl.read_parquet(chunk.path, columns=["text"]).get_column("text").to_list()
    bundle = models.bundle
    if bundle.cascade is not None:
        vectors, computed = embed_with_cache(texts, bundle.cascade.static, None)
    else:
        cache = models.open_cache()
        try:
            vectors, computed = embed_with_cache(
                texts,
                models.embedder,
                cache,
                sort_by_length=ctx.settings.embedding_sort_by_length,
            )
        finally:
            cache.close()
    path = ctx.path(f"chunk-{chunk.index:04d}.embeddings.npy")
    np.save(path, vectors)
    seconds = time.perf_counter() - started
    log.info(
        "chunk %d: embedded %d prompts (%d new) in %.1fs",
        chunk.index,
        len(texts),
        computed,
        seconds,
    )
    return EmbeddedChunk(
        index=chunk.index, path=path, rows=len(texts), seconds=seconds, rows_embedded_new=computed
    )


@names_full_disk
def prepare_model(ctx: RunContext, redacted: Sequence[RedactedChunk]) -> ModelChoice:
    """Stage 5a: load the champion, or fit one (``fit`` mode, or no champion yet).

    A model fitted here is registered in MLflow and becomes the champion: the first model
    has nothing to compare with, and ``fit`` mode is an operator's explicit choice. Weekly
    refits go through the ``refit`` flow's promotion checks instead.
    """
    started = time.perf_counter()
    settings = ctx.settings
    champion = champion_bundle_version(settings)
    if ctx.mode == "infer" or (ctx.mode == "auto" and champion is not None):
        registry_version, bundle_version = require_champion(settings)
        return ModelChoice(bundle_version, False, time.perf_counter() - started, registry_version)
    # One fit at a time per home: concurrent first runs wait here, and all but the first
    # find the champion it registered and use it (one first model, not one per run).
    with run_state.model_fit_lock(settings.home.resolve()):
        champion = champion_bundle_version(settings)
        if ctx.mode == "auto" and champion is not None:
            registry_version, bundle_version = require_champion(settings)
            return ModelChoice(
                bundle_version, False, time.perf_counter() - started, registry_version
            )
        return _fit_champion(ctx, redacted, champion, started)


def _fit_champion(
    ctx: RunContext,
    redacted: Sequence[RedactedChunk],
    champion: tuple[str, str] | None,
    started: float,
) -> ModelChoice:
    tonight = pl.concat(
        [pl.read_parquet(c.path, columns=["prompt_id", "text", "user_hash"]) for c in redacted]
    )
    reason = "first model" if champion is None else f"fit requested by run {ctx.run_id}"
    fit = train_champion(
        ctx.settings, reason, end=ctx.run_date, tonight=tonight, run_id=ctx.mlflow_run_id
    )
    bundle, registry_version = fit.bundle, fit.registry_version
    return ModelChoice(bundle.version, True, time.perf_counter() - started, registry_version)


@names_full_disk
def assign_topics(ctx: RunContext, embedded: EmbeddedChunk, models: ChunkModels) -> TopicChunk:
    """Stage 5b: nearest topic of every prompt in a chunk."""
    started = time.perf_counter()
    bundle = models.bundle
    vectors = np.load(embedded.path)
    topic_ids, scores = bundle.topic_index.assign(vectors, ctx.settings.topics.min_similarity)
    path = ctx.path(f"chunk-{embedded.index:04d}.topics.parquet")
    pl.DataFrame({"topic_id": topic_ids, "topic_score": scores}).write_parquet(path)
    return TopicChunk(
        index=embedded.index,
        path=path,
        rows=len(topic_ids),
        seconds=time.perf_counter() - started,
        outliers=int((topic_ids == OUTLIER_TOPIC).sum()),
    )
