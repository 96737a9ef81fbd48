"""Shared fixtures: isolated INSIGHT_HOME per test, settings builders, shared-data access."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's .env or INSIGHT_* variables, or writes outside tmp."""
    for key in list(os.environ):
        if key.startswith("INSIGHT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INSIGHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; skipped where a clone has none."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"developer data not present at {SHARED_DATA} (only on team machines)")
    return SHARED_DATA
