"""Model lifecycle: every fitted bundle is an MLflow registered model version; the ``champion``
alias is what nightly inference, ``insight classify``, the API and the web app use.

``refit`` registers a challenger and promotes it only when it is no worse than the champion on
the shipped evaluation set (out-of-fold macro-F1) and on topic quality (outlier share, topic
diversity, NPMI coherence) measured on the same recent prompts; otherwise the champion stays
and the reasons are recorded on the challenger's version. Rolling back moves the alias back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from insight_core.embed import embed_with_cache
from insight_core.errors import InsightError, ModelNotFoundError
from insight_core.model_store import ModelBundle
from insight_core.settings import InsightSettings
from insight_core.topic_quality import TopicQuality, topic_quality
from insight_core.tracking import ModelRegistry, Tracker
from insight_core.training import (
    get_embedder,
    load_model_bundle,
    open_embedding_cache,
    stored_texts,
    train_bundle,
    training_window,
)

log = logging.getLogger(__name__)


def open_registry(settings: InsightSettings) -> ModelRegistry:
    """The registered model named by settings, on the configured tracking server."""
    return ModelRegistry(settings.tracking_uri, settings.model_registry_name)


def champion_bundle_version(settings: InsightSettings) -> tuple[str, str] | None:
    """(registry version, bundle version) of the champion, its bundle present locally.

    A bundle registered on another machine (shared MLflow server) is downloaded once into
    the models folder.
    """
    champion = open_registry(settings).champion()
    if champion is None:
        return None
    registry_version, bundle_version = champion
    if not (settings.models_dir / bundle_version / "manifest.json").exists():
        log.info("downloading champion bundle %s (version %s)", bundle_version, registry_version)
        open_registry(settings).download_bundle(
            registry_version, settings.models_dir / bundle_version
        )
    return champion


def require_champion(settings: InsightSettings) -> tuple[str, str]:
    """The champion, or a clear error that says how to get one."""
    champion = champion_bundle_version(settings)
    if champion is None:
        raise ModelNotFoundError(
            f"no champion model in the registry '{settings.model_registry_name}' at "
            f"{settings.tracking_uri}: run 'insight train' (or 'insight demo') first"
        )
    return champion


def register_bundle(
    settings: InsightSettings,
    bundle: ModelBundle,
    run_id: str | None = None,
    role: str = "challenger",
) -> str:
    """Log ``bundle`` as an MLflow pyfunc model and register it; returns the version."""
    tracker = Tracker(
        settings.tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_dir
    )
    own_run = run_id is None
    if own_run:
        run_id = tracker.start_run(
            f"register-{bundle.version}", tags={"insight.kind": "model-registration"}
        )
    assert run_id is not None
    manifest = bundle.manifest
    tags = {
        "role": role,
        "rules_hash": str(manifest.get("rules_hash")),
        "embedding_model": str(manifest.get("embedding_model")),
        "taxonomy_version": str(manifest.get("taxonomy_version")),
        "examples_cv_macro_f1": str((manifest.get("examples_cv") or {}).get("macro_f1")),
    }
    version = open_registry(settings).log_and_register(
        run_id, bundle.directory, bundle.version, tags
    )
    if own_run:
        tracker.end_run(run_id, succeeded=True)
    return version


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a challenger replaced the champion, and why."""

    promoted: bool
    challenger_version: str
    champion_version: str | None
    reasons: list[str]
    challenger_scores: dict[str, float] = field(default_factory=dict)
    champion_scores: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        verdict = "promoted" if self.promoted else "kept the champion"
        return f"{verdict}: " + "; ".join(self.reasons)


def model_scores(
    bundle: ModelBundle, docs: Sequence[str], settings: InsightSettings
) -> dict[str, float]:
    """Shipped-examples macro-F1 plus topic quality on ``docs``."""
    cache = open_embedding_cache(settings)
    try:
        vectors, _ = embed_with_cache(list(docs), get_embedder(settings), cache)
    finally:
        cache.close()
    words = [
        [w.strip() for w in row["words"].split(",") if w.strip()]
        for row in bundle.topics.iter_rows(named=True)
        if row["topic_id"] != -1
    ]
    quality: TopicQuality = topic_quality(
        bundle.topic_index, words, docs, vectors, settings.topics.min_similarity
    )
    return {
        "examples_macro_f1": float((bundle.manifest.get("examples_cv") or {}).get("macro_f1", 0.0)),
        **quality.as_dict(),
    }


def decide_promotion(
    challenger: dict[str, float], champion: dict[str, float], tolerance: dict[str, float]
) -> tuple[bool, list[str]]:
    """No worse on every measure (within ``tolerance``) means promote; reasons either way."""
    reasons, promote = [], True
    higher_is_better = {
        "examples_macro_f1": True,
        "topic_diversity": True,
        "topic_coherence": True,
        "outlier_share": False,
    }
    for metric, better_high in higher_is_better.items():
        new, old = challenger[metric], champion[metric]
        slack = tolerance.get(metric, 0.0)
        worse = new < old - slack if better_high else new > old + slack
        reasons.append(f"{metric} {new:.3f} vs {old:.3f}" + (" (worse)" if worse else ""))
        promote = promote and not worse
    return promote, reasons


