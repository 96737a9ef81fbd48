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

import json
import logging
import shutil
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import polars as pl

from insight_core.errors import SourceError
from insight_core.prep import gateway_formats
from insight_core.prep.careful_read import SourceFile, read_carefully, readable_files
from insight_core.prep.contract import (
    CONTRACT_COLUMNS,
    EPOCH_FORMATS,
    REQUIRED_COLUMNS,
    ColumnDefaults,
    empty_contract,
    is_numeric_timestamp,
    parse_timestamps,
    to_contract,
)
from insight_core.prep.quarantine import QUARANTINE_SCHEMA
from insight_core.prep.source_files import (
    FILE_SUFFIXES,
    HUB_PREFIX,
    concat_frames,
    file_kind,
    list_source_files,
    load_dataset_source,
    looks_like_hub_dataset,
    resolve_location,
    scan_file,
)
from insight_core.prep.staged import FILE_TAG, LINE_TAG, RejectedInput, StagedSource
from insight_core.prep.text_files import TextEncoding, detect_encoding

__all__ = [
    "CONTRACT_COLUMNS",
    "EPOCH_FORMATS",
    "FILE_SUFFIXES",
    "FILE_TAG",
    "HUB_PREFIX",
    "LINE_TAG",
    "REQUIRED_COLUMNS",
    "ColumnDefaults",
    "RejectedInput",
    "StagedSource",
    "TextEncoding",
    "chunk_bounds",
    "detect_encoding",
    "is_numeric_timestamp",
    "looks_like_hub_dataset",
    "parse_timestamps",
    "read_chunk",
    "rejected_frame",
    "resolve_location",
    "stage_source",
    "to_contract",
]

log = logging.getLogger(__name__)


def _stage_file_by_file(
    files: list[SourceFile], parts: Path, chunk_size: int, staged: StagedSource
) -> list[pl.LazyFrame]:
    """The fallback: each file on its own, the careful reader for those that fail."""
    frames: list[pl.LazyFrame] = []
    for index, file in enumerate(files):
        kind = file_kind(file.path)
        part = parts / f"file-{index:05d}.parquet"
        try:
            scan_file(file.path, file.read_from).sink_parquet(part, row_group_size=chunk_size)
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
            written = read_carefully(file, kind, parts / f"careful-{index:05d}", chunk_size, staged)
        except OSError as exc:
            staged.rejected.append(
                RejectedInput(str(file.path), None, "source:unreadable_file", str(exc))
            )
            continue
        if written:
            # JSON Lines chunks may differ in their keys: join them like files of a folder.
            frames.append(concat_frames([pl.scan_parquet(part) for part in written]))
        else:
            staged.warnings.append(f"file {file.path} had no rows")
    return frames


def _stage_gateway_files(
    files: list[SourceFile],
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
            written = read_carefully(
                file, formats[file.path], folder / "gateway", chunk_size, staged, options
            )
        except OSError as exc:
            staged.rejected.append(
                RejectedInput(str(file.path), None, "source:unreadable_file", str(exc))
            )
            continue
        if written:
            frames.append(concat_frames([pl.scan_parquet(part) for part in written]))
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
    files = list_source_files(resolved)
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
            readable = readable_files(files or [], parts / "decoded", staged)
            frames = _stage_gateway_files(readable, gateway, options, parts, chunk_size, staged)
            if frames:
                sink(concat_frames(frames))
            else:
                empty_contract().write_parquet(destination)
        finally:
            shutil.rmtree(parts, ignore_errors=True)
    elif files is None:
        try:
            sink(load_dataset_source(resolved, dataset_split))
        except pl.exceptions.PolarsError as exc:
            raise SourceError(f"cannot read source {resolved}: {exc}".splitlines()[0]) from exc
    else:
        # Decoded copies and careful parts: raw input, deleted whatever happens.
        parts = destination.with_name(destination.name + ".parts")
        shutil.rmtree(parts, ignore_errors=True)
        try:
            readable = readable_files(files, parts, staged)
            try:
                # the fast path
                sink(concat_frames([scan_file(f.path, f.read_from) for f in readable]))
            except (pl.exceptions.PolarsError, OSError) as exc:
                log.warning("source %s does not parse as a whole: %s", resolved, str(exc)[:200])
                parts.mkdir(exist_ok=True)
                frames = _stage_file_by_file(readable, parts, chunk_size, staged)
                if frames:
                    sink(concat_frames(frames))
                else:
                    empty_contract().write_parquet(destination)
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
