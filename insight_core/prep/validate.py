"""Row validation (pandera, lazy) and duplicate detection.

A bad row never fails the run: it is returned with every failed check so it can be
quarantined. Duplicates are valid rows whose ``prompt_id`` was seen earlier in the batch or was
already loaded on another date; they are counted and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandera.polars as pa
import polars as pl

from schemas.raw import raw_prompt_schema

RECORD_COLUMNS = ("prompt_id", "timestamp", "user_id", "department", "text", "tool")
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source_row": pl.Int64(),
    "prompt_id": pl.String(),
    "record": pl.String(),
    "failed_checks": pl.List(pl.String),
}


@dataclass(frozen=True)
class ValidationOutcome:
    """Valid rows and quarantined rows of one chunk."""

    valid: pl.DataFrame
    quarantine: pl.DataFrame


def run_window(run_date: date, tz: str) -> tuple[datetime, datetime]:
    """UTC bounds [start, end) of ``run_date`` as a calendar day in timezone ``tz``."""
    zone = ZoneInfo(tz)
    start = datetime.combine(run_date, time(0), tzinfo=zone)
    end = datetime.combine(run_date + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _failed_checks_by_row(failure_cases: pl.DataFrame, n_rows: int) -> dict[int, list[str]]:
    failures: dict[int, list[str]] = {}
    for row in failure_cases.iter_rows(named=True):
        check = row["check"]
        if check == "not_nullable":
            check = "not_null"
        elif check.startswith("str_length") or check.startswith("str_matches"):
            check = check.split("(")[0]
        # event_ts is parsed from the source's timestamp: report it under that name.
        column = "timestamp" if row["column"] == "event_ts" else row["column"]
        label = f"{column}:{check}" if column else check
        rows = [row["index"]] if row["index"] is not None else range(n_rows)
        for index in rows:
            labels = failures.setdefault(int(index), [])
            if label not in labels:
                labels.append(label)
    return failures


def _quarantine_frame(raw: pl.DataFrame, failures: dict[int, list[str]]) -> pl.DataFrame:
    if not failures:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    indices = sorted(failures)
    bad = raw[indices]
    records = [
        json.dumps({k: row.get(k) for k in RECORD_COLUMNS}, ensure_ascii=False, default=str)
        for row in bad.iter_rows(named=True)
    ]
    return pl.DataFrame(
        {
            "source_row": bad.get_column("source_row").cast(pl.Int64),
            "prompt_id": bad.get_column("prompt_id"),
            "record": records,
            "failed_checks": [failures[i] for i in indices],
        },
        schema=QUARANTINE_SCHEMA,
    )


def validate_chunk(
    raw: pl.DataFrame,
    run_date: date,
    tz: str,
    max_text_chars: int,
    department_pattern: str,
) -> ValidationOutcome:
    """Validate every row of ``raw`` at once (lazy pandera) and split valid from invalid.

    ``raw`` must carry the contract columns plus ``source_row`` and the parsed ``event_ts``.
    """
    start, end = run_window(run_date, tz)
    schema = raw_prompt_schema(start, end, max_text_chars, department_pattern)
    try:
        schema.validate(raw, lazy=True)
        failures: dict[int, list[str]] = {}
    except pa.errors.SchemaErrors as errors:
        failures = _failed_checks_by_row(errors.failure_cases, raw.height)
    # A null event_ts with a non-null timestamp means the text was not a parseable timestamp.
    for index, (ts_text, parsed) in enumerate(
        zip(
            raw.get_column("timestamp").to_list(), raw.get_column("event_ts").to_list(), strict=True
        )
    ):
        if parsed is None:
            labels = failures.setdefault(index, [])
            labels[:] = [lb for lb in labels if lb != "timestamp:not_null"]
            labels.append("timestamp:not_null" if ts_text is None else "timestamp:parseable")
    bad_rows = sorted(failures)
    valid = raw.filter(~pl.int_range(pl.len()).is_in(bad_rows)) if bad_rows else raw
    return ValidationOutcome(valid=valid, quarantine=_quarantine_frame(raw, failures))


def find_duplicates(
    prompt_ids: Iterable[str], seen_in_batch: set[str], already_loaded: set[str]
) -> list[bool]:
    """Flag ids already seen earlier in the batch or loaded on another date.

    ``seen_in_batch`` is updated in place so chunks can be processed one after another.
    """
    flags = []
    for prompt_id in prompt_ids:
        duplicate = prompt_id in seen_in_batch or prompt_id in already_loaded
        seen_in_batch.add(prompt_id)
        flags.append(duplicate)
    return flags
