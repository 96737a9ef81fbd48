"""Prefect tasks of the nightly flow: each wraps exactly one stage of ``insight_core.nightly``.

Tasks hand the stages their collaborators (the night's models, ``runtime.chunk_models``) and
do the memory housekeeping between stages (``insight_core.nightly.memory``); how they cache and
retry is ``tasks.policy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import get_client
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.states import Crashed

from insight_core.nightly import (
    categories,
    intake,
    memory,
    model_stages,
    publication,
    redaction,
    run_end,
    run_log,
    run_start,
)
from insight_core.nightly import context as c
from insight_core.nightly.summary import RunSummary
from insight_core.runtime import chunk_models
from insight_core.settings import InsightSettings
from tasks.policy import project_task


@project_task("begin-run")
def begin_run(
    settings: InsightSettings,
    run_date: date | None,
    source: str | None,
    mode: c.TopicMode,
    replace: bool = False,
) -> c.RunContext:
    return run_start.begin_run(
        settings, run_date, source, mode, flow_run_id=flow_run.id, replace=replace
    )


@project_task("begin-tracking", transient=True)
def begin_tracking(ctx: c.RunContext) -> c.RunContext:
    return run_log.begin_tracking(ctx)


@project_task("ingest", transient=True)
def ingest(ctx: c.RunContext) -> c.IngestResult:
    return intake.ingest(ctx)


@project_task("validate")
def validate(ctx: c.RunContext, staged: c.IngestResult, index: int) -> c.ValidatedChunk:
    return intake.validate(ctx, staged, index)


@project_task("deduplicate", transient=True)
def deduplicate(ctx: c.RunContext, chunks: Sequence[c.ValidatedChunk]) -> list[c.ValidatedChunk]:
    return intake.deduplicate(ctx, chunks)


@project_task("redact")
def redact(ctx: c.RunContext, chunk: c.ValidatedChunk) -> c.RedactedChunk:
    return redaction.redact(ctx, chunk)


@project_task("embed", transient=True)
def embed(ctx: c.RunContext, chunk: c.RedactedChunk, model: c.ModelChoice) -> c.EmbeddedChunk:
    try:
        return model_stages.embed(ctx, chunk, chunk_models(ctx.settings, model.version))
    finally:
        memory.release_freed_memory()  # a chunk's model passes leave freed memory behind


@project_task("prepare-model", transient=True)
def prepare_model(ctx: c.RunContext, redacted: Sequence[c.RedactedChunk]) -> c.ModelChoice:
    return model_stages.prepare_model(ctx, redacted)


@project_task("assign-topics", transient=True)
def assign_topics(
    ctx: c.RunContext, embedded: c.EmbeddedChunk, model: c.ModelChoice
) -> c.TopicChunk:
    models = chunk_models(ctx.settings, model.version)
    return model_stages.assign_topics(ctx, embedded, models)


# Like embed: a chunk rereads its inputs and rewrites its own file, so a retry is safe.
@project_task("categorize", transient=True)
def categorize(
    ctx: c.RunContext,
    redacted: c.RedactedChunk,
    embedded: c.EmbeddedChunk,
    topics: c.TopicChunk,
    model: c.ModelChoice,
) -> c.ClassifiedChunk:
    try:
        models = chunk_models(ctx.settings, model.version)
        return categories.categorize(ctx, redacted, embedded, topics, models)
    finally:
        memory.release_freed_memory()


# Retried like any transient failure: publication.publish publishes at most once per run id.
@project_task("aggregate", transient=True)
def aggregate(ctx: c.RunContext, night: c.NightOutputs) -> RunSummary:
    prepared = publication.prepare_publication(ctx, night)
    # The publication's DuckDB memory should not come on top of a large night's models.
    memory.release_before_publication(prepared.rows_loaded)
    return publication.publish(ctx, night, prepared)


# After the publication: retries within, and a final failure is a warning, not a failed run.
@project_task("track")
def track(ctx: c.RunContext, summary: RunSummary) -> RunSummary:
    return run_log.track_published(ctx, summary)


@project_task("record-warnings")
def record_late_warnings(ctx: c.RunContext, summary: RunSummary) -> RunSummary:
    return run_end.record_late_warnings(ctx, summary)


@project_task("record-failure")
def record_failure(ctx: c.RunContext, error: BaseException) -> RunSummary:
    return run_end.fail_run(ctx, error)


@project_task("mark-crashed")
def mark_crashed(crashed: Sequence[c.CrashedRun]) -> list[str]:
    """Set the flow runs of dead runs (still Running in Prefect) to Crashed; returns them.

    ``begin_run`` already cleaned up after them and recorded them in ops.runs and MLflow.
    """
    marked = []
    with get_client(sync_client=True) as client:
        for run in crashed:
            if not run.flow_run_id:
                continue
            try:
                flow_run_id = UUID(run.flow_run_id)
                state = client.read_flow_run(flow_run_id).state
            except Exception:  # an unknown id (another Prefect server): nothing to mark
                get_run_logger().warning(
                    "flow run %s of run %s not found", run.flow_run_id, run.run_id
                )
                continue
            if state is not None and not state.is_final():
                client.set_flow_run_state(
                    flow_run_id,
                    Crashed(message=f"process of run {run.run_id} died; cleaned up by a later run"),
                    force=True,
                )
                marked.append(run.flow_run_id)
    return marked


@project_task("publish-artifacts")
def publish_artifacts(summary: RunSummary) -> RunSummary:
    """Run summary (markdown) and the day's category counts (table) in the Prefect UI.

    After the publication, so a failure is a warning on the (succeeded) run.
    """
    try:
        _publish_artifacts(summary)
    except Exception as error:
        return summary.with_late_warning(
            f"Prefect artifacts not published: {run_end.describe_error(error)}"
        )
    return summary


def _publish_artifacts(summary: RunSummary) -> None:
    create_markdown_artifact(
        markdown=summary.to_markdown(),
        key="nightly-run-summary",
        description=f"Nightly run {summary.run_id} for {summary.run_date}",
    )
    total = max(summary.rows_loaded, 1)
    create_table_artifact(
        table=[
            {"category": category, "prompts": count, "share": round(count / total, 4)}
            for category, count in sorted(summary.category_counts.items(), key=lambda kv: -kv[1])
        ],
        key="nightly-category-counts",
        description=f"Prompts per category on {summary.run_date} (company-wide)",
    )
