"""Process defaults set by the entry points: offline, memory limits, state under the home."""

from __future__ import annotations

from pathlib import Path

import pytest

from insight_core.environment import MEMORY_DEFAULTS, OFFLINE_DEFAULTS, apply_runtime_defaults
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit

SET_BY_DEFAULTS = [
    *OFFLINE_DEFAULTS,
    *MEMORY_DEFAULTS,
    "PREFECT_HOME",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    # Deleting through monkeypatch also removes, after the test, what the defaults added.
    for key in SET_BY_DEFAULTS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    return monkeypatch


def test_memory_limits_are_set_for_the_run_and_its_child_processes(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    apply_runtime_defaults(InsightSettings(home=tmp_path))
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "64"
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    assert os.environ["TOKENIZERS_PARALLELISM"] == "false"
    assert os.environ["PREFECT_HOME"] == str((tmp_path / "prefect").resolve())


def test_a_users_own_values_are_kept(clean_environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    clean_environment.setenv("MALLOC_ARENA_MAX", "8")
    clean_environment.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "1024")
    apply_runtime_defaults(InsightSettings(home=tmp_path))
    assert os.environ["MALLOC_ARENA_MAX"] == "8"
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "1024"
