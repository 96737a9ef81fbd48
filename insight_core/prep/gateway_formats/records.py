"""What every gateway format shares: the options, the mapped record, the error of a record that
maps to no prompt, and the helpers that read a record's fields (user turn, timestamp, id)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

GATEWAY_FORMATS = ("openai-chat", "otel-genai", "litellm", "langfuse")
PromptTurn = Literal["last", "first"]
# Contract columns a gateway record fills; the text is required, the rest have defaults.
_FIELDS = ("prompt_id", "timestamp", "user_id", "department", "tool")
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
