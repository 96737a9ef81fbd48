"""The run request checks the CLI makes before Prefect, MLflow or a server start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from insight_core.errors import ConfigError, SourceError
from insight_core.nightly.preflight import check_run_request
from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit

DAY = date(2026, 10, 5)


def _settings(**values: object) -> InsightSettings:
    return InsightSettings(**values)  # type: ignore[arg-type]


def test_missing_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="INSIGHT_USER_HASH_SECRET"):
        check_run_request(_settings(), "logs.jsonl", "auto")


def test_demo_mode_needs_no_secret(tmp_path: Path) -> None:
    log = tmp_path / f"{DAY}.jsonl"
    log.write_text("{}\n")
    request = check_run_request(_settings(demo_mode=True), str(log), "auto", [DAY])
    assert request.source == str(log)


def test_source_defaults_to_the_setting_and_is_required(tmp_path: Path) -> None:
    template = str(tmp_path / "{date}.jsonl")
    (tmp_path / f"{DAY}.jsonl").write_text("{}\n")
    settings = _settings(user_hash_secret="k", source=template)
    assert check_run_request(settings, None, "auto", [DAY]).source == template
    with pytest.raises(ConfigError, match="no source given"):
        check_run_request(_settings(user_hash_secret="k"), None, "auto")


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown topic mode 'guess'"):
        check_run_request(_settings(user_hash_secret="k"), str(tmp_path), "guess")


def test_a_missing_file_of_any_date_is_reported(tmp_path: Path) -> None:
    template = str(tmp_path / "{date}.jsonl")
    (tmp_path / "2026-10-05.jsonl").write_text("{}\n")
    settings = _settings(user_hash_secret="k")
    check_run_request(settings, template, "auto", [DAY])
    with pytest.raises(SourceError, match=r"2026-10-06\.jsonl"):
        check_run_request(settings, template, "auto", [DAY, date(2026, 10, 6)])


def test_only_explicit_hub_dataset_ids_skip_the_disk_check() -> None:
    settings = _settings(user_hash_secret="k")
    assert check_run_request(settings, "hf://acme/prompt-logs", "auto", [DAY]).source
    # A bare owner/name is a relative path that does not exist, not a hub id.
    with pytest.raises(SourceError, match="source not found"):
        check_run_request(settings, "acme/prompt-logs", "auto", [DAY])


def test_cli_reports_a_missing_secret_within_seconds(tmp_path: Path) -> None:
    """No Prefect import, no server start, no MLflow before the configuration error."""
    log = tmp_path / f"{DAY}.jsonl"
    log.write_text("{}\n")
    code = (
        "import sys\n"
        "from flows.cli import app\n"
        "try:\n"
        f"    app(['--home', {str(tmp_path / 'home')!r}, 'run', '--source', {str(log)!r},"
        f" '--date', '{DAY}'])\n"
        "except SystemExit as exit:\n"
        "    heavy = sorted(m for m in ('prefect', 'mlflow', 'torch') if m in sys.modules)\n"
        "    print('loaded:', heavy, 'exit:', exit.code)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    seconds = time.perf_counter() - started
    assert "INSIGHT_USER_HASH_SECRET is not set" in result.stdout + result.stderr
    assert "loaded: [] exit: 1" in result.stdout
    assert seconds < 10, f"the configuration error took {seconds:.1f}s"
