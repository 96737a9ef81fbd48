"""The nightly and backfill flows: wiring only. Every stage is a task in ``tasks/nightly.py``."""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow, unmapped
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runners import configured
from insight_core.errors import InsightError
from insight_core.nightly.context import TopicMode
from insight_core.nightly.stages import cleanup
from insight_core.nightly.summary import RunSummary
from insight_core.settings import InsightSettings
from tasks import alerts
from tasks import nightly as t


def _nightly_run_name() -> str:
    day = flow_run.parameters.get("run_date") or "yesterday"
    return f"nightly-{day}"


# Two chunks at a time when the flow is called as decorated (tests, a direct call). Every entry
# point goes through flows.runners.configured, which sizes the runner to the machine (one chunk
# per usable CPU as memory allows) without probing it at import.
@flow(
    name="insight-nightly",
    flow_run_name=_nightly_run_name,
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=2),
)
def nightly(
    run_date: date | None = None,
    source: str | None = None,
    mode: TopicMode = "auto",
    replace: bool = False,
) -> RunSummary:
    """Take one night's prompt logs through every stage into the warehouse and MLflow.

    ``run_date`` defaults to yesterday and ``source`` to the INSIGHT_SOURCE setting. A date
    already loaded is replaced with fewer prompts only with ``replace``.
    """
    ctx = t.begin_run(InsightSettings(), run_date, source, mode, replace)
    try:
        if ctx.crashed_runs:
            t.mark_crashed(ctx.crashed_runs)
        ctx = t.begin_tracking(ctx)
        staged = t.ingest(ctx)
        checked = t.validate.map(unmapped(ctx), unmapped(staged), range(len(staged.bounds)))
        validated = t.deduplicate(ctx, checked.result())
        redacted = t.redact.map(unmapped(ctx), validated).result()
        # The model first: its topics decide the embedding space (transformer or cascade).
        model = t.prepare_model(ctx, redacted)
        embedded = t.embed.map(unmapped(ctx), redacted, unmapped(model)).result()
        topics = t.assign_topics.map(unmapped(ctx), embedded, unmapped(model)).result()
        classified = t.categorize.map(
            unmapped(ctx), redacted, embedded, topics, unmapped(model)
        ).result()
        summary = t.aggregate(ctx, staged, validated, redacted, embedded, topics, classified, model)
        summary = t.track(ctx, summary)
        t.publish_artifacts(summary)
        # After the night is published and tracked; a failing receiver never fails it.
        alerts.deliver_alerts(ctx)
        return summary
    except Exception as error:
        t.record_failure(ctx, error)
        raise
    finally:
        # Also on cancellation or an interrupt, when no task can run any more: no raw input
        # stays behind, and the run lock is released (idempotent after track/record_failure).
        cleanup(ctx)


@flow(name="insight-backfill", flow_run_name="backfill-{start}-{end}", log_prints=True)
def backfill(
    start: date,
    end: date,
    source: str | None = None,
    mode: TopicMode = "auto",
    replace: bool = False,
) -> list[RunSummary]:
    """Reprocess every date from ``start`` to ``end`` in order (each a nightly subflow)."""
    if end < start:
        raise InsightError(f"backfill end {end} is before start {start}")
    run_night = configured(nightly, InsightSettings())
    return [
        run_night(run_date=start + timedelta(days=i), source=source, mode=mode, replace=replace)
        for i in range((end - start).days + 1)
    ]
