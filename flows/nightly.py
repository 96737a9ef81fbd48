"""The nightly and backfill flows: wiring only. Every stage is a task in ``tasks/nightly.py``."""

from __future__ import annotations

import logging
import signal
from datetime import date, timedelta

from prefect import flow, unmapped
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.exceptions import CancelledRun, TerminationSignal
from prefect.runtime import flow_run
from prefect.states import Cancelled
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runners import as_flow_runner, configured
from insight_core import interrupts
from insight_core.errors import InsightError
from insight_core.interrupts import RunInterrupted
from insight_core.nightly.context import NightOutputs, RunContext, TopicMode
from insight_core.nightly.run_end import cancel_run, cleanup
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
    task_runner=as_flow_runner(ThreadPoolTaskRunner(max_workers=2)),
)
def nightly(
    run_date: date | None = None,
    source: str | None = None,
    mode: TopicMode = "auto",
    replace: bool = False,
) -> RunSummary | State:
    """Take one night's prompt logs through every stage into the warehouse and MLflow.

    ``run_date`` defaults to yesterday and ``source`` to the INSIGHT_SOURCE setting. A date
    already loaded is replaced with fewer prompts only with ``replace``. A stop signal ends the
    run Cancelled (in ops.runs, MLflow and Prefect) unless it had published.
    """
    # Prefect replaced the CLI's SIGTERM handler with its own for the flow run: one handler
    # for both signals, so a stop is the same wherever it lands.
    interrupts.reclaim()
    ctx: RunContext | None = None
    summary: RunSummary | None = None
    try:
        ctx = t.begin_run(InsightSettings(), run_date, source, mode, replace)
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
        # The publication, the last irreversible step. Nothing after it fails the run: what
        # goes wrong later is a warning on a succeeded run.
        night = NightOutputs(staged, validated, redacted, embedded, topics, classified, model)
        summary = t.aggregate(ctx, night)
        summary = t.track(ctx, summary)
        summary = t.publish_artifacts(summary)
        # After the night is published and tracked; a failing receiver never fails it.
        alerts.deliver_alerts(ctx)
        return t.record_late_warnings(ctx, summary)
    except STOPS as stop:
        return _cancel(ctx, _stop_reason(stop), summary)
    except Exception as error:
        signum = interrupts.received_signal()
        if signum is not None:
            # The stop landed inside Prefect's own task machinery, which raised an error of
            # its own on the way out (seen: "ValueError: Task run is not set"): still a stop.
            return _cancel(ctx, f"stopped by {signal.Signals(signum).name}", summary)
        if ctx is not None:
            recorded = t.record_failure(ctx, error)
            if recorded.status == "succeeded":  # it failed after its publication: a warning
                return recorded
        raise
    finally:
        # Also on cancellation or an interrupt, when no task can run any more: no raw input
        # stays behind, and the run lock is released (idempotent after track/record_failure).
        if ctx is not None:
            cleanup(ctx)


# What stops a run: our signal handlers' exception, Prefect's SIGTERM bridge, a plain Ctrl-C.
STOPS = (RunInterrupted, TerminationSignal, KeyboardInterrupt)


def _stop_reason(stop: BaseException) -> str:
    if isinstance(stop, RunInterrupted):
        return f"stopped by {stop.signal_name}"
    if isinstance(stop, TerminationSignal):
        return f"stopped by {signal.Signals(stop.signal).name}"
    return "stopped by SIGINT"


def _cancel(ctx: RunContext | None, reason: str, summary: RunSummary | None) -> RunSummary | State:
    """A stopped run: its tasks stopped, recorded cancelled unless it had published."""
    _stop_tasks()
    if ctx is None:  # stopped while beginning: the next run records what it left
        return Cancelled(message=f"{reason} before the run began")
    summary = cancel_run(ctx, reason, summary)
    if summary.status == "succeeded":
        return summary
    return Cancelled(message=f"run {ctx.run_id} {reason}; nothing was published")


def _stop_tasks() -> None:
    """Cancel the chunk tasks not started yet and wait for the running ones (a chunk each,
    seconds): only then is the work folder deleted, with nothing still writing to it."""
    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    if runner is not None and hasattr(runner, "cancel_all"):
        try:
            runner.cancel_all()
        except Exception:  # best effort: cleanup follows regardless
            logging.getLogger(__name__).exception("could not cancel the run's tasks")


def night_summary(outcome: RunSummary | State) -> RunSummary:
    """What a nightly subflow call returned: its summary. A night that ends in a state of its
    own (Cancelled) makes Prefect raise CancelledRun in the caller instead of returning it."""
    if isinstance(outcome, RunSummary):
        return outcome
    raise CancelledRun(f"nightly run ended {outcome.name}")


@flow(name="insight-backfill", flow_run_name="backfill-{start}-{end}", log_prints=True)
def backfill(
    start: date,
    end: date,
    source: str | None = None,
    mode: TopicMode = "auto",
    replace: bool = False,
) -> list[RunSummary] | State:
    """Reprocess every date from ``start`` to ``end`` in order (each a nightly subflow)."""
    if end < start:
        raise InsightError(f"backfill end {end} is before start {start}")
    run_night = configured(nightly, InsightSettings())
    summaries: list[RunSummary] = []
    for i in range((end - start).days + 1):
        try:
            outcome = run_night(
                run_date=start + timedelta(days=i), source=source, mode=mode, replace=replace
            )
            summaries.append(night_summary(outcome))
        except CancelledRun as cancelled:  # a stop signal: no later date starts
            return Cancelled(message=f"backfill stopped: {cancelled}")
    return summaries
