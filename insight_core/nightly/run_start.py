"""How a nightly run begins: its checks, its work folder and lock, and the clean-up after runs
whose process died."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from insight_core import warehouse
from insight_core.nightly import journal, run_state
from insight_core.nightly.context import (
    CrashedRun,
    RunContext,
    TopicMode,
)
from insight_core.nightly.preflight import check_run_request, default_run_date
from insight_core.nightly.run_record import RunRecord
from insight_core.registry import open_tracker
from insight_core.runtime import (
    require_champion,
)
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)


# A run's temporary texts file while it is written: texts/.<date>.<run id>.parquet
TEXTS_TEMP = re.compile(r"^\.\d{4}-\d{2}-\d{2}\.(?P<run_id>[0-9]{8}-[0-9a-f]+)\.parquet$")


def begin_run(
    settings: InsightSettings,
    run_date: date | None,
    source: str | None,
    mode: TopicMode = "auto",
    flow_run_id: str | None = None,
    replace: bool = False,
) -> RunContext:
    """Check what can be checked up front, clean up after dead runs, open the work folder.

    ``run_date`` defaults to yesterday and ``source`` to the ``INSIGHT_SOURCE`` setting, so a
    scheduled deployment needs no parameters. The run holds its lock (see
    :mod:`insight_core.nightly.run_state`) until :func:`cleanup`. Without ``replace`` the run
    refuses to leave its date with fewer prompts than are loaded (:func:`deduplicate` checks
    early, the publication under its lock).
    """
    run_date = run_date or default_run_date(settings)
    source = check_run_request(settings, source, mode).source
    if mode == "infer":
        require_champion(settings)
    crashed = recover_crashed_runs(settings)
    run_id = f"{run_date:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    started_at = datetime.now(UTC)
    work_dir = run_state.start_run(
        settings.runs_dir,
        run_id,
        {
            "run_date": run_date.isoformat(),
            "source": source,
            "mode": mode,
            "flow_run_id": flow_run_id,
            "started_at": started_at.isoformat(),
            "replace": replace,
        },
    )
    log.info("run %s for %s from %s (mode %s)", run_id, run_date, source, mode)
    return RunContext(
        run_id,
        run_date,
        source,
        mode,
        settings,
        work_dir,
        started_at,
        flow_run_id,
        crashed_runs=tuple(crashed),
        replace=replace,
    )


def _crashed_record(run: run_state.DeadRun, found_at: datetime) -> RunRecord | None:
    """The ``ops.runs`` record of a dead run, from its marker (or its run id for old runs)."""
    marker = run.marker
    try:
        run_date = date.fromisoformat(marker["run_date"])
    except (KeyError, TypeError, ValueError):
        try:
            run_date = datetime.strptime(run.run_id.split("-")[0], "%Y%m%d").date()
        except ValueError:
            return None
    started = marker.get("started_at")
    return RunRecord(
        run_id=run.run_id,
        run_date=run_date,
        status="crashed",
        mode=marker.get("mode"),
        source=marker.get("source"),
        flow_run_id=marker.get("flow_run_id"),
        mlflow_run_id=marker.get("mlflow_run_id"),
        started_at=datetime.fromisoformat(started) if started else None,
        finished_at=found_at,
        error=f"process {marker.get('pid', '?')} died before the run finished; its work "
        "folder was deleted by a later run",
    )


def recover_crashed_runs(settings: InsightSettings) -> list[CrashedRun]:
    """Clean up after runs whose process died (kill -9, power loss) and record them.

    Deletes their work folders (raw input), discards stale warehouse staging files, adds each
    run to ``ops.runs`` as 'crashed' and closes its MLflow run as KILLED. Live concurrent runs
    are left alone: they hold their run lock.
    """
    # Outcomes earlier runs could not write into the catalog (a full disk) go in first.
    try:
        journal.fold(
            settings.home, lambda records: warehouse.record_runs(settings.warehouse_file, records)
        )
    except Exception as error:  # kept for the next run; this one may still publish
        log.warning("could not fold the journal into ops.runs: %s", error)
    crashed: list[CrashedRun] = []
    with run_state.claim_dead_runs(settings.runs_dir) as dead:
        found_at = datetime.now(UTC)
        tracker = open_tracker(settings) if dead else None
        records = [r for r in (_crashed_record(run, found_at) for run in dead) if r is not None]
        if records:
            warehouse.record_runs(settings.warehouse_file, [r.as_row() for r in records])
        for run in dead:
            closed = tracker.close_abandoned_runs(run.run_id) if tracker else []
            mlflow_run_id = run.marker.get("mlflow_run_id") or (closed[0] if closed else None)
            crashed.append(CrashedRun(run.run_id, run.marker.get("flow_run_id"), mlflow_run_id))
    removed = warehouse.discard_stale_staging(
        settings.warehouse_file, settings.analyst_warehouse_file
    )
    for path in removed:
        log.warning("deleted %s, left by a run that died while publishing", path.name)
    for path in discard_stale_texts(settings):
        log.warning("deleted %s, left by a run that stopped while keeping its texts", path.name)
    return crashed


def discard_stale_texts(settings: InsightSettings) -> list[Path]:
    """Delete partial ``texts/.<date>.<run id>.parquet`` files of runs no longer running."""
    folder = settings.texts_dir
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        matched = TEXTS_TEMP.match(path.name)
        if matched and not run_state.is_alive(settings.runs_dir, matched["run_id"]):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
