"""deploy/: the compose file against the Compose Specification schema, and every service's
build context, Dockerfile and command.

No Docker engine runs here. The schema is the compose-spec JSON schema (Apache-2.0) that the
check-jsonschema package vendors (``check_jsonschema/builtin_schemas/vendor``, licence beside
it), validated with ``jsonschema``.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from importlib import resources
from pathlib import Path

import pytest
import typer.main
import yaml
from jsonschema import Draft202012Validator

from flows.cli import app as cli_app

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
SERVICES = {"prefect-server", "worker", "mlflow", "api", "webapp"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _schema_validator() -> Draft202012Validator:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(dep.split("==", 1) for dep in project["dependencies"] if "==" in dep)


def test_compose_file_follows_the_compose_specification() -> None:
    validator = _schema_validator()
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []
    # The same validator refuses a broken file, so the empty list above means something.
    broken = _compose()
    broken["services"]["api"]["command"] = 8000
    broken["services"]["api"]["restart_policy"] = "always"
    assert len(list(validator.iter_errors(broken))) >= 1


def test_every_service_is_there_and_builds_from_an_existing_context() -> None:
    services = _compose()["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        context = (DEPLOY / service["build"]["context"]).resolve()
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        dockerfile = context / service["build"].get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
        assert isinstance(service["command"], list) and service["command"], name


def test_engine_services_share_the_insight_home_volume() -> None:
    compose = _compose()
    for name in ("worker", "api", "webapp"):
        service = compose["services"][name]
        home = service["environment"]["INSIGHT_HOME"]
        assert f"insight-data:{home}" in service["volumes"], name
        assert service["environment"]["INSIGHT_MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert "insight-data" in compose["volumes"]
    worker = compose["services"]["worker"]
    assert worker["environment"]["INSIGHT_SOURCE"].endswith(":-/data/logs/{date}.jsonl}")
    assert any(v.endswith(":/data/logs:ro") for v in worker["volumes"])
    mlflow = compose["services"]["mlflow"]["command"]
    assert mlflow[:2] == ["mlflow", "server"] and "--backend-store-uri" in mlflow


def test_insight_commands_of_the_services_parse() -> None:
    commands = typer.main.get_command(cli_app).commands  # type: ignore[attr-defined]
    services = _compose()["services"]
    for name, service in services.items():
        command = service["command"]
        if command[0] != "insight":
            continue
        sub = commands.get(command[1])
        assert sub is not None, f"{name}: `insight {command[1]}` is not a command"
        # Parses the options as the CLI would (an unknown option raises), without running it.
        sub.make_context(command[1], list(command[2:]))
    assert services["api"]["command"] == ["insight", "api", "--host", "0.0.0.0"]
    assert services["worker"]["command"] == ["insight", "serve"]
    assert services["webapp"]["command"] == ["insight", "app"]
    with pytest.raises(Exception, match="No such option"):
        commands["api"].make_context("api", ["--hots", "0.0.0.0"])


def _copy_sources(dockerfile: Path) -> list[str]:
    sources = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            parts = shlex.split(line)[1:]
            sources += [p for p in parts[:-1] if not p.startswith("--")]
    return sources


def test_dockerfiles_copy_existing_paths_and_pin_the_project_versions() -> None:
    pins = _pins()
    for name, service in _compose()["services"].items():
        context = (DEPLOY / service["build"]["context"]).resolve()
        dockerfile = context / service["build"].get("dockerfile", "Dockerfile")
        for source in _copy_sources(dockerfile):
            assert (context / source).exists(), f"{name}: COPY {source} is not in {context}"
        text = dockerfile.read_text()
        for package, version in re.findall(r"pip install[^\n]*?\b([a-z-]+)==([\w.]+)", text):
            assert pins.get(package) == version, f"{dockerfile.name}: {package}=={version}"
    engine = (DEPLOY / "Dockerfile").read_text()
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in engine
    assert "pip install ." in engine and "load_embedder('bundled:all-MiniLM-L6-v2'" in engine
    assert "prefect==" + pins["prefect"] in (DEPLOY / "prefect-server.Dockerfile").read_text()
    assert "mlflow==" + pins["mlflow"] in (DEPLOY / "mlflow.Dockerfile").read_text()


def test_deploy_readme_says_how_to_start() -> None:
    readme = (DEPLOY / "README.md").read_text()
    assert "docker compose -f deploy/compose.yaml up" in readme
    assert "INSIGHT_USER_HASH_SECRET" in readme
