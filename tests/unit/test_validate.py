from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from insight_core.prep.ingest import parse_timestamps
from insight_core.prep.validate import find_duplicates, validate_chunk

pytestmark = pytest.mark.unit

PATTERN = r"^[A-Za-z][A-Za-z0-9&/ .'-]{0,63}$"


def _raw(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema={
            "prompt_id": pl.String,
            "timestamp": pl.String,
            "user_id": pl.String,
            "department": pl.String,
            "text": pl.String,
            "tool": pl.String,
        },
    )
    frame = frame.with_row_index("source_row")
    return parse_timestamps(frame, "UTC")


def _row(**overrides: object) -> dict:
    row = {
        "prompt_id": "p",
        "timestamp": "2026-10-05T09:00:00+00:00",
        "user_id": "u",
        "department": "Sales",
        "text": "a question",
        "tool": None,
    }
    return {**row, **overrides}


def test_every_failed_check_is_reported_for_each_bad_row() -> None:
    raw = _raw(
        [
            _row(prompt_id="ok"),
            _row(prompt_id="blank", text="   "),
            _row(prompt_id="long", text="x" * 101),
            _row(prompt_id="nouser", user_id=None),
            _row(prompt_id="baddept", department="###"),
            _row(prompt_id="badtime", timestamp="yesterday afternoon"),
            _row(prompt_id="otherday", timestamp="2026-10-06T00:00:00+00:00"),
            _row(prompt_id="many", text="", user_id=None, department="!!"),
        ]
    )
    outcome = validate_chunk(raw, date(2026, 10, 5), "UTC", 100, PATTERN)
    assert outcome.valid.get_column("prompt_id").to_list() == ["ok"]
    reasons = dict(
        zip(
            outcome.quarantine.get_column("prompt_id").to_list(),
            outcome.quarantine.get_column("failed_checks").to_list(),
            strict=True,
        )
    )
    assert reasons["blank"] == ["text:not_blank"]
    assert reasons["long"] == ["text:max_length_100"]
    assert reasons["nouser"] == ["user_id:not_null"]
    assert reasons["baddept"] == ["department:format"]
    assert reasons["badtime"] == ["timestamp:parseable"]
    assert reasons["otherday"] == ["timestamp:in_run_window"]
    assert set(reasons["many"]) == {"text:not_blank", "user_id:not_null", "department:format"}
    record = outcome.quarantine.filter(pl.col("prompt_id") == "badtime").item(0, "record")
    assert "yesterday afternoon" in record


def test_run_window_follows_the_configured_timezone() -> None:
    raw = _raw([_row(timestamp="2026-10-04T23:30:00+00:00")])
    berlin = validate_chunk(raw, date(2026, 10, 5), "Europe/Berlin", 100, PATTERN)
    utc = validate_chunk(raw, date(2026, 10, 5), "UTC", 100, PATTERN)
    assert berlin.valid.height == 1 and utc.valid.height == 0


def test_duplicates_within_batch_and_already_loaded() -> None:
    seen: set[str] = set()
    assert find_duplicates(["a", "b", "a"], seen, {"z"}) == [False, False, True]
    assert find_duplicates(["b", "z", "c"], seen, {"z"}) == [True, True, False]
