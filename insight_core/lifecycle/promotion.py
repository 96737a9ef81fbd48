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

from insight_core.modelling.bundle import ModelBundle
from insight_core.modelling.topic_quality import TopicQuality, topic_quality
from insight_core.registry import open_registry
from insight_core.runtime import (
    champion_bundle_version,
    get_embedder,
    load_model_bundle,
    open_embedding_cache,
    settings_as_fitted,
)
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)


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
    """Shipped-examples macro-F1 plus topic quality on ``docs``.

    Each bundle's topics are scored in their own space: a cascade bundle's static vectors.
    """
    cache = open_embedding_cache(settings)
    try:
        embedder = get_embedder(settings_as_fitted(settings, bundle.manifest))
        vectors = bundle.topic_vectors(list(docs), embedder, cache)
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
