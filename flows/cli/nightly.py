"""Commands that run nights: ``run`` (one date or a backfill), ``demo``, ``serve`` and the weekly
``digest``."""

from __future__ import annotations

import os
import signal
import sys
from datetime import date, timedelta
from typing import Annotated, Any, cast

import typer
from rich.table import Table

from flows.cli.common import (
    DateOption,
    clear_errors,
    console,
    date_range,
    err_console,
    load_settings,
    prefect_ready,
    print_run_summary,
    yesterday,
)
from insight_core import interrupts, warehouse
from insight_core.errors import InsightError
from insight_core.nightly.context import TopicMode
from insight_core.nightly.preflight import check_run_request, default_run_date
from insight_core.settings import InsightSettings


def run(
    source: Annotated[
        str | None,
        typer.Option(
            help="File, folder or dataset; '{date}' is filled in (default: INSIGHT_SOURCE)."
        ),
    ] = None,
    date_: Annotated[
        DateOption,
        typer.Option("--date", formats=["%Y-%m-%d"], help="Run date (default: yesterday)."),
    ] = None,
    from_: Annotated[
        DateOption, typer.Option("--from", formats=["%Y-%m-%d"], help="First date of a backfill.")
    ] = None,
    to: Annotated[
        DateOption, typer.Option("--to", formats=["%Y-%m-%d"], help="Last date of a backfill.")
    ] = None,
    mode: Annotated[str, typer.Option(help="Topic mode: auto, fit or infer.")] = "auto",
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Source records: auto, contract, openai-chat, otel-genai, litellm or langfuse "
            "(default: INSIGHT_SOURCE_FORMAT, else auto; see docs/gateway_formats.md).",
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Allow replacing a loaded date with fewer prompts (refused without it).",
        ),
    ] = False,
) -> None:
    """Run the nightly flow for one date, or for each date of --from/--to in order."""
    with clear_errors():
        if format_:
            # The flows build their own settings from the environment: the option travels so.
            os.environ["INSIGHT_SOURCE_FORMAT"] = format_
        settings = load_settings()

        if from_ or to:
            if not (from_ and to):
                raise InsightError("a backfill needs both --from and --to")
            dates = date_range(from_.date(), to.date())  # checks the order before any work
        else:
            dates = [date_.date() if date_ else default_run_date(settings)]
        # Configuration errors surface now, before Prefect and MLflow load or a server starts.
        check_run_request(settings, source, mode, dates)
        # From here Ctrl-C or SIGTERM stops the run cleanly (recorded as cancelled) within
        # seconds, wherever it is; the local Prefect server does not see the terminal's signal.
        with interrupts.handling_stop_signals():
            from prefect.exceptions import CancelledRun

            try:
                prefect_ready()
                from flows.nightly import backfill, nightly  # lazy: prefect
                from flows.runners import configured  # lazy: prefect

                summaries: Any
                if from_ and to:
                    summaries = backfill(
                        start=from_.date(),
                        end=to.date(),
                        source=source,
                        mode=cast(TopicMode, mode),  # checked by check_run_request above
                        replace=replace,
                    )
                else:
                    summaries = [
                        configured(nightly, settings)(
                            run_date=dates[0],
                            source=source,
                            mode=cast(TopicMode, mode),
                            replace=replace,
                        )
                    ]
            except (interrupts.RunInterrupted, CancelledRun, Exception) as stopped:
                # Any error after a stop signal is the stop's (Prefect's machinery may raise
                # its own on the way out); other errors go to clear_errors.
                if (
                    not isinstance(stopped, interrupts.RunInterrupted | CancelledRun)
                    and not interrupts.received_signal()
                ):
                    raise
                code = 128 + (interrupts.received_signal() or signal.SIGINT)
                err_console.print(
                    f"[bold red]cancelled:[/] {_first_line(stopped)} (ops.runs, MLflow and "
                    "Prefect record the run as cancelled; the published warehouse is unchanged)"
                )
                raise typer.Exit(code) from None
            signum = interrupts.received_signal()
        for summary in summaries:
            print_run_summary(summary)
        if signum is not None:  # stopped after its publication: published, with a warning
            raise typer.Exit(128 + signum)


def _first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


