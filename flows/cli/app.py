"""The ``insight`` command line: demo, run, classify, train and read-only SQL.

Errors are printed as one clear line with a non-zero exit code; ``--debug`` shows the
traceback. Prefect and MLflow are imported only inside commands, after the environment
defaults (offline, state under INSIGHT_HOME) are in place.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from insight_core.errors import InsightError

app = typer.Typer(
    help="Employee Insight Engine: privacy-safe trends of what employees ask GenAI assistants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

_state = {"debug": False}

DateOption = datetime | None


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


@contextlib.contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn failures into one line on stderr and exit code 1."""
    try:
        yield
    except typer.Exit:
        raise
    except InsightError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        raise typer.Exit(130) from None
    except Exception as exc:
        if _state["debug"]:
            raise
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {first_line} (rerun with --debug for "
            "the traceback)"
        )
        raise typer.Exit(1) from None


def _settings(**overrides: object):
    from insight_core.environment import apply_runtime_defaults
    from insight_core.settings import InsightSettings

    settings = InsightSettings(**overrides)  # type: ignore[arg-type]
    apply_runtime_defaults(settings)
    return settings


def _prefect_ready() -> None:
    """A Prefect API for the flows: the configured one, or a local server owned by us.

    Call only after the settings are checked: starting a server on a fresh home takes ~30 s.
    """
    from flows.local_api import ensure_prefect_api

    with console.status("starting the local Prefect server..."):
        ensure_prefect_api()


@app.callback()
def _options(
    home: Annotated[
        Path | None, typer.Option(help="Runtime state directory (INSIGHT_HOME).")
    ] = None,
    verbose: Annotated[bool, typer.Option(help="Show Prefect's task-level logs.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks on errors.")] = False,
) -> None:
    if home is not None:
        os.environ["INSIGHT_HOME"] = str(home)
    _state["debug"] = debug
    if not verbose:
        # Logs still reach the Prefect API (and UI); the terminal shows our own progress and
        # one line per error instead of Prefect's per-task lines and tracebacks.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


def _print_summary(summary) -> None:
    table = Table(title=f"run {summary.run_id} · {summary.run_date} · {summary.status}")
    for column in ("read", "loaded", "quarantined", "duplicates", "PII redacted", "prompts/s"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.rows_read),
        str(summary.rows_loaded),
        str(summary.rows_quarantined),
        str(summary.rows_duplicate),
        str(summary.rows_pii_redacted),
        f"{summary.prompts_per_second:.0f}",
    )
    console.print(table)
    top = sorted(summary.category_counts.items(), key=lambda kv: -kv[1])[:5]
    console.print("top categories: " + ", ".join(f"{c} {n}" for c, n in top))
    for warning in summary.warnings:
        console.print(f"[bold yellow]warning:[/] {warning}")
    for alert in summary.new_alerts:
        console.print(f"[bold yellow]new alert:[/] {alert.get('headline')}")


def _cell(value: object) -> str:
    """A table cell: empty for NULL, floats to four significant digits."""
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _date_range(start: date, end: date) -> list[date]:
    if end < start:
        raise InsightError(f"--to {end} is before --from {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@app.command()
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
) -> None:
    """Run the nightly flow for one date, or for each date of --from/--to in order."""
    with _clear_errors():
        settings = _settings()
        from insight_core.nightly.preflight import check_run_request, default_run_date

        if from_ or to:
            if not (from_ and to):
                raise InsightError("a backfill needs both --from and --to")
            dates = _date_range(from_.date(), to.date())  # checks the order before any work
        else:
            dates = [date_.date() if date_ else default_run_date(settings)]
        # Configuration errors surface now, before Prefect and MLflow load or a server starts.
        check_run_request(settings, source, mode, dates)
        _prefect_ready()
        from flows.nightly import backfill, nightly
        from flows.runners import configured

        if from_ and to:
            summaries = backfill(start=from_.date(), end=to.date(), source=source, mode=mode)  # type: ignore[arg-type]
        else:
            summaries = [configured(nightly, settings)(run_date=dates[0], source=source, mode=mode)]
        for summary in summaries:
            _print_summary(summary)


