"""Prefect tasks of the model lifecycle flows (refit, tune)."""

from __future__ import annotations

from datetime import date

from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from insight_core.lifecycle import refit as refitting
from insight_core.lifecycle import tune as tuning
from insight_core.settings import InsightSettings
from tasks.policy import project_task


@project_task("refit-and-compare", transient=True)
def refit(
    settings: InsightSettings, end: date | None, window_days: int | None
) -> refitting.RefitResult:
    return refitting.refit_and_track(settings, end, window_days, flow_run_id=flow_run.id)


@project_task("tune-topics")
def tune(
    settings: InsightSettings, trials: int, end: date | None, window_days: int | None, seed: int
) -> tuning.TuneResult:
    return tuning.tune_and_track(settings, trials, end, window_days, seed, flow_run_id=flow_run.id)


@project_task("publish-markdown")
def publish_markdown(markdown: str, key: str, description: str) -> None:
    create_markdown_artifact(markdown=markdown, key=key, description=description)
