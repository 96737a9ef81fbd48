"""The demo month with a webhook receiver running: exactly the alerts the warehouse holds arrive.

Generates the demo month as ``insight demo`` does (same generator, a refit after the first
week, one real Prefect nightly run per day) with ``INSIGHT_ALERT_WEBHOOK_URL`` pointing at a
receiver on 127.0.0.1 that this script starts, then reruns one night. After every night it
reads ``analytics.alerts`` and works out, on its own, which state changes people must have been
told of by then (the rules of docs/operations.md, "Alerts to Slack, Teams or e-mail"):

* ``raised`` the first night an alert is active and not announced yet;
* ``escalated`` once, when its peak score reaches twice the spike score after it was raised
  with a lower one;
* ``withdrawn`` once, when an alert people were told about is withdrawn.

It checks that the messages received, the rows of ``ops.alert_deliveries`` marked ``sent``
and these expected (alert, state) pairs are the same set, one message each, night by night,
and that the rerun sent nothing. Exit status 1 when any check fails.

    PYTHONPATH=. .venv/bin/python benchmarks/alert_delivery_month.py --home /tmp/deliverymonth
    PYTHONPATH=. .venv/bin/python benchmarks/alert_delivery_month.py --days 10  # a shorter run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb

# A message's link ends with the alert id (insight_core.nightly.alert_delivery.compose).
_ALERT_IN_LINK = re.compile(r"/trends\?alert=([^\s&]+)")
_STATE_OF_SUBJECT = {
    "New alert": "raised",
    "Alert escalated": "escalated",
    "Alert withdrawn": "withdrawn",
}


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps every JSON body it is posted."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver._lock:
                    receiver.received.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:  # the report is the output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self) -> int:
        """Messages received so far."""
        with self._lock:
            return len(self.received)

    def pairs(self, since: int = 0) -> list[tuple[str, str]]:
        """(alert_id, state) of each message received from index ``since`` on."""
        with self._lock:
            bodies = list(self.received[since:])
        pairs = []
        for body in bodies:
            subject = str(body.get("subject", ""))
            state = next(
                (s for prefix, s in _STATE_OF_SUBJECT.items() if f"] {prefix}:" in subject), "?"
            )
            found = _ALERT_IN_LINK.search(str(body.get("body", "")))
            pairs.append((found.group(1) if found else "?", state))
        return pairs


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    """The receiver serving in a thread for the duration of the block."""
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


class Expected:
    """The state changes people must have been told of, worked out from analytics.alerts."""

    def __init__(self) -> None:
        self.told: dict[tuple[str, str], float | None] = {}  # (alert, state) -> peak then

    def update(self, alerts: list[dict[str, Any]], escalation: float) -> list[tuple[str, str]]:
        """The changes due after a night whose analytics.alerts is ``alerts``."""
        due: list[tuple[str, str]] = []
        for alert in alerts:
            alert_id, peak = alert["alert_id"], alert["peak_score"]
            raised = (alert_id, "raised") in self.told
            if alert["status"] == "withdrawn":
                if raised and (alert_id, "withdrawn") not in self.told:
                    due.append((alert_id, "withdrawn"))
                    self.told[(alert_id, "withdrawn")] = None
            elif not raised:
                due.append((alert_id, "raised"))
                self.told[(alert_id, "raised")] = peak
            else:
                told_peak = self.told[(alert_id, "raised")]
                if (
                    peak is not None
                    and peak >= escalation
                    and (told_peak is None or told_peak < escalation)
                    and (alert_id, "escalated") not in self.told
                ):
                    due.append((alert_id, "escalated"))
                    self.told[(alert_id, "escalated")] = peak
        return due


def _read(published: Path) -> tuple[list[dict[str, Any]], float, list[tuple[str, str, str]]]:
    """analytics.alerts, the escalation score and the sent deliveries of the warehouse."""
    with duckdb.connect(str(published), read_only=True) as con:
        cursor = con.execute(
            "SELECT alert_id, status, peak_score FROM analytics.alerts "
            "ORDER BY detected_on, since, alert_id"
        )
        names = [d[0] for d in cursor.description]
        alerts = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        spike = con.execute("SELECT min_spike_score FROM ops.trend_parameters").fetchone()
        sent = con.execute(
            "SELECT alert_id, state, channel FROM ops.alert_deliveries WHERE status = 'sent'"
        ).fetchall()
        failed = con.execute(
            "SELECT count(*) FROM ops.alert_deliveries WHERE status <> 'sent'"
        ).fetchone()
    if failed and failed[0]:
        print(f"  note: {failed[0]} deliveries not marked sent", flush=True)
    return alerts, 2.0 * float(spike[0] if spike else 4.0), [tuple(r) for r in sent]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="INSIGHT_HOME (default: a fresh temp folder)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--users", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--refit-after", type=int, default=7, help="as insight demo; 0: never")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 10, 5))
    parser.add_argument("--rerun", type=int, default=0, help="night to rerun (1-based; 0: last)")
    args = parser.parse_args()

    home = (args.home or Path(tempfile.mkdtemp(prefix="alert-delivery-month-"))).resolve()
    receiver = Receiver()
    os.environ["INSIGHT_HOME"] = str(home)
    os.environ["INSIGHT_DEMO_MODE"] = "true"
    os.environ["INSIGHT_ALERT_WEBHOOK_URL"] = receiver.url
    os.environ["INSIGHT_ALERT_WEBHOOK_KIND"] = "generic"
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")

    from flows.cli.common import load_settings, prefect_ready
    from flows.lifecycle import refit
    from flows.nightly import nightly
    from flows.runners import configured
    from insight_core.demo.generator import generate_demo_logs

    settings = load_settings()
    prefect_ready()
    dataset = generate_demo_logs(home / "demo", args.start, args.days, args.seed, args.users)
    print(
        f"demo: {dataset.n_prompts} prompts, {args.days} days from {args.start}, home {home}, "
        f"receiver {receiver.url}",
        flush=True,
    )
    run_night = configured(nightly, settings)
    expected = Expected()
    problems: list[str] = []
    nights: list[tuple[date, int, int, float]] = []
    began = time.perf_counter()
    with running(receiver):
        for index, (day, log_file) in enumerate(zip(dataset.dates, dataset.log_files, strict=True)):
            if args.refit_after and index == args.refit_after:
                refit(end=dataset.dates[index - 1], window_days=index)
            before = receiver.count()
            t0 = time.perf_counter()
            summary = run_night(run_date=day, source=str(log_file))
            seconds = time.perf_counter() - t0
            alerts, escalation, _ = _read(settings.warehouse_file)
            due = expected.update(alerts, escalation)
            got = receiver.pairs(before)
            if Counter(got) != Counter(due):
                problems.append(f"night {day}: received {sorted(got)}, expected {sorted(due)}")
            nights.append((day, len(got), len(alerts), seconds))
            status = getattr(summary, "status", summary)
            kinds = ", ".join(f"{s} {n}" for s, n in sorted(Counter(s for _, s in got).items()))
            print(
                f"[{index + 1}/{args.days}] {day} {status}: {len(got)} messages ({kinds}), "
                f"{len(alerts)} alerts in the warehouse, {seconds:.0f} s",
                flush=True,
            )

        rerun_index = (args.rerun or args.days) - 1
        rerun_day = dataset.dates[rerun_index]
        before = receiver.count()
        t0 = time.perf_counter()
        run_night(run_date=rerun_day, source=str(dataset.log_files[rerun_index]))
        rerun_seconds = time.perf_counter() - t0
        rerun_sent = receiver.count() - before
        alerts, escalation, sent_rows = _read(settings.warehouse_file)
        # What a rerun may still owe: a change the rerun itself made (none with the same data).
        rerun_due = expected.update(alerts, escalation)

    received = receiver.pairs()
    expected_pairs = sorted(expected.told)
    sent_pairs = sorted((alert_id, state) for alert_id, state, _ in sent_rows)
    duplicates = [pair for pair, n in Counter(received).items() if n > 1]
    if rerun_sent or rerun_due:
        problems.append(f"rerun of {rerun_day}: {rerun_sent} messages, {len(rerun_due)} due")
    if duplicates:
        problems.append(f"received more than once: {duplicates}")
    if sorted(received) != sent_pairs:
        problems.append("messages received differ from ops.alert_deliveries marked sent")
    if sent_pairs != expected_pairs:
        problems.append("ops.alert_deliveries marked sent differs from analytics.alerts' changes")
    channels = sorted({channel for *_, channel in sent_rows})

    states = Counter(state for _, state in expected_pairs)
    print("\nalert delivery over the demo month")
    print(f"  nights run:                      {len(nights)} (+1 rerun of {rerun_day})")
    print(
        f"  alerts in analytics.alerts:      {len(alerts)} "
        f"({sum(a['status'] == 'active' for a in alerts)} active, "
        f"{sum(a['status'] == 'withdrawn' for a in alerts)} withdrawn)"
    )
    print(
        f"  expected (alert, state) changes: {len(expected_pairs)} "
        f"({', '.join(f'{s} {n}' for s, n in sorted(states.items()))})"
    )
    print(f"  messages received:               {len(received)}")
    print(f"  ops.alert_deliveries sent:       {len(sent_pairs)} (channels {channels})")
    print(f"  {f'rerun of {rerun_day}:':<33}{rerun_sent} messages ({rerun_seconds:.0f} s)")
    print(
        f"  wall time:                       {time.perf_counter() - began:.0f} s "
        f"(median night {sorted(n[3] for n in nights)[len(nights) // 2]:.0f} s)"
    )
    if problems:
        print("FAILED:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(
        "OK: received == sent in ops.alert_deliveries == one per (alert, state) change; "
        "the rerun sent nothing"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
