"""Crashes, stop signals and late failures leave nothing behind and tell the truth; the first
run works first time.

Real ``insight run`` processes on fresh homes with no Prefect configured (so each starts its
own local Prefect server): SIGKILL at several stages of a run, then a rerun of the same date,
must give the rows of an uninterrupted run, leave no work folders, staging files, server
processes or raw input on disk, and record the killed run as crashed in ops.runs, MLflow and
Prefect. SIGINT or SIGTERM (to the process, or to its group as Ctrl-C does) stops a run
within seconds, cancelled everywhere, the published warehouse unchanged. A failure after the
publication leaves the run succeeded with a warning, published once. Two first runs started
together on a fresh home must share one first model.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import psutil
import pytest

from insight_core.demo.generator import generate_demo_logs
from insight_core.nightly import journal
from tests.integration.processes import signal_group, start_insight, wait_until

pytestmark = pytest.mark.integration

DAYS = [date(2026, 10, 5), date(2026, 10, 6)]
# Raw values placed in the input: neither may ever be found in the home once a run is over.
CANARY_EMAIL = "canary.crashtest.7731@example.org"
CANARY_USER = "canary-user-55190"
RUN_TIMEOUT = 600


@dataclass(frozen=True)
class Logs:
    template: str

    def file(self, day: date) -> Path:
        return Path(self.template.replace("{date}", day.isoformat()))


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Logs:
    """Two small demo days (outside any home), each with a canary row."""
    root = tmp_path_factory.mktemp("crash-logs")
    dataset = generate_demo_logs(root, DAYS[0], days=len(DAYS), seed=11, n_users=60)
    for day, path in zip(dataset.dates, dataset.log_files, strict=True):
        canary = {
            "prompt_id": f"canary-{day}",
            "timestamp": f"{day}T10:00:00+00:00",
            "user_id": CANARY_USER,
            "department": "Finance",
            "text": f"Please draft a reply to {CANARY_EMAIL} about the late invoice",
            "tool": "chatgpt-enterprise",
        }
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(canary) + "\n")
    return Logs(str(root / "logs" / "{date}.jsonl"))


def _env(home: Path) -> dict[str, str]:
    """A fresh home and nothing Prefect configured: the CLI starts its own local server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "INSIGHT_"))}
    env.update(
        INSIGHT_HOME=str(home),
        INSIGHT_USER_HASH_SECRET="crash-test-secret",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


def _start_run(home: Path, logs: Logs, day: date, log_file: Path) -> subprocess.Popen[bytes]:
    insight = Path(sys.executable).with_name("insight")
    with log_file.open("w") as out:
        return subprocess.Popen(
            [str(insight), "run", "--source", logs.template, "--date", day.isoformat()],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(home),
        )


def _run(home: Path, logs: Logs, day: date, log_file: Path) -> None:
    process = _start_run(home, logs, day, log_file)
    code = process.wait(RUN_TIMEOUT)
    assert code == 0, f"insight run {day} failed:\n{log_file.read_text()[-3000:]}"


def _classifications(home: Path, day: date) -> pl.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        frame = con.sql(
            "SELECT * EXCLUDE (run_id) FROM core.classifications WHERE run_date = ? "
            "ORDER BY prompt_id",
            params=[day],
        ).pl()
    return frame.with_columns(pl.col("confidence").round(5))


def _runs(home: Path) -> dict[str, dict]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        frame = con.sql("SELECT * FROM ops.runs").pl()
    return {row["run_id"]: row for row in frame.iter_rows(named=True)}


def _files_with(home: Path, needle: bytes) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _staging_files(home: Path) -> list[Path]:
    return sorted(home.glob(".*.staging-*"))


def _mlflow_status(home: Path, run_id: str) -> list[str]:
    with sqlite3.connect(home / "mlflow" / "mlflow.db") as con:
        rows = con.execute(
            "SELECT r.status FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
            "WHERE t.key = 'insight.run_id' AND t.value = ?",
            [run_id],
        ).fetchall()
    return [row[0] for row in rows]


def _prefect_state(home: Path, flow_run_id: str) -> str | None:
    with sqlite3.connect(home / "prefect" / "prefect.db") as con:
        row = con.execute(
            "SELECT state_type FROM flow_run WHERE replace(id, '-', '') = ?",
            [flow_run_id.replace("-", "")],
        ).fetchone()
    return row[0] if row else None


def _run_dir(home: Path) -> Path | None:
    found = [p for p in (home / "runs").glob("*") if p.is_dir()] if (home / "runs").exists() else []
    return found[0] if found else None


def _in_ingest(home: Path) -> bool:
    run = _run_dir(home)
    return bool(run and (run / "staged.parquet").exists())


def _in_embed(home: Path) -> bool:
    run = _run_dir(home)
    return bool(
        run and any(run.glob("*.redacted.parquet")) and not any(run.glob("*.embeddings.npy"))
    )


def _in_publish(home: Path) -> bool:
    return any(home.glob(".warehouse.duckdb.staging-*"))


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill_when(
    process: subprocess.Popen[bytes], stage: Callable[[], bool], log_file: Path
) -> dict[psutil.Process, str]:
    """SIGKILL ``process`` as soon as ``stage`` holds; returns its descendants at that moment
    (with their command lines)."""
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + RUN_TIMEOUT
    while not stage():
        assert process.poll() is None, f"the run ended before the stage:\n{log_file.read_text()}"
        assert time.monotonic() < deadline, "the stage never came"
        time.sleep(0.02)
    children = {child: " ".join(child.cmdline()) for child in parent.children(recursive=True)}
    process.kill()
    process.wait(30)
    return children


@pytest.fixture(scope="module")
def home(logs: Logs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home where day 1 fitted the first model and day 2 ran uninterrupted once."""
    home = tmp_path_factory.mktemp("crash-home") / "home"
    out = tmp_path_factory.mktemp("crash-out")
    for day in DAYS:
        _run(home, logs, day, out / f"clean-{day}.log")
    return home


@pytest.fixture(scope="module")
def reference(home: Path) -> pl.DataFrame:
    rows = _classifications(home, DAYS[1])
    assert rows.height > 0
    return rows


@pytest.mark.parametrize("stage", ["ingest", "embed", "publish"])
def test_kill_then_rerun_leaves_nothing_behind(
    stage: str, home: Path, logs: Logs, reference: pl.DataFrame, tmp_path: Path
) -> None:
    day = DAYS[1]
    condition = {
        "ingest": lambda: _in_ingest(home),
        "embed": lambda: _in_embed(home),
        "publish": lambda: _in_publish(home),
    }[stage]
    killed_log = tmp_path / "killed.log"
    killed = _start_run(home, logs, day, killed_log)
    children = _kill_when(killed, condition, killed_log)
    killed_runs = [p.name for p in (home / "runs").glob("*") if p.is_dir()]
    assert len(killed_runs) == 1
    killed_run = killed_runs[0]
    assert any("uvicorn" in command for command in children.values()), children

    # The local Prefect server (and anything else the run started) dies with it.
    deadline = time.monotonic() + 30
    while (alive := [c for c in children if _alive(c)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == [], f"processes of the killed run survive: {alive}"

    _run(home, logs, day, tmp_path / "rerun.log")

    assert _classifications(home, day).equals(reference)
    assert not (home / "runs").exists() or list((home / "runs").iterdir()) == []
    assert _staging_files(home) == []
    assert _files_with(home, CANARY_EMAIL.encode()) == []
    assert _files_with(home, CANARY_USER.encode()) == []
    runs = _runs(home)
    assert runs[killed_run]["status"] == "crashed"
    assert runs[killed_run]["run_date"] == day
    statuses = _mlflow_status(home, killed_run)
    assert statuses and "RUNNING" not in statuses, statuses
    flow_run_id = runs[killed_run]["flow_run_id"]
    assert flow_run_id and _prefect_state(home, flow_run_id) == "CRASHED"


def _without_repeats(logs: Logs, folder: Path) -> Logs:
    """The days with no prompt id of an earlier day: the demo repeats a few on purpose, and
    two dates loading the same prompt at the same moment is a different matter (the second
    publication fails its unique_prompt_ids check and publishes nothing)."""
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for day in DAYS:
        rows = [json.loads(line) for line in logs.file(day).read_text().splitlines()]
        kept = [row for row in rows if row["prompt_id"] not in seen]
        seen.update(row["prompt_id"] for row in rows)
        (folder / f"{day}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    return Logs(str(folder / "{date}.jsonl"))


def test_concurrent_first_runs_share_one_first_model(
    logs: Logs, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("concurrent") / "home"
    out = tmp_path_factory.mktemp("concurrent-out")
    logs = _without_repeats(logs, out / "logs")
    started = [(day, _start_run(home, logs, day, out / f"{day}.log")) for day in DAYS]
    for day, process in started:
        code = process.wait(RUN_TIMEOUT)
        assert code == 0, (out / f"{day}.log").read_text()[-3000:]

    with sqlite3.connect(home / "mlflow" / "mlflow.db") as con:
        versions = con.execute("SELECT version FROM model_versions").fetchall()
        aliases = con.execute("SELECT alias, version FROM registered_model_aliases").fetchall()
    assert len(versions) == 1, versions
    assert aliases == [("champion", versions[0][0])]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        used = con.execute(
            "SELECT run_date, list(DISTINCT model_version) FROM core.classifications "
            "GROUP BY run_date ORDER BY run_date"
        ).fetchall()
    assert [day for day, _ in used] == DAYS
    assert len({tuple(models) for _, models in used}) == 1
    assert all(len(models) == 1 for _, models in used)


def _prefect_task_runs(home: Path, flow_run_id: str, name: str) -> list[tuple[str, int]]:
    """(state type, run count) of the task runs called ``name`` in a flow run."""
    with sqlite3.connect(home / "prefect" / "prefect.db") as con:
        return con.execute(
            "SELECT state_type, run_count FROM task_run WHERE task_key LIKE ? "
            "AND replace(flow_run_id, '-', '') = ?",
            [f"{name}-%", flow_run_id.replace("-", "")],
        ).fetchall()


def _uvicorn_children(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    children = psutil.Process(process.pid).children(recursive=True)
    return [c for c in children if "uvicorn" in " ".join(c.cmdline())]


@pytest.mark.parametrize(
    ("signum", "to_group", "stage"),
    [
        (signal.SIGINT, True, "embed"),  # Ctrl-C in a terminal
        (signal.SIGINT, False, "ingest"),
        (signal.SIGTERM, False, "publish"),
        (signal.SIGTERM, True, "embed"),
    ],
    ids=["sigint-group-embed", "sigint-ingest", "sigterm-publish", "sigterm-group-embed"],
)
def test_stop_signal_cancels_the_run(
    signum: int,
    to_group: bool,
    stage: str,
    home: Path,
    logs: Logs,
    reference: pl.DataFrame,
    tmp_path: Path,
) -> None:
    day = DAYS[1]
    # What a run stopped while keeping its texts left: the next run deletes it.
    stale_texts = home / "texts" / f".{day}.{day:%Y%m%d}-0123456789.parquet"
    stale_texts.write_bytes(b"PAR1 partial")
    condition = {
        "ingest": lambda: _in_ingest(home),
        "embed": lambda: _in_embed(home),
        "publish": lambda: _in_publish(home),
    }[stage]
    before = set(_runs(home))
    log_file = tmp_path / "stopped.log"
    process = start_insight(
        ["run", "--source", logs.template, "--date", day.isoformat()],
        home,
        log_file,
        env=_env(home),
        new_session=True,
    )
    wait_until(condition, process, RUN_TIMEOUT, log_file)
    servers = _uvicorn_children(process)
    assert servers, "no local Prefect server"
    sent = time.monotonic()
    if to_group:
        signal_group(process, signum)
    else:
        process.send_signal(signum)
    code = process.wait(120)
    took = time.monotonic() - sent
    output = log_file.read_text()
    assert code == 128 + signum, output[-3000:]
    assert took < 45, f"took {took:.0f}s to stop"
    assert "cancelled" in output

    # The local server ran until the run was recorded, then was stopped with the command.
    deadline = time.monotonic() + 30
    while (alive := [s for s in servers if _alive(s)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == []

    # The warehouse is as it was; nothing is left behind.
    assert _classifications(home, day).equals(reference)
    assert not (home / "runs").exists() or list((home / "runs").iterdir()) == []
    assert _staging_files(home) == []
    assert not stale_texts.exists()
    assert _files_with(home, CANARY_EMAIL.encode()) == []
    assert _files_with(home, CANARY_USER.encode()) == []

    # ops.runs, MLflow and Prefect all say cancelled.
    runs = _runs(home)
    new = [runs[run_id] for run_id in set(runs) - before]
    assert len(new) == 1, new
    run = new[0]
    name = signal.Signals(signum).name
    assert run["status"] == "cancelled" and run["error"] == f"stopped by {name}", run
    assert _mlflow_status(home, run["run_id"]) == ["KILLED"]
    assert _prefect_state(home, run["flow_run_id"]) == "CANCELLED"


def test_failure_after_publication_is_a_warning_on_a_published_run(
    home: Path, logs: Logs, reference: pl.DataFrame, tmp_path: Path
) -> None:
    day = DAYS[1]
    # An earlier run's outcome that the catalog could not take (a full disk): this run folds
    # it into ops.runs.
    journal.append(
        home,
        {
            "run_id": f"{day:%Y%m%d}-journalled",
            "run_date": day,
            "status": "failed",
            "error": "DiskFullError: disk full: no space left on the device of /x",
            "started_at": "2026-10-07T02:00:00+00:00",
        },
    )
    before = set(_runs(home))
    # texts/ cannot be written (a file where the folder should be): the warehouse publishes,
    # then keeping the redacted texts fails.
    texts, aside = home / "texts", home / "texts-aside"
    texts.rename(aside)
    texts.write_text("not a folder")
    try:
        _run(home, logs, day, tmp_path / "late-failure.log")
    finally:
        texts.unlink()
        aside.rename(texts)
    output = (tmp_path / "late-failure.log").read_text()
    assert "were not kept" in output, output[-3000:]

    runs = _runs(home)
    new = [runs[run_id] for run_id in set(runs) - before]
    journalled = runs[f"{day:%Y%m%d}-journalled"]
    assert journalled["status"] == "failed" and "disk full" in journalled["error"]
    assert not (home / "journal" / "runs.jsonl").exists()
    (run,) = [r for r in new if r["status"] == "succeeded"]
    assert any("redacted texts of" in w and "not kept" in w for w in run["warnings"]), run
    assert _classifications(home, day).equals(reference)
    # Published exactly once: one aggregate task run, one attempt.
    assert _prefect_task_runs(home, run["flow_run_id"], "aggregate") == [("COMPLETED", 1)]
    assert _prefect_state(home, run["flow_run_id"]) == "COMPLETED"
    assert _mlflow_status(home, run["run_id"]) == ["FINISHED"]
    assert not list(texts.glob(".*.parquet"))
