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


def test_warehouse_memory_limit_takes_duckdb_sizes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert InsightSettings().warehouse_memory_limit == "256MB"
    monkeypatch.setenv("INSIGHT_WAREHOUSE_MEMORY_LIMIT", "2GiB")
    assert InsightSettings().warehouse_memory_limit == "2GiB"
    monkeypatch.setenv("INSIGHT_WAREHOUSE_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="warehouse_memory_limit"):
        InsightSettings()


DOCUMENTED_AT_MOST = 35


def _documented_and_advanced() -> tuple[list[str], list[str]]:
    from insight_core.settings import TopicSettings, is_advanced

    documented: list[str] = []
    advanced: list[str] = []
    fields = [
        (f"INSIGHT_{name.upper()}", field)
        for name, field in InsightSettings.model_fields.items()
        if name != "topics"
    ]
    fields += [
        (f"INSIGHT_TOPICS__{name.upper()}", field)
        for name, field in TopicSettings.model_fields.items()
    ]
    for name, field in fields:
        (advanced if is_advanced(field) else documented).append(name)
    return documented, advanced


def test_configuration_lists_what_a_user_chooses_and_no_tuning_knobs() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    rows = [line for line in docs.splitlines() if line.startswith("| `INSIGHT_")]
    documented, advanced = _documented_and_advanced()
    assert [name for name in documented if f"| `{name}` |" not in docs] == []
    # at most 35 rows, and only settings that exist and are not advanced overrides
    assert len(rows) == len(documented) <= DOCUMENTED_AT_MOST
    assert [name for name in advanced if f"`{name}`" in docs] == []


def test_the_fast_path_is_the_default_and_one_setting_returns_to_the_transformer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = InsightSettings()
    assert settings.embedding_cascade is True
    assert settings.embedding_precision == "auto"
    assert settings.embedding_max_tokens == 48
    # parallelism is left to the machine (insight_core.environment.parallelism)
    assert settings.chunk_threads is None and settings.embedding_concurrent_passes is None
    assert settings.redaction_processes is None and settings.torch_threads is None
    monkeypatch.setenv("INSIGHT_EMBEDDING_CASCADE", "false")
    transformer_only = InsightSettings()
    assert transformer_only.embedding_cascade is False
    assert transformer_only.embedding_max_tokens is None
    assert transformer_only.embedding_precision == "float32"
    # an explicit value is kept either way
    monkeypatch.setenv("INSIGHT_EMBEDDING_MAX_TOKENS", "96")
    monkeypatch.setenv("INSIGHT_EMBEDDING_PRECISION", "bfloat16")
    assert InsightSettings().embedding_max_tokens == 96
    assert InsightSettings().embedding_precision == "bfloat16"
    monkeypatch.setenv("INSIGHT_EMBEDDING_CASCADE", "true")
    assert InsightSettings().embedding_max_tokens == 96
