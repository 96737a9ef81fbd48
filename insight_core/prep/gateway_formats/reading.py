"""Mapping a record of a named format, recognising a file's format from its first records,
and reading a gateway log line by line into contract rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from insight_core.errors import SourceError
from insight_core.prep.gateway_formats.chat_logs import (
    _openai_request,
    map_langfuse,
    map_litellm,
    map_openai_chat,
)
from insight_core.prep.gateway_formats.otel import map_otel_genai
from insight_core.prep.gateway_formats.records import (
    GATEWAY_FORMATS,
    GatewayOptions,
    GatewayRecordError,
    MappedRecord,
    _loads_if_json,
)

MAPPERS: dict[str, Callable[[Any, GatewayOptions], MappedRecord]] = {
    "openai-chat": map_openai_chat,
    "otel-genai": map_otel_genai,
    "litellm": map_litellm,
    "langfuse": map_langfuse,
}


def map_record(fmt: str, record: Any, options: GatewayOptions) -> MappedRecord:
    """Map one parsed JSON record of format ``fmt``; raises :class:`GatewayRecordError`."""
    try:
        return MAPPERS[fmt](record, options)
    except GatewayRecordError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # A record of the right format but an unexpected shape (a string where an object
        # belongs): bad input, quarantined, never a failed night.
        raise GatewayRecordError(
            "source:unexpected_shape", f"{type(exc).__name__} while mapping a {fmt} record"
        ) from None


def _looks_like(record: Mapping[str, Any]) -> set[str]:
    found = set()
    if "resourceSpans" in record or ("spanId" in record and "traceId" in record):
        found.add("otel-genai")
    litellm_keys = {
        "litellm_call_id",
        "call_type",
        "model_group",
        "proxy_server_request",
        "api_base",
        "spend",
    }
    metadata = _loads_if_json(record.get("metadata"))
    if litellm_keys & record.keys() or (
        isinstance(metadata, Mapping) and any(str(k).startswith("user_api_key") for k in metadata)
    ):
        found.add("litellm")
    if "input" in record and (
        {"userId", "sessionId", "traceId", "observations", "projectId"} & record.keys()
        or record.get("type") in ("GENERATION", "SPAN", "EVENT")
    ):
        found.add("langfuse")
    if "messages" in _openai_request(record) and "litellm" not in found:
        found.add("openai-chat")
    return found


def detect_format(records: Iterable[Any]) -> str | None:
    """The one gateway format the first records fit; None where none or several fit.

    A record with a ``text`` field is in the engine's own contract: never a gateway format.
    """
    seen: set[str] = set()
    for record in records:
        if not isinstance(record, Mapping):
            continue  # a bad line says nothing about the format of the others
        if "text" in record:
            return None
        seen |= _looks_like(record)
    return next(iter(seen)) if len(seen) == 1 else None


class NumberedLines(Protocol):
    """Decoded lines of one file that know the number of the last line handed out."""

    line: int

    def __iter__(self) -> Iterator[str]: ...


def rows_from_lines(
    lines: NumberedLines,
    fmt: str,
    options: GatewayOptions,
    reject: Callable[[int, str, str], None],
    skip: Callable[[int], None],
) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(line, contract row) for every prompt in a JSON Lines file of format ``fmt``.

    A line that is no JSON object, or maps to no prompt, goes to ``reject(line, check,
    detail)``; the other lines load. Non-GenAI spans of an OTel export are no records: they go
    to ``skip(count)``.
    """
    for text in lines:
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            reject(lines.line, "source:unparseable_json", exc.msg)
            continue
        try:
            mapped = map_record(fmt, record, options)
        except GatewayRecordError as exc:
            reject(lines.line, exc.check, exc.detail)
            continue
        if mapped.skipped:
            skip(mapped.skipped)
        for row in mapped.rows:
            yield lines.line, row


def gateway_files(
    files: list[Path], source_format: str, mapping: Mapping[str, str]
) -> dict[Path, str]:
    """The files to read as gateway logs, each with its format (none for ``contract``).

    ``auto`` reads a JSON Lines file as a gateway log only where its first records fit exactly
    one format and have no ``text`` field; every other file stays in the contract.
    """
    if source_format == "contract":
        return {}
    if source_format != "auto":
        if source_format not in GATEWAY_FORMATS:
            raise SourceError(
                f"unknown source format '{source_format}' (use auto, contract or one of "
                f"{', '.join(GATEWAY_FORMATS)})"
            )
        wrong = [f for f in files if not _is_json_lines(f)]
        if wrong:
            raise SourceError(f"{source_format} logs are JSON Lines files, not {wrong[0]}")
        return dict.fromkeys(files, source_format)
    # A mapping that names the text column means the user set the source up as a contract.
    if "text" in mapping.values():
        return {}
    found = {}
    for file in files:
        if _is_json_lines(file):
            try:
                fmt = sniff_file(file)
            except OSError:
                fmt = None  # unreadable: the careful path quarantines it
            if fmt is not None:
                found[file] = fmt
    return found


def _is_json_lines(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


def sniff_file(path: Path, limit: int = 5) -> str | None:
    """The gateway format of a JSON Lines file, from its first ``limit`` records, if unambiguous."""
    records: list[Any] = []
    with path.open("rb") as handle:
        for raw in handle:
            text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff").strip()
            if not text:
                continue
            try:
                records.append(json.loads(text))
            except json.JSONDecodeError:
                continue  # a broken first line must not hide the format of the rest
            if len(records) >= limit:
                break
    return detect_format(records) if records else None
