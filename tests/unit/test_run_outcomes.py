"""What a run records however it ends: stop signals held during the publication's swap,
disk-full errors that name the path, a published run that stays succeeded, and the journal
that keeps an outcome the catalog could not take until the next run folds it in."""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from insight_core import interrupts, warehouse
from insight_core.errors import DiskFullError, disk_full_names, is_disk_full
from insight_core.nightly import journal, run_state, stages
from insight_core.settings import InsightSettings
from tests.unit.test_warehouse import DAY, _classified, _request, _users

pytestmark = pytest.mark.unit


def _enospc(filename: str | None = None) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename)


# --- stop signals -------------------------------------------------------------------------


def test_a_stop_signal_raises_run_interrupted_once() -> None:
    with interrupts.handling_stop_signals():
        with pytest.raises(interrupts.RunInterrupted) as stopped:
            signal.raise_signal(signal.SIGTERM)
        assert stopped.value.signal_name == "SIGTERM" and stopped.value.exit_code == 143
        assert interrupts.stop_requested()
        signal.raise_signal(signal.SIGINT)  # the run is already stopping: ignored
    assert not interrupts.stop_requested()


def test_a_stop_signal_waits_for_the_shielded_swap() -> None:
    steps = []
    with interrupts.handling_stop_signals(), pytest.raises(interrupts.RunInterrupted):
        with interrupts.shielded():
            signal.raise_signal(signal.SIGINT)
            steps.append("swapped")  # not cut short
        steps.append("after")  # never reached: raised as the shield ends
    assert steps == ["swapped"]


def test_a_signal_held_by_a_worker_thread_wakes_the_waiting_main_thread() -> None:
    entered, release = threading.Event(), threading.Event()

    def publish() -> None:
        with interrupts.shielded():
            entered.set()
            release.wait(10)

    worker = threading.Thread(target=publish)
    started = time.monotonic()
    with interrupts.handling_stop_signals(), pytest.raises(interrupts.RunInterrupted):
        worker.start()
        entered.wait(10)
        signal.raise_signal(signal.SIGTERM)  # held: the worker is in its shield
        release.set()
        threading.Event().wait(30)  # the flow waiting on a chunk: woken by the held signal
    worker.join(10)
    assert time.monotonic() - started < 10


