"""The web app (Streamlit): single prompt, batch CSV, trends and failure analysis.

``insight app`` runs :data:`APP_SCRIPT` with Streamlit; the pages read settings from the
environment (``INSIGHT_*``) like every other entry point.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_SCRIPT = Path(__file__).with_name("app.py")


def streamlit_command(host: str, port: int) -> list[str]:
    """The command line that serves the web app on ``host:port``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        # Offline by default: no usage statistics, no file watcher polling the source tree.
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
