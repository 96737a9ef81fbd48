"""Rejected rows made safe to keep: every string redacted and capped, the user id hashed."""

from __future__ import annotations

from typing import Any

from insight_core.prep.redact.engine import redact_text
from insight_core.prep.redact.pseudonyms import hash_user_id


def cap_text(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` with a marker giving the original length."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated, {len(text)} chars]"


def _redact_value(value: Any, max_chars: int) -> Any:
    if isinstance(value, str):
        return cap_text(redact_text(value), max_chars)
    if isinstance(value, dict):
        return {
            _redact_value(str(key), max_chars): _redact_value(item, max_chars)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(item, max_chars) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A number can be PII too (a phone or SSN read as an integer).
        as_text = str(value)
        redacted = redact_text(as_text)
        return value if redacted == as_text else redacted
    return value


def redact_record(record: dict[str, Any], secret: str, max_chars: int) -> dict[str, Any]:
    """A rejected row made safe to keep: every string (keys, values, nested) redacted and capped
    at ``max_chars``, and ``user_id`` replaced by its keyed hash."""
    record = dict(record)
    user_id = record.pop("user_id", None)
    cleaned: dict[str, Any] = _redact_value(record, max_chars)
    if user_id is not None:
        cleaned["user_hash"] = hash_user_id(str(user_id), secret)
    return cleaned
