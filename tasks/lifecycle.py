"""Prefect tasks of the model lifecycle flows (refit, tune)."""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.runtime import flow_run

from insight_core.lifecycle import refit as refitting
from insight_core.lifecycle import tune as tuning
from insight_core.settings import InsightSettings
from tasks.nightly import PLAIN, TRANSIENT


@task(name="refit-and-compare", **PLAIN, **TRANSIENT)
def refit(
    settings: InsightSettings, end: date | None, window_days: int | None
) -> refitting.RefitResult:
    return refitting.refit_and_track(settings, end, window_days, flow_run_id=flow_run.id)


@task(name="tune-topics", **PLAIN)
def tune(
    settings: InsightSettings, trials: int, end: date | None, window_days: int | None, seed: int
) -> tuning.TuneResult:
    return tuning.tune_and_track(settings, trials, end, window_days, seed, flow_run_id=flow_run.id)


@task(name="publish-markdown", **PLAIN)
def publish_markdown(markdown: str, key: str, description: str) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=markdown, key=key, description=description)
