from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from insight_core.errors import SourceError
from insight_core.prep.ingest import (
    ColumnDefaults,
    chunk_bounds,
    parse_timestamps,
    read_chunk,
    stage_source,
)

pytestmark = pytest.mark.unit

DAY = date(2026, 10, 5)
ROWS = [
    {
        "prompt_id": "a",
        "timestamp": "2026-10-05T09:00:00+02:00",
        "user_id": "u1",
        "department": "Sales",
        "text": "hello",
        "tool": "chat",
    },
    {
        "prompt_id": "b",
        "timestamp": "2026-10-05T10:00:00Z",
        "user_id": "u2",
        "department": "Legal",
        "text": "nda review",
        "tool": None,
    },
]


def _stage(source: Path | str, tmp_path: Path, **kwargs: object) -> pl.DataFrame:
    out = tmp_path / "staged.parquet"
    staged = stage_source(
        str(source), DAY, out, kwargs.get("mapping", {}), ColumnDefaults(), "UTC", chunk_size=1
    )
    frame = pl.read_parquet(out)
    assert frame.height == staged.rows_staged == staged.rows_read
    return frame


def test_csv_parquet_and_jsonl_read_the_same(tmp_path: Path) -> None:
    frame = pl.DataFrame(ROWS)
    frame.write_csv(tmp_path / "in.csv")
    frame.write_parquet(tmp_path / "in.parquet")
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS))
    staged = [_stage(tmp_path / f"in.{ext}", tmp_path) for ext in ("csv", "parquet", "jsonl")]
    # every row knows its file and line (a CSV file's first record is on line 2)
    assert staged[0].get_column("source_file").to_list() == [str(tmp_path / "in.csv")] * 2
    assert [s.get_column("source_line").to_list() for s in staged] == [[2, 3], [1, 2], [1, 2]]
    staged = [s.drop("source_row", "source_file", "source_line") for s in staged]
    assert staged[0].get_column("prompt_id").to_list() == ["a", "b"]
    assert staged[0].equals(staged[1]) and staged[1].equals(staged[2])


def test_folder_of_files_is_one_source(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    pl.DataFrame(ROWS[:1]).write_csv(folder / "part1.csv")
    (folder / "part2.jsonl").write_text(json.dumps(ROWS[1]))
    assert sorted(_stage(folder, tmp_path).get_column("prompt_id").to_list()) == ["a", "b"]


def test_datasets_folder_is_read(tmp_path: Path) -> None:
    import datasets

    datasets.Dataset.from_list([{"act": "Poet", "prompt": "write a poem"}]).save_to_disk(
        str(tmp_path / "ds")
    )
    frame = _stage(tmp_path / "ds", tmp_path, mapping={"prompt": "text"})
    assert frame.item(0, "text") == "write a poem"
    # missing contract columns get defaults, ids are synthesised deterministically
    assert frame.item(0, "department") == "Unassigned"
    assert frame.item(0, "user_id") == "unknown"
    assert frame.item(0, "timestamp").startswith("2026-10-05T00:00:00")
    again = _stage(tmp_path / "ds", tmp_path, mapping={"prompt": "text"})
    assert again.item(0, "prompt_id") == frame.item(0, "prompt_id")


def test_date_placeholder_and_missing_source(tmp_path: Path) -> None:
    pl.DataFrame(ROWS).write_csv(tmp_path / "2026-10-05.csv")
    assert _stage(str(tmp_path / "{date}.csv"), tmp_path).height == 2
    with pytest.raises(SourceError, match="source not found"):
        _stage(tmp_path / "missing.csv", tmp_path)


def test_missing_text_column_names_the_fix(tmp_path: Path) -> None:
    pl.DataFrame({"prompt": ["x"]}).write_csv(tmp_path / "in.csv")
    with pytest.raises(SourceError, match="no 'text' column"):
        _stage(tmp_path / "in.csv", tmp_path)


def test_timestamps_parse_to_utc_or_null() -> None:
    frame = pl.DataFrame(
        {"timestamp": ["2026-10-05T09:00:00+02:00", "2026-10-05 07:00", "yesterday", None]}
    )
    parsed = parse_timestamps(frame, "Europe/Berlin").get_column("event_ts").to_list()
    assert parsed[0].hour == 7 and parsed[0].tzinfo is not None
    assert parsed[1].hour == 5  # naive values are read in the configured timezone
    assert parsed[2] is None and parsed[3] is None


def test_chunks_cover_every_row(tmp_path: Path) -> None:
    assert chunk_bounds(5, 2) == [(0, 2), (2, 2), (4, 1)]
    assert chunk_bounds(0, 2) == []
    pl.DataFrame(ROWS).write_csv(tmp_path / "in.csv")
    _stage(tmp_path / "in.csv", tmp_path)
    assert read_chunk(tmp_path / "staged.parquet", 1, 1).item(0, "prompt_id") == "b"
