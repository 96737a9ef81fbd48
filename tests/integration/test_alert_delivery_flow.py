"""The real nightly flow with a webhook receiver on 127.0.0.1 that fails: the night succeeds,
the failure is recorded, and the next night (a rerun) delivers it, once.

The pending change is set up by hand after the first night: an alert people were told about
(logged and announced) that the data no longer supports, so every later build withdraws it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from insight_core import warehouse
from insight_core.demo.generator import generate_demo_logs
from tests.integration.test_alert_delivery import Receiver, receiver  # noqa: F401

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 7)


def _announce_an_alert(published: Path, channel: str) -> None:
    now = datetime.now(UTC)
    with warehouse.staged_build(published) as con:
        con.execute(
            "INSERT INTO ops.alert_log (alert_id, run_id, run_date, rule, grain, department, "
            "category, since, period) VALUES ('gone-alert', 'old-run', ?, 'spike', 'day', "
            "'Finance', 'finance', ?, ?)",
            [DAY, DAY, DAY],
        )
        con.execute(
            "INSERT INTO ops.alert_deliveries (alert_id, state, channel, status, attempts, "
            "first_attempt_at, last_attempt_at, sent_at, run_id, peak_score) "
            "VALUES ('gone-alert', 'raised', ?, 'sent', 1, ?, ?, ?, 'old-run', 5.0)",
            [channel, now, now, now],
        )


def _deliveries(published: Path) -> list[tuple]:
    return warehouse.query(
        published,
        "SELECT alert_id, state, status, attempts FROM ops.alert_deliveries ORDER BY ALL",
    ).rows()


def test_a_failing_receiver_never_fails_the_night(
    prefect_api: None,
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    dataset = generate_demo_logs(home / "demo", DAY, days=1, seed=13, n_users=80)
    monkeypatch.setenv("INSIGHT_HOME", str(home))
    monkeypatch.setenv("INSIGHT_DEMO_MODE", "true")
    monkeypatch.setenv("INSIGHT_ALERT_WEBHOOK_URL", receiver.url)
    from flows.nightly import nightly

    source = str(dataset.log_files[0])
    assert nightly(run_date=DAY, source=source).status == "succeeded"
    published = home / "warehouse.duckdb"
    _announce_an_alert(published, "webhook:generic")

    receiver.status = 500
    assert nightly(run_date=DAY, source=source).status == "succeeded"
    assert receiver.received == []
    assert ("gone-alert", "withdrawn", "failed", 1) in _deliveries(published)

    receiver.status = 200
    assert nightly(run_date=DAY, source=source).status == "succeeded"
    assert [m["subject"] for m in receiver.received] == [
        "[Employee Insight] Alert withdrawn: finance prompts in Finance"
    ]
    assert ("gone-alert", "withdrawn", "sent", 2) in _deliveries(published)
    # one demo day has no baseline, so it raises no alert of its own: the receiver got only
    # the withdrawal, once, after two nights of the same date
    active = warehouse.query(
        published, "SELECT count(*) FROM analytics.alerts WHERE status = 'active'"
    ).item()
    assert active == 0
