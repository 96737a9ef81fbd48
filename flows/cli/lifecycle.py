"""Model lifecycle commands: train, refit, tune, evaluate and the champion alias."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.cli.common import (
    DateOption,
    clear_errors,
    console,
    err_console,
    load_settings,
    prefect_ready,
)
from insight_core.lifecycle.evaluate import log_evaluation, run_evaluation


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
    with clear_errors():
        settings = load_settings()
        from insight_core.lifecycle.champion import train_champion  # lazy: mlflow

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


def refit(
    end: Annotated[
        DateOption, typer.Option(formats=["%Y-%m-%d"], help="Last day of the window.")
    ] = None,
    window_days: Annotated[int | None, typer.Option(help="Days in the window.")] = None,
) -> None:
    """Train a challenger on the rolling window; promote it only if no worse than champion."""
    with clear_errors():
        load_settings()
        prefect_ready()
        from flows.lifecycle import refit as refit_flow  # lazy: prefect

        result = refit_flow(end=end.date() if end else None, window_days=window_days)
        console.print(result.to_markdown())


def tune(
    trials: Annotated[int, typer.Option(help="Parameter sets to try.")] = 8,
    window_days: Annotated[int | None, typer.Option(help="Days in the window.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the random search.")] = 7,
) -> None:
    """Search topic-model settings (nested MLflow runs); the next refit uses the best."""
    with clear_errors():
        settings = load_settings()
        prefect_ready()
        from flows.lifecycle import tune as tune_flow  # lazy: prefect

        result = tune_flow(trials=trials, window_days=window_days, seed=seed)
        console.print(result.to_markdown())
        console.print(f"best parameters written to {settings.tuned_topics_file}")


def model_list() -> None:
    """Registered versions, newest first, with aliases and scores."""
    with clear_errors():
        settings = load_settings()
        from insight_core.lifecycle.champion import list_versions  # lazy: mlflow

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


def model_promote(version: Annotated[str, typer.Argument(help="Registry version.")]) -> None:
    """Make a registered version the champion."""
    with clear_errors():
        from insight_core.lifecycle.champion import promote  # lazy: mlflow

        bundle = promote(load_settings(), version)
        console.print(f"version {version} (bundle {bundle}) is now the champion")


def model_rollback(
    to: Annotated[
        str | None,
        typer.Option(help="Version to return to (default: the champion before the current one)."),
    ] = None,
) -> None:
    """Move the champion alias back."""
    with clear_errors():
        from insight_core.lifecycle.champion import rollback  # lazy: mlflow

        version = rollback(load_settings(), to)
        console.print(f"champion rolled back to version {version}")


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
    with clear_errors():
        settings = load_settings()

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
        for confusion_row in hybrid.confusion.iter_rows():
            confusion.add_row(*[str(v) for v in confusion_row])
        console.print(confusion)
        if hybrid.by_group is not None:
            groups = Table("group", "n", "accuracy", title=f"hybrid accuracy by {group_column}")
            for group_row in hybrid.by_group.iter_rows():
                groups.add_row(*[str(v) for v in group_row])
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
