"""The nightly flow: wiring only. Every stage is a task in ``tasks/nightly.py``."""

from __future__ import annotations

from datetime import date

from prefect import flow, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from insight_core.pipeline import RunSummary, TopicMode
from insight_core.settings import InsightSettings
from tasks import nightly as t


# A few threads are enough: embedding holds a per-process lock, the other stages are light.
@flow(
    name="insight-nightly",
    flow_run_name="nightly-{run_date}",
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=4),
)
def nightly(run_date: date, source: str, mode: TopicMode = "auto") -> RunSummary:
    """Take one night's prompt logs through every stage into the warehouse and MLflow."""
    ctx = t.begin_run(InsightSettings(), run_date, source, mode)
    try:
        ctx = t.begin_tracking(ctx)
        staged = t.ingest(ctx)
        checked = t.validate.map(unmapped(ctx), unmapped(staged), range(len(staged.bounds)))
        validated = t.deduplicate(ctx, checked.result())
        redacted = t.redact.map(unmapped(ctx), validated).result()
        embedded = t.embed.map(unmapped(ctx), redacted).result()
        model = t.prepare_model(ctx, redacted)
        topics = t.assign_topics.map(unmapped(ctx), embedded, unmapped(model)).result()
        classified = t.categorize.map(
            unmapped(ctx), redacted, embedded, topics, unmapped(model)
        ).result()
        summary = t.aggregate(ctx, staged, validated, redacted, embedded, topics, classified, model)
        return t.track(ctx, summary)
    except Exception as error:
        t.record_failure(ctx, error)
        raise
