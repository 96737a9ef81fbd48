"""Readers for the prompt logs of AI gateways and observability tools (docs/gateway_formats.md).

Each format maps one JSON record of its own shape onto the input contract (``prompt_id``,
``timestamp``, ``user_id``, ``department``, ``text``, ``tool``):

- ``openai-chat``: an OpenAI-style chat-completion request log (a ``messages`` array, at the
  top level or under ``request``/``body``), ``user`` and ``metadata`` for who asked.
- ``otel-genai``: OpenTelemetry GenAI spans, as OTLP JSON (``resourceSpans``) or one span per
  line; the prompt from ``gen_ai.input.messages``, ``gen_ai.user.message`` events or the
  older ``gen_ai.prompt.N.*`` attributes.
- ``litellm``: LiteLLM proxy request logs (its standard logging payload or a spend-log row).
- ``langfuse``: Langfuse trace or generation exports (``input`` holding the messages).

The prompt is the last user turn of the conversation (``prompt_turn='first'`` takes the
first): earlier turns were already logged as prompts of their own when they were sent, and
the assistant's turns are no one's prompt. Multi-part content keeps its text parts, joined by
a line break; images, audio and files are dropped. The module only maps records: reading
files, line numbers, invalid bytes and quarantine stay with :mod:`insight_core.prep.ingest`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from insight_core.errors import SourceError

GATEWAY_FORMATS = ("openai-chat", "otel-genai", "litellm", "langfuse")
PromptTurn = Literal["last", "first"]
# Contract columns a gateway record fills; the text is required, the rest have defaults.
_FIELDS = ("prompt_id", "timestamp", "user_id", "department", "tool")
# GenAI operations whose input is someone's prompt; embeddings and tool calls are not.
_PROMPT_OPERATIONS = {"chat", "text_completion", "generate_content", "invoke_agent"}
# Keys that name a department in free-form metadata, in order of preference.
_DEPARTMENT_KEYS = ("department", "dept", "team")


class GatewayRecordError(ValueError):
    """A record of a gateway format that maps to no prompt; ``check`` names why.

    The message never quotes the record: it may hold the prompt.
    """

    def __init__(self, check: str, detail: str) -> None:
        super().__init__(detail)
        self.check = check
        self.detail = detail


@dataclass(frozen=True)
class MappedRecord:
    """What one record (one line) became: contract rows, and spans that held no prompt."""

    rows: list[dict[str, str | None]]
    skipped: int = 0


@dataclass(frozen=True)
class GatewayOptions:
    """How records become rows: the turn taken, the column mapping and the defaults."""

    prompt_turn: PromptTurn = "last"
    # Source attribute (a dotted path such as ``metadata.cost_center``) -> contract column;
    # it wins over the format's own attribute for that column.
    mapping: Mapping[str, str] | None = None
    default_user_id: str = "unknown"
    default_department: str = "Unassigned"
    default_tool: str | None = None


# ---- small helpers ---------------------------------------------------------------------------


def _loads_if_json(value: Any) -> Any:
    """Logs often store nested objects as JSON strings (spend-log rows, OTel attributes)."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _first(*values: Any) -> str | None:
    for value in values:
        text = _text(value)
        if text is not None:
            return text
    return None


def _dig(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = _loads_if_json(value)
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every nested key as a dotted path (``metadata.team``), for the column mapping."""
    out = {} if out is None else out
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}.", out)
            out[f"{prefix}{key}"] = item
    return out


def _content_text(content: Any) -> str | None:
    """The text of a message's content: a string, or the text parts of a multi-part list."""
    content = _loads_if_json(content)
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping) and part.get("type", "text") in ("text", "input_text"):
            # OpenAI parts carry "text"; OTel GenAI parts carry "content".
            value = part.get("text", part.get("content"))
            if isinstance(value, str):
                texts.append(value)
    return "\n".join(texts) if texts else None


def user_turn(messages: Any, turn: PromptTurn) -> str | None:
    """The text of the last (or first) message whose role is ``user``; None without one."""
    messages = _loads_if_json(messages)
    if isinstance(messages, Mapping) and "messages" in messages:
        messages = _loads_if_json(messages["messages"])
    if isinstance(messages, str):
        return messages  # a bare prompt string (Langfuse traces often log input so)
    if not isinstance(messages, list):
        return None
    users = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "user"]
    ordered = users if turn == "first" else list(reversed(users))
    for message in ordered:
        text = _content_text(message.get("content", message.get("parts")))
        if text is not None and text.strip():
            return text
    return None


def _timestamp(value: Any, unit: float = 1.0) -> str | None:
    """ISO 8601 text of a timestamp given as ISO text or as a number of ``unit`` seconds."""
    value = _loads_if_json(value)
    if value is None or value == "":
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())  # epoch seconds as text (spend-log exports)
        except ValueError:
            number = None  # ISO 8601 text: parsed (or quarantined) by the validation
    if number is not None:
        try:
            return datetime.fromtimestamp(number * unit, tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError) as exc:
            raise GatewayRecordError("timestamp:out_of_range", str(exc)) from None
    return str(value)


