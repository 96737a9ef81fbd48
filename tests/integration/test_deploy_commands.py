"""The Prefect and MLflow server commands of deploy/compose.yaml exist with those options.

The servers' images pin the same versions as pyproject.toml (tests/unit/test_deploy.py), so
the command line tools installed here are the ones the containers run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"


def _server_commands() -> list[tuple[str, list[str]]]:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return [
        (name, service["command"])
        for name, service in sorted(services.items())
        if service["command"][0] in {"prefect", "mlflow"}
    ]


@pytest.mark.parametrize(("service", "command"), _server_commands())
def test_server_command_and_its_options_exist(service: str, command: list[str]) -> None:
    executable = Path(sys.executable).with_name(command[0])
    assert executable.exists(), f"{service}: {command[0]} is not installed"
    subcommands = []
    for token in command[1:]:
        if token.startswith("-"):
            break
        subcommands.append(token)
    result = subprocess.run(
        [str(executable), *subcommands, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        # Wide enough that no option name is wrapped in the help table.
        env={**os.environ, "COLUMNS": "250", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
    )
    assert result.returncode == 0, result.stderr
    for option in (t for t in command if t.startswith("--")):
        assert option in result.stdout, f"{service}: `{' '.join(subcommands)}` has no {option}"
