"""The weekly digest flow: wiring only. The digest itself is ``insight_core.nightly.digest``."""

from __future__ import annotations

from datetime import date

from prefect import flow
from prefect.runtime import flow_run

from insight_core.nightly.digest import DigestReport
from insight_core.settings import InsightSettings
from tasks import digest as t


def _digest_run_name() -> str:
    return f"digest-{flow_run.parameters.get('week') or 'last-week'}"


@flow(name="insight-digest", flow_run_name=_digest_run_name, log_prints=True)
def digest(week: date | None = None) -> DigestReport:
    """The movers and alerts of ``week`` (any day of it; default: the week before this one),
    written to ``<home>/digests/<week_start>.html`` and sent through the alert channels."""
    report = t.weekly_digest(InsightSettings(), week)
    print(report.summary())
    return report
