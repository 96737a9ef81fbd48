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

Text files are UTF-8 unless a byte order mark says UTF-8-sig, UTF-16 or UTF-32 (LE/BE), or the
NUL bytes of mostly-ASCII text give away UTF-16/UTF-32 without one; those are decoded into a
UTF-8 copy first, line for line, so both paths read them. A CSV or JSON Lines file with lines
but not one readable record fails the source (:class:`SourceError` naming the file and how it
was decoded): such a file is nearly always in an encoding the reader did not recognise, and
quarantining all of it would publish a silently empty night.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import logging
import re
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
from insight_core.prep.quarantine import QUARANTINE_SCHEMA

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
# Byte order marks, UTF-32 first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Bytes read to recognise a file's encoding, and read at once while decoding a wide one.
_SNIFF_BYTES = 4096
_BLOCK_BYTES = 1 << 20
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
    # Lines whose invalid bytes (UTF-8, or the file's marked encoding) were replaced with
    # U+FFFD (the rows are kept).
    lines_bytes_replaced: int = 0
    # Spans of an OTel export that are no GenAI calls (HTTP, database): no records.
    spans_skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Rows staged plus rejected lines/files: every one is accounted for downstream."""
        return self.rows_staged + len(self.rejected)


@dataclass(frozen=True)
class TextEncoding:
    """How a text file's bytes are decoded: a Python codec, after ``bom`` bytes of mark."""

    codec: str = "utf-8"
    bom: int = 0
    guessed: bool = False  # no mark: recognised from where the NUL bytes are

    @property
    def label(self) -> str:
        """E.g. "UTF-16-LE (byte order mark)", for messages."""
        how = "byte order mark" if self.bom else "guessed, no byte order mark"
        if not self.bom and not self.guessed:
            how = "no byte order mark"
        return f"{self.codec.upper()} ({how})"

    @property
    def needs_decoding(self) -> bool:
        """Whether the polars readers (UTF-8 only, no mark) need a decoded copy."""
        return self.codec != "utf-8" or self.bom > 0


def _zero_shares(head: bytes, width: int) -> list[float]:
    """Share of NUL bytes at each position modulo ``width`` of ``head``."""
    usable = len(head) - len(head) % width
    units = usable // width
    return [head[i:usable:width].count(0) / units for i in range(width)]


def detect_encoding(head: bytes) -> TextEncoding:
    """The encoding of a text file that begins with ``head`` (its first few KB).

    A byte order mark decides. Without one, mostly-ASCII UTF-16/UTF-32 text has NUL bytes in
    fixed places (``a`` is ``61 00`` in UTF-16-LE) and UTF-8 text has none, so a lopsided share
    of NULs is taken for UTF-16/32; anything else is read as UTF-8.
    """
    for mark, codec in _BOMS:
        if head.startswith(mark):
            return TextEncoding(codec, len(mark))
    if len(head) >= 8:
        z = _zero_shares(head, 4)
        if z[3] > 0.99 and z[2] > 0.9 and z[0] < 0.1:
            return TextEncoding("utf-32-le", guessed=True)
        if z[0] > 0.99 and z[1] > 0.9 and z[3] < 0.1:
            return TextEncoding("utf-32-be", guessed=True)
        even, odd = _zero_shares(head, 2)
        if odd > 0.3 and even < 0.05:
            return TextEncoding("utf-16-le", guessed=True)
        if even > 0.3 and odd < 0.05:
            return TextEncoding("utf-16-be", guessed=True)
    return TextEncoding()


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


def _scan_file(path: Path, read_from: Path | None = None) -> pl.LazyFrame:
    """Lazy scan of one file, every row tagged with its file and (1-based) line.

    ``read_from`` is the file's decoded UTF-8 copy, if it needed one; rows still name ``path``.
    The line assumes one record per line (exact unless a file has blank lines or quoted
    line breaks); lines rejected by the careful reader always carry their exact line.
    """
    kind = _file_kind(path)
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


def _wide_lines(handle: BinaryIO, codec: str) -> Iterator[bytes]:
    """Binary lines of a UTF-16/UTF-32 file, split at newline code units only.

    ``0A 00`` is a newline in UTF-16-LE only where it starts a code unit: elsewhere it is the
    end of one character and the start of another, so matches off the unit grid are skipped.
    """
    newline = "\n".encode(codec)
    unit = len(newline)
    pending = b""
    while block := handle.read(_BLOCK_BYTES):
        pending += block
        start = search = 0
        while (at := pending.find(newline, search)) != -1:
            if (at - start) % unit:
                search = at + 1
                continue
            yield pending[start : at + unit]
            start = search = at + unit
        pending = pending[start:]
    if pending:
        yield pending


