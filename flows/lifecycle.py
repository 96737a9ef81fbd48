"""Model lifecycle flows: the weekly refit and on-demand tuning. Wiring only."""

from __future__ import annotations

from datetime import date

from prefect import flow

from insight_core.lifecycle.refit import RefitResult
from insight_core.lifecycle.tune import TuneResult
from insight_core.settings import InsightSettings
from tasks import lifecycle as t


@flow(name="insight-refit", log_prints=True)
def refit(end: date | None = None, window_days: int | None = None) -> RefitResult:
    """Retrain on the rolling window; the challenger replaces the champion only if no worse."""
    result = t.refit(InsightSettings(), end, window_days)
    t.publish_markdown(
        result.to_markdown(), "refit-decision", f"Refit challenger {result.registry_version}"
    )
    return result


@flow(name="insight-tune", log_prints=True)
def tune(
    trials: int = 8, end: date | None = None, window_days: int | None = None, seed: int = 7
) -> TuneResult:
    """Search UMAP/HDBSCAN/min-topic-size settings; the best are used by the next refit."""
    result = t.tune(InsightSettings(), trials, end, window_days, seed)
    t.publish_markdown(
        result.to_markdown(), "tuning-trials", f"Best objective {result.best.objective:.3f}"
    )
    return result