def test_a_signal_during_the_swap_leaves_a_complete_publication(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = tmp_path / "w.duckdb"
    real_replace = Path.replace

    def replace_then_signal(self: Path, target: str | os.PathLike[str]) -> Path:
        moved = real_replace(self, target)
        if Path(target) == published:
            signal.raise_signal(signal.SIGTERM)  # right after the catalog swap
        return moved

    monkeypatch.setattr(Path, "replace", replace_then_signal)
    with interrupts.handling_stop_signals(), pytest.raises(interrupts.RunInterrupted):
        warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    # The catalog is published and every file it names is still there.
    assert warehouse.run_published(published, "r1")
    assert warehouse.query(published, "SELECT count(*) FROM core.classifications").item() == 6


# --- disk full ----------------------------------------------------------------------------


def test_disk_full_names_the_file_or_else_the_given_path(tmp_path: Path) -> None:
    named = re.escape(str(tmp_path / "a.npy"))
    with pytest.raises(DiskFullError, match=f"device of {named}"), disk_full_names(tmp_path):
        raise _enospc(str(tmp_path / "a.npy"))
    folder = re.escape(f"disk full: no space left on the device of {tmp_path}")
    with pytest.raises(DiskFullError, match=folder), disk_full_names(tmp_path):
        raise _enospc()  # a write to an open file names none
    # polars' way of saying it
    with pytest.raises(DiskFullError, match="MB free"), disk_full_names(tmp_path):
        raise RuntimeError("I/O error: No space left on device (os error 28)")
    with pytest.raises(ValueError), disk_full_names(tmp_path):
        raise ValueError("not a disk matter")
    assert is_disk_full(RuntimeError("wrapped")) is False


def test_a_full_disk_while_publishing_says_so_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    before = published.read_bytes()

    def full(source: Path, target: Path) -> None:
        raise _enospc()

    monkeypatch.setattr(shutil, "copyfile", full)
    with pytest.raises(DiskFullError, match=r"disk full: .*\.w\.duckdb\.staging-"):
        warehouse.record_failed_run(published, {"run_id": "x", "run_date": DAY, "status": "failed"})
    assert published.read_bytes() == before


# --- ops.runs records ---------------------------------------------------------------------


def test_a_published_run_stays_succeeded_and_gathers_warnings(tmp_path: Path) -> None:
    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    assert warehouse.run_published(published, "r1")
    assert not warehouse.run_published(published, "r2")
    warehouse.record_runs(
        published,
        [
            {"run_id": "r1", "warnings": ["texts not kept"]},
            {"run_id": "r1", "run_date": DAY, "status": "cancelled", "error": "stopped by SIGINT"},
            {"run_id": "r1", "warnings": ["texts not kept"]},  # twice: recorded once
        ],
    )
    row = warehouse.query(published, "SELECT * FROM ops.runs WHERE run_id = 'r1'").row(
        0, named=True
    )
    assert row["status"] == "succeeded" and row["rows_loaded"] == 6
    assert row["warnings"] == [
        "texts not kept",
        "cancelled after its publication: stopped by SIGINT",
    ]


def _settings(home: Path) -> InsightSettings:
    return InsightSettings(home=home, user_hash_secret=SecretStr("test-secret"))


def test_an_outcome_the_catalog_cannot_take_is_journalled_and_folded_in_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path / "home")
    published = settings.warehouse_file
    warehouse.publish_run(published, _request([_classified(tmp_path, DAY, _users(6))]))
    record = {
        "run_id": "20261005-0000000001",
        "run_date": DAY,
        "status": "failed",
        "started_at": datetime(2026, 10, 6, 2, tzinfo=UTC),
        "error": "DiskFullError: disk full: no space left on the device of /x",
    }

    def full(source: Path, target: Path) -> None:
        raise _enospc()

    with monkeypatch.context() as patch:
        patch.setattr(shutil, "copyfile", full)
        assert stages.record_outcomes(settings, [record]) is False
    journal_file = settings.home / "journal" / "runs.jsonl"
    assert journal_file.exists()

    # A fold that cannot write keeps the records for the next one.
    def broken(records: object) -> None:
        raise OSError("warehouse unavailable")

    with pytest.raises(OSError):
        journal.fold(settings.home, broken)
    assert list((settings.home / "journal").glob("*.jsonl"))

    stages.recover_crashed_runs(settings)  # what every run does as it begins
    assert list((settings.home / "journal").iterdir()) == []
    row = warehouse.query(
        published, "SELECT * FROM ops.runs WHERE run_id = '20261005-0000000001'"
    ).row(0, named=True)
    assert row["status"] == "failed" and row["run_date"] == DAY
    assert row["started_at"] == record["started_at"]
    assert "disk full" in row["error"]


def test_partial_texts_of_finished_runs_are_deleted_not_those_of_live_ones(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path / "home")
    settings.texts_dir.mkdir(parents=True)
    run_state.start_run(settings.runs_dir, "20261005-11111111aa", {"run_date": "2026-10-05"})
    try:
        live = settings.texts_dir / ".2026-10-05.20261005-11111111aa.parquet"
        dead = settings.texts_dir / ".2026-10-05.20261005-22222222bb.parquet"
        kept = settings.texts_dir / "2026-10-05.parquet"
        for path in (live, dead, kept):
            path.write_bytes(b"PAR1")
        assert stages.discard_stale_texts(settings) == [dead]
        assert live.exists() and kept.exists() and not dead.exists()
    finally:
        run_state.finish_run(settings.runs_dir, "20261005-11111111aa")
