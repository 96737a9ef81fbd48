"""Prefect deployments of the engine, served by ``insight serve`` against a Prefect server.

    prefect server start            # terminal 1 (UI at http://127.0.0.1:4200)
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    insight serve                   # terminal 2: registers and runs the deployments

``deploy/prefect.yaml`` describes the same deployments for ``prefect deploy`` with a work pool.
"""

from __future__ import annotations

from typing import Any

from prefect import serve
from prefect.client.orchestration import get_client
from prefect.schedules import Cron

from flows.digest import digest
from flows.lifecycle import refit, tune
from flows.nightly import backfill, nightly
from flows.runners import configured
from insight_core.settings import InsightSettings

TAGS = ["employee-insight-engine"]
# The weekly digest: Monday morning, after the night that loaded Sunday (INSIGHT_SCHEDULE_CRON,
# 02:00 by default). Registered paused: it sends messages, so it runs only once turned on.
DIGEST_CRON = "0 7 * * 1"
DIGEST_DEPLOYMENT = "insight-digest/digest"


def build_deployments(settings: InsightSettings, digest_on: bool = False) -> list[Any]:
    """nightly (cron), backfill, refit (weekly cron), tune (on demand) and digest (weekly cron,
    paused unless ``digest_on``)."""
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
        digest.to_deployment(
            name="digest",
            schedules=[Cron(DIGEST_CRON, timezone=tz, active=digest_on)],
            description="Last week's movers and alerts per department, sent through the alert "
            "channels and written to <home>/digests (schedule paused until turned on).",
            tags=TAGS,
        ),
    ]


def digest_schedule_on() -> bool:
    """Whether the registered digest deployment's schedule was turned on (in the UI or with
    ``prefect deployment schedule resume``): registering the deployments again keeps it on.
    False when there is no such deployment yet or the server cannot say."""
    try:
        with get_client(sync_client=True) as client:
            found = client.read_deployment_by_name(DIGEST_DEPLOYMENT)
    except Exception:  # not registered yet (or no answer): the default, paused
        return False
    return any(schedule.active for schedule in found.schedules or [])


def serve_deployments(settings: InsightSettings, limit: int | None = None) -> None:
    """Register the deployments and execute their runs in this process until stopped."""
    serve(*build_deployments(settings, digest_on=digest_schedule_on()), limit=limit)
