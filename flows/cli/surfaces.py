"""``insight api`` and ``insight app``: the interactive surfaces on top of the champion model.

Both read settings like every other command (``--home`` / ``INSIGHT_*``); host and port options
override ``INSIGHT_API_HOST``/``INSIGHT_API_PORT`` and ``INSIGHT_APP_HOST``/``INSIGHT_APP_PORT``.
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Annotated, Any

import typer

from flows.cli.common import clear_errors, load_settings
from insight_core.serve.webapp import streamlit_command

ApiHost = Annotated[
    str | None, typer.Option(help="Interface to bind (default: INSIGHT_API_HOST, 127.0.0.1).")
]
ApiPort = Annotated[int | None, typer.Option(help="Port (default: INSIGHT_API_PORT, 8000).")]
AppHost = Annotated[
    str | None, typer.Option(help="Interface to bind (default: INSIGHT_APP_HOST, 127.0.0.1).")
]
AppPort = Annotated[int | None, typer.Option(help="Port (default: INSIGHT_APP_PORT, 8501).")]


def _uvicorn_log_config(level: str) -> dict[str, Any]:
    """Uvicorn's logging plus the engine's own loggers (model loading, request lines)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["insight_core"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    config["loggers"]["uvicorn.error"]["level"] = level.upper()
    return config


def api(
    host: ApiHost = None,
    port: ApiPort = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the prediction API (FastAPI; OpenAPI docs at /docs)."""
    with clear_errors():
        settings = load_settings()
        import uvicorn

        from insight_core.serve.api import create_app  # lazy: fastapi

        uvicorn.run(
            create_app(settings),
            host=host or settings.api_host,
            port=port or settings.api_port,
            # Uvicorn's access log prints the raw path and query string, which a caller could
            # fill with prompt text; the app logs each request by its route template instead.
            access_log=False,
            log_config=_uvicorn_log_config(log_level),
            log_level=log_level.lower(),
        )


def webapp(host: AppHost = None, port: AppPort = None) -> None:
    """Serve the web app (Streamlit): single prompt, batch CSV, trends and failure analysis."""
    with clear_errors():
        settings = load_settings()

        command = streamlit_command(host or settings.app_host, port or settings.app_port)
        sys.stdout.flush()
        sys.stderr.flush()
        # exec, not a child process: in a container the server is then PID 1 and gets SIGTERM.
        os.execv(command[0], command)
