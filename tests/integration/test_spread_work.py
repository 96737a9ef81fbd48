"""The nightly flow with its work spread over processes and concurrent passes: same rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from insight_core import warehouse
from insight_core.settings import InsightSettings
from tests.integration.conftest import DemoRun
from tests.integration.test_dask_runner import COLUMNS

pytestmark = pytest.mark.integration


@pytest.fixture
def torch_threads_restored() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    yield
    # A thread that ran a pass keeps its share of torch's threads: give later tests theirs.
    torch.set_num_threads(threads)


def test_redaction_processes_and_concurrent_passes_give_the_same_rows(
    demo_run: DemoRun, monkeypatch: pytest.MonkeyPatch, torch_threads_restored: None
) -> None:
    demo_run.env(monkeypatch)
    monkeypatch.setenv("INSIGHT_REDACTION_PROCESSES", "2")
    monkeypatch.setenv("INSIGHT_EMBEDDING_CONCURRENT_PASSES", "2")
    monkeypatch.setenv("INSIGHT_CHUNK_SIZE", "250")  # chunks large enough for the pool
    from flows.nightly import nightly

    settings = InsightSettings()
    day = demo_run.dataset.dates[1]
    sql = f"SELECT {COLUMNS} FROM core.classifications WHERE run_date = DATE '{day}' ORDER BY 1"
    before = warehouse.query(settings.warehouse_file, sql)
    assert before.height > 0
    summary = nightly(run_date=day, source=str(demo_run.dataset.log_files[1]))
    assert summary.status == "succeeded"
    assert warehouse.query(settings.warehouse_file, sql).equals(before)
