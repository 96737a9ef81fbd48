"""Alert messages to people: what a night sends, what it says, and what was sent.

A night compares ``analytics.alerts`` with ``ops.alert_deliveries`` (migration 0008) and sends
one message per alert state change and channel:

- ``raised``: an active alert no message has announced yet;
- ``escalated``: an alert announced with a peak score under twice the spike score (8.0 with
  the shipped parameters) whose peak has since reached it;
- ``withdrawn``: an alert people were told about that a rerun or backfill took back.

A delivery marked ``sent`` is never sent again, so a rerun of a night sends nothing new; a
``failed`` one is tried again by the next night. Sending itself is a callable handed in by the
caller (Prefect's notification blocks, in ``tasks/alerts.py``): this module never imports
Prefect. Messages are built only from ``analytics.alerts``, whose cells are visible by
construction (checks/alerts_describe_visible_cells.sql): no prompt text, no small group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from insight_core import warehouse

log = logging.getLogger(__name__)

RAISED, ESCALATED, WITHDRAWN = "raised", "escalated", "withdrawn"
# An alert escalates when its peak score reaches this many times the spike score.
ESCALATION_FACTOR = 2.0
# Longest error text kept per failed delivery (a receiver's reply may be long).
_MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class AlertMessage:
    """One message: an alert's change of state, ready for any channel."""

    alert_id: str
    state: str
    subject: str
    body: str
    link: str
    peak_score: float | None


@dataclass
class DeliveryReport:
    """What a night's delivery did, per channel: messages sent and failed."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (alert, state, channel)
    failed: list[tuple[str, str, str, str]] = field(default_factory=list)  # ... and the error

    def summary(self) -> str:
        """One line for the run's log."""
        return f"alert messages: {len(self.sent)} sent, {len(self.failed)} failed"


class Notice(Protocol):
    """What a channel sends: an alert message, or another notice such as the weekly digest."""

    @property
    def subject(self) -> str: ...

    @property
    def body(self) -> str: ...


Sender = Callable[[AlertMessage], None]


def _has_table(con: Any, schema: str, table: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])


