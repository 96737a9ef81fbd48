"""The weekly digest's task: the channels of alert messages, and one call into insight_core."""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from insight_core.nightly import digest
from insight_core.settings import InsightSettings
from tasks.alerts import alert_senders


@task(name="weekly-digest", cache_policy=NO_CACHE, persist_result=False)
def weekly_digest(settings: InsightSettings, week: date | None = None) -> digest.DigestReport:
    """Write the week's digest page and send it through the alert channels (docs/operations.md)."""
    return digest.weekly_digest(settings, alert_senders(settings), week)
