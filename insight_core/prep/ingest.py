"""Readers for prompt logs and their mapping onto the input contract.

Contract columns: ``prompt_id``, ``timestamp`` (timezone-aware), ``user_id``, ``department``,
``text`` and optional ``tool``. Sources: CSV, Parquet, JSON Lines, a folder of those, a local
``datasets`` folder (``save_to_disk``) or a hub dataset named explicitly as ``hf://owner/name``
(the only source that reaches the network; a path that does not exist is never taken for one).

Bad input never sinks good rows. A source is first staged with one lazy polars scan (the fast
path, memory flat however large the file). Only if that scan fails is each file retried on its
own, and a CSV or JSON Lines file that still fails is read record by record (the careful path):
a line that does not parse becomes a :class:`RejectedInput` naming its file and line, invalid
UTF-8 bytes (e.g. a Latin-1 file) are replaced with U+FFFD and counted, and a file that cannot
be read at all (a corrupt Parquet file, no permission) becomes one rejected record naming it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import polars as pl

from insight_core.errors import SourceError
from insight_core.prep import gateway_formats

log = logging.getLogger(__name__)

CONTRACT_COLUMNS = ("prompt_id", "timestamp", "user_id", "department", "text", "tool")
REQUIRED_COLUMNS = ("text",)
FILE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".jsonl": "ndjson", ".ndjson": "ndjson"}
HUB_PREFIX = "hf://"
# Where each row came from; internal names so they cannot clash with a source's own columns.
FILE_TAG = "__source_file"
LINE_TAG = "__source_line"
# Lines before the first record: a CSV file's header.
_HEADER_LINES = {"csv": 1, "ndjson": 0, "parquet": 0}
# Examples of repaired lines named in the run's warning (the counter is exact).
_EXAMPLES = 5


@dataclass(frozen=True)
class ColumnDefaults:
    """Values used where the source lacks a contract column."""

    department: str = "Unassigned"
    user_id: str = "unknown"
    tool: str | None = None


@dataclass(frozen=True)
class RejectedInput:
    """A line (or, with ``line`` None, a whole file) that could not be read as a row.

    ``detail`` is the reader's message, never the content: a broken line may hold PII.
    """

    file: str
    line: int | None
    check: str
    detail: str


@dataclass
class StagedSource:
    """What staging a source produced: the rows staged and what could not be read."""

    rows_staged: int
    rejected: list[RejectedInput] = field(default_factory=list)
    # Lines whose invalid UTF-8 bytes were replaced with U+FFFD (the rows are kept).
    lines_bytes_replaced: int = 0
    # Spans of an OTel export that are no GenAI calls (HTTP, database): no records.
    spans_skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Rows staged plus rejected lines/files: every one is accounted for downstream."""
        return self.rows_staged + len(self.rejected)


def resolve_location(location: str, run_date: date) -> str:
    """Fill a ``{date}`` placeholder so one setting can name every night's drop."""
    return location.replace("{date}", run_date.isoformat())


def _file_kind(path: Path) -> str:
    kind = FILE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise SourceError(
            f"unsupported file type '{path.suffix}' for {path} (use csv, parquet or jsonl)"
        )
    return kind


def _scan_file(path: Path) -> pl.LazyFrame:
    """Lazy scan of one file, every row tagged with its file and (1-based) line.

    The line assumes one record per line (exact unless a file has blank lines or quoted
    line breaks); lines rejected by the careful reader always carry their exact line.
    """
    kind = _file_kind(path)
    if kind == "csv":
        frame = pl.scan_csv(path, infer_schema=False)
    elif kind == "parquet":
        frame = pl.scan_parquet(path)
    else:
        frame = pl.scan_ndjson(path, infer_schema_length=None)
    return frame.with_row_index(LINE_TAG, offset=1 + _HEADER_LINES[kind]).with_columns(
        pl.lit(str(path)).alias(FILE_TAG)
    )


