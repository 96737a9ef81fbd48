"""The weekly digest's task: the channels of alert messages, and one call into insight_core."""

from __future__ import annotations

from datetime import date

from insight_core.nightly import digest
from insight_core.settings import InsightSettings
from tasks.alerts import alert_senders
from tasks.policy import project_task


@project_task("weekly-digest")
def weekly_digest(settings: InsightSettings, week: date | None = None) -> digest.DigestReport:
    """Write the week's digest page and send it through the alert channels (docs/operations.md)."""
    return digest.weekly_digest(settings, alert_senders(settings), week)