@app.command()
def train(
    end: Annotated[
        DateOption,
        typer.Option(
            formats=["%Y-%m-%d"], help="Last day of the training window (default: latest run date)."
        ),
    ] = None,
    window_days: Annotated[int | None, typer.Option(help="Days in the window.")] = None,
) -> None:
    """Fit a topic model and category head on stored prompts and make it the champion."""
    with _clear_errors():
        settings = _settings()
        from insight_core.lifecycle.champion import train_champion

        with console.status("fitting the topic model and category head..."):
            fit = train_champion(
                settings, "insight train", end.date() if end else None, window_days
            )
        bundle, version = fit.bundle, fit.registry_version
        manifest = bundle.manifest
        console.print(
            f"model [bold]{bundle.version}[/]: {manifest['n_topics']} topics from "
            f"{manifest['n_training_docs']} prompts ({manifest['outlier_share']:.0%} outliers"
            f"{', cold start on the labeled examples' if manifest['cold_start'] else ''}); "
            f"saved in {bundle.directory}; registered as version {version} of "
            f"'{settings.model_registry_name}' and made champion"
        )


@app.command()
def refit(
    end: Annotated[
        DateOption, typer.Option(formats=["%Y-%m-%d"], help="Last day of the window.")
    ] = None,
    window_days: Annotated[int | None, typer.Option(help="Days in the window.")] = None,
) -> None:
    """Train a challenger on the rolling window; promote it only if no worse than champion."""
    with _clear_errors():
        _settings()
        _prefect_ready()
        from flows.models import refit as refit_flow

        result = refit_flow(end=end.date() if end else None, window_days=window_days)
        console.print(result.to_markdown())


@app.command()
def tune(
    trials: Annotated[int, typer.Option(help="Parameter sets to try.")] = 8,
    window_days: Annotated[int | None, typer.Option(help="Days in the window.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random search.")] = 7,
) -> None:
    """Search topic-model settings (nested MLflow runs); the next refit uses the best."""
    with _clear_errors():
        settings = _settings()
        _prefect_ready()
        from flows.models import tune as tune_flow

        result = tune_flow(trials=trials, window_days=window_days, seed=seed)
        console.print(result.to_markdown())
        console.print(f"best parameters written to {settings.tuned_topics_file}")


@app.command()
def serve(
    limit: Annotated[int | None, typer.Option(help="Concurrent flow runs at most.")] = None,
) -> None:
    """Serve the nightly, backfill, refit and tune deployments to a Prefect server."""
    with _clear_errors():
        settings = _settings()
        if not os.environ.get("PREFECT_API_URL"):
            raise InsightError(
                "PREFECT_API_URL is not set: start a server with 'prefect server start' and "
                "export PREFECT_API_URL=http://127.0.0.1:4200/api (see docs/operations.md)"
            )
        from flows.deployments import serve_deployments

        serve_deployments(settings, limit=limit)


