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

import html
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from insight_core import warehouse
from insight_core.nightly.alert_delivery import Notice
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)

COMPANY = "(all)"
MOVERS_PER_DEPARTMENT = 3
HISTORY_WEEKS = 8  # weeks a sparkline shows, the digest's week included
_MAX_ERROR_CHARS = 500

NoticeSender = Callable[[Notice], None]


@dataclass(frozen=True)
class DigestMessage:
    """The digest as a message for any channel (subject and plain-text body)."""

    subject: str
    body: str
    link: str


@dataclass(frozen=True)
class Section:
    """One department's part of the digest (or the whole company's, department ``(all)``)."""

    department: str
    movers: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    # category -> (week_start, share) of the published weeks up to the digest's week
    history: dict[str, list[tuple[date, float]]]

    @property
    def title(self) -> str:
        """How the section is headed."""
        return "Whole company" if self.department == COMPANY else self.department


@dataclass(frozen=True)
class Digest:
    """A week's movers and alerts, company first, then departments by name."""

    week_start: date
    sections: list[Section]

    @property
    def iso_week(self) -> str:
        """The week as ISO 8601 (2026-W41)."""
        return f"{self.week_start:%G-W%V}"

    @property
    def empty(self) -> bool:
        """Whether the week has neither a mover nor an alert."""
        return not any(s.movers or s.alerts for s in self.sections)


@dataclass
class DigestReport:
    """What a digest run did: the page written and the channels sent to or failed."""

    week_start: date
    page: Path | None = None
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (channel, error)
    movers: int = 0
    alerts: int = 0

    def summary(self) -> str:
        """One line for the run's log."""
        where = f"page {self.page}" if self.page else "no page (no warehouse yet)"
        return (
            f"digest {self.week_start:%G-W%V}: {self.movers} movers, {self.alerts} alerts, "
            f"{where}; sent to {len(self.sent)} channel(s), {len(self.failed)} failed"
        )


