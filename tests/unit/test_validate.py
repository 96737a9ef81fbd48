from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from insight_core.prep.ingest import parse_timestamps
from insight_core.prep.validate import (
    classify_repeats,
    ids_that_may_recur,
    recurring_id_keys,
    validate_chunk,
)

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
    seen: dict[str, str] = {}
    texts = ["x", "y", "x"]
    assert classify_repeats(["a", "b", "a"], texts, seen, {"z": False}) == [
        "new",
        "new",
        "duplicate",
    ]
    assert classify_repeats(["b", "z", "c"], ["y", "q", "r"], seen, {"z": False}) == [
        "duplicate",
        "duplicate",
        "new",
    ]


def test_same_id_with_another_text_is_a_conflict_not_a_duplicate() -> None:
    seen: dict[str, str] = {}
    kinds = classify_repeats(
        ["a", "a", "a", "z", "y"],
        ["first", "first", "changed", "anything", "same as loaded"],
        seen,
        {"z": True, "y": False},
    )
    assert kinds == ["new", "duplicate", "conflict", "conflict", "duplicate"]
    # the first occurrence stands: a later chunk repeating it is a duplicate again
    assert classify_repeats(["a"], ["first"], seen, {}) == ["duplicate"]


def test_only_ids_that_recur_in_the_night_are_remembered_across_chunks() -> None:
    chunks = [pl.Series(["a", "b", "c"]), pl.Series(["d", "a", "e"]), pl.Series(["f", "a", "b"])]
    recurring = recurring_id_keys(chunks)
    assert len(recurring) == 2  # "a" and "b"
    seen: dict[str, str] = {}
    kinds = []
    # "b" comes back in the last chunk with another text: a conflict
    chunk_texts = [["same", "first b", "c"], ["d", "same", "e"], ["f", "same", "another b"]]
    for ids, texts in zip(chunks, chunk_texts, strict=True):
        may_recur = ids_that_may_recur(ids, recurring)
        kinds.append(classify_repeats(ids.to_list(), texts, seen, {}, may_recur))
    assert kinds == [
        ["new", "new", "new"],
        ["new", "duplicate", "new"],
        ["new", "duplicate", "conflict"],
    ]
    assert set(seen) == {"a", "b"}  # ids seen once were never kept


def test_no_chunks_have_no_recurring_ids() -> None:
    assert recurring_id_keys([]).len() == 0
    assert ids_that_may_recur(pl.Series(["x"]), recurring_id_keys([])) == [False]


@pytest.mark.parametrize(
    "text",
    ["\x00", "\x00\x00\x00", "\u200b", "\u200b\u200c\u200d\ufeff", " \t\r\n\x0b", "\u00a0\u2060"],
    ids=["nul", "nuls", "zero-width-space", "zero-width-mix", "whitespace-control", "nbsp-wj"],
)
def test_text_empty_after_normalisation_is_rejected(text: str) -> None:
    raw = _raw([_row(prompt_id="ok"), _row(prompt_id="empty", text=text)])
    outcome = validate_chunk(raw, date(2026, 10, 5), "UTC", 100, PATTERN)
    assert outcome.valid.get_column("prompt_id").to_list() == ["ok"]
    assert outcome.quarantine.get_column("failed_checks").to_list() == [["text:not_blank"]]


def test_visible_text_around_invisible_characters_is_kept() -> None:
    raw = _raw([_row(prompt_id="ok", text="\u200bsummarise this\x00")])
    assert validate_chunk(raw, date(2026, 10, 5), "UTC", 100, PATTERN).valid.height == 1