def _record_id(fmt: str, record: Mapping[str, Any]) -> str:
    """A stable id for a record without one: the same record always gets the same id, so a
    re-delivered file counts as duplicates, not as new prompts."""
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()
    return f"{fmt}-{digest[:20]}"


def _department(*sources: Any) -> str | None:
    for source in sources:
        source = _loads_if_json(source)
        if isinstance(source, Mapping):
            found = _first(*(source.get(key) for key in _DEPARTMENT_KEYS))
            if found is not None:
                return found
    return None


def _finish(
    fields: dict[str, str | None],
    text: str | None,
    attributes: Mapping[str, Any],
    options: GatewayOptions,
) -> dict[str, str | None]:
    """Apply the column mapping and the defaults; a record without a user turn is bad."""
    row: dict[str, str | None] = {**fields, "text": text}
    for source, column in (options.mapping or {}).items():
        if source in attributes and column in (*_FIELDS, "text"):
            row[column] = _text(attributes[source])
    if row["text"] is None or not row["text"].strip():
        raise GatewayRecordError("text:no_user_turn", "no user message with text in the record")
    row["user_id"] = row.get("user_id") or options.default_user_id
    row["department"] = row.get("department") or options.default_department
    row["tool"] = row.get("tool") or options.default_tool
    return row


def _need_object(record: Any) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise GatewayRecordError(
            "source:not_a_json_object", f"a JSON {type(record).__name__}, not an object"
        )
    return record


# ---- openai-chat ----------------------------------------------------------------------------


def _openai_request(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request body: the record itself, or under ``request`` / ``body`` (batch files)."""
    for key in ("request", "body"):
        inner = _loads_if_json(record.get(key))
        if isinstance(inner, Mapping) and "messages" in inner:
            return inner
    return record


def map_openai_chat(record: Any, options: GatewayOptions) -> MappedRecord:
    """One chat-completion request log -> one row (see docs/gateway_formats.md)."""
    record = _need_object(record)
    request = _openai_request(record)
    metadata = _loads_if_json(request.get("metadata")) or _loads_if_json(record.get("metadata"))
    metadata = metadata if isinstance(metadata, Mapping) else {}
    response = _loads_if_json(record.get("response"))
    response = response if isinstance(response, Mapping) else {}
    fields = {
        "prompt_id": _first(record.get("id"), record.get("custom_id"), record.get("request_id"))
        or _record_id("openai-chat", record),
        "timestamp": _timestamp(
            record.get("created_at")
            or record.get("timestamp")
            or record.get("created")
            or response.get("created")
        ),
        "user_id": _first(
            request.get("user"),
            record.get("user"),
            metadata.get("user_id"),
            metadata.get("user"),
            request.get("safety_identifier"),
        ),
        "department": _department(metadata),
        "tool": _first(request.get("model"), record.get("model"), response.get("model")),
    }
    text = user_turn(request.get("messages"), options.prompt_turn)
    return MappedRecord([_finish(fields, text, _flatten(record), options)])


# ---- otel-genai -----------------------------------------------------------------------------


def _any_value(value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue`` ({"stringValue": ...} and friends)."""
    if not isinstance(value, Mapping):
        return value
    for key in ("stringValue", "boolValue", "doubleValue", "bytesValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values", []))
    return None


def _attributes(raw: Any) -> dict[str, Any]:
    """OTLP attributes (a list of key/value pairs) or an already plain mapping, as a dict."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, list):
        return {
            item["key"]: _any_value(item.get("value"))
            for item in raw
            if isinstance(item, Mapping) and "key" in item
        }
    return {}


def _otel_prompt_from_indexed(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``gen_ai.prompt.0.role`` / ``gen_ai.prompt.0.content`` (older instrumentations)."""
    turns: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        parts = key.split(".")
        if len(parts) == 4 and key.startswith("gen_ai.prompt.") and parts[2].isdigit():
            turns.setdefault(int(parts[2]), {})[parts[3]] = value
    return [turns[i] for i in sorted(turns)]


def _otel_messages(span: Mapping[str, Any], attributes: Mapping[str, Any]) -> Any:
    if "gen_ai.input.messages" in attributes:
        return attributes["gen_ai.input.messages"]
    events = []
    for event in span.get("events") or []:
        if not isinstance(event, Mapping):
            continue
        name = str(event.get("name", ""))
        event_attributes = _attributes(event.get("attributes"))
        if name == "gen_ai.user.message":
            events.append({"role": "user", "content": event_attributes.get("content")})
        elif name == "gen_ai.client.inference.operation.details":
            return event_attributes.get("gen_ai.input.messages")
        elif name.startswith("gen_ai.") and name.endswith(".message"):
            events.append({"role": name.split(".")[1], "content": event_attributes.get("content")})
    if events:
        return events
    indexed = _otel_prompt_from_indexed(attributes)
    if indexed:
        return indexed
    return attributes.get("gen_ai.prompt")


