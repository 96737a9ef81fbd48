"""The careful path: a CSV, JSON Lines or gateway file read record by record, so that a line
that does not parse is quarantined with its file and line instead of failing the source."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from insight_core.errors import SourceError
from insight_core.prep import gateway_formats
from insight_core.prep.source_files import file_kind
from insight_core.prep.staged import FILE_TAG, LINE_TAG, RejectedInput, StagedSource
from insight_core.prep.text_files import (
    SNIFF_BYTES,
    LineReader,
    TextEncoding,
    decoded_copy,
    detect_encoding,
)

log = logging.getLogger(__name__)


def _as_text(value: Any) -> str | None:
    """A JSON value as the text polars would cast it to; nested values stay JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _careful_ndjson(reader: LineReader, staged: StagedSource) -> Iterator[dict[str, Any]]:
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


def _careful_csv(reader: LineReader, staged: StagedSource) -> Iterator[dict[str, Any]]:
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
    reader: LineReader, staged: StagedSource, fmt: str, options: gateway_formats.GatewayOptions
) -> Iterator[dict[str, Any]]:
    """Records of a gateway log (docs/gateway_formats.md) as contract rows."""

    def reject(line: int, check: str, detail: str) -> None:
        staged.rejected.append(RejectedInput(reader.name, line, check, detail))

    def skip(spans: int) -> None:
        staged.spans_skipped += spans

    for line, row in gateway_formats.rows_from_lines(reader, fmt, options, reject, skip):
        yield {**row, LINE_TAG: line}


@dataclass
class SourceFile:
    """One file of a source as the readers open it."""

    path: Path  # the file as delivered: rows, rejections and messages name it
    read_from: Path  # the file itself, or its decoded UTF-8 copy
    encoding: TextEncoding | None = None  # None for Parquet
    lines_replaced: int = 0  # lines with undecodable bytes, counted while decoding


def readable_files(files: list[Path], work: Path, staged: StagedSource) -> list[SourceFile]:
    """Each file as the polars readers can open it: text files not in plain UTF-8 are decoded
    into a UTF-8 copy under ``work`` (polars reads UTF-8 only, and no mark in JSON Lines)."""
    readable: list[SourceFile] = []
    for index, file in enumerate(files):
        if file_kind(file) == "parquet":
            readable.append(SourceFile(file, file))
            continue
        try:
            with file.open("rb") as handle:
                encoding = detect_encoding(handle.read(SNIFF_BYTES))
        except OSError:
            encoding = TextEncoding()  # unreadable: the readers below reject it by name
        if not encoding.needs_decoding:
            readable.append(SourceFile(file, file, encoding))
            continue
        log.info("%s is %s: decoding it to UTF-8", file, encoding.label)
        work.mkdir(parents=True, exist_ok=True)
        copy = work / f"decoded-{index:05d}{file.suffix.lower()}"
        try:
            reader = decoded_copy(file, encoding, copy, staged)
        except OSError as exc:
            staged.rejected.append(
                RejectedInput(str(file), None, "source:unreadable_file", str(exc))
            )
            continue
        readable.append(SourceFile(file, copy, encoding, reader.lines_replaced))
    return readable


def _no_record_error(
    file: SourceFile, reader: LineReader, rejected: list[RejectedInput]
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


def read_carefully(
    file: SourceFile,
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
        reader = LineReader(handle, str(file.path), staged)
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