model_app = typer.Typer(help="The registered models and the champion alias.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("list")
def model_list() -> None:
    """Registered versions, newest first, with aliases and scores."""
    with _clear_errors():
        settings = _settings()
        from insight_core.lifecycle.champion import list_versions

        table = Table("version", "aliases", "bundle", "role", "macro-F1", "promotion")
        for version in list_versions(settings):
            tags = version["tags"]
            table.add_row(
                version["version"],
                ", ".join(version["aliases"]),
                tags.get("bundle_version", ""),
                tags.get("role", ""),
                tags.get("examples_cv_macro_f1", "")[:6],
                tags.get("promotion", "")[:60],
            )
        console.print(table)


@model_app.command("promote")
def model_promote(version: Annotated[str, typer.Argument(help="Registry version.")]) -> None:
    """Make a registered version the champion."""
    with _clear_errors():
        from insight_core.lifecycle.champion import promote

        bundle = promote(_settings(), version)
        console.print(f"version {version} (bundle {bundle}) is now the champion")


@model_app.command("rollback")
def model_rollback(
    to: Annotated[
        str | None,
        typer.Option(help="Version to return to (default: the champion before the current one)."),
    ] = None,
) -> None:
    """Move the champion alias back."""
    with _clear_errors():
        from insight_core.lifecycle.champion import rollback

        version = rollback(_settings(), to)
        console.print(f"champion rolled back to version {version}")


@app.command()
def classify(
    input_file: Annotated[Path, typer.Argument(help="CSV or Parquet file to classify.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the result.")],
    text_column: Annotated[str, typer.Option(help="Column holding the prompt text.")] = "text",
) -> None:
    """Add category, decided_by, confidence, topic_id and topic_label to each row of a file.

    Uses the champion model; on a home without one, the category head trained (once, then
    cached) from the shipped examples, with no topics.
    """
    with _clear_errors():
        settings = _settings()
        from insight_core.inference import classify_file

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            # On a new home loading includes the first-use fit of the head (about a minute).
            task = progress.add_task("loading the model", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, description="classifying", completed=done, total=total)

            notices: list[str] = []
            rows = classify_file(
                settings, input_file, output, text_column, advance, notice=notices.append
            )
        for notice in notices:
            err_console.print(f"[yellow]note:[/] {notice}")
        console.print(f"classified {rows} rows -> {output}")


@app.command()
def evaluate(
    labeled_file: Annotated[Path, typer.Argument(help="CSV/Parquet with text and category.")],
    text_column: Annotated[str, typer.Option(help="Column holding the prompt text.")] = "text",
    label_column: Annotated[
        str, typer.Option(help="Column holding the true category.")
    ] = "category",
    group_column: Annotated[
        str, typer.Option(help="Also report accuracy per value of this column, when present.")
    ] = "source",
    fresh: Annotated[
        bool,
        typer.Option(
            help="Train the head from the labeled example set "
            "now instead of using the current model."
        ),
    ] = False,
    mistakes: Annotated[int, typer.Option(help="Worst mistakes to show.")] = 10,
    log_mlflow: Annotated[
        bool, typer.Option("--mlflow/--no-mlflow", help="Log metrics and pictures to MLflow.")
    ] = True,
) -> None:
    """Score the category decision (hybrid, rules alone, model alone) on a labeled file."""
    with _clear_errors():
        settings = _settings()
        from insight_core.lifecycle.evaluate import log_evaluation, run_evaluation

        with Progress(
            TextColumn("embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            task = progress.add_task("embed", total=None)
            reports = run_evaluation(
                settings,
                labeled_file,
                text_column,
                label_column,
                group_column=group_column,
                use_current_model=not fresh,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        for report in reports:
            table = Table(
                "category",
                "precision",
                "recall",
                "F1",
                "support",
                title=f"{report.mode}: accuracy {report.accuracy:.3f} · macro-F1 "
                f"{report.macro_f1:.3f} · n={report.n}"
                + (
                    f" · rules decide {report.rule_coverage:.1%} at "
                    f"{report.extra.get('rule_precision', 0):.1%} precision"
                    if report.mode != "model"
                    else ""
                ),
            )
            for row in report.per_category.iter_rows(named=True):
                table.add_row(
                    row["category"],
                    f"{row['precision']:.3f}",
                    f"{row['recall']:.3f}",
                    f"{row['f1']:.3f}",
                    str(row["support"]),
                )
            console.print(table)
        hybrid = reports[0]
        confusion = Table(
            *["true \\ predicted", *[c[:6] for c in hybrid.confusion.columns[1:]]],
            title="confusion (hybrid)",
        )
        for row in hybrid.confusion.iter_rows():
            confusion.add_row(*[str(v) for v in row])
        console.print(confusion)
        if hybrid.by_group is not None:
            groups = Table("group", "n", "accuracy", title=f"hybrid accuracy by {group_column}")
            for row in hybrid.by_group.iter_rows():
                groups.add_row(*[str(v) for v in row])
            console.print(groups)
        worst = Table("true", "predicted", "by", "conf", "text", title="worst mistakes (hybrid)")
        for row in hybrid.mistakes.head(mistakes).iter_rows(named=True):
            worst.add_row(
                row["category"],
                row["predicted"],
                row["rule_id"] or "model",
                f"{row['confidence']:.2f}",
                row["text"][:90],
            )
        console.print(worst)
        if log_mlflow:
            run_id = log_evaluation(settings, reports, labeled_file)
            console.print(f"logged to MLflow run {run_id} ({settings.tracking_uri})")


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run read-only on the warehouse.")],
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    max_rows: Annotated[int, typer.Option(help="Rows shown in table format.")] = 50,
) -> None:
    """Query the published warehouse read-only."""
    with _clear_errors():
        from insight_core import warehouse
        from insight_core.settings import InsightSettings

        frame = warehouse.query(InsightSettings().warehouse_file, query)
        if output_format == "csv":
            from insight_core.csv_output import safe_csv

            sys.stdout.write(safe_csv(frame))
        elif output_format == "json":
            sys.stdout.write(frame.write_json() + "\n")
        elif output_format == "table":
            table = Table(*frame.columns)
            for row in frame.head(max_rows).iter_rows():
                table.add_row(*[_cell(v) for v in row])
            console.print(table)
            if frame.height > max_rows:
                console.print(f"... {frame.height - max_rows} more rows (use --max-rows)")
        else:
            raise InsightError(f"unknown format '{output_format}' (use table, csv or json)")


@app.command()
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
    with _clear_errors():
        if not os.environ.get("INSIGHT_USER_HASH_SECRET"):
            os.environ["INSIGHT_DEMO_MODE"] = "true"
        settings = _settings()
        from insight_core.demo.generator import generate_demo_logs

        first = start.date() if start else _default_demo_start(days)
        with console.status("generating demo logs..."):
            dataset = generate_demo_logs(settings.home / "demo", first, days, seed, users)
        console.print(
            f"generated {dataset.n_prompts} prompts over {days} days in "
            f"{dataset.root} (ground truth: {dataset.ground_truth_file.name})"
        )
        _prefect_ready()
        from flows.models import refit as refit_flow
        from flows.nightly import nightly
        from flows.runners import configured

        run_night = configured(nightly, settings)
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("nightly runs", total=len(dataset.log_files))
            for index, (day, log_file) in enumerate(
                zip(dataset.dates, dataset.log_files, strict=True)
            ):
                if refit_after and index == refit_after:
                    progress.update(task, description=f"refit on {index} days")
                    result = refit_flow(end=dataset.dates[index - 1], window_days=index)
                    progress.console.print(
                        f"refit after {index} days: challenger version "
                        f"{result.registry_version} {result.decision.summary()}"
                    )
                progress.update(task, description=str(day))
                summary = run_night(run_date=day, source=str(log_file))
                progress.advance(task)
                progress.console.print(
                    f"{day}: read {summary.rows_read}, loaded {summary.rows_loaded}, "
                    f"quarantined {summary.rows_quarantined}, duplicates "
                    f"{summary.rows_duplicate}, {summary.prompts_per_second:.0f} prompts/s"
                    + (f", fitted model {summary.model_version}" if summary.model_fitted else "")
                )
                for alert in summary.new_alerts:
                    progress.console.print(f"  [bold yellow]new alert:[/] {alert.get('headline')}")
        _print_demo_summary(settings)


def _default_demo_start(days: int) -> date:
    start = _yesterday() - timedelta(days=days - 1)
    return start - timedelta(days=start.weekday())  # begin on a Monday


def _print_demo_summary(settings) -> None:
    from insight_core import warehouse

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


def main() -> None:
    """Console-script entry point."""
    app()


# Interactive surfaces (`insight api`, `insight app`) live in flows/cli_surfaces.py.
from flows.cli_surfaces import register_surface_commands  # noqa: E402

register_surface_commands(app)


if __name__ == "__main__":
    main()
