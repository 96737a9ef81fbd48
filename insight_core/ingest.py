"""Readers for prompt logs and their mapping onto the input contract.

Contract columns: ``prompt_id``, ``timestamp`` (timezone-aware), ``user_id``, ``department``,
``text`` and optional ``tool``. Sources: CSV, Parquet, JSON Lines, a folder of those, a local
``datasets`` folder (``save_to_disk``) or a hub dataset id (``hf://owner/name`` or
``owner/name``; only reaches the network when the user names one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from insight_core.errors import SourceError

CONTRACT_COLUMNS = ("prompt_id", "timestamp", "user_id", "department", "text", "tool")
REQUIRED_COLUMNS = ("text",)
FILE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".jsonl": "ndjson", ".ndjson": "ndjson"}


@dataclass(frozen=True)
class ColumnDefaults:
    """Values used where the source lacks a contract column."""

    department: str = "Unassigned"
    user_id: str = "unknown"
    tool: str | None = None


def resolve_location(location: str, run_date: date) -> str:
    """Fill a ``{date}`` placeholder so one setting can name every night's drop."""
    return location.replace("{date}", run_date.isoformat())


def looks_like_hub_dataset(location: str) -> bool:
    """Whether ``location`` names a hub dataset (``hf://owner/name`` or ``owner/name``) rather
    than a local path; a local path that does not exist is an error, never a hub lookup."""
    return not Path(location).exists() and (
        location.startswith("hf://") or (location.count("/") == 1 and not Path(location).suffix)
    )


def _scan_file(path: Path) -> pl.LazyFrame:
    kind = FILE_SUFFIXES.get(path.suffix.lower())
    if kind == "csv":
        return pl.scan_csv(path, infer_schema=False)
    if kind == "parquet":
        return pl.scan_parquet(path)
    if kind == "ndjson":
        return pl.scan_ndjson(path, infer_schema_length=None)
    raise SourceError(
        f"unsupported file type '{path.suffix}' for {path} (use csv, parquet or jsonl)"
    )


def _is_dataset_folder(path: Path) -> bool:
    return (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()


def _load_dataset(location: str, split: str | None) -> pl.LazyFrame:
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a declared dependency
        raise SourceError("the 'datasets' package is needed to read dataset sources") from exc
    path = Path(location)
    try:
        if path.exists():
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(location.removeprefix("hf://"))
    except Exception as exc:  # datasets raises many types; all mean "cannot read this source"
        raise SourceError(f"cannot load dataset '{location}': {exc}".splitlines()[0]) from exc
    if isinstance(loaded, datasets.DatasetDict):
        name = split or ("train" if "train" in loaded else next(iter(loaded)))
        loaded = loaded[name]
    return pl.from_arrow(loaded.data.table).lazy()  # type: ignore[union-attr]


def scan_source(location: str, dataset_split: str | None = None) -> pl.LazyFrame:
    """Lazily open a source; raises :class:`SourceError` with a clear message if it can't."""
    path = Path(location)
    if looks_like_hub_dataset(location):
        return _load_dataset(location, dataset_split)
    if not path.exists():
        raise SourceError(f"source not found: {location}")
    if path.is_dir():
        if _is_dataset_folder(path):
            return _load_dataset(location, dataset_split)
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in FILE_SUFFIXES)
        if not files:
            raise SourceError(f"no csv, parquet or jsonl files in folder {location}")
        frames = [_scan_file(f).with_columns(pl.all().cast(pl.String)) for f in files]
        return pl.concat(frames, how="diagonal_relaxed")
    return _scan_file(path)


def _synthetic_prompt_id(location: str) -> pl.Expr:
    salt = hashlib.sha256(location.encode()).hexdigest()[:8]
    return pl.lit(f"{salt}-") + pl.concat_str(
        [pl.col("source_row").cast(pl.String), pl.col("text").fill_null("")]
    ).hash(seed=0).cast(pl.String)


