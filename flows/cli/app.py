"""The ``insight`` command line: demo, run, classify, train and read-only SQL.

A thin surface: each command parses its options, calls one use case (a flow or an
``insight_core`` function) and prints. Errors are printed as one clear line with a non-zero
exit code; ``--debug`` shows the traceback. Prefect and MLflow are imported only inside
commands, after the environment defaults (offline, state under INSIGHT_HOME) are in place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from flows.cli import data, lifecycle, nightly, surfaces
from flows.cli.common import state

app = typer.Typer(
    help="Employee Insight Engine: privacy-safe trends of what employees ask GenAI assistants.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _options(
    home: Annotated[
        Path | None, typer.Option(help="Runtime state directory (INSIGHT_HOME).")
    ] = None,
    verbose: Annotated[bool, typer.Option(help="Show Prefect's task-level logs.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks on errors.")] = False,
) -> None:
    # Settings reach every entry point (CLI, deployments served to a worker, the API) through
    # the INSIGHT_ environment, so --home is the same as INSIGHT_HOME for this process.
    if home is not None:
        os.environ["INSIGHT_HOME"] = str(home)
    state["debug"] = debug
    if not verbose:
        # Logs still reach the Prefect API (and UI); the terminal shows our own progress and
        # one line per error instead of Prefect's per-task lines and tracebacks.
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


app.command()(nightly.demo)
app.command()(nightly.run)
app.command()(nightly.serve)
app.command()(nightly.digest)
app.command()(lifecycle.train)
app.command()(lifecycle.refit)
app.command()(lifecycle.tune)
app.command()(lifecycle.evaluate)
app.command()(data.classify)
app.command()(data.sql)
app.command("api")(surfaces.api)
app.command("app")(surfaces.webapp)

model_app = typer.Typer(help="The registered models and the champion alias.", no_args_is_help=True)
model_app.command("list")(lifecycle.model_list)
model_app.command("promote")(lifecycle.model_promote)
model_app.command("rollback")(lifecycle.model_rollback)
app.add_typer(model_app, name="model")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
