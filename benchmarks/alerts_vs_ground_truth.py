"""Score ``analytics.alerts`` of a demo warehouse against the demo's ground truth.

The demo generator plants three events and writes them to ``<home>/demo/ground_truth.json``
(vpn_outage: a one-day company-wide it_support spike; burnout_rising: Customer Support's
wellbeing share rising over two weeks; sql_learning_surge: a step in Finance's
learning_development share). This script reads every alert the nightly runs raised (active
or since withdrawn: each was reported by a run) and prints which events were found, which
alerts are false, precision and recall.

Matching rules:

* An alert covers the days from its ``since`` to the end of its latest ``period`` (the Sunday
  for a weekly alert). It *matches* an event when the categories agree (a topic alert uses
  its topic's category), those days overlap the event's days, and it is about the event's
  department, or the event is company-wide, or the alert is company-wide (a department's
  event moves the company's numbers too).
* An alert that matches no event is a false alert. precision = matching alerts / alerts.
* An event is *found* when a matching alert names it where it happened: the event's
  department for a department event, any scope for a company-wide one.
  recall = found events / events.

    .venv/bin/python benchmarks/alerts_vs_ground_truth.py --home /tmp/b4demo
    .venv/bin/python benchmarks/alerts_vs_ground_truth.py --warehouse W.duckdb --truth G.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

ALERTS_SQL = """
SELECT alert_id, status, run_id, detected_on, kind, grain, department, category,
       topic_label, since, period, spike_score, headline
FROM analytics.alerts
ORDER BY detected_on, since, alert_id
"""


@dataclass(frozen=True)
class Event:
    """One planted event of the ground truth."""

    id: str
    category: str
    department: str | None
    start: date
    end: date


@dataclass(frozen=True)
class Alert:
    """One raised alert, reduced to what the matching needs."""

    row: dict[str, Any]

    @property
    def first_day(self) -> date:
        return self.row["since"]

    @property
    def last_day(self) -> date:
        period = self.row["period"]
        return period + timedelta(days=6) if self.row["grain"] == "week" else period

    @property
    def company_wide(self) -> bool:
        return self.row["department"] == "(all)"

    def matches(self, event: Event) -> bool:
        """Same category, overlapping days, and the right place (see the module docstring)."""
        if self.row["category"] != event.category:
            return False
        if self.last_day < event.start or self.first_day > event.end:
            return False
        return (
            event.department is None
            or self.company_wide
            or self.row["department"] == event.department
        )

    def finds(self, event: Event) -> bool:
        """Matches and names the event's department (any scope for a company-wide event)."""
        return self.matches(event) and (
            event.department is None or self.row["department"] == event.department
        )


def load_events(truth_file: Path) -> list[Event]:
    """The planted trend events of a demo's ground_truth.json."""
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    return [
        Event(
            e["id"],
            e["category"],
            e["department"],
            date.fromisoformat(e["start"]),
            date.fromisoformat(e["end"]),
        )
        for e in truth["events"]
    ]


def load_alerts(warehouse_file: Path) -> list[Alert]:
    """Every alert of the warehouse (opened read-only)."""
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        cursor = con.execute(ALERTS_SQL)
        names = [d[0] for d in cursor.description]
        return [Alert(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def score(alerts: list[Alert], events: list[Event]) -> dict[str, Any]:
    """Precision, recall, the events found (with their alerts) and the false alerts."""
    true_alerts = [a for a in alerts if any(a.matches(e) for e in events)]
    false_alerts = [a for a in alerts if a not in true_alerts]
    found = {e.id: [a.row["alert_id"] for a in alerts if a.finds(e)] for e in events}
    return {
        "alerts": len(alerts),
        "true_alerts": len(true_alerts),
        "false_alerts": len(false_alerts),
        "precision": len(true_alerts) / len(alerts) if alerts else None,
        "events": len(events),
        "events_found": sum(1 for ids in found.values() if ids),
        "recall": sum(1 for ids in found.values() if ids) / len(events) if events else None,
        "found": found,
        "false": [a.row["alert_id"] for a in false_alerts],
    }


def _report(alerts: list[Alert], events: list[Event], result: dict[str, Any]) -> str:
    by_id = {a.row["alert_id"]: a for a in alerts}
    lines = [f"{len(alerts)} alerts, {len(events)} planted events", ""]
    for alert in alerts:
        row = alert.row
        mark = "FALSE" if row["alert_id"] in result["false"] else "true "
        lines.append(
            f"  [{mark}] {row['alert_id']} raised by {row['run_id']} ({row['detected_on']}), "
            f"{row['status']}: {row['headline']}"
        )
    lines.append("")
    for event in events:
        ids = result["found"][event.id]
        where = event.department or "company-wide"
        status = "FOUND" if ids else "missed"
        lines.append(
            f"  {status:6} {event.id} ({event.category}, {where}, {event.start}..{event.end})"
            + (f": {', '.join(ids)}" if ids else "")
        )
        for alert_id in ids:
            lines.append(f"           {by_id[alert_id].row['headline']}")
    precision = result["precision"]
    recall = result["recall"]
    lines += [
        "",
        f"precision {precision:.2f} ({result['true_alerts']}/{result['alerts']})"
        if precision is not None
        else "precision n/a (no alerts)",
        f"recall    {recall:.2f} ({result['events_found']}/{result['events']})"
        if recall is not None
        else "recall n/a (no events)",
        f"false alerts: {result['false_alerts']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: print the report (and the numbers as JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="INSIGHT_HOME of an `insight demo` run")
    parser.add_argument("--warehouse", type=Path, help="warehouse file (default: <home>/...)")
    parser.add_argument("--truth", type=Path, help="ground_truth.json (default: <home>/demo/)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON too")
    args = parser.parse_args(argv)
    if args.home is None and (args.warehouse is None or args.truth is None):
        parser.error("give --home, or both --warehouse and --truth")
    warehouse_file = args.warehouse or args.home / "warehouse.duckdb"
    truth_file = args.truth or args.home / "demo" / "ground_truth.json"
    events = load_events(truth_file)
    alerts = load_alerts(warehouse_file)
    result = score(alerts, events)
    print(_report(alerts, events, result))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
