"""The nightly flow unchanged on a local Dask cluster of two worker processes."""

from __future__ import annotations

import pytest

from insight_core import warehouse
from insight_core.settings import InsightSettings
from tests.integration.conftest import DemoRun

pytestmark = pytest.mark.integration

COLUMNS = (
    "prompt_id, run_date, event_ts, user_hash, department, tool, category, decided_by, "
    "rule_id, confidence, topic_id, topic_label, topic_words, model_version, pii_redacted"
)


def test_dask_runner_gives_the_same_rows(
    demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_run.env(monkeypatch)
    monkeypatch.setenv("INSIGHT_TASK_RUNNER", "dask")
    monkeypatch.setenv("INSIGHT_DASK_WORKERS", "2")
    monkeypatch.setenv("INSIGHT_CHUNK_SIZE", "150")  # several chunks to fan out
    from prefect_dask import DaskTaskRunner

    from flows.nightly import nightly
    from flows.runners import configured

    settings = InsightSettings()
    flow = configured(nightly, settings)
    assert isinstance(flow.task_runner, DaskTaskRunner)
    day = demo_run.dataset.dates[1]
    sql = f"SELECT {COLUMNS} FROM core.classifications WHERE run_date = DATE '{day}' ORDER BY 1"
    threaded = warehouse.query(settings.warehouse_file, sql)
    summary = flow(run_date=day, source=str(demo_run.dataset.log_files[1]))
    assert summary.status == "succeeded"
    assert warehouse.query(settings.warehouse_file, sql).equals(threaded)
    runs = warehouse.query(
        settings.warehouse_file,
        f"SELECT stage_seconds FROM ops.runs WHERE run_id = '{summary.run_id}'",
    )
    assert runs.height == 1
