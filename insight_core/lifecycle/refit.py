"""The weekly refit: a challenger on the rolling window, promoted only if no worse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from insight_core.errors import InsightError
from insight_core.lifecycle.champion import register_bundle
from insight_core.lifecycle.promotion import PromotionDecision, evaluate_challenger
from insight_core.lifecycle.train import fit_on_window, stored_texts, training_window
from insight_core.registry import open_tracker
from insight_core.runtime import load_model_bundle
from insight_core.settings import InsightSettings


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
    if stored_texts(settings.texts_dir, start, end).is_empty():
        raise InsightError(f"no stored prompts between {start} and {end} to refit on")
    fit = fit_on_window(settings, end, window_days)
    version = register_bundle(settings, fit.bundle, run_id, role="challenger")
    decision = evaluate_challenger(settings, fit.bundle, version, fit.docs)
    return RefitResult(fit.bundle.version, version, decision, fit.window, len(fit.docs))


def refit_and_track(
    settings: InsightSettings,
    end: date | None = None,
    window_days: int | None = None,
    flow_run_id: str | None = None,
) -> RefitResult:
    """:func:`refit` inside an MLflow run of its own, with the comparison logged."""
    tracker = open_tracker(settings)
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