class _LineReader:
    """Lines of a file decoded with its encoding, invalid bytes replaced and counted."""

    def __init__(
        self,
        handle: BinaryIO,
        name: str,
        staged: StagedSource,
        encoding: TextEncoding | None = None,
    ) -> None:
        self.handle = handle
        self.name = name
        self.staged = staged
        self.encoding = encoding or TextEncoding()
        self.line = 0  # number of the last line handed out
        # This file's share of the counts: what a message about an unreadable file names.
        self.lines_replaced = 0
        self.lines_with_nul = 0

    def _raw_lines(self) -> Iterator[bytes]:
        if self.encoding.codec == "utf-8":
            yield from self.handle  # a UTF-8 mark is removed after decoding, as it always was
        else:
            self.handle.read(self.encoding.bom)
            yield from _wide_lines(self.handle, self.encoding.codec)

    def __iter__(self) -> Iterator[str]:
        codec = self.encoding.codec
        for raw in self._raw_lines():
            self.line += 1
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError:
                text = raw.decode(codec, errors="replace")
                self.lines_replaced += 1
                self.staged.lines_bytes_replaced += 1
                if self.staged.lines_bytes_replaced <= _EXAMPLES:
                    log.warning(
                        "%s line %d: invalid %s bytes replaced", self.name, self.line, codec
                    )
            if self.line == 1:
                text = text.removeprefix("\ufeff")
            if "\x00" in text:
                self.lines_with_nul += 1
            yield text


def _decoded_copy(
    file: Path, encoding: TextEncoding, target: Path, staged: StagedSource
) -> _LineReader:
    """Write ``file`` as UTF-8 without a mark to ``target``, line for line (line numbers hold).

    Streams a line at a time, so memory stays flat. Returns the reader for its counts.
    """
    with file.open("rb") as handle, target.open("w", encoding="utf-8", newline="") as out:
        reader = _LineReader(handle, str(file), staged, encoding)
        for text in reader:
            out.write(text)
    return reader


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


@dataclass
class _SourceFile:
    """One file of a source as the readers open it."""

    path: Path  # the file as delivered: rows, rejections and messages name it
    read_from: Path  # the file itself, or its decoded UTF-8 copy
    encoding: TextEncoding | None = None  # None for Parquet
    lines_replaced: int = 0  # lines with undecodable bytes, counted while decoding


def _readable_files(files: list[Path], work: Path, staged: StagedSource) -> list[_SourceFile]:
    """Each file as the polars readers can open it: text files not in plain UTF-8 are decoded
    into a UTF-8 copy under ``work`` (polars reads UTF-8 only, and no mark in JSON Lines)."""
    readable: list[_SourceFile] = []
    for index, file in enumerate(files):
        if _file_kind(file) == "parquet":
            readable.append(_SourceFile(file, file))
            continue
        try:
            with file.open("rb") as handle:
                encoding = detect_encoding(handle.read(_SNIFF_BYTES))
        except OSError:
            encoding = TextEncoding()  # unreadable: the readers below reject it by name
        if not encoding.needs_decoding:
            readable.append(_SourceFile(file, file, encoding))
            continue
        log.info("%s is %s: decoding it to UTF-8", file, encoding.label)
        work.mkdir(parents=True, exist_ok=True)
        copy = work / f"decoded-{index:05d}{file.suffix.lower()}"
        try:
            reader = _decoded_copy(file, encoding, copy, staged)
        except OSError as exc:
            staged.rejected.append(
                RejectedInput(str(file), None, "source:unreadable_file", str(exc))
            )
            continue
        readable.append(_SourceFile(file, copy, encoding, reader.lines_replaced))
    return readable


def _no_record_error(
    file: _SourceFile, reader: _LineReader, rejected: list[RejectedInput]
) -> SourceError:
    """Why a text file with lines but no readable record fails the source, with the clues."""
    encoding = file.encoding or TextEncoding()
    clues = []
    if reader.lines_with_nul:
        clues.append(
            f"{reader.lines_with_nul} lines hold NUL characters, as UTF-16/UTF-32 text read "
            "as another encoding does"
        )
    replaced = file.lines_replaced + reader.lines_replaced
    if replaced:
        clues.append(f"{replaced} lines had bytes that are not valid {encoding.codec.upper()}")
    first = rejected[0]
    return SourceError(
        f"no readable record in {file.path}: all {len(rejected)} of its lines failed to parse "
        f"(decoded as {encoding.label}"
        + "".join(f"; {clue}" for clue in clues)
        + f"; line {first.line}: {first.detail}). Its encoding is likely the problem: save it "
        "as UTF-8, or UTF-16/UTF-32 with a byte order mark, and run the date again"
    )