def _otel_spans(record: Mapping[str, Any]) -> Iterable[tuple[dict[str, Any], Mapping[str, Any]]]:
    """(resource attributes, span) for an OTLP export line or a line holding one span."""
    if "resourceSpans" not in record:
        yield _attributes(record.get("resource", {}).get("attributes")), record
        return
    for resource_spans in record.get("resourceSpans") or []:
        resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for span in scope_spans.get("spans") or []:
                if isinstance(span, Mapping):
                    yield resource, span


def map_otel_genai(record: Any, options: GatewayOptions) -> MappedRecord:
    """Every GenAI span of one OTLP JSON line -> one row each; other spans are skipped."""
    record = _need_object(record)
    rows, skipped = [], 0
    for resource, span in _otel_spans(record):
        attributes = {**resource, **_attributes(span.get("attributes"))}
        if not any(key.startswith("gen_ai.") for key in attributes) and not any(
            str(e.get("name", "")).startswith("gen_ai.")
            for e in span.get("events") or []
            if isinstance(e, Mapping)
        ):
            skipped += 1  # an HTTP or database span of the same trace: no prompt
            continue
        operation = attributes.get("gen_ai.operation.name")
        if operation is not None and operation not in _PROMPT_OPERATIONS:
            skipped += 1  # embeddings, tool executions: no one typed this
            continue
        span_id = _first(span.get("spanId"), span.get("span_id"))
        trace_id = _first(span.get("traceId"), span.get("trace_id"))
        fields = {
            "prompt_id": f"{trace_id}-{span_id}"
            if span_id and trace_id
            else _record_id("otel-genai", span),
            "timestamp": _timestamp(
                span.get("startTimeUnixNano") or span.get("start_time_unix_nano"), unit=1e-9
            )
            or _timestamp(span.get("start_time") or span.get("startTime")),
            "user_id": _first(attributes.get("user.id"), attributes.get("enduser.id")),
            "department": _first(
                attributes.get("department"),
                attributes.get("user.department"),
                attributes.get("enduser.department"),
            ),
            "tool": _first(
                attributes.get("gen_ai.request.model"), attributes.get("gen_ai.response.model")
            ),
        }
        text = user_turn(_otel_messages(span, attributes), options.prompt_turn)
        rows.append(_finish(fields, text, attributes, options))
    return MappedRecord(rows, skipped)


# ---- litellm --------------------------------------------------------------------------------


def map_litellm(record: Any, options: GatewayOptions) -> MappedRecord:
    """One LiteLLM proxy log (standard logging payload or spend-log row) -> one row."""
    record = _need_object(record)
    metadata = _loads_if_json(record.get("metadata"))
    metadata = metadata if isinstance(metadata, Mapping) else {}
    request = _loads_if_json(record.get("proxy_server_request"))
    request = request if isinstance(request, Mapping) else {}
    request_metadata = _loads_if_json(request.get("metadata"))
    # Spend-log rows keep the request's messages in proxy_server_request, "{}" in messages.
    messages = _loads_if_json(record.get("messages")) or request.get("messages")
    fields = {
        "prompt_id": _first(
            record.get("id"), record.get("request_id"), record.get("litellm_call_id")
        )
        or _record_id("litellm", record),
        "timestamp": _timestamp(record.get("startTime") or record.get("start_time")),
        "user_id": _first(
            record.get("end_user"),
            request.get("user"),
            record.get("user"),
            metadata.get("user_api_key_end_user_id"),
            metadata.get("user_api_key_user_id"),
        ),
        "department": _department(metadata.get("requester_metadata"), request_metadata, metadata)
        or _first(
            metadata.get("user_api_key_team_alias"),
            record.get("team_alias"),
            metadata.get("user_api_key_team_id"),
            record.get("team_id"),
        ),
        "tool": _first(record.get("model_group"), record.get("model"), request.get("model")),
    }
    text = user_turn(messages, options.prompt_turn)
    return MappedRecord([_finish(fields, text, _flatten(record), options)])


# ---- langfuse -------------------------------------------------------------------------------


def map_langfuse(record: Any, options: GatewayOptions) -> MappedRecord:
    """One Langfuse trace or observation (generation) export -> one row."""
    record = _need_object(record)
    metadata = _loads_if_json(record.get("metadata"))
    metadata = metadata if isinstance(metadata, Mapping) else {}
    fields = {
        "prompt_id": _first(record.get("id")) or _record_id("langfuse", record),
        "timestamp": _timestamp(record.get("timestamp") or record.get("startTime")),
        "user_id": _first(record.get("userId"), metadata.get("userId"), metadata.get("user_id")),
        "department": _department(metadata),
        "tool": _first(
            record.get("model"),
            record.get("providedModelName"),
            metadata.get("model"),
            record.get("name"),
        ),
    }
    text = user_turn(record.get("input"), options.prompt_turn)
    return MappedRecord([_finish(fields, text, _flatten(record), options)])


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


# ---- detection ------------------------------------------------------------------------------


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


# ---- reading lines --------------------------------------------------------------------------


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
                fmt = None  # unreadable: the careful path quarantines it as it does today
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
