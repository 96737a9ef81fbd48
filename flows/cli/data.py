"""Data commands: ``classify`` a file and read-only ``sql`` on the warehouse."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.cli.common import cell, clear_errors, console, err_console, load_settings, printable
from insight_core import warehouse
from insight_core.csv_output import safe_csv
from insight_core.errors import InsightError
from insight_core.inference import classify_file
from insight_core.settings import InsightSettings


def classify(
    input_file: Annotated[Path, typer.Argument(help="CSV or Parquet file to classify.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the result.")],
    text_column: Annotated[str, typer.Option(help="Column holding the prompt text.")] = "text",
) -> None:
    """Add category, decided_by, confidence, topic_id and topic_label to each row of a file.

    Uses the champion model; on a home without one, the category head trained (once, then
    cached) from the shipped examples, with no topics.
    """
    with clear_errors():
        settings = load_settings()

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


def sql(
    query: Annotated[str, typer.Argument(help="SQL to run read-only on the warehouse.")],
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    max_rows: Annotated[int, typer.Option(help="Rows shown in table format.")] = 50,
) -> None:
    """Query the published warehouse read-only."""
    with clear_errors():
        frame = warehouse.query(InsightSettings().warehouse_file, query)
        if output_format == "csv":
            sys.stdout.write(safe_csv(frame))
        elif output_format == "json":
            sys.stdout.write(frame.write_json() + "\n")
        elif output_format == "table":
            table = Table(*[printable(name) for name in frame.columns])
            for row in frame.head(max_rows).iter_rows():
                table.add_row(*[cell(v) for v in row])
            console.print(table)
            if frame.height > max_rows:
                console.print(f"... {frame.height - max_rows} more rows (use --max-rows)")
        else:
            raise InsightError(f"unknown format '{output_format}' (use table, csv or json)")
