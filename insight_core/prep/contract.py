"""The input contract: mapping a source's columns onto it, and parsing its timestamps."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import polars as pl

from insight_core.errors import SourceError
from insight_core.prep.staged import FILE_TAG, LINE_TAG

CONTRACT_COLUMNS = ("prompt_id", "timestamp", "user_id", "department", "text", "tool")
REQUIRED_COLUMNS = ("text",)
# A timestamp that is only a number: 20261006, 1759741200, 1759741200123.5.
_NUMERIC = re.compile(r"^[+-]?\d+(\.\d+)?$")
# Unix time formats of INSIGHT_TIMESTAMP_FORMAT: seconds per unit of the number.
EPOCH_FORMATS = {"epoch_s": 1.0, "epoch_ms": 0.001}


@dataclass(frozen=True)
class ColumnDefaults:
    """Values used where the source lacks a contract column."""

    department: str = "Unassigned"
    user_id: str = "unknown"
    tool: str | None = None


def _synthetic_prompt_id(location: str) -> pl.Expr:
    salt = hashlib.sha256(location.encode()).hexdigest()[:8]
    return pl.lit(f"{salt}-") + pl.concat_str(
        [pl.col("source_row").cast(pl.String), pl.col("text").fill_null("")]
    ).hash(seed=0).cast(pl.String)


# Separators a CSV export may use instead of a comma; the reader takes commas only.
_OTHER_SEPARATORS = {";": "';'", "\t": "tab", "|": "'|'"}


def _missing_column_message(location: str, column: str, present: list[str]) -> str:
    """Why a source lacks a contract column, with a fix that ``insight run`` can apply.

    Every option or setting a hint names must exist (tests/unit/test_bad_input.py checks).
    """
    columns = [c for c in present if c not in ("source_row", FILE_TAG, LINE_TAG)]
    message = f"source {location} has no '{column}' column (columns: {', '.join(columns)})"
    if len(columns) == 1:
        for separator, name in _OTHER_SEPARATORS.items():
            if separator in columns[0]:
                return (
                    f"{message}: it looks {name}-separated, and CSV sources are read "
                    "comma-separated; export the file with commas"
                )
    return (
        f"{message}; name the source column that holds it with INSIGHT_COLUMN_MAPPING, "
        f'e.g. INSIGHT_COLUMN_MAPPING=\'{{"prompt": "{column}"}}\''
    )


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
        raise SourceError(_missing_column_message(location, missing_required[0], present))
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
            if isinstance(dtype := frame.collect_schema()[c], pl.Datetime) and dtype.time_zone
            else pl.col(c).cast(pl.String)
            for c in ("timestamp", "user_id", "department", "text", "tool")
        ]
    )
    if "prompt_id" not in present:
        frame = frame.with_columns(_synthetic_prompt_id(location).alias("prompt_id"))
    frame = frame.with_columns(pl.col("prompt_id").cast(pl.String))
    source_file = pl.col(FILE_TAG) if FILE_TAG in present else pl.lit(location)
    source_line = pl.col(LINE_TAG) if LINE_TAG in present else pl.lit(None)
    return frame.select(
        "source_row",
        *CONTRACT_COLUMNS,
        source_file.cast(pl.String).alias("source_file"),
        source_line.cast(pl.Int64).alias("source_line"),
    )


def is_numeric_timestamp(value: str | None) -> bool:
    """Whether a timestamp's text is only a number (``20261006``, ``1759741200``)."""
    return value is not None and _NUMERIC.match(value.strip()) is not None


def _with_format(text: str, fmt: str) -> datetime | None:
    if fmt in EPOCH_FORMATS:
        if not _NUMERIC.match(text):
            return None
        try:
            return datetime.fromtimestamp(float(text) * EPOCH_FORMATS[fmt], UTC)
        except (OverflowError, OSError, ValueError):  # far outside the platform's range
            return None
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        return None


def _parse_one(value: str | None, tz: ZoneInfo, fmt: str | None) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    parsed = _with_format(text, fmt) if fmt else None
    if parsed is None:
        if _NUMERIC.match(text):
            # Python's ISO parser takes 20261006 for a date (basic format); a number is too
            # often a Unix time or a local convention to guess: only a format reads it.
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def parse_timestamps(frame: pl.DataFrame, tz: str, fmt: str | None = None) -> pl.DataFrame:
    """Add ``event_ts`` (UTC) parsed from the ``timestamp`` text; null where unparseable.

    ISO 8601 text is parsed; with ``fmt`` (``INSIGHT_TIMESTAMP_FORMAT``: a strptime format or
    ``epoch_s``/``epoch_ms``) that format is tried first. A bare number is never read as ISO
    8601 (``20261006``): without a format that reads it, it stays null. Naive timestamps are
    read in the configured timezone ``tz``.
    """
    zone = ZoneInfo(tz)
    parsed = [_parse_one(v, zone, fmt) for v in frame.get_column("timestamp").to_list()]
    return frame.with_columns(pl.Series("event_ts", parsed, dtype=pl.Datetime("us", "UTC")))


def empty_contract() -> pl.DataFrame:
    """A staged source with no rows, in contract form."""
    return pl.DataFrame(
        schema={
            "source_row": pl.UInt32,
            **dict.fromkeys(CONTRACT_COLUMNS, pl.String),
            "source_file": pl.String,
            "source_line": pl.Int64,
        }
    )
