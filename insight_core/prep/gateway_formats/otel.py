"""OpenTelemetry GenAI spans, as OTLP JSON (``resourceSpans``) or one span per line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from insight_core.prep.gateway_formats.records import (
    GatewayOptions,
    MappedRecord,
    _finish,
    _first,
    _need_object,
    _record_id,
    _timestamp,
    user_turn,
)

# GenAI operations whose input is someone's prompt; embeddings and tool calls are not.
_PROMPT_OPERATIONS = {"chat", "text_completion", "generate_content", "invoke_agent"}


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