def week_start_of(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def default_week(today: date) -> date:
    """The Monday of the week before ``today``'s: the last complete week on a Monday morning."""
    return week_start_of(today) - timedelta(days=7)


def _rows(con: Any, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = con.execute(warehouse.named_query(query), params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has_tables(con: Any, names: Sequence[str]) -> bool:
    found = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'analytics'"
    ).fetchall()
    return set(names) <= {row[0] for row in found}


def build_digest(published: Path, week_start: date) -> Digest:
    """The digest of the ISO week starting ``week_start``, read from the analytics tables."""
    week_start = week_start_of(week_start)
    with warehouse.connect_read_only(published) as con:
        trends = ("weekly_category_trends", "company_weekly_category_trends")
        movers, history = [], []
        if _has_tables(con, trends):
            movers = _rows(
                con,
                "digest_movers",
                {"week_start": week_start, "per_department": MOVERS_PER_DEPARTMENT},
            )
            history = _rows(
                con,
                "digest_history",
                {
                    "week_start": week_start,
                    "first_week": week_start - timedelta(weeks=HISTORY_WEEKS - 1),
                },
            )
        alerts = (
            _rows(con, "digest_alerts", {"week_start": week_start})
            if _has_tables(con, ["alerts"])
            else []
        )
    departments = sorted({r["department"] for r in movers} | {a["department"] for a in alerts})
    departments.sort(key=lambda d: (d != COMPANY, d))
    sections = []
    for department in departments:
        own = [m for m in movers if m["department"] == department]
        wanted = {m["category"] for m in own}
        series: dict[str, list[tuple[date, float]]] = {c: [] for c in wanted}
        for row in history:
            if row["department"] == department and row["category"] in wanted:
                series[row["category"]].append((row["week_start"], float(row["share"])))
        sections.append(
            Section(
                department=department,
                movers=own,
                alerts=[a for a in alerts if a["department"] == department],
                history=series,
            )
        )
    return Digest(week_start=week_start, sections=sections)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _points(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.1f} pts"


def _usual(mover: Mapping[str, Any]) -> float | None:
    """The share the week is compared with: the usual share, else the week before's."""
    if mover.get("baseline_share") is not None:
        return float(mover["baseline_share"])
    if mover.get("share_change") is not None:
        return float(mover["share"]) - float(mover["share_change"])
    return None


def _mover_line(mover: Mapping[str, Any]) -> str:
    usual = _usual(mover)
    against = "usually" if mover.get("against") == "usual" else "last week"
    score = f", score {mover['spike_score']}" if mover.get("spike_score") is not None else ""
    return (
        f"{mover['category']} {_pct(mover['share'])} ({against} {_pct(usual)}, "
        f"{_points(mover['moved'])}{score})"
    )


def _alert_line(alert: Mapping[str, Any]) -> str:
    if alert["status"] == "withdrawn":
        what = alert.get("topic_label") or alert.get("category") or "?"
        return f"withdrawn: {alert['kind'].replace('_', ' ')} of {what}"
    return f"{alert['status']}: {alert['headline']}"


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
            lines.append(f"  alert {_alert_line(alert)}")
    lines.append("")
    lines.append(f"Trends: {link}")
    return DigestMessage(
        subject=f"[Employee Insight] Weekly digest, week {digest.iso_week}",
        body="\n".join(lines),
        link=link,
    )


# ---- the page ------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:60rem;
color:#1f2933;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d9dee3;padding-bottom:.25rem}table{border-collapse:collapse;width:100%;
margin:.5rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef0f2;
font-size:.9rem;vertical-align:middle}td.n{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#b42318}.down{color:#1d6fb8}.muted{color:#667085;font-size:.85rem}
.withdrawn{color:#667085}svg text{font-size:11px;fill:#1f2933}
"""

_BAR_WIDTH = 360
_LABEL_WIDTH = 150
_ROW_HEIGHT = 22


def _bars_svg(movers: Sequence[Mapping[str, Any]]) -> str:
    """Horizontal bars of each mover's share this week, a dark tick at its usual share."""
    top = max([float(m["share"]) for m in movers] + [_usual(m) or 0.0 for m in movers] + [0.01])
    scale = _BAR_WIDTH / top
    height = _ROW_HEIGHT * len(movers) + 8
    width = _LABEL_WIDTH + _BAR_WIDTH + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="share this week against the usual share">'
    ]
    for i, mover in enumerate(movers):
        y = 4 + i * _ROW_HEIGHT
        share = float(mover["share"])
        colour = "#e8836f" if float(mover["moved"]) > 0 else "#7fb2e5"
        parts.append(
            f'<text x="{_LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">'
            f"{html.escape(str(mover['category']))}</text>"
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{share * scale:.1f}" height="14" '
            f'fill="{colour}"><title>{_pct(share)} this week</title></rect>'
            f'<text x="{_LABEL_WIDTH + share * scale + 4:.1f}" y="{y + 14}">{_pct(share)}</text>'
        )
        usual = _usual(mover)
        if usual is not None:
            x = _LABEL_WIDTH + usual * scale
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 20}" stroke="#1f2933" '
                f'stroke-width="2"><title>{_pct(usual)} usually</title></line>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _sparkline_svg(points: Sequence[tuple[date, float]], week_start: date) -> str:
    """The share over the last weeks; a week without a published cell leaves a gap."""
    width, height, pad = 120, 28, 3
    weeks = [week_start - timedelta(weeks=HISTORY_WEEKS - 1 - i) for i in range(HISTORY_WEEKS)]
    by_week = dict(points)
    top = max([*by_week.values(), 0.01])
    step = (width - 2 * pad) / (HISTORY_WEEKS - 1)
    segments: list[list[str]] = [[]]
    for i, week in enumerate(weeks):
        if week not in by_week:
            segments.append([])
            continue
        x = pad + i * step
        y = height - pad - by_week[week] / top * (height - 2 * pad)
        segments[-1].append(f"{x:.1f},{y:.1f}")
    lines = []
    for segment in segments:
        if len(segment) > 1:
            lines.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="#3b6ea5" '
                'stroke-width="1.5"/>'
            )
        elif segment:
            cx, cy = segment[0].split(",")
            lines.append(f'<circle cx="{cx}" cy="{cy}" r="1.8" fill="#3b6ea5"/>')
    if week_start in by_week:
        y_last = height - pad - by_week[week_start] / top * (height - 2 * pad)
        lines.append(f'<circle cx="{width - pad}" cy="{y_last:.1f}" r="2.5" fill="#b42318"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="share over the last {HISTORY_WEEKS} weeks">{"".join(lines)}</svg>'
    )


