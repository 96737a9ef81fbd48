"""Prefect deployments of the engine, served by ``insight serve`` against a Prefect server.

    prefect server start            # terminal 1 (UI at http://127.0.0.1:4200)
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    insight serve                   # terminal 2: registers and runs the deployments

``deploy/prefect.yaml`` describes the same deployments for ``prefect deploy`` with a work pool.
"""

from __future__ import annotations

from typing import Any

from prefect.schedules import Cron

from flows.lifecycle import refit, tune
from flows.nightly import backfill, nightly
from flows.runners import configured
from insight_core.settings import InsightSettings

TAGS = ["employee-insight-engine"]


def build_deployments(settings: InsightSettings) -> list[Any]:
    """nightly (cron), backfill, refit (weekly cron) and tune (on demand)."""
    tz = settings.schedule_timezone
    return [
        configured(nightly, settings).to_deployment(
            name="nightly",
            schedules=[Cron(settings.schedule_cron, timezone=tz)],
            description="Yesterday's prompt logs (INSIGHT_SOURCE) through every stage.",
            tags=TAGS,
        ),
        backfill.to_deployment(
            name="backfill", description="Reprocess a date range in order.", tags=TAGS
        ),
        refit.to_deployment(
            name="refit",
            schedules=[Cron(settings.refit_cron, timezone=tz)],
            description="Retrain on the rolling window; promote the challenger if no worse.",
            tags=TAGS,
        ),
        tune.to_deployment(
            name="tune", description="Topic-model hyperparameter search (on demand).", tags=TAGS
        ),
    ]


def serve_deployments(settings: InsightSettings, limit: int | None = None) -> None:
    """Register the deployments and execute their runs in this process until stopped."""
    from prefect import serve

    serve(*build_deployments(settings), limit=limit)