def to_contract(
    frame: pl.LazyFrame,
    location: str,
    run_date: date,
    mapping: Mapping[str, str],
    defaults: ColumnDefaults,
    tz: str,
) -> pl.LazyFrame:
    """Rename mapped columns, add defaults for missing ones and cast everything to text.

    The raw timestamp stays text here; :func:`parse_timestamps` turns it into UTC datetimes so
    unparseable values can be quarantined with the original string.
    """
    frame = frame.with_row_index("source_row")
    present = frame.collect_schema().names()
    renames = {src: dst for src, dst in mapping.items() if src in present}
    frame = frame.rename(renames)
    present = frame.collect_schema().names()
    missing_required = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing_required:
        raise SourceError(
            f"source {location} has no '{missing_required[0]}' column (columns: "
            f"{', '.join(c for c in present if c != 'source_row')}); map one with "
            "INSIGHT_COLUMN_MAPPING or --text-column"
        )
    run_start = datetime.combine(run_date, time(0), tzinfo=ZoneInfo(tz)).isoformat()
    fills: dict[str, pl.Expr] = {
        "timestamp": pl.lit(run_start),
        "user_id": pl.lit(defaults.user_id),
        "department": pl.lit(defaults.department),
        "tool": pl.lit(defaults.tool, dtype=pl.String),
    }
    frame = frame.with_columns(
        [expr.alias(name) for name, expr in fills.items() if name not in present]
    )
    frame = frame.with_columns(
        [
            pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f%:z")
            if isinstance(frame.collect_schema()[c], pl.Datetime)
            and frame.collect_schema()[c].time_zone  # type: ignore[union-attr]
            else pl.col(c).cast(pl.String)
            for c in ("timestamp", "user_id", "department", "text", "tool")
        ]
    )
    if "prompt_id" not in present:
        frame = frame.with_columns(_synthetic_prompt_id(location).alias("prompt_id"))
    frame = frame.with_columns(pl.col("prompt_id").cast(pl.String))
    return frame.select("source_row", *CONTRACT_COLUMNS)


def _parse_one(value: str | None, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def parse_timestamps(frame: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Add ``event_ts`` (UTC) parsed from ISO 8601 ``timestamp`` text; null where unparseable.

    Naive timestamps are read in the configured timezone ``tz``.
    """
    zone = ZoneInfo(tz)
    parsed = [_parse_one(v, zone) for v in frame.get_column("timestamp").to_list()]
    return frame.with_columns(pl.Series("event_ts", parsed, dtype=pl.Datetime("us", "UTC")))


def stage_source(
    location: str,
    run_date: date,
    destination: Path,
    mapping: Mapping[str, str],
    defaults: ColumnDefaults,
    tz: str,
    chunk_size: int,
    dataset_split: str | None = None,
) -> int:
    """Stream a source into one Parquet file in contract form; returns rows read.

    Row groups match ``chunk_size`` so later stages read one chunk at a time and memory does
    not grow with the batch.
    """
    resolved = resolve_location(location, run_date)
    frame = to_contract(
        scan_source(resolved, dataset_split), resolved, run_date, mapping, defaults, tz
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        frame.sink_parquet(destination, row_group_size=chunk_size)
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"cannot read source {resolved}: {exc}".splitlines()[0]) from exc
    return pl.scan_parquet(destination).select(pl.len()).collect().item()


def read_chunk(path: Path, offset: int, length: int) -> pl.DataFrame:
    """One chunk of a staged Parquet file."""
    return pl.scan_parquet(path).slice(offset, length).collect()


def chunk_bounds(total_rows: int, chunk_size: int) -> list[tuple[int, int]]:
    """(offset, length) pairs covering ``total_rows`` in chunks of ``chunk_size``."""
    return [
        (offset, min(chunk_size, total_rows - offset))
        for offset in range(0, total_rows, chunk_size)
    ]
