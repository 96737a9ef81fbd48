"""Bad input never sinks good rows: the real nightly flow on a folder of good and bad files.

Night 1 reads a folder with a demo day (plus a broken line and an invalid UTF-8 byte), an
unreadable Parquet file and a CSV with a ragged line, a conflicting duplicate id, NUL-only and
zero-width-only texts, a formula and a numeric timestamp. Night 2 re-delivers a row of night 1
(a duplicate) and the same id with another text (a conflict). Night 3 is a header-only file.
Then night 1 is rerun three times: from its files re-encoded as UTF-16/UTF-32 with byte order
marks (the same rows; the quarantine tests read this rerun's records), from a partial delivery
(refused: fewer rows) and from a UTF-16 file without a mark that cannot be read (fails naming
the file); the date keeps its rows throughout.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from insight_core import warehouse
from insight_core.demo.generator import generate_demo_logs
from insight_core.errors import FewerRowsError, SourceError
from tests.integration.conftest import invoke_cli

pytestmark = pytest.mark.integration

DAY = date(2026, 10, 7)
BROKEN_LINE = 5  # where the unparseable JSON line goes in the demo day's file
FORMULA = '=HYPERLINK("http://evil.example","click")'
CSV_ROWS = [
    # prompt_id, text  (timestamps, users and departments are filled in below)
    ("csv-ok-1", "how do I book a meeting room for next week"),
    ("csv-nul", "\x00\x00"),
    ("csv-zero-width", "\u200b\u200d\ufeff"),
    ("csv-formula", FORMULA),
]


@dataclass(frozen=True)
class BadNights:
    home: Path
    folder: Path
    demo_ids: list[str]
    expected_loaded_demo: set[str]
    conflicting_id: str
    summaries: list
    # Reruns of night 1: from re-encoded files, then the refused and the failed one.
    reencoded: object
    partial_error: BaseException
    unreadable_error: BaseException
    unreadable_file: Path
    loaded_after: list[set[str]]  # the date's prompt ids after each rerun


def _csv_text(demo_first: dict, conflicting_id: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["prompt_id", "timestamp", "user_id", "department", "text"])
    ts, user, dept = demo_first["timestamp"], demo_first["user_id"], demo_first["department"]
    for prompt_id, text in CSV_ROWS:
        writer.writerow([prompt_id, ts, user, dept, text])
    # the same id as a demo row, another text: a conflict, not a duplicate
    writer.writerow([conflicting_id, ts, user, dept, "a different question entirely"])
    text = out.getvalue()
    text += f"csv-ragged,{ts},{user},{dept},text,one field too many\n"
    # a number is no timestamp without INSIGHT_TIMESTAMP_FORMAT (Python reads it as the date)
    return text + f"csv-numeric-ts,{DAY:%Y%m%d},{user},{dept},when is the next pay day\n"


@pytest.fixture(scope="module")
def bad_nights(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> BadNights:
    home = tmp_path_factory.mktemp("insight-bad-input")
    dataset = generate_demo_logs(home / "demo", DAY, days=1, seed=11, n_users=120)
    truth = json.loads(dataset.ground_truth_file.read_text())
    lines = dataset.log_files[0].read_bytes().splitlines(keepends=True)
    records = [json.loads(line) for line in lines]
    skipped = {r["prompt_id"] for r in truth["invalid_rows"]}
    skipped |= {r["prompt_id"] for r in truth["duplicate_rows"]}
    # valid rows with an id of their own (no invalid row or duplicate shares it)
    valid = [r for r in records if r["prompt_id"] not in skipped]
    conflicting_id = valid[1]["prompt_id"]
    # one byte that is no UTF-8 (a Latin-1 e-acute) in a valid row's text: kept, replaced
    index = records.index(valid[2])
    with_byte = {**valid[2], "text": valid[2]["text"] + " caf\u00e9"}
    lines[index] = (
        json.dumps(with_byte, ensure_ascii=False).encode().replace("\u00e9".encode(), b"\xe9")
        + b"\n"
    )
    lines.insert(BROKEN_LINE - 1, b'{"prompt_id": "broken", "text": "unterminated\n')
    folder = home / "drop"
    folder.mkdir()
    (folder / "a-demo.jsonl").write_bytes(b"".join(lines))
    (folder / "b-broken.parquet").write_bytes(b"PAR1 truncated upload PAR1")
    (folder / "c-extra.csv").write_text(_csv_text(valid[0], conflicting_id))

    night2 = home / "night2.jsonl"
    redelivered = {**valid[3], "timestamp": f"{DAY + timedelta(days=1)}T10:00:00+00:00"}
    changed = {**redelivered, "prompt_id": valid[4]["prompt_id"], "text": "changed text"}
    fresh = [
        {**valid[5], "prompt_id": f"night2-{i}", "timestamp": redelivered["timestamp"]}
        for i in range(5)
    ]
    night2.write_text("\n".join(json.dumps(r) for r in [redelivered, changed, *fresh]) + "\n")
    night3 = home / "night3.csv"
    night3.write_text("prompt_id,timestamp,user_id,department,text\n")
    # Every row dated on another day (a file for the wrong date): all quarantined, not fatal.
    wrong_day = home / "wrong-day.jsonl"
    wrong_day.write_text("".join(json.dumps(r) + "\n" for r in valid[:5]))

    partial = home / "partial.jsonl"
    partial.write_text("".join(json.dumps(r) + "\n" for r in valid[:5]))
    # UTF-16 without a mark and mostly CJK text: too few NULs to recognise, no line parses
    unreadable = home / "unmarked-utf16.jsonl"
    unreadable.write_bytes(
        "".join(
            json.dumps({"prompt_id": f"w{i}", "text": "日本語の質問です" * 40}, ensure_ascii=False)
            + "\n"
            for i in range(3)
        ).encode("utf-16-le")
    )

    def loaded() -> set[str]:
        return set(
            warehouse.query(
                home / "warehouse.duckdb",
                f"SELECT prompt_id FROM core.classifications WHERE run_date = '{DAY}'",
            )["prompt_id"].to_list()
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSIGHT_HOME", str(home))
        patch.setenv("INSIGHT_DEMO_MODE", "true")
        from flows.nightly import nightly

        summaries = [
            nightly(run_date=DAY, source=str(folder)),
            nightly(run_date=DAY + timedelta(days=1), source=str(night2)),
            nightly(run_date=DAY + timedelta(days=2), source=str(night3)),
            nightly(run_date=DAY + timedelta(days=3), source=str(wrong_day)),
        ]
        loaded_after = [loaded()]
        # Night 1 again from the same paths, its text files re-encoded with byte order marks
        # (the Latin-1 byte becomes U+FFFD first, as the first run read it).
        demo_text = (folder / "a-demo.jsonl").read_bytes().decode("utf-8", errors="replace")
        (folder / "a-demo.jsonl").write_bytes(codecs.BOM_UTF16_LE + demo_text.encode("utf-16-le"))
        csv_text = (folder / "c-extra.csv").read_text()
        (folder / "c-extra.csv").write_bytes(codecs.BOM_UTF32_BE + csv_text.encode("utf-32-be"))
        reencoded = nightly(run_date=DAY, source=str(folder))
        loaded_after.append(loaded())
        with pytest.raises(FewerRowsError) as partial_error:
            nightly(run_date=DAY, source=str(partial))
        loaded_after.append(loaded())
        with pytest.raises(SourceError) as unreadable_error:
            nightly(run_date=DAY, source=str(unreadable))
        loaded_after.append(loaded())
    return BadNights(
        home,
        folder,
        [r["prompt_id"] for r in records],
        {r["prompt_id"] for r in valid},
        conflicting_id,
        summaries,
        reencoded,
        partial_error.value,
        unreadable_error.value,
        unreadable,
        loaded_after,
    )


def _query(nights: BadNights, sql: str) -> pl.DataFrame:
    return warehouse.query(nights.home / "warehouse.duckdb", sql)


def test_good_rows_load_and_every_row_is_accounted_for(bad_nights: BadNights) -> None:
    first = bad_nights.summaries[0]
    assert first.status == "succeeded"
    # demo lines + the broken line + the unreadable file (one record) + 7 CSV records
    assert first.rows_read == len(bad_nights.demo_ids) + 1 + 1 + len(CSV_ROWS) + 3
    assert first.rows_read == first.rows_loaded + first.rows_quarantined + first.rows_duplicate
    loaded = set(
        _query(bad_nights, f"SELECT prompt_id FROM core.classifications WHERE run_date = '{DAY}'")[
            "prompt_id"
        ].to_list()
    )
    assert bad_nights.expected_loaded_demo <= loaded
    assert {"csv-ok-1", "csv-formula"} <= loaded
    assert first.lines_bytes_replaced == 1
    assert any("U+FFFD" in w for w in first.warnings)
    runs = _query(bad_nights, "SELECT * FROM ops.runs WHERE status = 'succeeded'")
    assert runs.height == 5  # the four nights and the rerun from re-encoded files
    assert (
        runs["rows_read"] == runs["rows_loaded"] + runs["rows_quarantined"] + runs["rows_duplicate"]
    ).all()


def test_bad_line_and_file_are_quarantined_with_file_and_line(bad_nights: BadNights) -> None:
    quarantine = _query(
        bad_nights,
        "SELECT source_file, source_line, prompt_id, failed_checks, record "
        f"FROM ops.quarantine WHERE run_date = '{DAY}'",
    )
    by_check = {tuple(row["failed_checks"]): row for row in quarantine.iter_rows(named=True)}
    broken = by_check[("source:unparseable_json",)]
    assert broken["source_file"] == str(bad_nights.folder / "a-demo.jsonl")
    assert broken["source_line"] == BROKEN_LINE
    unreadable = by_check[("source:unreadable_file",)]
    assert unreadable["source_file"] == str(bad_nights.folder / "b-broken.parquet")
    assert unreadable["source_line"] is None
    ragged = by_check[("source:ragged_line",)]
    assert ragged["source_file"].endswith("c-extra.csv") and ragged["source_line"] == 7
    # the broken line's content is not stored, only where it was and why
    assert "unterminated" not in broken["record"]
    checks = dict(
        zip(quarantine["prompt_id"].to_list(), quarantine["failed_checks"].to_list(), strict=True)
    )
    assert checks["csv-nul"] == ["text:not_blank"]
    assert checks["csv-numeric-ts"] == ["timestamp:numeric_without_format"]
    assert checks["csv-zero-width"] == ["text:not_blank"]
    conflict = quarantine.filter(pl.col("prompt_id") == bad_nights.conflicting_id)
    assert conflict["failed_checks"].to_list() == [["prompt_id:conflicting_duplicate_id"]]
    assert conflict["source_line"].to_list() == [6]  # its CSV line
    summary = bad_nights.summaries[0]
    assert summary.quarantine_reasons["source:unreadable_file"] == 1
    assert summary.quarantine_reasons["prompt_id:conflicting_duplicate_id"] == 1


def test_redelivery_is_a_duplicate_but_a_changed_text_is_a_conflict(
    bad_nights: BadNights,
) -> None:
    second = bad_nights.summaries[1]
    assert second.status == "succeeded"
    assert (second.rows_read, second.rows_loaded) == (7, 5)
    assert second.rows_duplicate == 1 and second.rows_quarantined == 1
    assert second.quarantine_reasons == {"prompt_id:conflicting_duplicate_id": 1}


def test_header_only_night_succeeds_and_says_so(bad_nights: BadNights) -> None:
    third = bad_nights.summaries[2]
    assert third.status == "succeeded" and third.rows_read == 0
    assert any(w.startswith("source had no rows") for w in third.warnings)
    assert "source had no rows" in third.to_markdown()


def test_a_night_whose_every_row_is_of_another_day_quarantines_them_all(
    bad_nights: BadNights,
) -> None:
    wrong_day = bad_nights.summaries[3]
    assert wrong_day.status == "succeeded"
    assert wrong_day.rows_read == 5 == wrong_day.rows_quarantined
    assert wrong_day.rows_loaded == 0 and wrong_day.rows_duplicate == 0


def test_model_list_shows_the_champion(bad_nights: BadNights) -> None:
    result = invoke_cli(bad_nights.home, "model", "list")
    assert result.exit_code == 0, result.output
    assert "champion" in result.output


def test_classify_csv_output_neutralises_formulas(bad_nights: BadNights, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    pl.DataFrame({"text": [FORMULA, "reset my vpn password"], "n": [-1, 2]}).write_csv(source)
    output = tmp_path / "out.csv"
    result = invoke_cli(bad_nights.home, "classify", str(source), "-o", str(output))
    assert result.exit_code == 0, result.output
    with output.open() as written:
        rows = list(csv.DictReader(written))
    assert rows[0]["text"] == "'" + FORMULA and rows[1]["text"] == "reset my vpn password"
    assert rows[0]["n"] == "-1"  # numbers stay numbers


def test_rerun_from_utf16_and_utf32_files_loads_the_same_rows(bad_nights: BadNights) -> None:
    first, rerun = bad_nights.summaries[0], bad_nights.reencoded
    assert rerun.status == "succeeded"  # type: ignore[attr-defined]
    assert rerun.rows_loaded == first.rows_loaded  # type: ignore[attr-defined]
    assert rerun.rows_quarantined == first.rows_quarantined  # type: ignore[attr-defined]
    assert bad_nights.loaded_after[1] == bad_nights.loaded_after[0]
    assert bad_nights.loaded_after[0] >= bad_nights.expected_loaded_demo


def test_partial_rerun_is_refused_and_the_date_keeps_its_rows(bad_nights: BadNights) -> None:
    error = bad_nights.partial_error
    assert isinstance(error, FewerRowsError) and error.incoming == 5
    assert error.loaded == len(bad_nights.loaded_after[0])
    assert "--replace" in str(error) and "unchanged" in str(error)
    assert bad_nights.loaded_after[2] == bad_nights.loaded_after[0]
    failed = _query(
        bad_nights, f"SELECT error FROM ops.runs WHERE status = 'failed' AND run_date = '{DAY}'"
    )["error"].to_list()
    assert any(e.startswith("FewerRowsError: refusing to replace") for e in failed)


def test_unreadable_encoding_fails_the_night_naming_the_file(bad_nights: BadNights) -> None:
    message = str(bad_nights.unreadable_error)
    assert f"no readable record in {bad_nights.unreadable_file}" in message
    assert "UTF-8 (no byte order mark)" in message and "NUL characters" in message
    assert bad_nights.loaded_after[3] == bad_nights.loaded_after[0]
    failed = _query(
        bad_nights, f"SELECT error FROM ops.runs WHERE status = 'failed' AND run_date = '{DAY}'"
    )["error"].to_list()
    assert any("no readable record" in e for e in failed)
