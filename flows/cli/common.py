"""What every command shares: consoles, one-line errors, settings, small formatters."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.local_api import ensure_prefect_api
from insight_core.environment import apply_runtime_defaults
from insight_core.errors import InsightError
from insight_core.interrupts import RunInterrupted
from insight_core.nightly.summary import RunSummary
from insight_core.settings import InsightSettings

console = Console()


err_console = Console(stderr=True)


state = {"debug": False}


DateOption = datetime | None


def yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


@contextlib.contextmanager
def clear_errors() -> Iterator[None]:
    """Turn failures into one line on stderr and exit code 1."""
    try:
        yield
    except typer.Exit:
        raise
    except InsightError as exc:
        if state["debug"]:
            raise
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        raise typer.Exit(130) from None
    except RunInterrupted as stopped:
        err_console.print(f"[bold red]interrupted:[/] {stopped}")
        raise typer.Exit(stopped.exit_code) from None
    except Exception as exc:
        if state["debug"]:
            raise
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(first_line)} (rerun with "
            "--debug for the traceback)"
        )
        raise typer.Exit(1) from None


def load_settings(**overrides: object) -> InsightSettings:
    """The settings from the environment (and ``overrides``), with runtime defaults applied."""
    settings = InsightSettings(**overrides)  # type: ignore[arg-type]
    apply_runtime_defaults(settings)
    return settings


def prefect_ready() -> None:
    """A Prefect API for the flows: the configured one, or a local server owned by us.

    Call only after the settings are checked: starting a server on a fresh home takes ~30 s.
    """

    with console.status("starting the local Prefect server..."):
        ensure_prefect_api()


def print_run_summary(summary: RunSummary) -> None:
    """A run's counts, top categories, warnings and alerts as a table on the console."""
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


# Control characters (ESC starts a terminal escape sequence; C1's CSI is one on its own) and
# bidirectional overrides, which can hide or reorder what a cell shows. Line breaks and tabs
# are kept: a rich table lays them out.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` safe to print through rich: markup escaped, control characters as ``\\xNN``."""
    shown = _UNPRINTABLE.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text
    )
    return escape(shown)


def cell(value: object) -> str:
    """A table cell: empty for NULL, floats to four significant digits, text printable."""
    if value is None:
        return ""
    return printable(f"{value:.4g}" if isinstance(value, float) else str(value))


def date_range(start: date, end: date) -> list[date]:
    if end < start:
        raise InsightError(f"--to {end} is before --from {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
