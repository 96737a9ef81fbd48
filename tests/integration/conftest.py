"""Integration fixtures: a real Prefect API (temporary server), a small demo month run through
the real flow with the bundled embedding model, DuckDB and MLflow on SQLite."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from insight_core.demo import DemoDataset, generate_demo_logs

DEMO_START = date(2026, 10, 5)  # a Monday


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One temporary Prefect server for the whole session."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@dataclass(frozen=True)
class DemoRun:
    home: Path
    dataset: DemoDataset
    summaries: list  # RunSummary per day, in order
    ground_truth: dict

    def env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("INSIGHT_HOME", str(self.home))
        monkeypatch.setenv("INSIGHT_DEMO_MODE", "true")


@pytest.fixture(scope="session")
def demo_run(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Two demo days through the real nightly flow: day 1 fits a model, day 2 infers."""
    home = tmp_path_factory.mktemp("insight-home")
    dataset = generate_demo_logs(home / "demo", DEMO_START, days=2, seed=3, n_users=160)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSIGHT_HOME", str(home))
        patch.setenv("INSIGHT_DEMO_MODE", "true")
        from flows.nightly import nightly

        summaries = [
            nightly(run_date=day, source=str(path))
            for day, path in zip(dataset.dates, dataset.log_files, strict=True)
        ]
    truth = json.loads(dataset.ground_truth_file.read_text())
    return DemoRun(home, dataset, summaries, truth)
