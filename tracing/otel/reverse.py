"""OpenTelemetry spans -> records: what `agentoscope serve` stores from OTLP.

Spans that our `OTLPProcessor` sent (they carry `agentoscope.record`) come back exactly: ids,
parents, types, times to the microsecond, tokens, errors and data. Our `invoke_workflow` root span
becomes the trace record. Spans from any other OpenTelemetry app land too: the span type comes
from `gen_ai.operation.name` or `openinference.span.kind` (else `custom`; the table is in
docs/otlp.md), ids are the OTel ids in our shapes (`trace_<32 hex>`, `span_<24 hex>`), parent links
are kept, and a root span also makes the trace record so the trace shows up in trace lists. Model
calls of every kind (chat, completions, embeddings, speech) fill the token columns; a tool call
that is a handoff (`transfer_to_*`, `handoff to *`) becomes a handoff span. Their attributes,
resource and events are kept under `data.otel`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from openinference.semconv.trace import OpenInferenceSpanKindValues as Kind
from openinference.semconv.trace import RerankerAttributes, SpanAttributes

from ..clock import iso_from_ns
from ..schema import (
    FOREIGN_TYPE_FROM_OI_KIND,
    FOREIGN_TYPE_FROM_OPERATION,
    MODEL_SPAN_TYPES,
    RECORD_VERSION,
    SPAN_RECORD_FIELDS,
)
from ..sensitive import clean, get_data_policy
from .mapping import (
    A_DATA,
    A_RECORD,
    OI_KIND,
    OP,
    OtelSpan,
    span_id_from_otel,
    trace_id_from_otel,
)

# The span type of a foreign span: the tables are the core's (a ClickHouse store's view of the
# Collector's table maps them too).
_TYPE_FROM_OPERATION = FOREIGN_TYPE_FROM_OPERATION
_TYPE_FROM_OI_KIND = FOREIGN_TYPE_FROM_OI_KIND
# A CHAIN at the root of a trace is the run itself (our `task`); below it, a generic step.
_CHAIN = Kind.CHAIN.value
_INPUT_TOKENS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    SpanAttributes.LLM_TOKEN_COUNT_PROMPT,
)
_OUTPUT_TOKENS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    SpanAttributes.LLM_TOKEN_COUNT_COMPLETION,
)
_TOTAL_TOKENS = (SpanAttributes.LLM_TOKEN_COUNT_TOTAL, "gen_ai.usage.total_tokens")
_CACHED_TOKENS = (
    "gen_ai.usage.cache_read.input_tokens",
    SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ,
)
_REASONING_TOKENS = (
    "gen_ai.usage.reasoning.output_tokens",
    SpanAttributes.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING,
)
_MODEL_KEYS = (
    "gen_ai.request.model",
    "gen_ai.response.model",
    SpanAttributes.LLM_MODEL_NAME,
    SpanAttributes.EMBEDDING_MODEL_NAME,
    RerankerAttributes.RERANKER_MODEL_NAME,
)
_TOOL_NAME_KEYS = ("gen_ai.tool.name", SpanAttributes.TOOL_NAME)
_AGENT_NAME_KEYS = ("gen_ai.agent.name", SpanAttributes.AGENT_NAME)
# Where a foreign model or tool call carries its input and output (sent only when its app
# captures content): (input keys, output keys), first present wins.
_CONTENT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "generation": (
        ("gen_ai.input.messages", SpanAttributes.INPUT_VALUE),
        ("gen_ai.output.messages", SpanAttributes.OUTPUT_VALUE),
    ),
    "function": (
        ("gen_ai.tool.call.arguments", SpanAttributes.INPUT_VALUE),
        ("gen_ai.tool.call.result", SpanAttributes.OUTPUT_VALUE),
    ),
}
# How handoffs show up as tool calls: the SDK's default handoff tool name, and the span name
# OpenInference's openai-agents instrumentation gives a handoff span.
_HANDOFF_PREFIXES = ("transfer_to_", "handoff to ")


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
    `invoke_workflow` root, or both (span and trace) for the root span of a foreign trace."""
    blob = span.attributes.get(A_RECORD)
    if isinstance(blob, str):
        return [
            ours_from_blob(
                trace_id_from_otel(span.trace_id),
                span.start_ns,
                span.end_ns,
                blob,
                span.attributes.get(A_DATA),
            )
        ]
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


