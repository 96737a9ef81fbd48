"""Row validation (pandera, lazy) and duplicate detection.

A bad row never fails the run: it is returned with every failed check so it can be
quarantined. Duplicates are valid rows whose ``prompt_id`` was seen earlier in the batch or was
already loaded on another date, with the same text; they are counted and skipped. The same
``prompt_id`` with a different text is no duplicate but a conflict, quarantined as
``prompt_id:conflicting_duplicate_id`` (the first occurrence, or the loaded row, stands).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandera.polars as pa
import polars as pl

from insight_core.prep.contract import is_numeric_timestamp
from insight_core.prep.quarantine import QUARANTINE_SCHEMA
from schemas.raw import raw_prompt_schema

# Any fixed seed: keys are compared only within one run, never stored.
ID_KEY_SEED = 20261128
RECORD_COLUMNS = ("prompt_id", "timestamp", "user_id", "department", "text", "tool")
CONFLICTING_DUPLICATE = "prompt_id:conflicting_duplicate_id"
# A number where a timestamp belongs, with no INSIGHT_TIMESTAMP_FORMAT saying how to read it.
NUMERIC_TIMESTAMP = "timestamp:numeric_without_format"


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

    def origin(column: str) -> pl.Series:
        if column in bad.columns:
            return bad.get_column(column).cast(QUARANTINE_SCHEMA[column])
        return pl.Series(column, [None] * bad.height, dtype=QUARANTINE_SCHEMA[column])

    return pl.DataFrame(
        {
            "source_row": bad.get_column("source_row").cast(pl.Int64),
            "prompt_id": bad.get_column("prompt_id"),
            "record": records,
            "failed_checks": [failures[i] for i in indices],
            "source_file": origin("source_file"),
            "source_line": origin("source_line"),
        },
        schema=QUARANTINE_SCHEMA,
    )


def quarantine_rows(rows: pl.DataFrame, check: str) -> pl.DataFrame:
    """Quarantine records (``QUARANTINE_SCHEMA``) for every row of ``rows``, all for ``check``."""
    return _quarantine_frame(rows, {i: [check] for i in range(rows.height)})


def validate_chunk(
    raw: pl.DataFrame,
    run_date: date,
    tz: str,
    max_text_chars: int,
    department_pattern: str,
    timestamp_format: str | None = None,
) -> ValidationOutcome:
    """Validate every row of ``raw`` at once (lazy pandera) and split valid from invalid.

    ``raw`` must carry the contract columns plus ``source_row`` and the parsed ``event_ts``.
    ``timestamp_format`` is the one the timestamps were parsed with: without it, a numeric
    timestamp fails as ``timestamp:numeric_without_format`` (the fix is to configure one).
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
            if ts_text is None:
                labels.append("timestamp:not_null")
            elif timestamp_format is None and is_numeric_timestamp(ts_text):
                labels.append(NUMERIC_TIMESTAMP)
            else:
                labels.append("timestamp:parseable")
    bad_rows = sorted(failures)
    valid = raw.filter(~pl.int_range(pl.len()).is_in(bad_rows)) if bad_rows else raw
    return ValidationOutcome(valid=valid, quarantine=_quarantine_frame(raw, failures))


def recurring_id_keys(id_columns: Iterable[pl.Series]) -> pl.Series:
    """Hash keys of the ids that occur more than once across ``id_columns`` (a night's chunks).

    Eight bytes per row, so a night of a million ids costs 8 MB here, not a dictionary of
    every id. Two ids sharing a key only make both candidates: ``classify_repeats`` still
    compares the ids themselves.
    """
    keys = [column.hash(seed=ID_KEY_SEED) for column in id_columns]
    if not keys:
        return pl.Series("key", [], dtype=pl.UInt64)
    counts = pl.concat(keys).rename("key").value_counts()
    return counts.filter(pl.col("count") > 1).get_column("key")


def ids_that_may_recur(ids: pl.Series, recurring_keys: pl.Series) -> list[bool]:
    """For each id: could it occur again in the batch (its key is among ``recurring_keys``)?"""
    return ids.hash(seed=ID_KEY_SEED).is_in(recurring_keys.implode()).to_list()


def text_fingerprint(text: str | None) -> str:
    """A short digest of a text, to compare rows without keeping their texts around."""
    return hashlib.blake2b((text or "").encode("utf-8", "replace"), digest_size=16).hexdigest()


def classify_repeats(
    prompt_ids: Sequence[str],
    texts: Sequence[str | None],
    seen_in_batch: dict[str, str],
    loaded_elsewhere: Mapping[str, bool],
    may_recur: Sequence[bool] | None = None,
) -> list[str]:
    """``"new"``, ``"duplicate"`` or ``"conflict"`` for each row, in order.

    A row repeats an id seen earlier in the batch (``seen_in_batch``: id -> text fingerprint,
    updated in place so chunks can be processed one after another) or already loaded on
    another date (``loaded_elsewhere``: id -> whether the loaded row's text differs). Same
    text: a duplicate, skipped; different text: a conflict, quarantined. The first occurrence
    in the batch, or the row loaded before, stands.

    ``may_recur`` (one flag per row) says which ids can occur again later in the batch; only
    those are remembered, so a night of unique ids keeps nothing between chunks. Without it,
    every id is remembered.
    """
    flags = may_recur if may_recur is not None else [True] * len(prompt_ids)
    kinds = []
    for prompt_id, text, recurs in zip(prompt_ids, texts, flags, strict=True):
        if prompt_id in loaded_elsewhere:
            kinds.append("conflict" if loaded_elsewhere[prompt_id] else "duplicate")
        elif prompt_id in seen_in_batch:
            same = seen_in_batch[prompt_id] == text_fingerprint(text)
            kinds.append("duplicate" if same else "conflict")
        else:
            kinds.append("new")
        if recurs and prompt_id not in seen_in_batch:
            seen_in_batch[prompt_id] = text_fingerprint(text)
    return kinds
