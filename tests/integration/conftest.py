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

from insight_core.demo.generator import DemoDataset, generate_demo_logs

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


BACKFILL_DAYS = 14  # two complete ISO weeks: enough for weekly changes and daily baselines


@dataclass(frozen=True)
class BackfillRun:
    home: Path
    dataset: DemoDataset
    exit_code: int
    output: str

    @property
    def warehouse_file(self) -> Path:
        return self.home / "warehouse.duckdb"

    def env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("INSIGHT_HOME", str(self.home))
        monkeypatch.setenv("INSIGHT_DEMO_MODE", "true")


def invoke_cli(home: Path, *args: str):
    """Run the ``insight`` CLI in-process with typer's CliRunner, state under ``home``."""
    from typer.testing import CliRunner

    from flows.cli import app

    with pytest.MonkeyPatch.context() as patch:
        # The CLI writes INSIGHT_HOME into os.environ itself; setting it here first makes the
        # context restore the previous value afterwards.
        patch.setenv("INSIGHT_HOME", str(home))
        patch.setenv("INSIGHT_DEMO_MODE", "true")
        return CliRunner().invoke(app, ["--home", str(home), *args])


@pytest.fixture(scope="session")
def backfill_run(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> BackfillRun:
    """Two weeks of a small demo company loaded with ``insight run --from --to`` (the real flow,
    one run per date): the demo warehouse the docs/analytics.md queries run against."""
    home = tmp_path_factory.mktemp("insight-backfill")
    dataset = generate_demo_logs(home / "demo", DEMO_START, days=BACKFILL_DAYS, seed=5, n_users=150)
    result = invoke_cli(
        home,
        "run",
        "--source",
        str(home / "demo" / "logs" / "{date}.jsonl"),
        "--from",
        dataset.dates[0].isoformat(),
        "--to",
        dataset.dates[-1].isoformat(),
    )
    problem = f"\n{result.exception!r}" if result.exception else ""
    return BackfillRun(home, dataset, result.exit_code, result.output + problem)