# Every key of a span record, in order: the store builds its columns from such records with a
# C-level itemgetter, which needs every key present.
_SPAN_TEMPLATE: dict[str, Any] = {
    **dict.fromkeys(SPAN_RECORD_FIELDS),
    "v": RECORD_VERSION,
    "kind": "span",
    "status": "ok",
}


def ours_from_blob(
    trace_id: str,
    start_ns: int | None,
    end_ns: int | None,
    blob: str,
    data: Any,
    times: Callable[[int | None], Any] = iso_from_ns,
) -> dict[str, Any]:
    """The record of a span or trace our `OTLPProcessor` sent, from its `agentoscope.record` and
    `agentoscope.data` attributes and the span's trace id (`trace_<hex>`) and times. The record
    is well formed (kind, version, string ids) or this raises ValueError. `times` spells the
    start and end (default: ISO 8601 UTC, as in every record)."""
    fields = orjson.loads(blob)
    if type(fields) is not dict:
        raise ValueError(f"{A_RECORD} is not a JSON object")
    own_trace_id = fields.get("trace_id")
    if own_trace_id:
        if type(own_trace_id) is not str:
            raise ValueError(f"{A_RECORD} has a trace_id that is not a string")
        trace_id = own_trace_id
    duration = None if start_ns is None or end_ns is None else (end_ns - start_ns) / 1_000_000
    if fields.get("kind") == "trace":
        return {
            "v": RECORD_VERSION,
            "kind": "trace",
            "trace_id": trace_id,
            "workflow_name": fields.get("workflow_name", ""),
            "group_id": fields.get("group_id"),
            "metadata": fields.get("metadata"),
            "started_at": times(start_ns),
            "ended_at": times(end_ns),
            "duration_ms": duration,
        }
    if type(fields.get("span_id")) is not str:
        raise ValueError(f"{A_RECORD} has no span_id")
    # Copying a template and updating it is cheaper than a literal with ** unpacking.
    record = _SPAN_TEMPLATE.copy()
    record.update(fields)
    record["v"] = RECORD_VERSION
    record["kind"] = "span"
    record["trace_id"] = trace_id
    record["started_at"] = times(start_ns)
    record["ended_at"] = times(end_ns)
    record["duration_ms"] = duration
    record["data"] = orjson.loads(data) if isinstance(data, str) else None
    return record


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
    error = {"message": message or error_type, "data": {"type": error_type}}
    return "error", error_type, message, error


def foreign_span_type(attrs: Mapping[str, Any], name: str = "", is_root: bool = False) -> str:
    """Our span type for a span (its attributes and name) from another OpenTelemetry app."""
    span_type = _declared_type(attrs, is_root)
    if span_type == "function" and _handoff_target(attrs, name) is not None:
        return "handoff"
    return span_type


def _declared_type(attrs: Mapping[str, Any], is_root: bool) -> str:
    operation = attrs.get(OP)
    if isinstance(operation, str) and operation in _TYPE_FROM_OPERATION:
        return _TYPE_FROM_OPERATION[operation]
    if attrs.get("mcp.method.name") == "tools/list":
        return "mcp_tools"
    kind = attrs.get(OI_KIND)
    if isinstance(kind, str):
        kind = kind.upper()
        if kind in _TYPE_FROM_OI_KIND:
            return _TYPE_FROM_OI_KIND[kind]
        if kind == _CHAIN and is_root:
            return "task"
    return "custom"


def _handoff_target(attrs: Mapping[str, Any], name: str) -> str | None:
    """The agent a tool call hands off to, if it is a handoff; else None."""
    for candidate in (_str_attr(attrs, *_TOOL_NAME_KEYS), name):
        if not candidate:
            continue
        for prefix in _HANDOFF_PREFIXES:
            if candidate.startswith(prefix) and len(candidate) > len(prefix):
                return candidate[len(prefix) :]
    return None


