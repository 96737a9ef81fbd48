"""The run's record in MLflow: parameters up front, metrics and artifacts at the end, and the
error of a failed run."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, replace

from insight_core.environment import parallelism
from insight_core.interrupts import stop_requested
from insight_core.nightly import run_state
from insight_core.nightly.context import RunContext
from insight_core.nightly.summary import RunSummary
from insight_core.nlp.taxonomy import load_taxonomy
from insight_core.registry import open_tracker
from insight_core.runtime import load_decision_config, model_bundle_catalogue

log = logging.getLogger(__name__)

# Waits between attempts to log a published run (MLflow on a server can blip).
TRACK_RETRY_SECONDS = (2.0, 10.0)


def begin_tracking(ctx: RunContext) -> RunContext:
    """Open the MLflow run of this flow run and log what is known up front."""
    tracker = open_tracker(ctx.settings)
    run_id = tracker.start_run(
        f"nightly-{ctx.run_date}",
        tags={
            "insight.run_id": ctx.run_id,
            "insight.run_date": ctx.run_date.isoformat(),
            "prefect.flow_run_id": ctx.flow_run_id or "",
            "insight.mode": ctx.mode,
        },
    )
    settings = ctx.settings
    _, rules = load_decision_config(settings)
    tracker.log_params(
        run_id,
        {
            "run_date": ctx.run_date.isoformat(),
            "source": ctx.source,
            "mode": ctx.mode,
            "embedding_model": settings.embedding_model,
            "abstain_threshold": settings.abstain_threshold,
            "rules_hash": rules.file_hash,
            "rules_version": rules.version,
            "min_group_size": settings.min_group_size,
            "min_group_size_by_category": json.dumps(settings.min_group_size_by_category),
            "chunk_size": settings.chunk_size,
            "embedding_cascade": settings.embedding_cascade,
            # What the machine allowed (derived unless set): nights compare only alongside it.
            **{
                f"parallelism.{k}": v
                for k, v in asdict(parallelism(settings)).items()
                if k != "available_bytes"
            },
            **{
                f"topics.{k}": v
                for k, v in settings.topics.model_dump().items()
                if k != "extra_stopwords"
            },
        },
    )
    run_state.update_marker(ctx.settings.runs_dir, ctx.run_id, mlflow_run_id=run_id)
    return ctx.with_tracking(run_id)


def track(ctx: RunContext, summary: RunSummary) -> RunSummary:
    """Stage 8: metrics and artifacts of a finished run into its MLflow run."""
    started = time.perf_counter()
    if ctx.mlflow_run_id is None:
        return summary
    tracker = open_tracker(ctx.settings)
    run_id = ctx.mlflow_run_id
    taxonomy = load_taxonomy(ctx.settings.taxonomy_file)
    loaded = max(summary.rows_loaded, 1)
    metrics: dict[str, float] = {
        "rows_read": summary.rows_read,
        "rows_loaded": summary.rows_loaded,
        "rows_quarantined": summary.rows_quarantined,
        "rows_duplicate": summary.rows_duplicate,
        "lines_bytes_replaced": summary.lines_bytes_replaced,
        "rows_pii_redacted": summary.rows_pii_redacted,
        "rows_embedded_new": summary.rows_embedded_new,
        **(
            {"rows_escalated": summary.rows_escalated} if summary.rows_escalated is not None else {}
        ),
        "outlier_share": summary.outlier_share,
        "rule_share": summary.rule_share,
        "prompts_per_second": summary.prompts_per_second,
        "total_seconds": summary.total_seconds,
        **{f"seconds_{stage}": s for stage, s in summary.stage_seconds.items()},
        **{
            f"category_share_{c}": summary.category_counts.get(c, 0) / loaded
            for c in taxonomy.categories
        },
    }
    tracker.log_metrics(run_id, metrics)
    if summary.model_version:
        tracker.log_params(
            run_id, {"model_version": summary.model_version, "model_fitted": summary.model_fitted}
        )
        bundle = model_bundle_catalogue(ctx.settings, summary.model_version)
        tracker.log_files(run_id, {"topics.csv": bundle.topics.write_csv()})
        if summary.model_fitted:
            # A refit: how the new head scores, out of fold, on the shipped example set.
            cv_scores = bundle.manifest.get("examples_cv") or {}
            tracker.log_metrics(run_id, {f"examples_cv_{k}": v for k, v in cv_scores.items()})
            tracker.log_params(
                run_id,
                {
                    "head_temperature": bundle.manifest.get("head_temperature"),
                    "n_training_docs": bundle.manifest.get("n_training_docs"),
                },
            )
    final = replace(
        summary,
        stage_seconds={**summary.stage_seconds, "track": round(time.perf_counter() - started, 3)},
    )
    tracker.log_files(run_id, {"run_summary.md": final.to_markdown()})
    tracker.log_json(run_id, "run_summary.json", final.as_dict())
    tracker.end_run(run_id, succeeded=True)
    return final


def track_failure(ctx: RunContext, summary: RunSummary) -> None:
    """Close the MLflow run of a failed flow run as FAILED, with the error."""
    if ctx.mlflow_run_id is None:
        return
    tracker = open_tracker(ctx.settings)
    tracker.set_tags(ctx.mlflow_run_id, {"insight.error": summary.error or "unknown"})
    tracker.log_files(ctx.mlflow_run_id, {"run_summary.md": summary.to_markdown()})
    tracker.end_run(ctx.mlflow_run_id, succeeded=False)


def track_published(ctx: RunContext, summary: RunSummary) -> RunSummary:
    """:func:`track` for a published run: retried, and a final failure is a warning on the
    succeeded run (in ops.runs too, see ``stages.record_late_warnings``), never a failed run."""
    error: Exception | None = None
    for delay in (*TRACK_RETRY_SECONDS, None):
        try:
            return track(ctx, summary)
        except Exception as failed:
            error = failed
            if delay is None or stop_requested():
                break
            log.warning("MLflow logging failed (%s), retrying in %.0fs", failed, delay)
            time.sleep(delay)
    first_line = str(error).splitlines()[0] if str(error) else ""
    warning = f"MLflow logging failed after the publication: {type(error).__name__}: {first_line}"
    log.error("%s (the run is published and stays succeeded)", warning)
    close_published_run(ctx, warning)
    return summary.with_late_warning(warning)


def close_published_run(ctx: RunContext, warning: str) -> None:
    """End a published run's MLflow run as succeeded, tagged with what went wrong after the
    publication; a failure to do so is logged, never raised (the night is published)."""
    if ctx.mlflow_run_id is None:
        return
    try:
        tracker = open_tracker(ctx.settings)
        tracker.set_tags(ctx.mlflow_run_id, {"insight.warning": warning[:5000]})
        tracker.end_run(ctx.mlflow_run_id, succeeded=True)
    except Exception:
        log.exception("could not close MLflow run %s", ctx.mlflow_run_id)


def track_cancelled(ctx: RunContext, reason: str) -> None:
    """Close the MLflow run(s) of a cancelled flow run as KILLED, tagged cancelled.

    Found by the run's tag as well, so a run cancelled while its MLflow run was being opened
    (the id not yet in ``ctx``) is closed too.
    """
    tracker = open_tracker(ctx.settings)
    tracker.close_abandoned_runs(ctx.run_id, reason=reason, status="cancelled")
