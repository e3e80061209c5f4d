"""OpenTelemetry spans -> records: what `agentoscope serve` stores from OTLP.

Spans that our `OTLPProcessor` sent (they carry `agentoscope.span_id`) come back exactly: ids,
parents, types, times to the microsecond, tokens, errors and data. Our `invoke_workflow` root span
becomes the trace record. Spans from any other OpenTelemetry app land too: the span type comes
from `gen_ai.operation.name` or `openinference.span.kind` (else `custom`), ids are the OTel ids in
our shapes (`trace_<32 hex>`, `span_<24 hex>`), parent links are kept, and a root span also makes
the trace record so the trace shows up in trace lists. Their attributes, resource and events are
kept under `data.otel`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .clock import iso_from_ns
from .otel_mapping import (
    A_DATA,
    A_ERROR,
    A_KIND,
    A_METADATA,
    A_NAME,
    A_PARENT_ID,
    A_SPAN_ID,
    A_SPAN_TYPE,
    A_TRACE_ID,
    OI_KIND,
    OP,
    OtelSpan,
    span_id_from_otel,
    trace_id_from_otel,
)
from .records import MODEL_SPAN_TYPES, RECORD_VERSION
from .sensitive import clean, get_data_policy

# The span type of a foreign span.
_TYPE_FROM_OPERATION = {
    "chat": "generation",
    "text_completion": "generation",
    "generate_content": "generation",
    "execute_tool": "function",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "apply_guardrail": "guardrail",
    "handoff": "handoff",
    "speech_to_text": "transcription",
    "text_to_speech": "speech",
}
_TYPE_FROM_OI_KIND = {
    "LLM": "generation",
    "TOOL": "function",
    "AGENT": "agent",
    "GUARDRAIL": "guardrail",
}


def _loads(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def _duration_ms(start: int | None, end: int | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start) / 1_000_000


def _int_attr(attrs: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    return None


def _str_attr(attrs: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return str(value)
    return None


def records_from_otel(span: OtelSpan) -> list[dict[str, Any]]:
    """The store records for one received OTel span: one span record, or a trace record for our
    `invoke_workflow` root, or both for the root span of a foreign trace."""
    attrs = span.attributes
    if attrs.get(A_KIND) == "trace":
        return [_our_trace(span)]
    if A_SPAN_ID in attrs:
        return [_our_span(span)]
    records = [_foreign_span(span)]
    if not span.parent_span_id:
        records.append(_foreign_trace(span))
    return records


def _times(span: OtelSpan) -> dict[str, Any]:
    return {
        "started_at": iso_from_ns(span.start_ns),
        "ended_at": iso_from_ns(span.end_ns),
        "duration_ms": _duration_ms(span.start_ns, span.end_ns),
    }


def _trace_id(span: OtelSpan) -> str:
    return str(span.attributes.get(A_TRACE_ID) or trace_id_from_otel(span.trace_id))


def _our_trace(span: OtelSpan) -> dict[str, Any]:
    attrs = span.attributes
    return {
        "v": RECORD_VERSION,
        "kind": "trace",
        "trace_id": _trace_id(span),
        "workflow_name": str(attrs.get("gen_ai.workflow.name") or ""),
        "group_id": _str_attr(attrs, "gen_ai.conversation.id"),
        "metadata": _loads(attrs.get(A_METADATA)),
        **_times(span),
    }


def _error_fields(span: OtelSpan) -> tuple[str, str | None, str | None, Any]:
    if span.status != "error":
        return "ok", None, None, None
    attrs = span.attributes
    error_type = _str_attr(attrs, "error.type")
    message = span.status_message or None
    for name, _, event_attrs in span.events:
        if name == "exception":
            error_type = error_type or _str_attr(event_attrs, "exception.type")
            message = message or _str_attr(event_attrs, "exception.message")
    error_type = error_type or "_OTHER"
    error = _loads(attrs.get(A_ERROR))
    if error is None:
        error = {"message": message or error_type, "data": {"type": error_type}}
    return "error", error_type, message, error


def _our_span(span: OtelSpan) -> dict[str, Any]:
    attrs = span.attributes
    span_type = str(attrs.get(A_SPAN_TYPE) or "custom")
    status, error_type, error_message, error = _error_fields(span)
    model_span = span_type in MODEL_SPAN_TYPES
    return {
        "v": RECORD_VERSION,
        "kind": "span",
        "trace_id": _trace_id(span),
        "span_id": str(attrs[A_SPAN_ID]),
        "parent_id": _str_attr(attrs, A_PARENT_ID),
        "span_type": span_type,
        "name": str(attrs.get(A_NAME, span.name)),
        "agent_name": _str_attr(attrs, "gen_ai.agent.name"),
        "tool_name": _str_attr(attrs, "gen_ai.tool.name") if span_type == "function" else None,
        "model": _str_attr(attrs, "gen_ai.request.model"),
        **_times(span),
        "status": status,
        "error_type": error_type,
        "error_message": error_message,
        "input_tokens": _int_attr(attrs, "gen_ai.usage.input_tokens") if model_span else None,
        "output_tokens": _int_attr(attrs, "gen_ai.usage.output_tokens") if model_span else None,
        "total_tokens": _int_attr(attrs, "llm.token_count.total") if model_span else None,
        "cached_input_tokens": _int_attr(attrs, "gen_ai.usage.cache_read.input_tokens")
        if model_span
        else None,
        "reasoning_tokens": _int_attr(attrs, "gen_ai.usage.reasoning.output_tokens")
        if model_span
        else None,
        "data": _loads(attrs.get(A_DATA)),
        "error": error,
        "metadata": _loads(attrs.get(A_METADATA)),
    }


def foreign_span_type(attrs: Mapping[str, Any]) -> str:
    """Our span type for a span from another OpenTelemetry app."""
    operation = attrs.get(OP)
    if isinstance(operation, str) and operation in _TYPE_FROM_OPERATION:
        return _TYPE_FROM_OPERATION[operation]
    if attrs.get("mcp.method.name") == "tools/list":
        return "mcp_tools"
    kind = attrs.get(OI_KIND)
    if isinstance(kind, str) and kind.upper() in _TYPE_FROM_OI_KIND:
        return _TYPE_FROM_OI_KIND[kind.upper()]
    return "custom"


def _foreign_span(span: OtelSpan) -> dict[str, Any]:
    attrs = span.attributes
    span_type = foreign_span_type(attrs)
    status, error_type, error_message, error = _error_fields(span)
    tokens: tuple[int | None, ...] = (None, None, None, None, None)
    if span_type in MODEL_SPAN_TYPES:
        input_tokens = _int_attr(
            attrs,
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        )
        output_tokens = _int_attr(
            attrs,
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        )
        total = _int_attr(attrs, "llm.token_count.total", "gen_ai.usage.total_tokens")
        if total is None and input_tokens is not None and output_tokens is not None:
            total = input_tokens + output_tokens
        cached = _int_attr(
            attrs,
            "gen_ai.usage.cache_read.input_tokens",
            "llm.token_count.prompt_details.cache_read",
        )
        reasoning = _int_attr(
            attrs,
            "gen_ai.usage.reasoning.output_tokens",
            "llm.token_count.completion_details.reasoning",
        )
        tokens = (input_tokens, output_tokens, total, cached, reasoning)
    limit = get_data_policy().max_field_chars
    otel: dict[str, Any] = {"name": span.name, "kind": span.kind, "attributes": attrs}
    if span.resource:
        otel["resource"] = span.resource
    if span.scope:
        otel["scope"] = span.scope
    if span.events:
        otel["events"] = [
            {"name": name, "time": iso_from_ns(time), "attributes": event_attrs}
            for name, time, event_attrs in span.events
        ]
    return {
        "v": RECORD_VERSION,
        "kind": "span",
        "trace_id": trace_id_from_otel(span.trace_id),
        "span_id": span_id_from_otel(span.span_id),
        "parent_id": span_id_from_otel(span.parent_span_id) if span.parent_span_id else None,
        "span_type": span_type,
        "name": clean(span.name, 512),
        "agent_name": _str_attr(attrs, "gen_ai.agent.name", "agent.name"),
        "tool_name": _str_attr(attrs, "gen_ai.tool.name", "tool.name")
        if span_type == "function"
        else None,
        "model": _str_attr(
            attrs, "gen_ai.request.model", "gen_ai.response.model", "llm.model_name"
        ),
        **_times(span),
        "status": status,
        "error_type": error_type,
        "error_message": clean(error_message, limit) if error_message else None,
        "input_tokens": tokens[0],
        "output_tokens": tokens[1],
        "total_tokens": tokens[2],
        "cached_input_tokens": tokens[3],
        "reasoning_tokens": tokens[4],
        "data": clean({"type": span_type, "otel": otel}, limit),
        "error": clean(error, limit),
        "metadata": None,
    }


def _foreign_trace(span: OtelSpan) -> dict[str, Any]:
    attrs = span.attributes
    return {
        "v": RECORD_VERSION,
        "kind": "trace",
        "trace_id": trace_id_from_otel(span.trace_id),
        "workflow_name": clean(_str_attr(attrs, "gen_ai.workflow.name") or span.name, 512),
        "group_id": _str_attr(attrs, "gen_ai.conversation.id", "session.id"),
        "metadata": None,
        **_times(span),
    }