def _tool_name(span_type: str, attrs: Mapping[str, Any], name: str) -> str | None:
    if span_type != "function":
        return None
    # OpenInference tool, retriever and reranker spans are often named after the tool alone.
    return _str_attr(attrs, *_TOOL_NAME_KEYS) or name or None


def _foreign_data(
    span_type: str, attrs: Mapping[str, Any], name: str, otel: dict[str, Any]
) -> dict[str, Any]:
    data: dict[str, Any] = {"type": span_type, "otel": otel}
    content_keys = _CONTENT_KEYS.get(span_type)
    if content_keys is not None:
        # Their content where our spans keep it, so the generations and tool_calls views and
        # the dashboard show it; taken from the cleaned attributes (secrets masked, cut).
        for field_name, keys in zip(("input", "output"), content_keys, strict=True):
            value = _str_attr(otel["attributes"], *keys)
            if value is not None:
                data[field_name] = value
    if span_type == "handoff":
        # The shape of our handoff spans, so the handoffs view reads from and to.
        data["from_agent"] = clean(_str_attr(attrs, *_AGENT_NAME_KEYS), 512)
        data["to_agent"] = clean(_handoff_target(attrs, name), 512)
    # A tool call through an MCP server (our mapping's attribute): the shape our function spans
    # have, so the dashboard and the tool_calls view see the server.
    server = _str_attr(attrs, "agentoscope.mcp.server")
    if span_type == "function" and server is not None:
        data["mcp_data"] = {"server": server}
    return data


def _foreign_span(span: OtelSpan) -> dict[str, Any]:
    attrs = span.attributes
    span_type = foreign_span_type(attrs, span.name, is_root=not span.parent_span_id)
    status, error_type, error_message, error = _error_fields(span)
    tokens: tuple[int | None, ...] = (None, None, None, None, None)
    if span_type in MODEL_SPAN_TYPES:
        input_tokens = _int_attr(attrs, *_INPUT_TOKENS)
        output_tokens = _int_attr(attrs, *_OUTPUT_TOKENS)
        total = _int_attr(attrs, *_TOTAL_TOKENS)
        if total is None and input_tokens is not None and output_tokens is not None:
            total = input_tokens + output_tokens
        cached = _int_attr(attrs, *_CACHED_TOKENS)
        reasoning = _int_attr(attrs, *_REASONING_TOKENS)
        tokens = (input_tokens, output_tokens, total, cached, reasoning)
    limit = get_data_policy().max_field_chars
    # Secrets masked and long values cut in what the span brought; the resource is shared by
    # many spans and cleaned once by the receiver.
    otel: dict[str, Any] = {
        "name": clean(span.name, limit),
        "kind": span.kind,
        "attributes": clean(attrs, limit),
    }
    if span.resource:
        otel["resource"] = span.resource
    if span.scope:
        otel["scope"] = clean(span.scope, limit)
    if span.events:
        otel["events"] = [
            {
                "name": clean(name, limit),
                "time": iso_from_ns(at),
                "attributes": clean(attrs_, limit),
            }
            for name, at, attrs_ in span.events
        ]
    return {
        "v": RECORD_VERSION,
        "kind": "span",
        "trace_id": trace_id_from_otel(span.trace_id),
        "span_id": span_id_from_otel(span.span_id),
        "parent_id": span_id_from_otel(span.parent_span_id) if span.parent_span_id else None,
        "span_type": span_type,
        "name": clean(span.name, 512),
        "agent_name": _str_attr(attrs, *_AGENT_NAME_KEYS),
        "tool_name": clean(_tool_name(span_type, attrs, span.name), 512),
        "model": _str_attr(attrs, *_MODEL_KEYS),
        **_times(span),
        "status": status,
        "error_type": error_type,
        "error_message": clean(error_message, limit) if error_message else None,
        "input_tokens": tokens[0],
        "output_tokens": tokens[1],
        "total_tokens": tokens[2],
        "cached_input_tokens": tokens[3],
        "reasoning_tokens": tokens[4],
        "triggered": None,
        "data": _foreign_data(span_type, attrs, span.name, otel),
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