def evaluate_challenger(
    settings: InsightSettings,
    challenger: ModelBundle,
    challenger_version: str,
    docs: Sequence[str],
) -> PromotionDecision:
    """Compare a registered challenger with the champion on ``docs`` and act on the result."""
    registry = open_registry(settings)
    champion = champion_bundle_version(settings)
    challenger_scores = model_scores(challenger, docs, settings)
    if champion is None:
        decision = PromotionDecision(
            True, challenger_version, None, ["no champion yet"], challenger_scores
        )
    else:
        champion_bundle = load_model_bundle(settings, champion[1])
        champion_scores = model_scores(champion_bundle, docs, settings)
        promote, reasons = decide_promotion(
            challenger_scores, champion_scores, settings.promotion_tolerance
        )
        decision = PromotionDecision(
            promote, challenger_version, champion[0], reasons, challenger_scores, champion_scores
        )
    registry.tag(
        challenger_version, {f"score_{k}": f"{v:.4f}" for k, v in challenger_scores.items()}
    )
    if decision.promoted:
        registry.set_champion(challenger_version, decision.summary())
    else:
        registry.tag(challenger_version, {"promotion": decision.summary()})
    log.info("refit: %s", decision.summary())
    return decision


@dataclass(frozen=True)
class RefitResult:
    bundle_version: str
    registry_version: str
    decision: PromotionDecision
    window: tuple[date, date]
    n_docs: int

    def to_markdown(self) -> str:
        d = self.decision
        rows = "\n".join(
            f"| {k} | {d.challenger_scores.get(k, float('nan')):.4f} | "
            f"{d.champion_scores.get(k, float('nan')):.4f} |"
            for k in (
                "examples_macro_f1",
                "outlier_share",
                "topic_diversity",
                "topic_coherence",
                "n_topics",
            )
        )
        return (
            f"# Refit: {'promoted' if d.promoted else 'not promoted'}\n\n"
            f"Challenger version {self.registry_version} (bundle `{self.bundle_version}`), "
            f"trained on {self.n_docs} prompts from {self.window[0]} to {self.window[1]}; "
            f"champion was {d.champion_version}.\n\n"
            f"| measure | challenger | champion |\n|---|---:|---:|\n{rows}\n\n"
            f"{d.summary()}\n"
        )


def refit(
    settings: InsightSettings,
    end: date | None = None,
    window_days: int | None = None,
    run_id: str | None = None,
) -> RefitResult:
    """Train a challenger on the rolling window, register it, promote it if no worse."""
    start, end = training_window(settings, end, window_days)
    stored = stored_texts(settings.texts_dir, start, end)
    docs = stored.get_column("text").to_list()
    if not docs:
        raise InsightError(f"no stored prompts between {start} and {end} to refit on")
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
    version = register_bundle(settings, bundle, run_id, role="challenger")
    decision = evaluate_challenger(settings, bundle, version, docs)
    return RefitResult(bundle.version, version, decision, (start, end), len(docs))


def promote(settings: InsightSettings, version: str, reason: str = "manual promotion") -> str:
    """Make registry ``version`` the champion; returns its bundle version."""
    registry = open_registry(settings)
    bundle_version = registry.bundle_version(version)
    registry.set_champion(version, reason)
    champion_bundle_version(settings)  # make sure the bundle is available locally
    return bundle_version


def rollback(settings: InsightSettings, to_version: str | None = None) -> str:
    """Move the champion back to ``to_version`` or to the champion before the current one."""
    registry = open_registry(settings)
    champion = registry.champion()
    if champion is None:
        raise ModelNotFoundError("no champion to roll back")
    if to_version is None:
        tags = {v["version"]: v["tags"] for v in registry.versions()}
        to_version = tags.get(champion[0], {}).get("previous_champion")
        if to_version is None:
            raise InsightError(
                f"champion version {champion[0]} has no previous champion recorded; "
                "name one with --to"
            )
    promote(settings, to_version, reason=f"rollback from version {champion[0]}")
    return to_version


def list_versions(settings: InsightSettings) -> list[dict[str, Any]]:
    """Registered versions with aliases and scores, newest first."""
    return open_registry(settings).versions()


def refit_and_track(
    settings: InsightSettings,
    end: date | None = None,
    window_days: int | None = None,
    flow_run_id: str | None = None,
) -> RefitResult:
    """:func:`refit` inside an MLflow run of its own, with the comparison logged."""
    tracker = Tracker(
        settings.tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_dir
    )
    run_id = tracker.start_run(
        "refit", tags={"insight.kind": "refit", "prefect.flow_run_id": flow_run_id or ""}
    )
    try:
        result = refit(settings, end, window_days, run_id=run_id)
    except Exception:
        tracker.end_run(run_id, succeeded=False)
        raise
    decision = result.decision
    tracker.log_params(
        run_id,
        {
            "window_start": result.window[0],
            "window_end": result.window[1],
            "challenger_version": result.registry_version,
            "champion_version": decision.champion_version,
            "promoted": decision.promoted,
        },
    )
    tracker.log_metrics(
        run_id,
        {
            **{f"challenger_{k}": v for k, v in decision.challenger_scores.items()},
            **{f"champion_{k}": v for k, v in decision.champion_scores.items()},
            **{
                f"examples_cv_{k}": v
                for k, v in (
                    load_model_bundle(settings, result.bundle_version).manifest.get("examples_cv")
                    or {}
                ).items()
            },
        },
    )
    tracker.set_tags(run_id, {"insight.promotion": decision.summary()[:4000]})
    tracker.log_files(run_id, {"refit.md": result.to_markdown()})
    tracker.end_run(run_id, succeeded=True)
    return result
