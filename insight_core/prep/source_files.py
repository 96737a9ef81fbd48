"""Where a source's rows are: its files (a file, or a folder of them) or a ``datasets`` source,
and the lazy scan of each file with every row tagged by its file and line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from insight_core.errors import SourceError
from insight_core.prep.staged import FILE_TAG, LINE_TAG

FILE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".jsonl": "ndjson", ".ndjson": "ndjson"}
HUB_PREFIX = "hf://"
# Lines before the first record: a CSV file's header.
_HEADER_LINES = {"csv": 1, "ndjson": 0, "parquet": 0}


def resolve_location(location: str, run_date: date) -> str:
    """Fill a ``{date}`` placeholder so one setting can name every night's drop."""
    return location.replace("{date}", run_date.isoformat())


def file_kind(path: Path) -> str:
    """The reader a file needs (``csv``, ``parquet`` or ``ndjson``), from its suffix."""
    kind = FILE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise SourceError(
            f"unsupported file type '{path.suffix}' for {path} (use csv, parquet or jsonl)"
        )
    return kind


def scan_file(path: Path, read_from: Path | None = None) -> pl.LazyFrame:
    """Lazy scan of one file, every row tagged with its file and (1-based) line.

    ``read_from`` is the file's decoded UTF-8 copy, if it needed one; rows still name ``path``.
    The line assumes one record per line (exact unless a file has blank lines or quoted
    line breaks); lines rejected by the careful reader always carry their exact line.
    """
    kind = file_kind(path)
    read_from = read_from or path
    if kind == "csv":
        frame = pl.scan_csv(read_from, infer_schema=False)
    elif kind == "parquet":
        frame = pl.scan_parquet(read_from)
    else:
        frame = pl.scan_ndjson(read_from, infer_schema_length=None)
    return frame.with_row_index(LINE_TAG, offset=1 + _HEADER_LINES[kind]).with_columns(
        pl.lit(str(path)).alias(FILE_TAG)
    )


def _is_dataset_folder(path: Path) -> bool:
    return (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()


def load_dataset_source(location: str, split: str | None) -> pl.LazyFrame:
    """The rows of a ``datasets`` source (a saved folder, or ``hf://owner/name``)."""
    try:
        from insight_core.prep import dataset_source  # lazy: pyarrow (datasets loads it, pandas)
    except ImportError as exc:  # pragma: no cover - datasets is a declared dependency
        raise SourceError("the 'datasets' package is needed to read dataset sources") from exc
    hub_name = location.removeprefix(HUB_PREFIX) if location.startswith(HUB_PREFIX) else None
    return dataset_source.load(location, split, hub_name)


def looks_like_hub_dataset(location: str) -> bool:
    """Whether ``location`` names a hub dataset: only the explicit ``hf://owner/name`` form does;
    a local path that does not exist is an error, never a hub lookup."""
    return location.startswith(HUB_PREFIX)


def list_source_files(location: str) -> list[Path] | None:
    """The files of a file or folder source; None for a ``datasets`` source.

    Only ``hf://owner/name`` reaches the hub; any other location that does not exist (a
    relative ``dir/name`` included) is "source not found".
    """
    if looks_like_hub_dataset(location):
        return None
    path = Path(location)
    if not path.exists():
        hint = ""
        if location.count("/") == 1 and not path.suffix and not location.startswith((".", "~")):
            hint = f" (a hub dataset is named {HUB_PREFIX}{location})"
        raise SourceError(f"source not found: {location}{hint}")
    if path.is_dir():
        if _is_dataset_folder(path):
            return None
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in FILE_SUFFIXES)
        if not files:
            raise SourceError(f"no csv, parquet or jsonl files in folder {location}")
        return files
    file_kind(path)
    return [path]


def concat_frames(frames: list[pl.LazyFrame]) -> pl.LazyFrame:
    """The rows of several files as one frame (one file's frame as it is)."""
    if len(frames) == 1:
        return frames[0]
    # Files disagree on types (a number column in one, text in another): all text here,
    # to_contract casts to the contract anyway.
    return pl.concat(
        [f.with_columns(pl.all().exclude(LINE_TAG).cast(pl.String)) for f in frames],
        how="diagonal_relaxed",
    )
