"""Gateway and observability logs read without a conversion script (docs/gateway_formats.md).

Each sample file under tests/fixtures/gateway/ (invented content) goes through the real
staging, validation and duplicate classification; every record is accounted for.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from insight_core.errors import SourceError
from insight_core.prep.gateway_formats import (
    GatewayOptions,
    detect_format,
    map_record,
    user_turn,
)
from insight_core.prep.ingest import ColumnDefaults, parse_timestamps, stage_source
from insight_core.prep.validate import classify_repeats, validate_chunk

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gateway"
DAY = date(2026, 10, 7)
PATTERN = r"^[A-Za-z][A-Za-z0-9&/ .'-]{0,63}$"

# format -> (loaded, quarantined, duplicates, {prompt_id: (user, department, tool, text)})
EXPECTED = {
    "openai-chat": (
        4,
        2,
        1,
        {
            "chatcmpl-oa-001": (
                "emp-1001",
                "Finance",
                "gpt-4o-mini",
                "How do I reconcile the travel expense report for October?",
            ),
            "chatcmpl-oa-002": (
                "emp-1002",
                "Customer Support",
                "gpt-4o",
                "My VPN drops every ten minutes since the update.\nWhat should I check first?",
            ),
            "batch-oa-003": (
                "emp-1003",
                "Legal",
                "gpt-4o-mini",
                "Draft a short NDA clause about source code.",
            ),
            "chatcmpl-oa-006": (
                "emp-1005",
                "Unassigned",
                "gpt-4o-mini",
                "Write a friendly reminder about the team offsite.",
            ),
        },
    ),
    "otel-genai": (
        3,
        1,
        0,
        {
            "5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174": (
                "emp-2001",
                "IT",
                "gpt-4o",
                "Which laptop docking stations does IT support?",
            ),
            "6c9f0a1b2c3d4e5f60718293a4b5c6d7-aaa19b7ec3c1b001": (
                "emp-2002",
                "Human Resources",
                "gpt-4o-mini",
                "Outline a parental leave policy for a small team.",
            ),
            "7d0a1b2c3d4e5f60718293a4b5c6d7e8-bbb19b7ec3c1b002": (
                "emp-2003",
                "Marketing",
                "claude-sonnet",
                "Give me three taglines for a spring webinar.",
            ),
        },
    ),
    "litellm": (
        3,
        3,
        0,
        {
            "litellm-req-001": (
                "emp-3001",
                "Sales",
                "gpt-4o",
                "Prepare talking points for a renewal call with a retail client.",
            ),
            "litellm-req-002": (
                "emp-3002",
                "Engineering",
                "gpt-4o-mini",
                "Why does my Python test hang when the fixture opens a socket?",
            ),
            "litellm-req-003": (
                "emp-3003",
                "Operations",
                "claude-haiku",
                "Create a checklist for the warehouse safety audit.",
            ),
        },
    ),
    "langfuse": (
        3,
        2,
        1,
        {
            "lf-trace-001": (
                "emp-4001",
                "Customer Support",
                "support-bot",
                "A customer cannot reset their password, what are the steps?",
            ),
            "lf-gen-002": (
                "emp-4002",
                "Finance",
                "gpt-4o-mini",
                "Explain the difference between accruals and deferrals.",
            ),
            "lf-trace-003": (
                "emp-4003",
                "Human Resources",
                "wellbeing-coach",
                "Tips for managing stress before a big deadline",
            ),
        },
    ),
}


def _night(source: Path, tmp_path: Path, source_format: str = "auto", **kwargs: object) -> dict:
    """Stage, validate and classify repeats like the nightly flow; the counts and the rows."""
    out = tmp_path / "staged.parquet"
    staged = stage_source(
        str(source),
        DAY,
        out,
        kwargs.get("mapping", {}),  # type: ignore[arg-type]
        ColumnDefaults(),
        "UTC",
        chunk_size=2,
        source_format=source_format,
        prompt_turn=kwargs.get("prompt_turn", "last"),  # type: ignore[arg-type]
    )
    raw = parse_timestamps(pl.read_parquet(out), "UTC")
    outcome = validate_chunk(raw, DAY, "UTC", 8000, PATTERN)
    valid = outcome.valid
    kinds = classify_repeats(
        valid.get_column("prompt_id").to_list(), valid.get_column("text").to_list(), {}, {}
    )
    loaded = valid.filter(pl.Series(kinds) == "new")
    return {
        "read": staged.rows_read,
        "loaded": loaded.height,
        "quarantined": len(staged.rejected) + outcome.quarantine.height + kinds.count("conflict"),
        "duplicates": kinds.count("duplicate"),
        "rows": loaded,
        "staged": staged,
        "quarantine": outcome.quarantine,
    }


@pytest.mark.parametrize("fmt", sorted(EXPECTED))
def test_each_sample_loads_and_every_record_is_accounted_for(fmt: str, tmp_path: Path) -> None:
    loaded, quarantined, duplicates, rows = EXPECTED[fmt]
    for source_format in ("auto", fmt):  # detected from the file, and named explicitly
        night = _night(FIXTURES / f"{fmt}.jsonl", tmp_path, source_format)
        assert (night["loaded"], night["quarantined"], night["duplicates"]) == (
            loaded,
            quarantined,
            duplicates,
        )
        assert night["read"] == night["loaded"] + night["quarantined"] + night["duplicates"]
        got = {
            r["prompt_id"]: (r["user_id"], r["department"], r["tool"], r["text"])
            for r in night["rows"].iter_rows(named=True)
        }
        assert got == rows
        # every row and every unreadable line names its file and line
        assert night["rows"].get_column("source_line").null_count() == 0
        for rejected in night["staged"].rejected:
            assert rejected.file.endswith(f"{fmt}.jsonl")
            assert rejected.line is not None


def test_bad_records_are_quarantined_with_file_line_and_reason(tmp_path: Path) -> None:
    night = _night(FIXTURES / "openai-chat.jsonl", tmp_path)
    rejected = {(r.line, r.check) for r in night["staged"].rejected}
    assert rejected == {(4, "source:unparseable_json"), (5, "text:no_user_turn")}
    # the detail never quotes the record: a broken line may hold a prompt
    for r in night["staged"].rejected:
        assert "role" not in r.detail
    lit = _night(FIXTURES / "litellm.jsonl", tmp_path)
    assert lit["quarantine"].get_column("source_line").to_list() == [6]
    assert lit["quarantine"].get_column("failed_checks").to_list() == [["timestamp:parseable"]]


def test_otel_spans_that_hold_no_prompt_are_skipped_and_said(tmp_path: Path) -> None:
    night = _night(FIXTURES / "otel-genai.jsonl", tmp_path)
    assert night["staged"].spans_skipped == 2  # an HTTP span and an embeddings call
    assert any("spans that hold no prompt" in w for w in night["staged"].warnings)
    # two spans of one OTLP line keep that line
    lines = dict(night["rows"].select("prompt_id", "source_line").iter_rows())
    assert lines["5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"] == 1


def test_first_turn_rule_and_column_mapping(tmp_path: Path) -> None:
    night = _night(
        FIXTURES / "litellm.jsonl",
        tmp_path,
        prompt_turn="first",
        mapping={"metadata.user_api_key_team_id": "department"},
    )
    rows = {r["prompt_id"]: r for r in night["rows"].iter_rows(named=True)}
    assert rows["litellm-req-002"]["text"] == "first question"
    # the mapping wins over the format's own attribute where the record has it
    assert rows["litellm-req-001"]["department"] == "team-17"
    assert rows["litellm-req-002"]["department"] == "Engineering"


def test_contract_files_are_never_taken_for_a_gateway_format(tmp_path: Path) -> None:
    row = {
        "prompt_id": "c1",
        "timestamp": "2026-10-07T09:00:00Z",
        "user_id": "u1",
        "department": "Sales",
        "text": "hello",
        "messages": [{"role": "user", "content": "not this"}],
    }
    (tmp_path / "in.jsonl").write_text(json.dumps(row) + "\n")
    night = _night(tmp_path / "in.jsonl", tmp_path)
    assert night["rows"].get_column("text").to_list() == ["hello"]


def test_a_folder_mixes_formats_and_the_contract(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    for fmt in EXPECTED:
        (folder / f"{fmt}.jsonl").write_bytes((FIXTURES / f"{fmt}.jsonl").read_bytes())
    pl.DataFrame(
        {
            "prompt_id": ["c1"],
            "timestamp": ["2026-10-07T09:00:00Z"],
            "user_id": ["u1"],
            "department": ["Sales"],
            "text": ["hello"],
        }
    ).write_csv(folder / "contract.csv")
    night = _night(folder, tmp_path / "work")
    assert night["loaded"] == sum(e[0] for e in EXPECTED.values()) + 1
    assert night["read"] == night["loaded"] + night["quarantined"] + night["duplicates"]


def test_ambiguous_or_unknown_shapes_stay_in_the_contract() -> None:
    assert detect_format([{"messages": [], "call_type": "x"}, {"resourceSpans": []}]) is None
    assert detect_format([{"foo": 1}]) is None
    assert detect_format(["not an object", {"messages": []}]) == "openai-chat"


def test_explicit_format_needs_json_lines(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="JSON Lines"):
        stage_source(
            str(tmp_path / "in.csv"),
            DAY,
            tmp_path / "out.parquet",
            {},
            ColumnDefaults(),
            "UTC",
            chunk_size=10,
            source_format="langfuse",
        )


def test_multi_part_content_keeps_only_text() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "a"},
                {"type": "input_audio", "input_audio": {"data": "..."}},
                {"type": "text", "text": "b"},
            ],
        }
    ]
    assert user_turn(messages, "last") == "a\nb"
    assert user_turn([{"role": "assistant", "content": "x"}], "last") is None


def test_a_record_of_unexpected_shape_is_bad_input_not_a_crash() -> None:
    from insight_core.prep.gateway_formats import GatewayRecordError

    with pytest.raises(GatewayRecordError) as caught:
        map_record("otel-genai", {"resourceSpans": [{"scopeSpans": "oops"}]}, GatewayOptions())
    assert caught.value.check == "source:unexpected_shape"