def _is_dataset_folder(path: Path) -> bool:
    return (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()


def _load_dataset(location: str, split: str | None) -> pl.LazyFrame:
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a declared dependency
        raise SourceError("the 'datasets' package is needed to read dataset sources") from exc
    try:
        if location.startswith(HUB_PREFIX):
            loaded = datasets.load_dataset(location.removeprefix(HUB_PREFIX))
        else:
            loaded = datasets.load_from_disk(location)
    except Exception as exc:  # datasets raises many types; all mean "cannot read this source"
        raise SourceError(f"cannot load dataset '{location}': {exc}".splitlines()[0]) from exc
    if isinstance(loaded, datasets.DatasetDict):
        name = split or ("train" if "train" in loaded else next(iter(loaded)))
        loaded = loaded[name]
    return pl.from_arrow(loaded.data.table).lazy()  # type: ignore[union-attr]


def looks_like_hub_dataset(location: str) -> bool:
    """Whether ``location`` names a hub dataset: only the explicit ``hf://owner/name`` form does;
    a local path that does not exist is an error, never a hub lookup."""
    return location.startswith(HUB_PREFIX)


def _source_files(location: str) -> list[Path] | None:
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
    _file_kind(path)
    return [path]


def _concat(frames: list[pl.LazyFrame]) -> pl.LazyFrame:
    if len(frames) == 1:
        return frames[0]
    # Files disagree on types (a number column in one, text in another): all text here,
    # to_contract casts to the contract anyway.
    return pl.concat(
        [f.with_columns(pl.all().exclude(LINE_TAG).cast(pl.String)) for f in frames],
        how="diagonal_relaxed",
    )


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
            f"{', '.join(c for c in present if c not in ('source_row', FILE_TAG, LINE_TAG))});"
            " map one with "
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


class _LineReader:
    """Binary lines of a file decoded as UTF-8, invalid bytes replaced and counted."""

    def __init__(self, handle: BinaryIO, name: str, staged: StagedSource) -> None:
        self.handle = handle
        self.name = name
        self.staged = staged
        self.line = 0  # number of the last line handed out

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.line += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", errors="replace")
                self.staged.lines_bytes_replaced += 1
                if self.staged.lines_bytes_replaced <= _EXAMPLES:
                    log.warning("%s line %d: invalid UTF-8 bytes replaced", self.name, self.line)
            if self.line == 1:
                text = text.removeprefix("\ufeff")
            yield text


def _as_text(value: Any) -> str | None:
    """A JSON value as the text polars would cast it to; nested values stay JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _careful_ndjson(reader: _LineReader, staged: StagedSource) -> Iterator[dict[str, Any]]:
    for text in reader:
        if not text.strip():
            continue  # blank lines are no records (the fast path skips them too)
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            staged.rejected.append(
                RejectedInput(reader.name, reader.line, "source:unparseable_json", exc.msg)
            )
            continue
        if not isinstance(record, dict):
            staged.rejected.append(
                RejectedInput(
                    reader.name,
                    reader.line,
                    "source:not_a_json_object",
                    f"a JSON {type(record).__name__}, not an object",
                )
            )
            continue
        row: dict[str, Any] = {str(k): _as_text(v) for k, v in record.items()}
        row[LINE_TAG] = reader.line
        yield row


def _careful_csv(reader: _LineReader, staged: StagedSource) -> Iterator[dict[str, Any]]:
    records = csv.reader(reader)
    header: list[str] | None = None
    while True:
        first_line = reader.line + 1
        try:
            fields = next(records)
        except StopIteration:
            return
        except csv.Error as exc:
            staged.rejected.append(
                RejectedInput(reader.name, first_line, "source:unparseable_csv", str(exc))
            )
            continue
        if not fields:
            continue  # a blank line
        if header is None:
            header = fields
            continue
        if len(fields) > len(header):
            staged.rejected.append(
                RejectedInput(
                    reader.name,
                    first_line,
                    "source:ragged_line",
                    f"{len(fields)} fields where the header has {len(header)}",
                )
            )
            continue
        # Like the fast path: missing trailing fields and empty fields are null.
        padded = fields + [""] * (len(header) - len(fields))
        row: dict[str, Any] = {
            name: (value or None) for name, value in zip(header, padded, strict=True)
        }
        row[LINE_TAG] = first_line
        yield row


def _write_part(rows: list[dict[str, Any]], file: Path, target: Path) -> None:
    frame = pl.from_dicts(rows, infer_schema_length=None)
    frame = frame.with_columns(
        pl.all().exclude(LINE_TAG).cast(pl.String), pl.col(LINE_TAG).cast(pl.Int64)
    ).with_columns(pl.lit(str(file)).alias(FILE_TAG))
    frame.write_parquet(target)


def _careful_gateway(
    reader: _LineReader, staged: StagedSource, fmt: str, options: gateway_formats.GatewayOptions
) -> Iterator[dict[str, Any]]:
    """Records of a gateway log (docs/gateway_formats.md) as contract rows."""

    def reject(line: int, check: str, detail: str) -> None:
        staged.rejected.append(RejectedInput(reader.name, line, check, detail))

    def skip(spans: int) -> None:
        staged.spans_skipped += spans

    for line, row in gateway_formats.rows_from_lines(reader, fmt, options, reject, skip):
        yield {**row, LINE_TAG: line}


def _read_carefully(
    file: Path,
    kind: str,
    prefix: Path,
    chunk_size: int,
    staged: StagedSource,
    gateway: gateway_formats.GatewayOptions | None = None,
) -> list[Path]:
    """Read one CSV/JSON Lines file record by record into Parquet parts of ``chunk_size``.

    ``kind`` is a gateway format (with ``gateway`` its options) for a gateway log.
    """
    written: list[Path] = []
    rows: list[dict[str, Any]] = []
    with file.open("rb") as handle:
        reader = _LineReader(handle, str(file), staged)
        if gateway is not None:
            records = _careful_gateway(reader, staged, kind, gateway)
        elif kind == "csv":
            records = _careful_csv(reader, staged)
        else:
            records = _careful_ndjson(reader, staged)
        for row in records:
            rows.append(row)
            if len(rows) >= chunk_size:
                written.append(prefix.with_name(f"{prefix.name}-{len(written):06d}.parquet"))
                _write_part(rows, file, written[-1])
                rows = []
    if rows:
        written.append(prefix.with_name(f"{prefix.name}-{len(written):06d}.parquet"))
        _write_part(rows, file, written[-1])
    return written


def _stage_file_by_file(
    files: list[Path], parts: Path, chunk_size: int, staged: StagedSource
) -> list[pl.LazyFrame]:
    """The fallback: each file on its own, the careful reader for those that fail."""
    frames: list[pl.LazyFrame] = []
    for index, file in enumerate(files):
        kind = _file_kind(file)
        part = parts / f"file-{index:05d}.parquet"
        try:
            _scan_file(file).sink_parquet(part, row_group_size=chunk_size)
            frames.append(pl.scan_parquet(part))
            continue
        except (pl.exceptions.PolarsError, OSError) as exc:
            part.unlink(missing_ok=True)
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("%s does not parse as a whole: %s", file, problem)
        if kind == "parquet":
            staged.rejected.append(
                RejectedInput(str(file), None, "source:unreadable_file", problem)
            )
            continue
        try:
            written = _read_carefully(
                file, kind, parts / f"careful-{index:05d}", chunk_size, staged
            )
        except OSError as exc:
            staged.rejected.append(
                RejectedInput(str(file), None, "source:unreadable_file", str(exc))
            )
            continue
        if written:
            # JSON Lines chunks may differ in their keys: join them like files of a folder.
            frames.append(_concat([pl.scan_parquet(part) for part in written]))
        else:
            staged.warnings.append(f"file {file} had no rows")
    return frames


def _stage_gateway_files(
    files: list[Path],
    formats: Mapping[Path, str],
    options: gateway_formats.GatewayOptions,
    parts: Path,
    chunk_size: int,
    staged: StagedSource,
) -> list[pl.LazyFrame]:
    """Gateway logs record by record; any other file of the folder as the fallback reads it."""
    frames: list[pl.LazyFrame] = []
    for index, file in enumerate(files):
        folder = parts / f"source-{index:05d}"
        folder.mkdir()
        if file not in formats:
            frames.extend(_stage_file_by_file([file], folder, chunk_size, staged))
            continue
        try:
            written = _read_carefully(
                file, formats[file], folder / "gateway", chunk_size, staged, options
            )
        except OSError as exc:
            staged.rejected.append(
                RejectedInput(str(file), None, "source:unreadable_file", str(exc))
            )
            continue
        if written:
            frames.append(_concat([pl.scan_parquet(part) for part in written]))
        else:
            staged.warnings.append(f"file {file} had no prompts")
    return frames


def stage_source(
    location: str,
    run_date: date,
    destination: Path,
    mapping: Mapping[str, str],
    defaults: ColumnDefaults,
    tz: str,
    chunk_size: int,
    dataset_split: str | None = None,
    source_format: str = "contract",
    prompt_turn: gateway_formats.PromptTurn = "last",
) -> StagedSource:
    """Stream a source into one Parquet file in contract form.

    Row groups match ``chunk_size`` so later stages read one chunk at a time and memory does
    not grow with the batch. Lines and files that cannot be read are returned as
    :attr:`StagedSource.rejected` (to be quarantined) instead of failing the source; a source
    with no rows at all stages an empty file and says so in :attr:`StagedSource.warnings`.

    ``source_format`` is ``contract``, a gateway format (docs/gateway_formats.md) or ``auto``:
    each JSON Lines file whose first records fit exactly one gateway format is read as one.
    """
    resolved = resolve_location(location, run_date)
    destination.parent.mkdir(parents=True, exist_ok=True)
    files = _source_files(resolved)
    staged = StagedSource(0)

    def sink(frame: pl.LazyFrame) -> None:
        to_contract(frame, resolved, run_date, mapping, defaults, tz).sink_parquet(
            destination, row_group_size=chunk_size
        )

    gateway = gateway_formats.gateway_files(files or [], source_format, mapping)
    if gateway:
        options = gateway_formats.GatewayOptions(
            prompt_turn, mapping, defaults.user_id, defaults.department, defaults.tool
        )
        parts = destination.with_name(destination.name + ".parts")
        shutil.rmtree(parts, ignore_errors=True)
        parts.mkdir()
        try:
            frames = _stage_gateway_files(files or [], gateway, options, parts, chunk_size, staged)
            if frames:
                sink(_concat(frames))
            else:
                _empty_contract().write_parquet(destination)
        finally:
            shutil.rmtree(parts, ignore_errors=True)
    elif files is None:
        try:
            sink(_load_dataset(resolved, dataset_split))
        except pl.exceptions.PolarsError as exc:
            raise SourceError(f"cannot read source {resolved}: {exc}".splitlines()[0]) from exc
    else:
        try:
            sink(_concat([_scan_file(f) for f in files]))  # the fast path
        except (pl.exceptions.PolarsError, OSError) as exc:
            log.warning("source %s does not parse as a whole: %s", resolved, str(exc)[:200])
            parts = destination.with_name(destination.name + ".parts")
            shutil.rmtree(parts, ignore_errors=True)
            parts.mkdir()
            try:
                frames = _stage_file_by_file(files, parts, chunk_size, staged)
                if frames:
                    sink(_concat(frames))
                else:
                    _empty_contract().write_parquet(destination)
            finally:
                shutil.rmtree(parts, ignore_errors=True)
    staged.rows_staged = pl.scan_parquet(destination).select(pl.len()).collect().item()
    if staged.rejected:
        by_check: dict[str, int] = {}
        for rejected in staged.rejected:
            by_check[rejected.check] = by_check.get(rejected.check, 0) + 1
        staged.warnings.append(
            f"{len(staged.rejected)} unreadable lines/files quarantined ("
            + ", ".join(f"{check} {n}" for check, n in sorted(by_check.items()))
            + ")"
        )
    if staged.spans_skipped:
        staged.warnings.append(
            f"{staged.spans_skipped} OpenTelemetry spans that hold no prompt skipped (not GenAI "
            "calls, or embeddings and tool calls)"
        )
    if staged.lines_bytes_replaced:
        staged.warnings.append(
            f"invalid UTF-8 bytes replaced with U+FFFD on {staged.lines_bytes_replaced} lines"
        )
    if staged.rows_read == 0:
        staged.warnings.append(f"source had no rows: {resolved}")
    for warning in staged.warnings:
        log.warning(warning)
    return staged


def _empty_contract() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "source_row": pl.UInt32,
            **dict.fromkeys(CONTRACT_COLUMNS, pl.String),
            "source_file": pl.String,
            "source_line": pl.Int64,
        }
    )


def rejected_frame(rejected: list[RejectedInput]) -> pl.DataFrame:
    """Quarantine rows (validate.QUARANTINE_SCHEMA) for lines and files that were unreadable."""
    from insight_core.prep.validate import QUARANTINE_SCHEMA

    return pl.DataFrame(
        {
            "source_row": [None] * len(rejected),
            "prompt_id": [None] * len(rejected),
            "record": [
                json.dumps(
                    {"source_file": r.file, "source_line": r.line, "error": r.detail},
                    ensure_ascii=False,
                )
                for r in rejected
            ],
            "failed_checks": [[r.check] for r in rejected],
            "source_file": [r.file for r in rejected],
            "source_line": [r.line for r in rejected],
        },
        schema=QUARANTINE_SCHEMA,
    )


def read_chunk(path: Path, offset: int, length: int) -> pl.DataFrame:
    """One chunk of a staged Parquet file."""
    return pl.scan_parquet(path).slice(offset, length).collect()


def chunk_bounds(total_rows: int, chunk_size: int) -> list[tuple[int, int]]:
    """(offset, length) pairs covering ``total_rows`` in chunks of ``chunk_size``."""
    return [
        (offset, min(chunk_size, total_rows - offset))
        for offset in range(0, total_rows, chunk_size)
    ]