def _movers_html(section: Section, week_start: date) -> str:
    rows = []
    for mover in section.movers:
        direction = "up" if float(mover["moved"]) > 0 else "down"
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(mover['category']))}</td>"
            f'<td class="n">{_pct(mover["share"])}</td>'
            f'<td class="n">{_pct(_usual(mover))} '
            f'<span class="muted">({"usual" if mover["against"] == "usual" else "last week"})'
            "</span></td>"
            f'<td class="n {direction}">{_points(mover["moved"])}</td>'
            f'<td class="n">{mover["prompts"]} / {mover["users"]}</td>'
            f'<td class="n">{"" if mover["spike_score"] is None else mover["spike_score"]}</td>'
            f"<td>{_sparkline_svg(section.history.get(mover['category'], []), week_start)}</td>"
            "</tr>"
        )
    return (
        _bars_svg(section.movers)
        + "<table><tr><th>category</th><th>share</th><th>compared with</th><th>moved</th>"
        + f"<th>prompts / people</th><th>score</th><th>last {HISTORY_WEEKS} weeks</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _alerts_html(alerts: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for alert in alerts:
        withdrawn = alert["status"] == "withdrawn"
        rows.append(
            f'<tr class="{"withdrawn" if withdrawn else ""}">'
            f"<td>{html.escape(str(alert['status']))}</td>"
            f"<td>{html.escape(_alert_line(alert).split(': ', 1)[1])}</td>"
            f"<td>{alert['detected_on']:%Y-%m-%d}</td>"
            f'<td class="n">{"" if withdrawn else _pct(alert.get("share"))}</td>'
            f'<td class="n">{"" if withdrawn else (alert.get("peak_score") or "")}</td>'
            "</tr>"
        )
    return (
        "<table><tr><th>status</th><th>alert</th><th>detected</th><th>share</th>"
        "<th>peak score</th></tr>" + "".join(rows) + "</table>"
    )


def render_page(digest: Digest, thresholds_note: str = "") -> str:
    """The digest as one self-contained HTML page: inline CSS and SVG, no script, no links out."""
    body = [
        f"<h1>Weekly digest · week {digest.iso_week}</h1>",
        f'<p class="muted">{digest.week_start:%A %d %B %Y} to '
        f"{digest.week_start + timedelta(days=6):%A %d %B %Y}. Bars: the share of a category "
        "in the week's prompts, the dark tick its usual share (the trailing complete weeks; "
        "the week before where there is none). Only published cells are shown: a group too "
        f"small to show has no row and leaves a gap in a line. {html.escape(thresholds_note)}"
        "</p>",
    ]
    if digest.empty:
        body.append("<p>No published category moved and no alert was raised this week.</p>")
    for section in digest.sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.movers:
            body.append(_movers_html(section, digest.week_start))
        if section.alerts:
            body.append("<h3>Alerts</h3>" + _alerts_html(section.alerts))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Weekly digest {digest.iso_week}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def write_page(digest: Digest, folder: Path) -> Path:
    """Write the page to ``<folder>/<week_start>.html`` (replaced whole, never half-written)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest.week_start:%Y-%m-%d}.html"
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(render_page(digest), encoding="utf-8")
    partial.replace(path)
    return path


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
