"""Checks of a run request that need nothing but the settings and the file system.

The CLI calls :func:`check_run_request` before it imports Prefect or MLflow or starts a
server, so a configuration mistake is reported within a second; ``nightly.stages.begin_run`` calls
it again for runs started any other way (deployments, tests). Importing this module is cheap
on purpose: no models, no servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from insight_core.errors import ConfigError, SourceError
from insight_core.prep.ingest import looks_like_hub_dataset, resolve_location
from insight_core.prep.redact import resolve_hash_secret
from insight_core.settings import DEMO_USER_HASH_SECRET, InsightSettings

TOPIC_MODES = ("auto", "fit", "infer")


def default_run_date(settings: InsightSettings) -> date:
    """Yesterday in the schedule's timezone: the night a scheduled run processes."""
    return datetime.now(ZoneInfo(settings.schedule_timezone)).date() - timedelta(days=1)


def hash_secret(settings: InsightSettings) -> str:
    """The user-id HMAC key the settings give (the demo key only in demo mode)."""
    secret = settings.user_hash_secret.get_secret_value() if settings.user_hash_secret else None
    return resolve_hash_secret(secret, settings.demo_mode, DEMO_USER_HASH_SECRET)


@dataclass(frozen=True)
class RunRequest:
    """A checked run request: the source to read and the topic mode."""

    source: str
    mode: str


def check_run_request(
    settings: InsightSettings,
    source: str | None,
    mode: str,
    run_dates: Sequence[date] = (),
) -> RunRequest:
    """Check what a run needs before any work; raises a one-line :class:`ConfigError`.

    ``source`` defaults to the ``INSIGHT_SOURCE`` setting. A local source (anything but a hub
    dataset id) must exist for every date in ``run_dates`` once ``{date}`` is filled in.
    """
    source = source or settings.source
    if not source:
        raise ConfigError(
            "no source given: pass --source or set INSIGHT_SOURCE "
            "(e.g. '/data/prompt-logs/{date}.jsonl')"
        )
    if mode not in TOPIC_MODES:
        raise ConfigError(f"unknown topic mode '{mode}' (use auto, fit or infer)")
    hash_secret(settings)
    for run_date in run_dates:
        location = resolve_location(source, run_date)
        if not looks_like_hub_dataset(location) and not Path(location).exists():
            raise SourceError(f"source not found: {location}")
    return RunRequest(source, mode)