def _read_carefully(
    file: _SourceFile,
    kind: str,
    prefix: Path,
    chunk_size: int,
    staged: StagedSource,
    gateway: gateway_formats.GatewayOptions | None = None,
) -> list[Path]:
    """Read one CSV/JSON Lines file record by record into Parquet parts of ``chunk_size``.

    ``kind`` is a gateway format (with ``gateway`` its options) for a gateway log. Raises
    :class:`SourceError` when the file has lines but not one of them is a record.
    """
    written: list[Path] = []
    rows: list[dict[str, Any]] = []
    rejected_before = len(staged.rejected)
    with file.read_from.open("rb") as handle:
        reader = _LineReader(handle, str(file.path), staged)
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
                _write_part(rows, file.path, written[-1])
                rows = []
    if rows:
        written.append(prefix.with_name(f"{prefix.name}-{len(written):06d}.parquet"))
        _write_part(rows, file.path, written[-1])
    rejected = staged.rejected[rejected_before:]
    if not written and rejected:
        raise _no_record_error(file, reader, rejected)
    return written


def _stage_file_by_file(
    files: list[_SourceFile], parts: Path, chunk_size: int, staged: StagedSource
) -> list[pl.LazyFrame]:
    """The fallback: each file on its own, the careful reader for those that fail."""
    frames: list[pl.LazyFrame] = []
    for index, file in enumerate(files):
        kind = _file_kind(file.path)
        part = parts / f"file-{index:05d}.parquet"
        try:
            _scan_file(file.path, file.read_from).sink_parquet(part, row_group_size=chunk_size)
            frames.append(pl.scan_parquet(part))
            continue
        except (pl.exceptions.PolarsError, OSError) as exc:
            part.unlink(missing_ok=True)
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("%s does not parse as a whole: %s", file.path, problem)
        if kind == "parquet":
            staged.rejected.append(
                RejectedInput(str(file.path), None, "source:unreadable_file", problem)
            )
            continue
        try:
            written = _read_carefully(
                file, kind, parts / f"careful-{index:05d}", chunk_size, staged
            )
        except OSError as exc:
            staged.rejected.append(
                RejectedInput(str(file.path), None, "source:unreadable_file", str(exc))
            )
            continue
        if written:
            # JSON Lines chunks may differ in their keys: join them like files of a folder.
            frames.append(_concat([pl.scan_parquet(part) for part in written]))
        else:
            staged.warnings.append(f"file {file.path} had no rows")
    return frames


def _stage_gateway_files(
    files: list[_SourceFile],
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
        if file.path not in formats:
            frames.extend(_stage_file_by_file([file], folder, chunk_size, staged))
            continue
        try:
            written = _read_carefully(
                file, formats[file.path], folder / "gateway", chunk_size, staged, options
            )
        except OSError as exc:
            staged.rejected.append(
                RejectedInput(str(file.path), None, "source:unreadable_file", str(exc))
            )
            continue
        if written:
            frames.append(_concat([pl.scan_parquet(part) for part in written]))
        else:
            staged.warnings.append(f"file {file.path} had no prompts")
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
    A CSV/JSON Lines file with lines but no readable record raises :class:`SourceError`.
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
            readable = _readable_files(files or [], parts / "decoded", staged)
            frames = _stage_gateway_files(readable, gateway, options, parts, chunk_size, staged)
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
        # Decoded copies and careful parts: raw input, deleted whatever happens.
        parts = destination.with_name(destination.name + ".parts")
        shutil.rmtree(parts, ignore_errors=True)
        try:
            readable = _readable_files(files, parts, staged)
            try:
                # the fast path
                sink(_concat([_scan_file(f.path, f.read_from) for f in readable]))
            except (pl.exceptions.PolarsError, OSError) as exc:
                log.warning("source %s does not parse as a whole: %s", resolved, str(exc)[:200])
                parts.mkdir(exist_ok=True)
                frames = _stage_file_by_file(readable, parts, chunk_size, staged)
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
            "bytes invalid in their file's encoding (UTF-8 unless marked) replaced with U+FFFD "
            f"on {staged.lines_bytes_replaced} lines"
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
    """Quarantine rows (``QUARANTINE_SCHEMA``) for lines and files that were unreadable."""

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
