"""Bad input never sinks good rows: a corpus of broken lines, bytes and files.

Each case checks what is staged (the good rows), what is rejected (with file and line) and
that the counts reconcile: read = staged + rejected.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from insight_core.csv_output import neutralise_formulas, safe_csv
from insight_core.errors import SourceError
from insight_core.prep.ingest import (
    ColumnDefaults,
    RejectedInput,
    StagedSource,
    TextEncoding,
    detect_encoding,
    rejected_frame,
    stage_source,
)

pytestmark = pytest.mark.unit

DAY = date(2026, 10, 5)


def _record(prompt_id: str, text: str = "how do I reset my password") -> dict[str, str]:
    return {
        "prompt_id": prompt_id,
        "timestamp": "2026-10-05T09:00:00Z",
        "user_id": "u1",
        "department": "Sales",
        "text": text,
    }


def _line(prompt_id: str, text: str = "how do I reset my password") -> bytes:
    return json.dumps(_record(prompt_id, text)).encode() + b"\n"


def _stage(
    source: Path | str, tmp_path: Path, chunk_size: int = 2
) -> tuple[StagedSource, pl.DataFrame]:
    out = tmp_path / "work" / "staged.parquet"
    staged = stage_source(str(source), DAY, out, {}, ColumnDefaults(), "UTC", chunk_size)
    frame = pl.read_parquet(out)
    assert frame.height == staged.rows_staged
    assert staged.rows_read == staged.rows_staged + len(staged.rejected)
    return staged, frame


def test_bad_json_line_is_rejected_with_file_and_line_and_the_rest_loads(tmp_path: Path) -> None:
    source = tmp_path / "night.jsonl"
    source.write_bytes(
        _line("a") + b"{not json at all\n" + _line("b") + b"\n" + b"[1, 2]\n" + _line("c")
    )
    staged, frame = _stage(source, tmp_path)
    assert frame.get_column("prompt_id").to_list() == ["a", "b", "c"]
    # the blank line is no record; every other line is read exactly once
    assert staged.rows_read == 5
    assert [(r.file, r.line, r.check) for r in staged.rejected] == [
        (str(source), 2, "source:unparseable_json"),
        (str(source), 5, "source:not_a_json_object"),
    ]
    # good rows keep their exact line too
    assert frame.get_column("source_line").to_list() == [1, 3, 6]
    assert any("2 unreadable lines/files quarantined" in w for w in staged.warnings)


def test_rejected_record_names_file_and_line_but_not_the_content(tmp_path: Path) -> None:
    source = tmp_path / "night.jsonl"
    source.write_bytes(_line("a") + b'{"user_id": "jane.doe", "text": "secret\n')
    staged, _ = _stage(source, tmp_path)
    quarantine = rejected_frame(staged.rejected)
    assert quarantine.height == 1
    row = quarantine.row(0, named=True)
    assert (row["source_file"], row["source_line"]) == (str(source), 2)
    assert row["failed_checks"] == ["source:unparseable_json"]
    record = json.loads(row["record"])
    assert record["source_file"] == str(source) and record["source_line"] == 2
    assert "jane.doe" not in row["record"] and "secret" not in row["record"]


def test_invalid_utf8_byte_is_replaced_and_counted(tmp_path: Path) -> None:
    source = tmp_path / "night.jsonl"
    source.write_bytes(
        _line("a") + _line("b", "caf\udce9").replace(b"\\udce9", b"\xe9") + _line("c")
    )
    staged, frame = _stage(source, tmp_path)
    assert frame.get_column("prompt_id").to_list() == ["a", "b", "c"]
    assert frame.filter(pl.col("prompt_id") == "b").item(0, "text") == "caf\ufffd"
    assert staged.lines_bytes_replaced == 1 and not staged.rejected
    assert any("U+FFFD on 1 lines" in w for w in staged.warnings)


def test_latin1_csv_is_read_with_replacement(tmp_path: Path) -> None:
    source = tmp_path / "night.csv"
    text = "prompt_id,timestamp,user_id,department,text\n"
    text += "a,2026-10-05T09:00:00Z,u1,Sales,résumé tips for a café job\n"
    text += "b,2026-10-05T09:00:00Z,u2,Sales,plain ascii\n"
    source.write_bytes(text.encode("latin-1"))
    staged, frame = _stage(source, tmp_path)
    assert frame.get_column("text").to_list() == [
        "r\ufffdsum\ufffd tips for a caf\ufffd job",
        "plain ascii",
    ]
    assert frame.get_column("source_line").to_list() == [2, 3]
    assert staged.lines_bytes_replaced == 1 and staged.rows_read == 2


def test_ragged_csv_line_is_rejected_and_short_lines_are_padded(tmp_path: Path) -> None:
    source = tmp_path / "night.csv"
    source.write_text(
        "prompt_id,text,tool\n"
        "a,first,chat\n"
        "b,second,chat,surplus\n"  # more fields than the header
        '"c","multi\nline text",chat\n'  # a quoted line break: one record on lines 4-5
        "d,short\n"  # fewer fields: the missing tool is null, as on the fast path
    )
    staged, frame = _stage(source, tmp_path)
    assert frame.get_column("prompt_id").to_list() == ["a", "c", "d"]
    assert frame.get_column("source_line").to_list() == [2, 4, 6]
    assert frame.filter(pl.col("prompt_id") == "d").item(0, "tool") is None
    assert [(r.line, r.check) for r in staged.rejected] == [(3, "source:ragged_line")]
    assert "4 fields where the header has 3" in staged.rejected[0].detail


def test_one_unreadable_file_in_a_folder_of_good_files(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    pl.DataFrame([_record("a"), _record("b")]).write_parquet(folder / "part1.parquet")
    (folder / "part2.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    (folder / "part3.jsonl").write_bytes(_line("c") + b"oops\n" + _line("d"))
    pl.DataFrame([_record("e")]).write_csv(folder / "part4.csv")
    staged, frame = _stage(folder, tmp_path)
    assert sorted(frame.get_column("prompt_id").to_list()) == ["a", "b", "c", "d", "e"]
    rejected = {(Path(r.file).name, r.line, r.check) for r in staged.rejected}
    assert rejected == {
        ("part2.parquet", None, "source:unreadable_file"),
        ("part3.jsonl", 2, "source:unparseable_json"),
    }
    # an unreadable file counts as one row read and one quarantined
    assert staged.rows_read == 5 + 2
    by_id = dict(zip(frame["prompt_id"], frame["source_file"], strict=True))
    assert Path(by_id["e"]).name == "part4.csv" and Path(by_id["c"]).name == "part3.jsonl"


def test_careful_reader_keeps_memory_flat_in_chunks(tmp_path: Path) -> None:
    source = tmp_path / "night.jsonl"
    lines = [_line(f"p{i}") for i in range(25)]
    lines[10] = b"\x00\x01 binary junk\n"
    source.write_bytes(b"".join(lines))
    out = tmp_path / "work" / "staged.parquet"
    staged = stage_source(str(source), DAY, out, {}, ColumnDefaults(), "UTC", chunk_size=4)
    assert staged.rows_staged == 24 and [r.line for r in staged.rejected] == [11]
    assert pl.read_parquet_schema(out)["source_line"] == pl.Int64
    # staging parts are cleaned up; only the staged file is left
    assert sorted(p.name for p in out.parent.iterdir()) == ["staged.parquet"]


@pytest.mark.parametrize("content", [b"prompt_id,text\n", b""], ids=["header-only", "zero-bytes"])
def test_file_without_rows_is_a_valid_night_that_says_so(tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "night.csv"
    source.write_bytes(content)
    staged, frame = _stage(source, tmp_path)
    assert staged.rows_read == 0 and frame.height == 0
    assert f"source had no rows: {source}" in staged.warnings


@pytest.mark.parametrize(
    "location",
    ["logs/night", "./night", "~/nowhere/night", "night.csv", "night.jsonl", "night.parquet"],
)
def test_missing_path_is_source_not_found_not_a_hub_id(tmp_path: Path, location: str) -> None:
    with pytest.raises(SourceError, match=f"source not found: {location}"):
        _stage(location, tmp_path)


def test_bare_owner_name_hints_at_the_explicit_hub_form(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"source not found: owner/name .*hf://owner/name"):
        _stage("owner/name", tmp_path)


def test_only_the_hf_prefix_reaches_the_hub(tmp_path: Path) -> None:
    # HF_HUB_OFFLINE is set for tests: the hub loader is tried and fails offline.
    with pytest.raises(SourceError, match="cannot load dataset 'hf://owner/name'"):
        _stage("hf://owner/name", tmp_path)


def test_formula_cells_are_neutralised_and_numbers_stay_numbers() -> None:
    frame = pl.DataFrame(
        {
            "text": ['=HYPERLINK("http://x","y")', "+1 555 call", "-2", "@SUM(A1)", "\tx", "ok"],
            "n": [-1, 2, 3, 4, 5, 6],
            "share": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    safe = neutralise_formulas(frame)
    assert safe.get_column("text").to_list() == [
        '\'=HYPERLINK("http://x","y")',
        "'+1 555 call",
        "-2",
        "'@SUM(A1)",
        "'\tx",
        "ok",
    ]
    assert safe.get_column("n").to_list() == [-1, 2, 3, 4, 5, 6]
    csv_text = safe_csv(frame)
    assert ",-1,-0.5\n" in csv_text and "\n-2,3,0.2\n" in csv_text and "\n=" not in csv_text


def test_sql_csv_output_escapes_formulas(tmp_path: Path) -> None:
    from flows.cli import app

    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "CREATE TABLE t AS SELECT '=HYPERLINK(''http://evil'',''x'')' AS label, -3 AS n"
        )
    result = CliRunner().invoke(
        app, ["--home", str(home), "sql", "SELECT label, n FROM t", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    cells = list(csv.reader(io.StringIO(result.output)))
    assert cells == [["label", "n"], ["'=HYPERLINK('http://evil','x')", "-3"]]


def test_model_list_shows_the_champion_alias(tmp_path: Path) -> None:
    from flows.cli import app
    from insight_core.lifecycle.promotion import open_registry
    from insight_core.settings import InsightSettings

    home = tmp_path / "home"
    registry = open_registry(InsightSettings(home=home))
    registry.client.create_registered_model(registry.name)
    for source in ("bundle-a", "bundle-b"):
        registry.client.create_model_version(
            registry.name, source=str(tmp_path / source), tags={"bundle_version": source}
        )
    registry.set_champion("1", "first model")
    versions = {v["version"]: v["aliases"] for v in registry.versions()}
    assert versions == {"2": [], "1": ["champion"]}
    result = CliRunner().invoke(app, ["--home", str(home), "model", "list"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "bundle-" in line]
    assert "champion" in next(r for r in rows if "bundle-a" in r)
    assert "champion" not in next(r for r in rows if "bundle-b" in r)


# ---- encodings: a byte order mark (or the NULs of wide text) decides how a file is decoded ----

ENCODINGS = [
    ("utf-8-sig", b""),
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32-be", codecs.BOM_UTF32_BE),
]


def _encoded(text: str, codec: str, bom: bytes) -> bytes:
    return bom + text.encode(codec)  # utf-8-sig writes its own mark


@pytest.mark.parametrize(("codec", "bom"), ENCODINGS, ids=[c for c, _ in ENCODINGS])
@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_marked_utf16_utf32_and_utf8_sig_files_are_decoded(
    tmp_path: Path, codec: str, bom: bytes, kind: str
) -> None:
    rows = [_record("a", "café ☕ and 日本語"), _record("b", "second\u2028line")]
    if kind == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        text = pl.DataFrame(rows).write_csv()
    source = tmp_path / f"night.{kind}"
    source.write_bytes(_encoded(text, codec, bom))
    staged, frame = _stage(source, tmp_path)
    assert frame.get_column("prompt_id").to_list() == ["a", "b"]
    assert frame.get_column("text").to_list() == [r["text"] for r in rows]
    assert frame.get_column("source_file").to_list() == [str(source)] * 2
    first_line = 2 if kind == "csv" else 1
    assert frame.get_column("source_line").to_list() == [first_line, first_line + 1]
    assert not staged.rejected and staged.lines_bytes_replaced == 0
    # the decoded copy was raw input too: gone with the staging parts
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["staged.parquet"]


def test_utf16_file_with_a_bad_line_goes_the_careful_way_with_exact_lines(tmp_path: Path) -> None:
    text = (_line("a") + b"{broken\n" + _line("b")).decode()
    source = tmp_path / "night.jsonl"
    source.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le") + b"\x00")  # odd last byte
    staged, frame = _stage(source, tmp_path)
    assert frame.get_column("prompt_id").to_list() == ["a", "b"]
    assert frame.get_column("source_line").to_list() == [1, 3]
    # a truncated last character is a line of its own, replaced, counted and quarantined
    assert [(r.file, r.line, r.check) for r in staged.rejected] == [
        (str(source), 2, "source:unparseable_json"),
        (str(source), 4, "source:unparseable_json"),
    ]
    assert staged.lines_bytes_replaced == 1


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_unmarked_utf16_and_utf32_are_recognised_by_their_nul_bytes(
    tmp_path: Path, codec: str
) -> None:
    source = tmp_path / "night.jsonl"
    source.write_bytes((_line("a") + _line("b")).decode().encode(codec))
    _, frame = _stage(source, tmp_path)
    assert frame.get_column("prompt_id").to_list() == ["a", "b"]


def test_detect_encoding_leaves_utf8_with_a_nul_line_alone() -> None:
    head = b"".join(_line(f"p{i}") for i in range(5)) + b"\x00\x01 binary junk\n"
    assert detect_encoding(head) == TextEncoding("utf-8", 0)
    assert detect_encoding(codecs.BOM_UTF32_LE + "x".encode("utf-32-le")).codec == "utf-32-le"
    assert detect_encoding(codecs.BOM_UTF16_LE + "x".encode("utf-16-le")).codec == "utf-16-le"


def test_file_with_lines_but_no_readable_record_fails_naming_file_and_encoding(
    tmp_path: Path,
) -> None:
    # The observed failure: UTF-16 text without a mark and with too few NULs to recognise
    # (mostly CJK), read as UTF-8: every line was quarantined and the night "succeeded" empty.
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "good.jsonl").write_bytes(_line("a"))
    text = "".join(
        json.dumps({"编号": f"{i}", "文本": "日本語の質問です" * 30}, ensure_ascii=False) + "\n"
        for i in range(3)
    )
    bad = folder / "wide.jsonl"
    bad.write_bytes(text.encode("utf-16-le"))
    assert detect_encoding(bad.read_bytes()).codec == "utf-8"  # not recognised
    with pytest.raises(SourceError) as raised:
        _stage(folder, tmp_path)
    message = str(raised.value)
    assert f"no readable record in {bad}" in message
    # read as UTF-8, a UTF-16 newline leaves a NUL at the start of the next line: 4 lines
    assert "all 4 of its lines failed to parse" in message
    assert "decoded as UTF-8 (no byte order mark)" in message
    assert "NUL characters" in message and "byte order mark" in message
    # nothing of the raw input is left behind
    assert not any(p.name.endswith(".parts") for p in (tmp_path / "work").iterdir())


def test_latin1_file_whose_every_line_is_unreadable_says_which_bytes(tmp_path: Path) -> None:
    source = tmp_path / "night.jsonl"
    source.write_bytes("{prénom\n{café\n".encode("latin-1"))
    with pytest.raises(SourceError, match=r"2 lines had bytes that are not valid UTF-8"):
        _stage(source, tmp_path)


# ---- a rerun never replaces a loaded date with fewer prompts unless told to ----


def test_publication_with_fewer_rows_is_refused_and_the_warehouse_left_intact(
    tmp_path: Path,
) -> None:
    from insight_core import warehouse
    from insight_core.errors import FewerRowsError
    from tests.unit.test_warehouse import DAY as WDAY
    from tests.unit.test_warehouse import _classified, _request, _users

    published = tmp_path / "w.duckdb"
    warehouse.publish_run(published, _request([_classified(tmp_path, WDAY, _users(6))]))
    catalog = published.read_bytes()
    files = sorted(p for p in tmp_path.rglob("*.parquet") if "partitions" in str(p))
    fewer = _request([_classified(tmp_path, WDAY, _users(5), prefix="rerun")], run_id="r2")
    nothing = replace(_request([], run_id="r3"), classified_files=[])
    for request in (fewer, nothing):
        with pytest.raises(FewerRowsError, match=r"refusing to replace 2026-10-05: 6 prompts"):
            warehouse.publish_run(published, request)
        assert published.read_bytes() == catalog  # not even ops.runs changed
        assert sorted(p for p in tmp_path.rglob("*.parquet") if "partitions" in str(p)) == files
        assert not list(tmp_path.glob(".w.duckdb.staging-*"))
    assert warehouse.loaded_rows(published, WDAY) == 6
    with pytest.raises(FewerRowsError) as raised:
        warehouse.publish_run(published, fewer)
    assert "would leave 5" in str(raised.value) and "--replace" in str(raised.value)
    # asked for: the date is replaced with fewer rows
    warehouse.publish_run(published, replace(fewer, replace=True))
    assert warehouse.loaded_rows(published, WDAY) == 5
    # as many or more rows never need asking
    warehouse.publish_run(
        published, _request([_classified(tmp_path, WDAY, _users(7), prefix="more")], run_id="r4")
    )
    assert warehouse.loaded_rows(published, WDAY) == 7


def test_run_command_offers_replace_and_hands_it_to_the_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.cli.nightly as cli_nightly
    import flows.nightly
    import flows.runners
    from flows.cli import app

    calls: list[dict[str, object]] = []

    def fake_nightly(**kwargs: object) -> None:
        calls.append(kwargs)
        raise SourceError("stop here")

    monkeypatch.setattr(cli_nightly, "prefect_ready", lambda: None)
    monkeypatch.setattr(flows.runners, "configured", lambda flow, settings: fake_nightly)
    source = tmp_path / "night.jsonl"
    source.write_bytes(_line("a"))
    monkeypatch.setenv("INSIGHT_DEMO_MODE", "true")
    home = ["--home", str(tmp_path / "home")]
    args = ["run", "--source", str(source), "--date", "2026-10-05"]
    for extra, expected in (([], False), (["--replace"], True)):
        result = CliRunner().invoke(app, [*home, *args, *extra])
        assert result.exit_code == 1 and "stop here" in result.output
        assert calls[-1]["replace"] is expected
    assert "replace" in flows.nightly.nightly.parameters.properties
    assert "replace" in flows.nightly.backfill.parameters.properties


# ---- numeric timestamps are read only with a format that says how ----


def _validated(tmp_path: Path, lines: bytes, fmt: str | None) -> tuple[list[str], dict]:
    from insight_core.prep.ingest import parse_timestamps
    from insight_core.prep.validate import validate_chunk

    source = tmp_path / "night.jsonl"
    source.write_bytes(lines)
    _, frame = _stage(source, tmp_path, chunk_size=100)
    raw = parse_timestamps(frame, "UTC", fmt)
    outcome = validate_chunk(raw, DAY, "UTC", 100, r"^[A-Za-z]+$", fmt)
    reasons = dict(
        zip(
            outcome.quarantine["prompt_id"].to_list(),
            outcome.quarantine["failed_checks"].to_list(),
            strict=True,
        )
    )
    return outcome.valid.get_column("prompt_id").to_list(), reasons


def _timed(prompt_id: str, timestamp: object) -> bytes:
    return json.dumps({**_record(prompt_id), "timestamp": timestamp}).encode() + b"\n"


NUMERIC_NIGHT = (
    _timed("iso", "2026-10-05T09:00:00Z")
    + _timed("json-int", 20261005)  # a JSON number: was read as the date 2026-10-05
    + _timed("text-int", "20261005")
    + _timed("epoch", 1791190800)  # 2026-10-05T09:00:00Z
    + _timed("words", "yesterday")
)


def test_numeric_timestamps_are_quarantined_without_a_format(tmp_path: Path) -> None:
    valid, reasons = _validated(tmp_path, NUMERIC_NIGHT, None)
    assert valid == ["iso"]
    assert reasons == {
        "json-int": ["timestamp:numeric_without_format"],
        "text-int": ["timestamp:numeric_without_format"],
        "epoch": ["timestamp:numeric_without_format"],
        "words": ["timestamp:parseable"],
    }


@pytest.mark.parametrize(
    ("fmt", "valid", "unparseable"),
    [
        ("%Y%m%d", ["iso", "json-int", "text-int"], ["epoch", "words"]),
        ("epoch_s", ["iso", "epoch"], ["json-int", "text-int", "words"]),
    ],
)
def test_a_configured_timestamp_format_reads_numbers(
    tmp_path: Path, fmt: str, valid: list[str], unparseable: list[str]
) -> None:
    loaded, reasons = _validated(tmp_path, NUMERIC_NIGHT, fmt)
    assert loaded == valid
    # with a format, a number it does not read is unparseable (20261005 s is in 1970)
    for prompt_id in unparseable:
        assert reasons[prompt_id] in (["timestamp:parseable"], ["timestamp:in_run_window"])


def test_timestamp_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from insight_core.settings import InsightSettings

    assert InsightSettings().timestamp_format is None
    for value in ("%Y%m%d%H%M%S", "epoch_ms", "%d/%m/%Y %H:%M"):
        monkeypatch.setenv("INSIGHT_TIMESTAMP_FORMAT", value)
        assert InsightSettings().timestamp_format == value
    monkeypatch.setenv("INSIGHT_TIMESTAMP_FORMAT", "YYYYMMDD")  # not a strptime format
    with pytest.raises(ValidationError):
        InsightSettings()


# ---- `insight sql`: what a cell holds is shown, never run (rich markup, terminal escapes) ----


def _sql(tmp_path: Path, query: str, *options: str, setup: str = "") -> object:
    from flows.cli import app

    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    if setup:
        with duckdb.connect(str(home / "warehouse.duckdb")) as con:
            con.execute(setup)
    return CliRunner().invoke(app, ["--home", str(home), "sql", query, *options])


def test_sql_table_shows_markup_and_escape_sequences_as_text(tmp_path: Path) -> None:
    # The observed failure: '[/bold]' raised rich's MarkupError with a traceback.
    setup = (
        "CREATE TABLE t AS SELECT '[/bold]' AS \"[red]c\", "
        "'x' || chr(27) || '[31mred' || chr(27) || ']0;t' || chr(7) AS esc, "
        "'[link=file:///x]y[/link]' AS link, 'a' || chr(8238) || 'b' AS bidi"
    )
    shown = {
        "[red]c": "[/bold]",
        "esc": "x\\x1b[31mred\\x1b]0;t\\x07",
        "link": "[link=file:///x]y[/link]",
        "bidi": "a\\u202eb",
    }
    for column, expected in shown.items():
        result = _sql(tmp_path, f'SELECT "{column}" FROM t', setup=setup)
        setup = ""
        assert result.exit_code == 0, result.output
        assert column in result.output and expected in result.output
        assert not {"\x1b", "\x07", "\u202e"} & set(result.output)


def test_sql_error_message_with_markup_is_printed_not_parsed(tmp_path: Path) -> None:
    result = _sql(tmp_path, 'SELECT * FROM "[/bold]"', setup="CREATE TABLE t AS SELECT 1 AS n")
    assert result.exit_code == 1, result.output
    assert "error:" in result.output and "[/bold]" in result.output
    assert isinstance(result.exception, SystemExit)


def test_sql_csv_exports_nested_columns_as_json(tmp_path: Path) -> None:
    result = _sql(
        tmp_path,
        "SELECT * FROM t",
        "--format",
        "csv",
        setup="CREATE TABLE t AS SELECT ['text:not_blank', '=1+1'] AS checks, "
        "{'file': 'a.csv', 'line': 3} AS origin, MAP {'k': 1} AS m, "
        "NULL::VARCHAR[] AS none, ' =1+1' AS spaced, -3 AS n",
    )
    assert result.exit_code == 0, result.output
    header, row = list(csv.reader(io.StringIO(result.output)))
    values = dict(zip(header, row, strict=True))
    assert json.loads(values["checks"]) == ["text:not_blank", "=1+1"]
    assert json.loads(values["origin"]) == {"file": "a.csv", "line": 3}
    assert json.loads(values["m"]) == {"k": 1}
    assert values["none"] == "" and values["n"] == "-3"
    assert values["spaced"] == "' =1+1"


def test_quarantine_table_exports_as_csv(tmp_path: Path) -> None:
    from insight_core import warehouse
    from tests.unit.test_warehouse import DAY as WDAY
    from tests.unit.test_warehouse import _classified, _request, _users

    home = tmp_path / "home"
    home.mkdir()
    quarantine = tmp_path / "q.parquet"
    rejected_frame(
        [RejectedInput("night.csv", 4, "source:ragged_line", "4 fields where the header has 3")]
    ).write_parquet(quarantine)
    request = _request([_classified(tmp_path, WDAY, _users(6))])
    request = replace(request, quarantine_files=[quarantine])
    request.run_record["rows_read"] = 7  # type: ignore[index]
    request.run_record["rows_quarantined"] = 1  # type: ignore[index]
    warehouse.publish_run(home / "warehouse.duckdb", request)
    result = _sql(tmp_path, "SELECT * FROM ops.quarantine", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 1 and json.loads(rows[0]["failed_checks"]) == ["source:ragged_line"]
    assert json.loads(rows[0]["record"])["source_line"] == 4


@pytest.mark.parametrize(
    "value", [" =1+1", "\u00a0=cmd|' /C calc'!A0", "  +1+2", " -2+3", "\n@SUM(A1)", "\r=1"]
)
def test_formula_after_leading_whitespace_is_neutralised(value: str) -> None:
    assert neutralise_formulas(pl.DataFrame({"t": [value]})).item(0, "t") == "'" + value


@pytest.mark.parametrize("value", [" -2", "-0.5", "+3e4", "hello = world", "a-b"])
def test_plain_numbers_and_inner_signs_stay(value: str) -> None:
    assert neutralise_formulas(pl.DataFrame({"t": [value]})).item(0, "t") == value


# ---- every hint names an option or setting that exists ----


def test_semicolon_separated_csv_gets_a_hint_run_can_follow(tmp_path: Path) -> None:
    source = tmp_path / "night.csv"
    source.write_text("prompt_id;timestamp;text\na;2026-10-05T09:00:00Z;hello\n")
    with pytest.raises(SourceError) as raised:
        _stage(source, tmp_path)
    message = str(raised.value)
    assert "looks ';'-separated" in message and "comma-separated" in message
    assert "--text-column" not in message
    source.write_text("prompt,when\nhello,2026-10-05T09:00:00Z\n")
    with pytest.raises(SourceError, match=r"""INSIGHT_COLUMN_MAPPING='\{"prompt": "text"\}'"""):
        _stage(source, tmp_path)


# Modules whose messages reach the user of a command, and that command.
HINT_SOURCES = {
    "insight_core/prep/ingest.py": "run",
    "insight_core/prep/contract.py": "run",
    "insight_core/prep/validate.py": "run",
    "insight_core/nightly/preflight.py": "run",
    "insight_core/nightly/run_start.py": "run",
    "insight_core/nightly/intake.py": "run",
    "insight_core/nightly/publication.py": "run",
    "insight_core/warehouse/publish.py": "run",
    "insight_core/warehouse/staging.py": "run",
    "insight_core/errors.py": "run",
    "insight_core/inference.py": "classify",
}


@pytest.mark.parametrize("module", sorted(HINT_SOURCES))
def test_every_option_and_setting_a_hint_names_exists(module: str) -> None:
    import re

    import typer.main

    from flows.cli import app
    from insight_core.settings import InsightSettings, TopicSettings

    text = (Path(__file__).resolve().parents[2] / module).read_text()
    command_name = HINT_SOURCES[module]
    command = typer.main.get_command(app).commands[command_name]  # type: ignore[attr-defined]
    options = {opt for param in command.params for opt in param.opts}
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    assert named - options == set(), f"{module} names options `insight {command_name}` lacks"
    settings = {f"INSIGHT_{name.upper()}" for name in InsightSettings.model_fields}
    settings |= {f"INSIGHT_TOPICS__{name.upper()}" for name in TopicSettings.model_fields}
    assert set(re.findall(r"INSIGHT_[A-Z_]*[A-Z]", text)) - settings == set()
