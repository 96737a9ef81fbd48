from __future__ import annotations

from pathlib import Path

import pytest

from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit


def test_defaults_live_under_home(tmp_path: Path) -> None:
    settings = InsightSettings()
    home = (tmp_path / "home").resolve()
    assert settings.warehouse_file == home / "warehouse.duckdb"
    assert settings.tracking_uri == f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    assert settings.models_dir == home / "models"
    assert settings.min_group_for("wellbeing") == 10
    assert settings.min_group_for("coding") == 5


def test_environment_overrides_with_prefix_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHT_MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("INSIGHT_TOPICS__UMAP_N_NEIGHBORS", "20")
    monkeypatch.setenv("INSIGHT_MIN_GROUP_SIZE", "8")
    monkeypatch.setenv("INSIGHT_COLUMN_MAPPING", '{"prompt": "text"}')
    settings = InsightSettings()
    assert settings.tracking_uri == "http://mlflow:5000"
    assert settings.topics.umap_n_neighbors == 20
    assert settings.min_group_for("wellbeing") == 10 and settings.min_group_for("x") == 8
    assert settings.column_mapping == {"prompt": "text"}


def test_every_setting_is_documented() -> None:
    from insight_core.settings import TopicSettings

    docs = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    names = [f"INSIGHT_{name.upper()}" for name in InsightSettings.model_fields if name != "topics"]
    names += [f"INSIGHT_TOPICS__{name.upper()}" for name in TopicSettings.model_fields]
    assert [name for name in names if f"`{name}`" not in docs] == []


def test_warehouse_memory_limit_takes_duckdb_sizes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert InsightSettings().warehouse_memory_limit == "256MB"
    monkeypatch.setenv("INSIGHT_WAREHOUSE_MEMORY_LIMIT", "2GiB")
    assert InsightSettings().warehouse_memory_limit == "2GiB"
    monkeypatch.setenv("INSIGHT_WAREHOUSE_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="warehouse_memory_limit"):
        InsightSettings()
