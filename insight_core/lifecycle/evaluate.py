"""``insight evaluate``: score the category decision on a labeled file and log it to MLflow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from insight_core.errors import SourceError
from insight_core.inference import read_table
from insight_core.modelling.examples import train_head
from insight_core.modelling.metrics import (
    MODES,
    EvaluationMode,
    EvaluationReport,
    confusion_png,
    evaluate,
    prepare_labeled,
    report_json,
)
from insight_core.nlp.cascade import decide_with_cascade
from insight_core.nlp.decision import embed_views
from insight_core.nlp.embed import embed_with_cache
from insight_core.registry import open_tracker
from insight_core.runtime import (
    champion_bundle_version,
    get_embedder,
    load_decision_config,
    load_model_bundle,
    open_embedding_cache,
)
from insight_core.settings import InsightSettings


def run_evaluation(
    settings: InsightSettings,
    path: Path,
    text_column: str = "text",
    label_column: str = "category",
    modes: Sequence[EvaluationMode] = MODES,
    group_column: str | None = "source",
    use_current_model: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[EvaluationReport]:
    """Evaluate the category decision on a labeled CSV/Parquet file.

    The model is the current bundle's head when one exists (``use_current_model``), otherwise
    a head trained now on the labeled example set, exactly as a refit would.
    """

    labeled = prepare_labeled(read_table(path), text_column, label_column)
    taxonomy, rules = load_decision_config(settings)
    unknown = set(labeled.get_column("category").unique().to_list()) - set(taxonomy.categories)
    if unknown:
        raise SourceError(f"labeled file uses categories outside the taxonomy: {sorted(unknown)}")
    embedder = get_embedder(settings)
    cache = open_embedding_cache(settings)
    try:
        texts = labeled.get_column("text").to_list()
        vectors = []
        step = settings.chunk_size
        for start in range(0, len(texts), step):
            chunk, _ = embed_with_cache(texts[start : start + step], embedder, cache)
            vectors.append(chunk)
            if progress is not None:
                progress(min(start + step, len(texts)), len(texts))
        embeddings = np.vstack(vectors) if vectors else np.zeros((0, embedder.dimension))
        champion = champion_bundle_version(settings) if use_current_model else None
        cascade_decisions = None
        if champion is not None:
            bundle = load_model_bundle(settings, champion[1])
            head = bundle.head
            if bundle.cascade is not None:
                # The hybrid decision as the nightly run makes it: through the cascade.
                cascade_decisions = decide_with_cascade(
                    texts,
                    bundle.topic_vectors(texts, embedder, cache),
                    rules,
                    bundle.cascade,
                    head,
                    embedder,
                    cache,
                    settings.abstain_threshold,
                    taxonomy.fallback,
                ).decisions
        else:
            head, _ = train_head(settings, taxonomy, embedder, cache)
        views = embed_views(texts, embedder, cache, embeddings, head)
    finally:
        cache.close()
    return [
        evaluate(
            labeled,
            embeddings,
            rules,
            head,
            settings.abstain_threshold,
            taxonomy.categories,
            taxonomy.fallback,
            mode,
            group_column,
            views=views,
            hybrid_decisions=cascade_decisions,
        )
        for mode in modes
    ]


def log_evaluation(
    settings: InsightSettings, reports: Sequence[EvaluationReport], labeled_file: Path
) -> str:
    """Log metrics, confusion-matrix pictures and mistakes to one MLflow run; returns its id."""

    tracker = open_tracker(settings)
    run_id = tracker.start_run(f"evaluate-{labeled_file.stem}", tags={"insight.kind": "evaluation"})
    tracker.log_params(
        run_id,
        {
            "labeled_file": str(labeled_file),
            "embedding_model": settings.embedding_model,
            "abstain_threshold": settings.abstain_threshold,
        },
    )
    metrics: dict[str, float] = {}
    files: dict[str, str | bytes] = {"evaluation.json": report_json(reports)}
    for report in reports:
        metrics.update(report.metrics())
        files[f"confusion_{report.mode}.png"] = confusion_png(report)
        if report.mistakes.height:
            files[f"mistakes_{report.mode}.csv"] = report.mistakes.write_csv()
    tracker.log_metrics(run_id, metrics)
    tracker.log_files(run_id, files)
    tracker.end_run(run_id, succeeded=True)
    return run_id
