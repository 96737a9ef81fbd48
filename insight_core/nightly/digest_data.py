"""The weekly digest's data: a week's movers and alerts per department, read from the
``analytics`` tables (warehouse/queries/digest_*.sql), and how its figures are written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from insight_core import warehouse

COMPANY = "(all)"
MOVERS_PER_DEPARTMENT = 3
HISTORY_WEEKS = 8  # weeks a sparkline shows, the digest's week included


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


def percent(value: float | None) -> str:
    """A share as a percentage, a dash when unknown."""
    return "–" if value is None else f"{100 * value:.1f}%"


def points(value: float | None) -> str:
    """A change of share in percentage points, a dash when unknown."""
    return "–" if value is None else f"{100 * value:+.1f} pts"


def usual_share(mover: Mapping[str, Any]) -> float | None:
    """The share the week is compared with: the usual share, else the week before's."""
    if mover.get("baseline_share") is not None:
        return float(mover["baseline_share"])
    if mover.get("share_change") is not None:
        return float(mover["share"]) - float(mover["share_change"])
    return None


def alert_line(alert: Mapping[str, Any]) -> str:
    """An alert in one line: its status and headline (or what a withdrawn one was about)."""
    if alert["status"] == "withdrawn":
        what = alert.get("topic_label") or alert.get("category") or "?"
        return f"withdrawn: {alert['kind'].replace('_', ' ')} of {what}"
    return f"{alert['status']}: {alert['headline']}"
