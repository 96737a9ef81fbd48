"""What the nightly stages share: their work files' names, the full-disk guard and the
redaction of quarantined records."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import polars as pl

from insight_core.errors import disk_full_names
from insight_core.nightly.context import (
    RunContext,
)
from insight_core.prep.redact import (
    cap_text,
    redact_record,
    redact_text,
)

# Written by the duplicate stage, read by the publication: the per-date files whose ids the
# night's lookup compared with its own.
ID_LOOKUP_FILE = "id-lookup.json"

P = ParamSpec("P")
R = TypeVar("R")


def names_full_disk(
    stage: Callable[Concatenate[RunContext, P], R],
) -> Callable[Concatenate[RunContext, P], R]:
    """A full disk in ``stage`` fails it with a DiskFullError naming the file (or the run's
    work folder, where the error names none), not with a bare ``OSError: [Errno 28]``."""

    @functools.wraps(stage)
    def wrapper(ctx: RunContext, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with disk_full_names(ctx.work_dir):
            return stage(ctx, *args, **kwargs)

    return wrapper


def redacted_quarantine(quarantine: pl.DataFrame, secret: str, max_chars: int) -> pl.DataFrame:
    """Quarantined rows with every field of their record (and their id) redacted and capped."""

    def clean(record_json: str) -> str:
        record = json.loads(record_json)
        if not isinstance(record, dict):
            record = {"record": record}
        return json.dumps(redact_record(record, secret, max_chars), ensure_ascii=False)

    def clean_id(prompt_id: str) -> str:
        return cap_text(redact_text(prompt_id), max_chars)

    return quarantine.with_columns(
        pl.col("record").map_elements(clean, return_dtype=pl.String),
        pl.col("prompt_id").map_elements(clean_id, return_dtype=pl.String),
    )


def ids_looked_up_in(ctx: RunContext) -> list[str] | None:
    """The files the duplicate stage's lookup read; None (check every date) if it left none."""
    record = ctx.path(ID_LOOKUP_FILE)
    return json.loads(record.read_text()) if record.exists() else None


def discard(*paths: Path) -> None:
    """Delete work files no stage reads any more (those holding raw text first)."""
    for path in paths:
        path.unlink(missing_ok=True)
