"""Alert messages through Prefect's real webhook block to a receiver on 127.0.0.1.

The warehouse is a real DuckDB file with the real migrations; its alerts table is written by
the test so that each state change (raised, escalated, withdrawn) can be set up in seconds.
The receiver first fails (HTTP 500): nothing is lost, the failure is recorded, and the next
night delivers. Reruns send nothing new.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from insight_core import warehouse
from insight_core.settings import InsightSettings
from tasks.alerts import deliver

pytestmark = pytest.mark.integration

SECRET_PROMPT = "my manager keeps shouting at me"  # in no table the messages read


class Receiver:
    """A webhook receiver on 127.0.0.1 (never another address) that records what it gets."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if receiver.status == 200:
                    receiver.received.append(body)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


ALERT_COLUMNS = (
    "alert_id VARCHAR, status VARCHAR, run_id VARCHAR, detected_on DATE, kind VARCHAR, "
    "grain VARCHAR, department VARCHAR, category VARCHAR, topic_id INTEGER, "
    "topic_label VARCHAR, since DATE, period DATE, spike_periods BIGINT, prompts BIGINT, "
    "users BIGINT, share DOUBLE, baseline_share DOUBLE, ratio DOUBLE, spike_score DOUBLE, "
    "peak_score DOUBLE, model_changed BOOLEAN, headline VARCHAR"
)


def _alert(alert_id: str, department: str, category: str, peak: float, status="active"):
    active = status == "active"
    return (
        alert_id,
        status,
        "run-1",
        date(2026, 10, 20),
        "spike",
        "day",
        department,
        category,
        None,
        None,
        date(2026, 10, 19),
        date(2026, 10, 20),
        2 if active else None,
        40 if active else None,
        12 if active else None,
        0.21 if active else None,
        0.05 if active else None,
        4.2 if active else None,
        peak if active else None,
        peak if active else None,
        False if active else None,
        "headline",
    )


def _write_alerts(published: Path, rows: list[tuple]) -> None:
    with warehouse.staged_build(published) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(f"CREATE OR REPLACE TABLE analytics.alerts ({ALERT_COLUMNS})")
        con.execute("CREATE OR REPLACE TABLE ops.trend_parameters AS SELECT 4.0 AS min_spike_score")
        con.executemany(
            f"INSERT INTO analytics.alerts VALUES ({', '.join('?' * 22)})",
            rows,
        )


def _deliveries(published: Path) -> dict[tuple[str, str], tuple[str, int]]:
    rows = warehouse.query(
        published, "SELECT alert_id, state, status, attempts FROM ops.alert_deliveries"
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows.iter_rows()}


def test_each_state_change_reaches_the_receiver_once(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    settings = InsightSettings(
        home=tmp_path / "home",
        alert_webhook_url=receiver.url,  # type: ignore[arg-type]
        app_url="https://insight.example.test",
    )
    published = settings.warehouse_file
    _write_alerts(
        published,
        [
            _alert("a-it-support", "Customer Support", "it_support", 5.0),
            _alert("a-wellbeing", "(all)", "wellbeing", 6.0),
        ],
    )

    # Night 1: the receiver fails. The night goes on; the failures are recorded.
    receiver.status = 500
    report = deliver(settings, "run-1")
    assert len(report.failed) == 2 and not report.sent
    assert _deliveries(published) == {
        ("a-it-support", "raised"): ("failed", 1),
        ("a-wellbeing", "raised"): ("failed", 1),
    }

    # Night 2: the receiver is back: both alerts are delivered, on their second attempt.
    receiver.status = 200
    report = deliver(settings, "run-2")
    assert len(report.sent) == 2 and not report.failed
    assert _deliveries(published)[("a-it-support", "raised")] == ("sent", 2)
    subjects = sorted(m["subject"] for m in receiver.received)
    assert subjects == [
        "[Employee Insight] New alert: it_support prompts in Customer Support",
        "[Employee Insight] New alert: wellbeing prompts company-wide",
    ]
    body = next(m["body"] for m in receiver.received if "Customer Support" in m["subject"])
    # what changed, where, how big, since when, and the link to the web app's alert view
    assert "40 prompts from 12 people, 21.0% of the prompts vs 5.0% usually" in body
    assert "Since: 2026-10-19 (2 spiking days)" in body
    assert "https://insight.example.test/trends?alert=a-it-support" in body

    # A rerun of the night: nothing new is sent.
    assert deliver(settings, "run-2b").sent == []
    assert len(receiver.received) == 2

    # Night 3: one alert escalates, the other is withdrawn by a backfill; a third alert is
    # raised and withdrawn before anyone was told: no message for it at all.
    _write_alerts(
        published,
        [
            _alert("a-it-support", "Customer Support", "it_support", 9.5),
            _alert("a-wellbeing", "(all)", "wellbeing", 0, status="withdrawn"),
            _alert("a-never-told", "Finance", "finance", 0, status="withdrawn"),
        ],
    )
    report = deliver(settings, "run-3")
    assert sorted((a, s) for a, s, _ in report.sent) == [
        ("a-it-support", "escalated"),
        ("a-wellbeing", "withdrawn"),
    ]
    escalated, withdrawn = receiver.received[2:]
    if "withdrawn" in escalated["subject"].lower():
        escalated, withdrawn = withdrawn, escalated
    assert "peak score now 9.5 (was 5.0 when raised)" in escalated["body"]
    # a withdrawn alert says only what and where: its cells may be under the threshold now
    assert "prompts from" not in withdrawn["body"]
    assert deliver(settings, "run-3b").sent == []
    assert len(receiver.received) == 4
    for message in receiver.received:
        assert SECRET_PROMPT not in json.dumps(message)


def test_nothing_is_sent_or_written_without_a_channel(tmp_path: Path) -> None:
    settings = InsightSettings(home=tmp_path / "home")
    _write_alerts(settings.warehouse_file, [_alert("a1", "Sales", "finance", 5.0)])
    before = settings.warehouse_file.stat().st_mtime_ns
    assert deliver(settings, "run-1").sent == []
    assert settings.warehouse_file.stat().st_mtime_ns == before


def test_an_unreachable_receiver_is_a_recorded_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    # A port on 127.0.0.1 that nothing listens on: connection refused.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = InsightSettings(
        home=tmp_path / "home",
        alert_webhook_url=f"http://127.0.0.1:{port}/hook",  # type: ignore[arg-type]
    )
    _write_alerts(settings.warehouse_file, [_alert("a1", "Sales", "finance", 5.0)])
    report = deliver(settings, "run-1")
    assert len(report.failed) == 1
    assert _deliveries(settings.warehouse_file) == {("a1", "raised"): ("failed", 1)}
