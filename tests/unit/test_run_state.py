"""Telling a dead run from a live one by its OS lock, and cleaning up only the dead."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from insight_core import warehouse
from insight_core.nightly import run_state

pytestmark = pytest.mark.unit

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from insight_core.nightly import run_state
    runs = Path(sys.argv[1])
    work = run_state.start_run(runs, sys.argv[2], {"run_date": "2026-10-05", "mode": "auto"})
    (work / "staged.parquet").write_text("raw")
    print("started", flush=True)
    time.sleep(120)
    """
)


def _start_holder(runs_dir: Path, run_id: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(runs_dir), run_id],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    return process


def test_live_run_is_left_alone_and_dead_run_is_claimed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    live = _start_holder(runs, "20261005-live")
    dead = _start_holder(runs, "20261006-dead")
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait(10)
        with run_state.claim_dead_runs(runs) as claimed:
            assert [run.run_id for run in claimed] == ["20261006-dead"]
            assert claimed[0].marker["run_date"] == "2026-10-05"
            assert claimed[0].marker["pid"] == dead.pid
            # raw input goes first, before anything is recorded
            assert not (runs / "20261006-dead").exists()
        assert sorted(p.name for p in runs.iterdir()) == [
            "20261005-live",
            "20261005-live.json",
            "20261005-live.lock",
        ]
        assert (runs / "20261005-live" / "staged.parquet").exists()
    finally:
        live.kill()
        live.wait(10)
        for holder in (live, dead):
            assert holder.stdout is not None
            holder.stdout.close()


def test_a_failed_recording_keeps_the_marker_for_the_next_run(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    dead = _start_holder(runs, "20261005-dead")
    dead.kill()
    dead.wait(10)
    assert dead.stdout is not None
    dead.stdout.close()
    with pytest.raises(RuntimeError), run_state.claim_dead_runs(runs):
        raise RuntimeError("warehouse unavailable")
    assert not (runs / "20261005-dead").exists()  # the raw input is gone regardless
    assert json.loads((runs / "20261005-dead.json").read_text())["mode"] == "auto"
    with run_state.claim_dead_runs(runs) as claimed:
        assert [run.run_id for run in claimed] == ["20261005-dead"]
    assert list(runs.iterdir()) == []


def test_a_folder_without_lock_or_marker_is_dead(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "20261005-0123456789").mkdir(parents=True)
    (runs / "20261005-0123456789" / "staged.parquet").write_text("raw")
    with run_state.claim_dead_runs(runs) as claimed:
        assert [(run.run_id, run.marker) for run in claimed] == [("20261005-0123456789", {})]
    assert list(runs.iterdir()) == []


def test_own_runs_are_never_claimed_and_finish_cleans_up(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    work = run_state.start_run(runs, "20261005-mine", {"run_date": "2026-10-05"})
    run_state.update_marker(runs, "20261005-mine", mlflow_run_id="abc")
    assert json.loads((runs / "20261005-mine.json").read_text())["mlflow_run_id"] == "abc"
    with run_state.claim_dead_runs(runs) as claimed:
        assert claimed == []
    assert work.exists()
    run_state.finish_run(runs, "20261005-mine")
    run_state.finish_run(runs, "20261005-mine")  # idempotent
    assert list(runs.iterdir()) == []


def test_stale_staging_files_are_discarded_only_when_nobody_publishes(tmp_path: Path) -> None:
    published = tmp_path / "warehouse.duckdb"
    analyst = tmp_path / "analyst.duckdb"
    stale = [
        tmp_path / ".warehouse.duckdb.staging-0badc0de",
        tmp_path / ".warehouse.duckdb.staging-0badc0de.wal",
        tmp_path / ".analyst.duckdb.staging-12345678",
        tmp_path / ".warehouse.duckdb.staging-0badc0de.tmp",  # DuckDB's spill folder
    ]
    for path in stale[:-1]:
        path.write_text("left by a dead run")
    stale[-1].mkdir()
    (stale[-1] / "duckdb_temp_storage-0.tmp").write_bytes(b"spilled")
    with warehouse.publish_lock(published):
        assert warehouse.discard_stale_staging(published, analyst) == []
    assert all(path.exists() for path in stale)
    removed = warehouse.discard_stale_staging(published, analyst)
    assert sorted(removed) == sorted(stale)
    assert not any(path.exists() for path in stale)
