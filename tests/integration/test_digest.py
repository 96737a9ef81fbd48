"""The weekly digest through a real Prefect run, a real DuckDB file and a receiver on 127.0.0.1.

The analytics tables are written by the test (the digest reads nothing else), so each case the
digest must get right is set up in a second: movers ranked against the usual share, a hidden
cell (an older publication's row marked suppressed) left out, another week's rows left out,
a withdrawn alert shown as what and where only, prompt text in a core table never read.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from insight_core import warehouse

pytestmark = pytest.mark.integration

WEEK = date(2026, 10, 12)  # a Monday
SECRET_PROMPT = "my manager keeps shouting at me about the Q3 numbers"


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps the JSON bodies it is posted."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                receiver.received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


TREND_COLUMNS = (
    "iso_week VARCHAR, week_start DATE, complete BOOLEAN, department VARCHAR, category VARCHAR, "
    "prompts BIGINT, users BIGINT, share DOUBLE, prompts_change BIGINT, "
    "prompts_change_rel DOUBLE, share_change DOUBLE, baseline_share DOUBLE, "
    "spike_score DOUBLE, is_spike BOOLEAN, suppressed BOOLEAN"
)
ALERT_COLUMNS = (
    "alert_id VARCHAR, status VARCHAR, detected_on DATE, kind VARCHAR, grain VARCHAR, "
    "department VARCHAR, category VARCHAR, topic_label VARCHAR, since DATE, period DATE, "
    "prompts BIGINT, users BIGINT, share DOUBLE, baseline_share DOUBLE, spike_score DOUBLE, "
    "peak_score DOUBLE, headline VARCHAR"
)


def _trend(week: date, department: str, category: str, share: float | None, **extra):
    row = {
        "iso_week": f"{week:%G-W%V}",
        "week_start": week,
        "complete": True,
        "department": department,
        "category": category,
        "prompts": None if share is None else 50,
        "users": None if share is None else 12,
        "share": share,
        "prompts_change": None,
        "prompts_change_rel": None,
        "share_change": None,
        "baseline_share": None,
        "spike_score": None,
        "is_spike": False,
        "suppressed": share is None,
    }
    row.update(extra)
    return row


def _write_analytics(published: Path) -> None:
    department_rows = [
        _trend(
            WEEK,
            "Finance",
            "learning_development",
            0.30,
            baseline_share=0.10,
            share_change=0.15,
            spike_score=5.2,
            is_spike=True,
        ),
        _trend(WEEK, "Finance", "coding", 0.20, baseline_share=0.25, share_change=-0.02),
        _trend(WEEK, "Finance", "writing", 0.10, share_change=0.01),  # no visible baseline
        _trend(WEEK, "Finance", "data_analysis", 0.11, baseline_share=0.105),  # 4th: not shown
        _trend(WEEK, "Finance", "wellbeing", None),  # an older publication's hidden cell
        _trend(WEEK, "Customer Support", "wellbeing", 0.12, baseline_share=0.03),
        # the weeks before (a gap two weeks back) and after the digest's week
        _trend(WEEK - timedelta(weeks=1), "Finance", "learning_development", 0.15),
        _trend(WEEK - timedelta(weeks=3), "Finance", "learning_development", 0.09),
        _trend(WEEK + timedelta(weeks=1), "Finance", "translation", 0.90, baseline_share=0.01),
    ]
    company_rows = [
        {k: v for k, v in r.items() if k != "department"}
        for r in [_trend(WEEK, "(all)", "it_support", 0.25, baseline_share=0.10)]
    ]
    alerts = [
        (
            "a-fin",
            "active",
            WEEK + timedelta(days=2),
            "spike",
            "week",
            "Finance",
            "learning_development",
            None,
            WEEK - timedelta(days=7),
            WEEK,
            60,
            14,
            0.30,
            0.10,
            5.2,
            5.2,
            "learning_development prompts up in Finance",
        ),
        (
            "a-cs",
            "withdrawn",
            WEEK + timedelta(days=1),
            "spike",
            "day",
            "Customer Support",
            "wellbeing",
            None,
            WEEK,
            WEEK,
            None,
            None,
            None,
            None,
            None,
            None,
            "spike withdrawn",
        ),
        (
            "a-old",
            "active",
            date(2026, 9, 1),
            "spike",
            "day",
            "Finance",
            "coding",
            None,
            date(2026, 9, 1),
            date(2026, 9, 1),
            40,
            10,
            0.4,
            0.1,
            4.5,
            4.5,
            "old coding spike",
        ),
    ]
    with warehouse.staged_build(published) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute("CREATE SCHEMA IF NOT EXISTS core")
        con.execute(f"CREATE TABLE analytics.weekly_category_trends ({TREND_COLUMNS})")
        company_columns = TREND_COLUMNS.replace("department VARCHAR, ", "")
        con.execute(f"CREATE TABLE analytics.company_weekly_category_trends ({company_columns})")
        con.execute(f"CREATE TABLE analytics.alerts ({ALERT_COLUMNS})")
        con.execute("CREATE TABLE core.prompt_texts (department VARCHAR, text VARCHAR)")
        con.execute("INSERT INTO core.prompt_texts VALUES ('Finance', ?)", [SECRET_PROMPT])
        for table, rows in (
            ("weekly_category_trends", department_rows),
            ("company_weekly_category_trends", company_rows),
        ):
            names = list(rows[0])
            con.executemany(
                f"INSERT INTO analytics.{table} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})",
                [[r[n] for n in names] for r in rows],
            )
        con.executemany(f"INSERT INTO analytics.alerts VALUES ({', '.join('?' * 17)})", alerts)


def _section(page: str, title: str) -> str:
    """The HTML of one section: from its heading to the next one."""
    start = page.index(f"<h2>{title}</h2>")
    following = page.find("<h2>", start + 1)
    return page[start : following if following > 0 else len(page)]


def test_the_weekly_digest_is_a_page_and_one_message_per_channel(
    prefect_api: None, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("INSIGHT_HOME", str(home))
    monkeypatch.setenv("INSIGHT_ALERT_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("INSIGHT_APP_URL", "https://insight.example.test")
    # A second channel whose block does not exist: it fails, the webhook still gets the digest.
    monkeypatch.setenv("INSIGHT_ALERT_BLOCK", "slack-webhook/no-such-block")
    _write_analytics(home / "warehouse.duckdb")
    from flows.digest import digest

    report = digest(week=WEEK + timedelta(days=3))  # any day of the week names the week

    assert report.week_start == WEEK
    assert report.sent == ["webhook:generic"]
    assert [channel for channel, _ in report.failed] == ["block:slack-webhook/no-such-block"]
    assert (report.movers, report.alerts) == (5, 2)

    # The message: one, about that week, company first, movers against their usual share.
    assert len(receiver.received) == 1
    message = receiver.received[0]
    assert message["subject"] == "[Employee Insight] Weekly digest, week 2026-W42"
    body = message["body"]
    assert body.index("Whole company:") < body.index("Customer Support:") < body.index("Finance:")
    finance = body[body.index("Finance:") :]
    assert "learning_development 30.0% (usually 10.0%, +20.0 pts, score 5.2)" in finance
    assert finance.index("learning_development") < finance.index("coding 20.0%")
    assert "writing 10.0% (last week 9.0%, +1.0 pts)" in finance
    assert "alert active: learning_development prompts up in Finance" in finance
    assert "withdrawn: spike of wellbeing" in body
    assert "https://insight.example.test/trends" in body
    for absent in ("data_analysis", "translation", "old coding spike", SECRET_PROMPT):
        assert absent not in body

    # The page: self-contained (no script, nothing loaded from elsewhere), charts inline.
    page_file = home / "digests" / "2026-10-12.html"
    assert report.page == page_file.resolve()
    page = page_file.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 + 5  # a bar chart per section with movers, a line per mover
    assert not re.search(r"<script|<link|\ssrc=|\shref=|@import|url\(", page)
    finance_page = _section(page, "Finance")
    assert "learning_development" in finance_page and "wellbeing" not in finance_page
    assert "wellbeing" in _section(page, "Customer Support")
    # The sparkline has a gap where a week has no row: two segments' worth of points.
    assert finance_page.count("<polyline") == 1 and "<circle" in finance_page
    for absent in ("data_analysis", "translation", "old coding spike", SECRET_PROMPT):
        assert absent not in page


def test_a_week_without_movers_or_alerts_writes_its_page_and_sends_nothing(
    prefect_api: None, receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("INSIGHT_HOME", str(home))
    monkeypatch.setenv("INSIGHT_ALERT_WEBHOOK_URL", receiver.url)
    _write_analytics(home / "warehouse.duckdb")
    from flows.digest import digest

    report = digest(week=date(2026, 8, 3))
    assert report.sent == [] and report.failed == [] and receiver.received == []
    assert report.page is not None and "No published category moved" in report.page.read_text()


def test_the_digest_schedule_stays_as_the_user_left_it(prefect_api: None) -> None:
    """Registered paused; once turned on in Prefect, registering again keeps it on."""
    from prefect.client.orchestration import get_client

    from flows.deployments import build_deployments, digest_schedule_on
    from insight_core.settings import InsightSettings

    settings = InsightSettings()
    assert digest_schedule_on() is False  # nothing registered yet
    deployment = next(d for d in build_deployments(settings) if d.name == "digest")
    deployment_id = deployment.apply()
    assert digest_schedule_on() is False
    with get_client(sync_client=True) as client:
        (schedule,) = client.read_deployment_schedules(deployment_id)
        assert schedule.active is False and schedule.schedule.cron == "0 7 * * 1"
        client.update_deployment_schedule(deployment_id, schedule.id, active=True)
    assert digest_schedule_on() is True
    with get_client(sync_client=True) as client:
        # What `insight serve` does to its deployments when it stops (pause_on_shutdown).
        client.pause_deployment(deployment_id)
    assert digest_schedule_on() is True
    again = next(d for d in build_deployments(settings, digest_on=True) if d.name == "digest")
    assert again.apply() == deployment_id
    with get_client(sync_client=True) as client:
        assert [s.active for s in client.read_deployment_schedules(deployment_id)] == [True]
