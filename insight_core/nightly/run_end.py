"""How a nightly run ends when it does not publish, or after it did: its outcome in ``ops.runs``
(or the journal), MLflow and its summary, and the clean-up of its work folder."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from insight_core import warehouse
from insight_core.errors import is_disk_full
from insight_core.nightly import journal, run_state
from insight_core.nightly.context import (
    RunContext,
)
from insight_core.nightly.run_log import close_published_run, track_cancelled, track_failure
from insight_core.nightly.run_record import RunRecord, warnings_update
from insight_core.nightly.summary import RunSummary
from insight_core.settings import InsightSettings

log = logging.getLogger(__name__)


def record_outcomes(
    settings: InsightSettings, outcomes: Sequence[RunRecord | Mapping[str, Any]]
) -> bool:
    """Write ``ops.runs`` records (or warnings updates) into the catalog or, when that fails (a
    full disk, the warehouse unavailable), into the journal the next run folds in. False if
    journalled."""
    records = [o.as_row() if isinstance(o, RunRecord) else o for o in outcomes]
    try:
        warehouse.record_runs(settings.warehouse_file, records)
        return True
    except Exception as error:
        log.error(
            "could not record run(s) %s in ops.runs (%s): journalled for the next run",
            ", ".join(str(r["run_id"]) for r in records),
            error,
        )
    for record in records:
        try:
            journal.append(settings.home, record)
        except Exception:
            log.exception("could not journal run %s either", record["run_id"])
    return False


def _unpublished_summary(ctx: RunContext, record: RunRecord) -> RunSummary:
    return RunSummary.from_record(record, str(ctx.settings.warehouse_file))


def describe_error(error: BaseException) -> str:
    """``Type: first line`` of an error, a full disk said as such."""
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = f"{type(error).__name__}: {message}"
    if is_disk_full(error) and "disk full" not in text:
        text = f"disk full: {text}"
    return text[:2000]


def fail_run(ctx: RunContext, error: BaseException) -> RunSummary:
    """Record a failed run in ``ops.runs`` and MLflow (published data untouched); clean up.

    A run that already published stays ``succeeded`` in ops.runs, the failure becoming one of
    its warnings (:func:`insight_core.warehouse.record_runs`).
    """
    if _published(ctx):  # a failure after the publication: a warning on the succeeded run
        cleanup(ctx)
        return _stopped_after_publication(ctx, f"failed ({describe_error(error)})", None)
    record = RunRecord.unpublished(ctx, "failed", describe_error(error), datetime.now(UTC))
    record_outcomes(ctx.settings, [record])
    cleanup(ctx)
    summary = _unpublished_summary(ctx, record)
    try:
        track_failure(ctx, summary)
    except Exception:
        log.exception("could not mark MLflow run %s as failed", ctx.mlflow_run_id)
    return summary


def cancel_run(ctx: RunContext, reason: str, summary: RunSummary | None = None) -> RunSummary:
    """A run stopped by a signal: cleaned up like a crash and recorded as ``cancelled`` in
    ops.runs and MLflow; returns its summary.

    A run stopped after its publication is not undone: it stays ``succeeded`` with the stop as
    a warning, and that is what the returned summary (``summary``, the publication's, if the
    caller has it) says.
    """
    cleanup(ctx)
    if _published(ctx):
        return _stopped_after_publication(ctx, reason, summary)
    record = RunRecord.unpublished(ctx, "cancelled", reason, datetime.now(UTC))
    record_outcomes(ctx.settings, [record])
    try:
        track_cancelled(ctx, reason)
    except Exception:
        log.exception("could not mark the MLflow run of %s as cancelled", ctx.run_id)
    return _unpublished_summary(ctx, record)


def _published(ctx: RunContext) -> bool:
    try:
        return warehouse.run_published(ctx.settings.warehouse_file, ctx.run_id)
    except Exception:  # unreadable: say not (record_runs keeps a published run succeeded)
        log.exception("could not tell whether run %s published", ctx.run_id)
        return False


def _stopped_after_publication(
    ctx: RunContext, what: str, summary: RunSummary | None
) -> RunSummary:
    """A published run that then failed or was stopped: still succeeded, with a warning (in
    ops.runs and MLflow too); ``summary`` is the publication's if the caller has it."""
    warning = f"{what} after the publication: MLflow logging may be incomplete"
    log.warning("run %s %s", ctx.run_id, warning)
    published = (summary or _published_summary(ctx)).with_late_warning(warning)
    record_late_warnings(ctx, published)
    close_published_run(ctx, warning)
    return replace(published, late_warnings=[])


def _published_summary(ctx: RunContext) -> RunSummary:
    """The summary of a published run from its ops.runs row (when the run lost its own)."""
    row = warehouse.query(
        ctx.settings.warehouse_file,
        f"SELECT * FROM ops.runs WHERE run_id = '{ctx.run_id}'",  # a date-hex id, no quote
    ).row(0, named=True)
    record = RunRecord(
        run_id=ctx.run_id,
        run_date=ctx.run_date,
        status="succeeded",
        mode=ctx.mode,
        flow_run_id=ctx.flow_run_id,
        mlflow_run_id=ctx.mlflow_run_id,
        model_version=row.get("model_version"),
        rows_read=int(row.get("rows_read") or 0),
        rows_loaded=int(row.get("rows_loaded") or 0),
        rows_quarantined=int(row.get("rows_quarantined") or 0),
        rows_duplicate=int(row.get("rows_duplicate") or 0),
        total_seconds=float(row.get("total_seconds") or 0.0),
        prompts_per_second=float(row.get("prompts_per_second") or 0.0),
        warnings=list(row.get("warnings") or []),
    )
    return RunSummary.from_record(record, str(ctx.settings.warehouse_file))


def record_late_warnings(ctx: RunContext, summary: RunSummary) -> RunSummary:
    """Add the warnings that came after the publication to the run's ops.runs row (or the
    journal); the summary is returned with them marked as recorded."""
    if not summary.late_warnings:
        return summary
    record_outcomes(ctx.settings, [warnings_update(ctx.run_id, summary.late_warnings)])
    return replace(summary, late_warnings=[])


def cleanup(ctx: RunContext) -> None:
    """Delete the run's work folder (it held unredacted input) and end its run lock."""
    shutil.rmtree(ctx.work_dir, ignore_errors=True)
    run_state.finish_run(ctx.settings.runs_dir, ctx.run_id)
