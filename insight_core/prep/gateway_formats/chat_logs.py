"""Chat-completion request logs: OpenAI-style requests, LiteLLM proxy logs and Langfuse
exports, each one record per prompt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from insight_core.prep.gateway_formats.records import (
    GatewayOptions,
    MappedRecord,
    _department,
    _finish,
    _first,
    _flatten,
    _loads_if_json,
    _need_object,
    _record_id,
    _timestamp,
    user_turn,
)


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
