"""Hyperparameter search for the topic model (UMAP, HDBSCAN, minimum topic size).

Each trial fits BERTopic on the same training-window prompts (embeddings from the cache) and
is scored on those prompts by topic quality. The objective, to maximise, is

    coherence (NPMI, -1..1) + diversity (0..1) - outlier share (0..1)

so a trial cannot win by declaring most prompts outliers or by repeating the same words in
every topic. The best parameters are written to ``<home>/config/topic_params.json``, which
every later fit (``refit``, ``train``, nightly ``fit`` mode) reads.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from insight_core.errors import InsightError
from insight_core.lifecycle.train import stored_texts, training_window
from insight_core.modelling.topic_quality import topic_quality
from insight_core.nlp.embed import embed_with_cache
from insight_core.nlp.topics import TopicIndex, allowed_vocabulary, fit_topic_model, topic_labels
from insight_core.registry import open_tracker
from insight_core.runtime import get_topic_embedder, open_embedding_cache
from insight_core.settings import InsightSettings

SEARCH_SPACE: dict[str, Sequence[int]] = {
    "umap_n_neighbors": (10, 15, 30),
    "umap_n_components": (5, 8),
    "hdbscan_min_cluster_size": (10, 20, 40),
    "hdbscan_min_samples": (3, 5, 10),
    "min_topic_size": (10, 20),
}


@dataclass(frozen=True)
class Trial:
    """One fitted parameter set and its scores."""

    number: int
    params: dict[str, int]
    n_topics: int
    outlier_share: float
    diversity: float
    coherence: float

    @property
    def objective(self) -> float:
        return self.coherence + self.diversity - self.outlier_share


def candidate_params(trials: int, seed: int, base: dict[str, Any]) -> list[dict[str, int]]:
    """The current parameters first, then distinct random points of the search space."""
    current = {key: int(base[key]) for key in SEARCH_SPACE}
    grid = [
        dict(zip(SEARCH_SPACE, values, strict=True))
        for values in itertools.product(*SEARCH_SPACE.values())
    ]
    random.Random(seed).shuffle(grid)
    picked = [current] + [g for g in grid if g != current]
    return picked[: max(trials, 1)]


@dataclass(frozen=True)
class TuneResult:
    best: Trial
    trials: list[Trial]
    window: tuple[date, date]
    n_docs: int

    def to_markdown(self) -> str:
        header = " | ".join(SEARCH_SPACE)
        lines = [
            f"# Topic tuning: {len(self.trials)} trials on {self.n_docs} prompts "
            f"({self.window[0]} .. {self.window[1]})",
            "",
            f"| trial | {header} | topics | outliers | diversity | coherence | objective |",
            "|" + "---|" * (len(SEARCH_SPACE) + 6),
        ]
        for trial in sorted(self.trials, key=lambda t: -t.objective):
            values = " | ".join(str(trial.params[k]) for k in SEARCH_SPACE)
            best = " **best**" if trial is self.best else ""
            lines.append(
                f"| {trial.number}{best} | {values} | {trial.n_topics} | "
                f"{trial.outlier_share:.3f} | {trial.diversity:.3f} | "
                f"{trial.coherence:.3f} | {trial.objective:.3f} |"
            )
        return "\n".join(lines) + "\n"


def tune_topics(
    settings: InsightSettings,
    trials: int = 8,
    end: date | None = None,
    window_days: int | None = None,
    seed: int = 7,
    on_trial: Callable[[Trial], None] | None = None,
) -> TuneResult:
    """Run the search and write the best parameters where fits read them."""
    start, end = training_window(settings, end, window_days)
    stored = stored_texts(settings.texts_dir, start, end)
    docs = stored.get_column("text").to_list()
    if len(docs) < settings.topics.min_training_docs:
        raise InsightError(
            f"only {len(docs)} stored prompts between {start} and {end}: tuning needs at least "
            f"{settings.topics.min_training_docs} (run the nightly flow for more days first)"
        )
    # Tune in the space the next fit's topics will live in (static with the cascade on).
    embedder = get_topic_embedder(settings)
    cache = open_embedding_cache(settings)
    try:
        vectors, _ = embed_with_cache(docs, embedder, cache)
    finally:
        cache.close()
    results: list[Trial] = []
    for number, params in enumerate(candidate_params(trials, seed, settings.topics.model_dump())):
        topic_settings = settings.topics.model_copy(update=params)
        # The same k-distinct-users vocabulary as production fits, so quality compares alike.
        vocabulary = allowed_vocabulary(
            docs, stored.get_column("user_hash").to_list(), topic_settings, settings.min_group_size
        )
        model = fit_topic_model(docs, vectors, topic_settings, embedder, vocabulary=vocabulary)
        index = TopicIndex.from_model(model)
        words = [
            [w.strip() for w in label[1].split(",") if w.strip()]
            for topic, label in topic_labels(model).items()
            if topic != -1
        ]
        quality = topic_quality(index, words, docs, vectors, topic_settings.min_similarity)
        trial = Trial(
            number,
            params,
            quality.n_topics,
            quality.outlier_share,
            quality.diversity,
            quality.coherence,
        )
        results.append(trial)
        if on_trial is not None:
            on_trial(trial)
    best = max(results, key=lambda t: t.objective)
    target = settings.tuned_topics_file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        json.dumps(
            {
                "params": best.params,
                "objective": best.objective,
                "scores": asdict(best),
                "window": [start.isoformat(), end.isoformat()],
                "n_docs": len(docs),
                "tuned_at": datetime.now(UTC).isoformat(),
            },
            indent=2,
        )
    )
    return TuneResult(best, results, (start, end), len(docs))


def tune_and_track(
    settings: InsightSettings,
    trials: int = 8,
    end: date | None = None,
    window_days: int | None = None,
    seed: int = 7,
    flow_run_id: str | None = None,
) -> TuneResult:
    """:func:`tune_topics` with one MLflow parent run and a nested run per trial."""
    tracker = open_tracker(settings)
    parent = tracker.start_run(
        "tune", tags={"insight.kind": "tune", "prefect.flow_run_id": flow_run_id or ""}
    )

    def log_trial(trial: Trial) -> None:
        child = tracker.start_run(
            f"tune-trial-{trial.number}",
            tags={"mlflow.parentRunId": parent, "insight.kind": "tune"},
        )
        tracker.log_params(child, trial.params)
        tracker.log_metrics(
            child,
            {
                "n_topics": trial.n_topics,
                "outlier_share": trial.outlier_share,
                "topic_diversity": trial.diversity,
                "topic_coherence": trial.coherence,
                "objective": trial.objective,
            },
        )
        tracker.end_run(child, succeeded=True)

    try:
        result = tune_topics(settings, trials, end, window_days, seed, on_trial=log_trial)
    except Exception:
        tracker.end_run(parent, succeeded=False)
        raise
    tracker.log_params(parent, {f"best.{k}": v for k, v in result.best.params.items()})
    tracker.log_metrics(
        parent,
        {
            "best_objective": result.best.objective,
            "trials": len(result.trials),
            "n_docs": result.n_docs,
        },
    )
    tracker.log_files(
        parent,
        {
            "tuning.md": result.to_markdown(),
            "topic_params.json": settings.tuned_topics_file.read_text(),
        },
    )
    tracker.end_run(parent, succeeded=True)
    return result
