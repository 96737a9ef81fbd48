"""The weekly digest: a week's movers and alerts per department, as a message and a page.

Movers are the categories whose share of a department's prompts (or the whole company's) moved
most in the week against their usual share (``baseline_share``: the trailing complete weeks),
or against the week before where no baseline is visible. Alerts are those detected in the week
and those still active whose latest spike falls in it. Everything is read from the
``analytics`` tables (warehouse/queries/digest_*.sql), whose rows are visible cells by
construction: no prompt text, no group under the privacy threshold; a hidden cell has no row.

The digest is sent through the same channels as alert messages (the senders of
``tasks/alerts.py``; this module never imports Prefect) and written as one self-contained HTML
page, ``<home>/digests/<week_start>.html``, with inline SVG charts (no script, no network).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from insight_core.nightly.alert_delivery import Notice
from insight_core.nightly.digest_data import (
    COMPANY,
    Digest,
    DigestMessage,
    DigestReport,
    Section,
    alert_line,
    build_digest,
    default_week,
    percent,
    points,
    usual_share,
    week_start_of,
)
from insight_core.nightly.digest_page import render_page, write_page
from insight_core.settings import InsightSettings

__all__ = [
    "COMPANY",
    "Digest",
    "DigestMessage",
    "DigestReport",
    "NoticeSender",
    "Section",
    "build_digest",
    "compose_message",
    "default_week",
    "render_page",
    "send",
    "week_start_of",
    "weekly_digest",
    "write_page",
]

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 500

NoticeSender = Callable[[Notice], None]


def _mover_line(mover: Mapping[str, Any]) -> str:
    usual = usual_share(mover)
    against = "usually" if mover.get("against") == "usual" else "last week"
    score = f", score {mover['spike_score']}" if mover.get("spike_score") is not None else ""
    return (
        f"{mover['category']} {percent(mover['share'])} ({against} {percent(usual)}, "
        f"{points(mover['moved'])}{score})"
    )


def compose_message(digest: Digest, app_url: str) -> DigestMessage:
    """The digest as a short plain-text message: per section, its movers and its alerts."""
    link = f"{app_url.rstrip('/')}/trends"
    lines = [f"Week {digest.iso_week} (from {digest.week_start:%Y-%m-%d}): movers and alerts."]
    if digest.empty:
        lines.append("No published category moved and no alert was raised this week.")
    for section in digest.sections:
        lines.append("")
        lines.append(f"{section.title}:")
        if section.movers:
            lines.append("  moved: " + "; ".join(_mover_line(m) for m in section.movers))
        for alert in section.alerts:
            lines.append(f"  alert {alert_line(alert)}")
    lines.append("")
    lines.append(f"Trends: {link}")
    return DigestMessage(
        subject=f"[Employee Insight] Weekly digest, week {digest.iso_week}",
        body="\n".join(lines),
        link=link,
    )


def send(message: Notice, senders: Mapping[str, NoticeSender], report: DigestReport) -> None:
    """Send ``message`` through every channel; a failing one is reported, never raised."""
    for channel, sender in senders.items():
        try:
            sender(message)
        except Exception as exc:  # any receiver failure: reported, the other channels go on
            error = (f"{type(exc).__name__}: {exc}".splitlines() or ["?"])[0]
            report.failed.append((channel, error[:_MAX_ERROR_CHARS]))
            log.warning("digest not delivered to %s: %s", channel, error)
        else:
            report.sent.append(channel)


def weekly_digest(
    settings: InsightSettings,
    senders: Mapping[str, NoticeSender],
    week: date | None = None,
    today: date | None = None,
) -> DigestReport:
    """Build the digest of ``week`` (any day of it; default: the week before today's in the
    schedule's timezone), write its page under ``<home>/digests`` and send it.

    A week with neither a mover nor an alert still gets its page, but no message: a channel
    hears from the digest only when there is something to say.
    """
    if week is None:
        today = today or datetime.now(ZoneInfo(settings.schedule_timezone)).date()
        week = default_week(today)
    report = DigestReport(week_start=week_start_of(week))
    published = settings.warehouse_file
    if not published.exists():
        log.info("no warehouse at %s yet: no digest", published)
        return report
    digest = build_digest(published, report.week_start)
    report.movers = sum(len(s.movers) for s in digest.sections)
    report.alerts = sum(len(s.alerts) for s in digest.sections)
    report.page = write_page(digest, (settings.home / "digests").resolve())
    if not digest.empty:
        send(compose_message(digest, settings.alert_link_base), senders, report)
    log.info(report.summary())
    return report