def _alerts(con: Any) -> list[dict[str, Any]]:
    if not _has_table(con, "analytics", "alerts"):
        return []  # a warehouse before its first publication
    cursor = con.execute("SELECT * FROM analytics.alerts ORDER BY detected_on, since, alert_id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _deliveries(con: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    if not _has_table(con, "ops", "alert_deliveries"):
        return {}  # migration 0008 not applied yet: the staged build applies it
    cursor = con.execute("SELECT * FROM ops.alert_deliveries")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {(r["alert_id"], r["state"], r["channel"]): r for r in rows}


def _escalation_score(con: Any) -> float:
    try:
        row = con.execute("SELECT min_spike_score FROM ops.trend_parameters").fetchone()
    except Exception:  # no trends built yet: the shipped default
        row = None
    return ESCALATION_FACTOR * float(row[0] if row else 4.0)


def due_changes(
    alerts: Sequence[Mapping[str, Any]],
    deliveries: Mapping[tuple[str, str, str], Mapping[str, Any]],
    channel: str,
    escalation_score: float,
) -> list[tuple[Mapping[str, Any], str]]:
    """(alert, state) pairs ``channel`` has not been told about yet, in detection order."""

    def sent(alert_id: str, state: str) -> Mapping[str, Any] | None:
        row = deliveries.get((alert_id, state, channel))
        return row if row is not None and row["status"] == "sent" else None

    due: list[tuple[Mapping[str, Any], str]] = []
    for alert in alerts:
        alert_id = alert["alert_id"]
        raised = sent(alert_id, RAISED)
        if alert["status"] == "withdrawn":
            # Only a withdrawal of something people were told; never a late "raised".
            if raised is not None and sent(alert_id, WITHDRAWN) is None:
                due.append((alert, WITHDRAWN))
            continue
        if raised is None:
            due.append((alert, RAISED))
            continue
        peak, told = alert.get("peak_score"), raised.get("peak_score")
        if (
            peak is not None
            and peak >= escalation_score
            and (told is None or told < escalation_score)
            and sent(alert_id, ESCALATED) is None
        ):
            due.append((alert, ESCALATED))
    return due


def _where(alert: Mapping[str, Any]) -> str:
    what = (
        f"{alert['category']} prompts"
        if alert["kind"] == "spike"
        else f"emerging topic '{alert.get('topic_label') or '#' + str(alert.get('topic_id'))}'"
        f" ({alert.get('category') or 'no category'})"
    )
    place = "company-wide" if alert["department"] == "(all)" else f"in {alert['department']}"
    return f"{what} {place}"


def _period(alert: Mapping[str, Any]) -> str:
    period = alert.get("period")
    if not isinstance(period, date):
        return ""
    if alert.get("grain") == "week":
        return f"week {period:%G-W%V}"
    return f"{period:%Y-%m-%d}"


def compose(
    alert: Mapping[str, Any], state: str, app_url: str, told_peak: float | None = None
) -> AlertMessage:
    """The message for one alert's change: what changed, where, how big, since when, a link.

    A withdrawn alert says only what and where: its cells may now be under the threshold.
    """
    link = f"{app_url.rstrip('/')}/trends?alert={alert['alert_id']}"
    where = _where(alert)
    since = alert.get("since")
    since_text = f"{since:%Y-%m-%d}" if isinstance(since, date) else "?"
    if state == WITHDRAWN:
        subject = f"Alert withdrawn: {where}"
        lines = [
            f"Withdrawn: the {alert['kind'].replace('_', ' ')} in {where} (elevated since "
            f"{since_text}) no longer holds after a rerun or backfill changed the data.",
        ]
    else:
        verb = "New alert" if state == RAISED else "Alert escalated"
        subject = f"{verb}: {where}"
        size = (
            f"{alert.get('prompts')} prompts from {alert.get('users')} people, "
            f"{100 * (alert.get('share') or 0):.1f}% of the prompts"
        )
        if alert.get("baseline_share") is not None:
            size += (
                f" vs {100 * alert['baseline_share']:.1f}% usually "
                f"({alert.get('ratio') or 0:.1f}x, score {alert.get('spike_score')})"
            )
        change = (
            f"New {alert['kind'].replace('_', ' ')}: {where}."
            if state == RAISED
            else f"Escalated: {where}, peak score now {alert.get('peak_score')}"
            + (f" (was {told_peak} when raised)." if told_peak is not None else ".")
        )
        lines = [
            change,
            f"How big: {size} on {_period(alert)}.",
            f"Since: {since_text} ({alert.get('spike_periods') or 1} spiking "
            f"{'weeks' if alert.get('grain') == 'week' else 'days'}).",
        ]
        if alert.get("model_changed"):
            lines.append("Note: a new topic model took effect then; it may explain the shift.")
    lines.append(f"Details: {link}")
    return AlertMessage(
        alert_id=alert["alert_id"],
        state=state,
        subject=f"[Employee Insight] {subject}",
        body="\n".join(lines),
        link=link,
        peak_score=alert.get("peak_score"),
    )


def _pending(
    con: Any, channels: Sequence[str], app_url: str
) -> list[tuple[str, AlertMessage, Mapping[str, Any] | None]]:
    alerts = _alerts(con)
    if not alerts:
        return []
    deliveries = _deliveries(con)
    threshold = _escalation_score(con)
    pending: list[tuple[str, AlertMessage, Mapping[str, Any] | None]] = []
    for channel in channels:
        for alert, state in due_changes(alerts, deliveries, channel, threshold):
            raised = deliveries.get((alert["alert_id"], RAISED, channel))
            told = raised.get("peak_score") if raised and state == ESCALATED else None
            previous = deliveries.get((alert["alert_id"], state, channel))
            pending.append((channel, compose(alert, state, app_url, told), previous))
    return pending


def deliver_alerts(
    published: Path,
    senders: Mapping[str, Sender],
    app_url: str,
    run_id: str | None = None,
) -> DeliveryReport:
    """Send every due alert message through each channel of ``senders`` and record it.

    A sender that raises marks its message ``failed`` (retried by the next night); it never
    stops the other messages. The publish lock is held from reading what is due to recording
    what was sent, so two runs never send the same message twice.
    """
    report = DeliveryReport()
    if not senders or not published.exists():
        return report
    with warehouse.connect_read_only(published) as con:
        if not _pending(con, list(senders), app_url):
            return report  # nothing due: no staging copy of the warehouse
    with warehouse.staged_build(published) as con:
        for channel, message, previous in _pending(con, list(senders), app_url):
            now = datetime.now(UTC)
            error: str | None = None
            try:
                senders[channel](message)
            except Exception as exc:  # any receiver failure: recorded, retried next night
                error = (f"{type(exc).__name__}: {exc}".splitlines() or ["?"])[0]
                error = error[:_MAX_ERROR_CHARS]
                report.failed.append((message.alert_id, message.state, channel, error))
                log.warning(
                    "alert %s (%s) not delivered to %s: %s",
                    message.alert_id,
                    message.state,
                    channel,
                    error,
                )
            else:
                report.sent.append((message.alert_id, message.state, channel))
            _record(con, channel, message, previous, now, error, run_id)
    log.info(report.summary())
    return report


def _record(
    con: Any,
    channel: str,
    message: AlertMessage,
    previous: Mapping[str, Any] | None,
    now: datetime,
    error: str | None,
    run_id: str | None,
) -> None:
    attempts = (previous["attempts"] if previous else 0) + 1
    first = previous["first_attempt_at"] if previous else now
    con.execute(
        "DELETE FROM ops.alert_deliveries WHERE alert_id = ? AND state = ? AND channel = ?",
        [message.alert_id, message.state, channel],
    )
    con.execute(
        "INSERT INTO ops.alert_deliveries (alert_id, state, channel, status, attempts, "
        "first_attempt_at, last_attempt_at, sent_at, run_id, peak_score, error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            message.alert_id,
            message.state,
            channel,
            "failed" if error else "sent",
            attempts,
            first,
            now,
            None if error else now,
            run_id,
            message.peak_score,
            error,
        ],
    )
