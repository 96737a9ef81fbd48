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
a line break; images, audio and files are dropped. The package only maps records: reading
files, line numbers, invalid bytes and quarantine stay with :mod:`insight_core.prep.ingest`.

Modules: ``records`` (the options, the mapped record and the helpers every format shares),
``chat_logs`` (``openai-chat``, ``litellm``, ``langfuse``), ``otel`` (``otel-genai``) and
``reading`` (mapping a record of a format, detecting a file's format, reading its lines).
"""

from insight_core.prep.gateway_formats.chat_logs import map_langfuse, map_litellm, map_openai_chat
from insight_core.prep.gateway_formats.otel import map_otel_genai
from insight_core.prep.gateway_formats.reading import (
    MAPPERS,
    NumberedLines,
    detect_format,
    gateway_files,
    map_record,
    rows_from_lines,
    sniff_file,
)
from insight_core.prep.gateway_formats.records import (
    GATEWAY_FORMATS,
    GatewayOptions,
    GatewayRecordError,
    MappedRecord,
    PromptTurn,
    user_turn,
)

__all__ = [
    "GATEWAY_FORMATS",
    "MAPPERS",
    "GatewayOptions",
    "GatewayRecordError",
    "MappedRecord",
    "NumberedLines",
    "PromptTurn",
    "detect_format",
    "gateway_files",
    "map_langfuse",
    "map_litellm",
    "map_openai_chat",
    "map_otel_genai",
    "map_record",
    "rows_from_lines",
    "sniff_file",
    "user_turn",
]