def serve(
    limit: Annotated[int | None, typer.Option(help="Concurrent flow runs at most.")] = None,
) -> None:
    """Serve the nightly, backfill, refit, tune and digest deployments to a Prefect server."""
    with clear_errors():
        settings = load_settings()
        if not os.environ.get("PREFECT_API_URL"):
            raise InsightError(
                "PREFECT_API_URL is not set: start a server with 'prefect server start' and "
                "export PREFECT_API_URL=http://127.0.0.1:4200/api (see docs/operations.md)"
            )
        from flows.deployments import serve_deployments  # lazy: prefect

        serve_deployments(settings, limit=limit)


def digest(
    week: Annotated[
        DateOption,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Any day of the ISO week (default: the week before this one).",
        ),
    ] = None,
) -> None:
    """Write a week's digest page (movers and alerts) and send it through the alert channels."""
    with clear_errors():
        settings = load_settings()
        prefect_ready()
        from flows.digest import digest as digest_flow  # lazy: prefect

        report = digest_flow(week=week.date() if week else None)
        console.print(report.summary())
        for channel, error in report.failed:
            err_console.print(f"[bold red]not delivered[/] to {channel}: {error}")
        if report.page is None:
            raise InsightError(f"no warehouse at {settings.warehouse_file} yet: nothing to digest")


def demo(
    days: Annotated[int, typer.Option(help="Days of logs to generate and run.")] = 30,
    start: Annotated[
        DateOption,
        typer.Option(formats=["%Y-%m-%d"], help="First day (default: a Monday `days` days ago)."),
    ] = None,
    users: Annotated[int, typer.Option(help="Employees in the fictional company.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 7,
    refit_after: Annotated[
        int,
        typer.Option(
            help="Refit the topic model on the training window after this many days (0: never)."
        ),
    ] = 7,
) -> None:
    """Generate a month of logs for a fictional company and run the nightly flow on each day."""
    with clear_errors():
        if not os.environ.get("INSIGHT_USER_HASH_SECRET"):
            os.environ["INSIGHT_DEMO_MODE"] = "true"
        settings = load_settings()
        prefect_ready()
        from flows.demo import demo as demo_flow  # lazy: prefect

        first = start.date() if start else _default_demo_start(days)
        demo_flow(start=first, days=days, users=users, seed=seed, refit_after=refit_after)
        _print_demo_summary(settings)


def _default_demo_start(days: int) -> date:
    start = yesterday() - timedelta(days=days - 1)
    return start - timedelta(days=start.weekday())  # begin on a Monday


def _print_demo_summary(settings: InsightSettings) -> None:

    published = settings.warehouse_file
    runs = warehouse.query(published, warehouse.named_query("demo_summary_runs")).row(0, named=True)
    categories = warehouse.query(published, warehouse.named_query("demo_summary_categories"))
    console.rule("demo summary")
    console.print(
        f"{runs['run_dates']} nightly runs ({runs['first_date']} .. {runs['last_date']}): "
        f"read {runs['rows_read']}, loaded {runs['rows_loaded']}, quarantined "
        f"{runs['rows_quarantined']}, duplicates {runs['rows_duplicate']}, PII redacted in "
        f"{runs['prompts_with_pii_redacted']} prompts; ~{runs['avg_prompts_per_second']:.0f} "
        "prompts/s per run"
    )
    table = Table("category", "prompts", "%", "% by rule", title="categories")
    for row in categories.iter_rows():
        table.add_row(*[str(v) for v in row])
    console.print(table)
    alerts = warehouse.query(published, warehouse.named_query("demo_summary_alerts"))
    console.print(
        f"alerts raised ({alerts.height}; the injected events are in "
        f"{settings.home / 'demo' / 'ground_truth.json'}):"
    )
    for detected_on, headline in alerts.iter_rows():
        console.print(f"  {detected_on}: {headline}")
    console.print(f"warehouse (open read-only with any DuckDB client): [bold]{published}[/]")
    console.print(
        f"analyst copy (only the analytics tables): [bold]{settings.analyst_warehouse_file}[/]"
    )
    console.print(
        f"MLflow runs: [bold]{settings.tracking_uri}[/] (browse with `mlflow ui "
        f"--backend-store-uri {settings.tracking_uri}`)"
    )
    # The command as the user can type it (make demo runs .venv/bin/insight).
    command = os.path.relpath(sys.argv[0]) if os.sep in sys.argv[0] else "insight"
    console.print(
        f'try: {command} sql "SELECT iso_week, department, category, prompts, share, '
        "prompts_change_rel, is_spike FROM analytics.weekly_category_trends WHERE complete "
        'AND NOT suppressed ORDER BY week_start DESC, spike_score DESC LIMIT 15"'
    )
