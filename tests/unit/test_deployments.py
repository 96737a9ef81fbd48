from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from prefect import Flow

from insight_core.settings import InsightSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_served_deployments_are_defined_with_schedules() -> None:
    from flows.deployments import build_deployments

    deployments = {d.name: d for d in build_deployments(InsightSettings())}
    assert set(deployments) == {"nightly", "backfill", "refit", "tune", "digest"}
    nightly_cron = deployments["nightly"].schedules[0].schedule.cron
    assert nightly_cron == "0 2 * * *"
    assert deployments["refit"].schedules[0].schedule.cron == "0 4 * * 0"
    # The digest sends messages: registered with its schedule paused, Monday 07:00.
    (digest,) = deployments["digest"].schedules
    assert digest.schedule.cron == "0 7 * * 1" and digest.active is False
    assert deployments["nightly"].schedules[0].active is True
    assert not deployments["tune"].schedules and not deployments["backfill"].schedules
    from prefect.utilities.callables import parameter_schema

    from flows.nightly import nightly

    assert set(parameter_schema(nightly).properties) == {"run_date", "source", "mode", "replace"}
    assert deployments["nightly"].enforce_parameter_schema


def test_schedule_follows_settings() -> None:
    from flows.deployments import build_deployments

    settings = InsightSettings(schedule_cron="30 3 * * *", schedule_timezone="Europe/Berlin")
    nightly = next(d for d in build_deployments(settings) if d.name == "nightly")
    assert nightly.schedules[0].schedule.cron == "30 3 * * *"
    assert nightly.schedules[0].schedule.timezone == "Europe/Berlin"
    digest = next(d for d in build_deployments(settings, digest_on=True) if d.name == "digest")
    assert digest.schedules[0].schedule.timezone == "Europe/Berlin"
    assert digest.schedules[0].active is True


def test_prefect_yaml_entrypoints_are_the_flows() -> None:
    document = yaml.safe_load((ROOT / "deploy" / "prefect.yaml").read_text())
    names = {d["name"] for d in document["deployments"]}
    assert names == {"nightly", "backfill", "refit", "tune", "digest"}
    for deployment in document["deployments"]:
        path, attribute = deployment["entrypoint"].split(":")
        assert (ROOT / path).exists()
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert isinstance(getattr(module, attribute), Flow)


def test_work_pool_deployments_use_the_settings_schedules() -> None:
    """deploy/prefect.yaml repeats the schedules for `prefect deploy`: they must not drift from
    the settings' defaults, which `insight serve` uses."""
    spec = yaml.safe_load((ROOT / "deploy" / "prefect.yaml").read_text())
    schedules = {d["name"]: d.get("schedules", []) for d in spec["deployments"]}
    defaults = InsightSettings()
    assert schedules["nightly"] == [
        {"cron": defaults.schedule_cron, "timezone": defaults.schedule_timezone}
    ]
    assert schedules["refit"] == [
        {"cron": defaults.refit_cron, "timezone": defaults.schedule_timezone}
    ]
    assert not schedules["backfill"] and not schedules["tune"]
    from flows.deployments import DIGEST_CRON

    assert schedules["digest"] == [
        {"cron": DIGEST_CRON, "timezone": defaults.schedule_timezone, "active": False}
    ]


@pytest.mark.parametrize("threads", [None, "1", "3"])
def test_the_thread_runner_works_on_the_configured_number_of_chunks_at_once(
    monkeypatch: pytest.MonkeyPatch, threads: str | None
) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.nightly import nightly
    from flows.runners import configured
    from insight_core.environment import parallelism

    if threads is None:
        monkeypatch.delenv("INSIGHT_CHUNK_THREADS", raising=False)
    else:
        monkeypatch.setenv("INSIGHT_CHUNK_THREADS", threads)
    settings = InsightSettings()
    flow = configured(nightly, settings)
    assert isinstance(flow.task_runner, ThreadPoolTaskRunner)
    # unset: what the machine allows (tests/unit/test_environment.py checks the arithmetic)
    expected = int(threads) if threads else parallelism(settings).chunk_threads
    assert flow.task_runner._max_workers == expected >= 1
    # the flow as decorated, for direct calls: two chunks at a time
    assert isinstance(nightly.task_runner, ThreadPoolTaskRunner)
    assert nightly.task_runner._max_workers == 2
