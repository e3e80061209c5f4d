"""Records <-> OpenTelemetry spans, following the GenAI semantic conventions (v1.37+), with the
OpenInference keys Phoenix reads and our own keys under `agentoscope.*`.

This module is the forward direction (`otel_span_from_record`, `otel_span_from_trace`): what
`OTLPProcessor` sends. A trace becomes the root span `invoke_workflow {workflow_name}`; top-level
spans are its children. The reverse, what `agentoscope serve` stores, is `otel/reverse.py`.

Ids: the OTel trace id is the 128 bits of `trace_<32 hex>`; our span ids have 96 bits, so the
64-bit OTel span id is a hash of the string and the string itself travels as
`agentoscope.span_id`. Ids that come from OTel (`span_<8 zeros><16 hex>`) map back to the same
OTel id, so a span can be found in both worlds.

Neither direction imports OpenTelemetry: `OtelSpan` is a plain value that the processor turns into
an SDK span and the receiver fills from protobuf.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from openinference.semconv.trace import SpanAttributes

from ..clock import ns_from_iso
from ..schema import MODEL_SPAN_TYPES, SPAN_RECORD_FIELDS
from .genai_messages import to_genai_messages
from .openinference_attrs import SPAN_KIND, model_content, set_value, span_kind
from .run_io import RunIO

# Our keys. `agentoscope.record` (the record's own fields, JSON) always comes first and
# `agentoscope.data` (the span data, JSON) second, so `serve` can read a span of ours without
# walking all its attributes; the order is a speed-up only, never needed for correctness.
A_RECORD = "agentoscope.record"
A_DATA = "agentoscope.data"
A_SPAN_ID = "agentoscope.span_id"
A_PARENT_ID = "agentoscope.parent_id"
A_SPAN_TYPE = "agentoscope.span_type"
A_TRACE_ID = "agentoscope.trace_id"
# Record fields that travel in `agentoscope.record`: all of a span record's but those the OTel
# span carries itself (ids of the trace, times) or sends apart (`data`, in `agentoscope.data`).
_FIELDS_OUTSIDE_BLOB = frozenset(
    {"v", "kind", "trace_id", "started_at", "ended_at", "duration_ms", "data"}
)
RECORD_BLOB_FIELDS = tuple(
    field for field in SPAN_RECORD_FIELDS if field not in _FIELDS_OUTSIDE_BLOB
)
TRACE_BLOB_FIELDS = ("kind", "workflow_name", "group_id", "metadata")

OP = "gen_ai.operation.name"
OI_KIND = SPAN_KIND
PROVIDER = "openai"

_CANONICAL_TRACE_ID = re.compile(r"trace_[0-9a-f]{32}")
_FROM_OTEL_SPAN_ID = re.compile(r"span_00000000([0-9a-f]{16})")

# Content fields of each span type's data: sent only when content capture is on.
CONTENT_FIELDS: dict[str, tuple[str, ...]] = {
    "agent": ("input", "output"),
    "generation": ("input", "output"),
    "response": ("input", "output"),
    "function": ("input", "output"),
    "transcription": ("output",),
    "speech": ("input",),
    "speech_group": ("input",),
}
_CLIENT_TYPES = frozenset({"generation", "response", "transcription", "speech", "mcp_tools"})
_REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}


# The names `OtelSpan` uses for OTel span kinds and status codes, each at the index of its number
# in OTLP (`SpanKind`, `Status.StatusCode` in trace.proto): the decoder reads them by number, the
# encoder and the SDK path look them up by name.
SPAN_KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_NAMES = ("unset", "ok", "error")


@dataclass(slots=True)
class OtelSpan:
    """An OpenTelemetry span as plain values. `kind` is one of `SPAN_KIND_NAMES` but
    "unspecified"; `status` one of `STATUS_NAMES`."""

    trace_id: int
    span_id: int
    parent_span_id: int | None
    name: str
    kind: str
    start_ns: int | None
    end_ns: int | None
    attributes: dict[str, Any]
    status: str = "unset"
    status_message: str | None = None
    events: list[tuple[str, int | None, dict[str, Any]]] = field(default_factory=list)
    resource: dict[str, Any] | None = None
    scope: str | None = None


# -- ids -------------------------------------------------------------------------------------


def _hash64(text: str, salt: bytes = b"") -> int:
    value = int.from_bytes(hashlib.blake2b(salt + text.encode(), digest_size=8).digest(), "big")
    return value or 1


# Pure functions of the id string, called for every span and again for its children: cached.
@functools.lru_cache(maxsize=8192)
def otel_trace_id(trace_id: str) -> int:
    """The 128-bit OTel trace id of one of our trace ids."""
    if _CANONICAL_TRACE_ID.fullmatch(trace_id):
        value = int(trace_id[6:], 16)
        if value:
            return value
    digest = hashlib.blake2b(trace_id.encode(), digest_size=16).digest()
    return int.from_bytes(digest, "big") or 1


@functools.lru_cache(maxsize=8192)
def otel_span_id(span_id: str) -> int:
    """The 64-bit OTel span id of one of our span ids (deterministic)."""
    matched = _FROM_OTEL_SPAN_ID.fullmatch(span_id)
    if matched:
        value = int(matched.group(1), 16)
        if value:
            return value
    return _hash64(span_id)


@functools.lru_cache(maxsize=1024)
def root_span_id(trace_id: str) -> int:
    """The OTel span id of the `invoke_workflow` root span of a trace."""
    return _hash64(trace_id, b"root:")


def trace_id_from_otel(value: int) -> str:
    return f"trace_{value:032x}"


def span_id_from_otel(value: int) -> str:
    return f"span_{value:024x}"


# -- forward: records -> OTel ----------------------------------------------------------------


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _set(attributes: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str | bool | int | float):
        attributes[key] = value
    else:
        attributes[key] = _json(value)


def _without_content(span_type: str, data: Any) -> Any:
    fields = CONTENT_FIELDS.get(span_type)
    if not fields or not isinstance(data, Mapping):
        return data
    return {key: (None if key in fields else value) for key, value in data.items()}


def _strip_audio(span_type: str, data: Any) -> Any:
    """Audio never travels inline, whatever the content switch says."""
    key = {"transcription": "input", "speech": "output"}.get(span_type)
    if key is None or not isinstance(data, Mapping) or not isinstance(data.get(key), Mapping):
        return data
    return {**data, key: {**data[key], "data": ""}}


def otel_times(record: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """Start and end in ns for a record whose times are whole microseconds and whose
    `duration_ms` keeps the nanoseconds: the start moves within its microsecond so that both
    times still read the same to the microsecond and `end - start` is the exact duration."""
    start = ns_from_iso(record.get("started_at"))
    end = ns_from_iso(record.get("ended_at"))
    duration_ms = record.get("duration_ms")
    if start is None or end is None or not isinstance(duration_ms, int | float):
        return start, end
    duration = round(duration_ms * 1_000_000)
    offset = max(0, end - start - duration)
    if offset > 999 or start + offset + duration >= end + 1000:
        return start, end  # the times disagree with the duration: keep the times
    return start + offset, start + offset + duration


def _span_name(span_type: str, record: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    name = record.get("name") or span_type
    model = record.get("model")
    if span_type == "agent":
        return f"invoke_agent {data.get('name') or name}"
    if span_type in ("generation", "response"):
        return f"chat {model}" if model else "chat"
    if span_type == "function":
        return f"execute_tool {record.get('tool_name') or data.get('name') or name}"
    if span_type == "guardrail":
        return f"apply_guardrail {data.get('name') or name}"
    if span_type == "handoff":
        return f"handoff {data.get('from_agent') or '?'} -> {data.get('to_agent') or '?'}"
    if span_type == "mcp_tools":
        return f"tools/list {data.get('server') or ''}".rstrip()
    if span_type == "transcription":
        return f"speech_to_text {model}" if model else "speech_to_text"
    if span_type == "speech":
        return f"text_to_speech {model}" if model else "text_to_speech"
    if span_type == "task":
        return f"run {name}"
    return str(name)


def _usage_attributes(record: Mapping[str, Any], attributes: dict[str, Any]) -> None:
    pairs = (
        ("input_tokens", "gen_ai.usage.input_tokens", SpanAttributes.LLM_TOKEN_COUNT_PROMPT),
        ("output_tokens", "gen_ai.usage.output_tokens", SpanAttributes.LLM_TOKEN_COUNT_COMPLETION),
        (
            "cached_input_tokens",
            "gen_ai.usage.cache_read.input_tokens",
            SpanAttributes.LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ,
        ),
        (
            "reasoning_tokens",
            "gen_ai.usage.reasoning.output_tokens",
            SpanAttributes.LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING,
        ),
        ("total_tokens", None, SpanAttributes.LLM_TOKEN_COUNT_TOTAL),
    )
    for field_name, genai_key, openinference_key in pairs:
        value = record.get(field_name)
        if value is None:
            continue
        if genai_key:
            attributes[genai_key] = value
        attributes[openinference_key] = value


def _model_attributes(
    span_type: str, record: Mapping[str, Any], data: Mapping[str, Any], attrs: dict[str, Any]
) -> None:
    attrs["gen_ai.provider.name"] = PROVIDER
    model = record.get("model")
    if model is not None:
        attrs["gen_ai.request.model"] = model
        attrs[SpanAttributes.LLM_MODEL_NAME] = model
    attrs[SpanAttributes.LLM_PROVIDER] = PROVIDER
    attrs[SpanAttributes.LLM_SYSTEM] = PROVIDER
    config = data.get("model_config")
    if isinstance(config, Mapping):
        # The numeric settings only: they are never user text, whatever the content switch.
        parameters: dict[str, Any] = {}
        for key, attribute in _REQUEST_PARAMS.items():
            value = config.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                attrs[attribute] = value
                parameters[key] = value
        if parameters:
            attrs[SpanAttributes.LLM_INVOCATION_PARAMETERS] = _json(parameters)
        stop = config.get("stop")
        if isinstance(stop, str):
            attrs["gen_ai.request.stop_sequences"] = [stop]
        elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
            attrs["gen_ai.request.stop_sequences"] = stop
    if span_type == "generation":
        attrs["openai.api.type"] = "chat_completions"
    elif span_type == "response":
        attrs["openai.api.type"] = "responses"
        _set(attrs, "gen_ai.response.id", data.get("response_id"))
    _usage_attributes(record, attrs)


def _content_attributes(span_type: str, data: Mapping[str, Any], attrs: dict[str, Any]) -> None:
    if span_type in ("generation", "response"):
        if data.get("input") is not None:
            attrs["gen_ai.input.messages"] = _json(to_genai_messages(data["input"], "user"))
        if data.get("output") is not None:
            attrs["gen_ai.output.messages"] = _json(to_genai_messages(data["output"], "assistant"))
        model_content(data, attrs)
    elif span_type == "function":
        _set(attrs, "gen_ai.tool.call.arguments", data.get("input"))
        _set(attrs, "gen_ai.tool.call.result", data.get("output"))
        set_value(attrs, "input", data.get("input"))
        set_value(attrs, "output", data.get("output"))
    elif span_type == "agent":
        set_value(attrs, "input", data.get("input"))
        set_value(attrs, "output", data.get("output"))
    elif span_type == "transcription":
        set_value(attrs, "output", data.get("output"))
    elif span_type in ("speech", "speech_group"):
        set_value(attrs, "input", data.get("input"))


def _type_attributes(
    span_type: str,
    record: Mapping[str, Any],
    data: Mapping[str, Any],
    attrs: dict[str, Any],
    events: list[tuple[str, int | None, dict[str, Any]]],
    end_ns: int | None,
) -> None:
    if span_type in ("generation", "response", "transcription", "speech"):
        _model_attributes(span_type, record, data, attrs)
        if span_type in ("generation", "response"):
            attrs[OP] = "chat"
        elif span_type == "transcription":
            attrs[OP] = "speech_to_text"
        else:
            attrs[OP] = "text_to_speech"
            attrs["gen_ai.output.type"] = "speech"
    elif span_type == "agent":
        attrs[OP] = "invoke_agent"
        attrs["gen_ai.provider.name"] = PROVIDER
        _set(attrs, SpanAttributes.AGENT_NAME, data.get("name"))
        _set(attrs, SpanAttributes.GRAPH_NODE_ID, data.get("name"))
        if data.get("output_type") not in (None, "", "str"):
            attrs["gen_ai.output.type"] = "json"
            attrs["agentoscope.agent.output_type"] = str(data["output_type"])
        for key in ("tools", "handoffs"):
            names = data.get(key)
            if isinstance(names, list):
                attrs[f"agentoscope.agent.{key}"] = [str(n) for n in names]
    elif span_type == "function":
        attrs[OP] = "execute_tool"
        _set(attrs, "gen_ai.tool.name", record.get("tool_name"))
        _set(attrs, SpanAttributes.TOOL_NAME, record.get("tool_name"))
        attrs["gen_ai.tool.type"] = "extension" if data.get("mcp_data") else "function"
        _set(attrs, "gen_ai.tool.call.id", data.get("call_id"))
        mcp_data = data.get("mcp_data")
        if mcp_data:
            attrs["mcp.method.name"] = "tools/call"
            # The MCP semantic conventions name no server attribute (only server.address for
            # a network peer): the server's name goes under the key the tools/list span uses.
            if isinstance(mcp_data, Mapping):
                _set(attrs, "agentoscope.mcp.server", mcp_data.get("server"))
    elif span_type == "guardrail":
        attrs[OP] = "apply_guardrail"
        result = {
            "gen_ai.guardrail.component.name": str(data.get("name") or record.get("name")),
            "gen_ai.guardrail.result.type": "tripwire_triggered",
            "gen_ai.guardrail.result.value": "true" if data.get("triggered") else "false",
        }
        if data.get("source"):
            result["gen_ai.guardrail.source"] = str(data["source"])
        attrs.update(result)
        events.append(("gen_ai.guardrail.result", end_ns, dict(result)))
        # The verdict, not the checked text: sent whatever the content switch says.
        set_value(attrs, "output", {"tripwire_triggered": bool(data.get("triggered"))})
    elif span_type == "handoff":
        attrs[OP] = "handoff"
        _set(attrs, "agentoscope.handoff.from_agent", data.get("from_agent"))
        _set(attrs, "agentoscope.handoff.to_agent", data.get("to_agent"))
        # Agent names, not user text: the handoff reads "from -> to" in any OpenInference viewer.
        set_value(attrs, "input", data.get("from_agent"))
        set_value(attrs, "output", data.get("to_agent"))
    elif span_type == "mcp_tools":
        attrs["mcp.method.name"] = "tools/list"
        _set(attrs, "agentoscope.mcp.server", data.get("server"))
        tools = data.get("result")
        if isinstance(tools, list):
            attrs["agentoscope.mcp.tools"] = [str(t) for t in tools]
    elif span_type in ("task", "turn"):
        inner = data.get("data")
        usage = inner.get("usage") if isinstance(inner, Mapping) else None
        if isinstance(usage, Mapping):
            for key in ("input_tokens", "output_tokens", "total_tokens"):
                _set(attrs, f"agentoscope.usage.{key}", usage.get(key))
        if span_type == "turn" and isinstance(inner, Mapping):
            _set(attrs, "agentoscope.turn", inner.get("turn"))


def otel_span_from_record(record: Mapping[str, Any], capture_content: bool = False) -> OtelSpan:
    """The OTel span for a span record."""
    span_type = str(record.get("span_type") or "custom")
    raw_data = record.get("data")
    data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
    trace_id = str(record["trace_id"])
    span_id = str(record["span_id"])
    parent_id = record.get("parent_id")
    start_ns, end_ns = otel_times(record)

    if capture_content:
        sent_data = _strip_audio(span_type, raw_data)
    else:
        sent_data = _strip_audio(span_type, _without_content(span_type, raw_data))
    blob = {key: record[key] for key in RECORD_BLOB_FIELDS if record.get(key) is not None}
    if not _CANONICAL_TRACE_ID.fullmatch(trace_id):
        blob["trace_id"] = trace_id
    attrs: dict[str, Any] = {A_RECORD: _json(blob)}
    if sent_data is not None:
        attrs[A_DATA] = _json(sent_data)
    attrs[A_SPAN_ID] = span_id
    if parent_id is not None:
        attrs[A_PARENT_ID] = str(parent_id)
    attrs[A_SPAN_TYPE] = span_type
    _set(attrs, "gen_ai.agent.name", record.get("agent_name"))
    attrs[OI_KIND] = span_kind(span_type)
    events: list[tuple[str, int | None, dict[str, Any]]] = []
    _type_attributes(span_type, record, data, attrs, events, end_ns)
    if span_type not in MODEL_SPAN_TYPES and record.get("model") is not None:
        attrs["gen_ai.request.model"] = record["model"]
    if capture_content:
        _content_attributes(span_type, data, attrs)

    status, message = "unset", None
    if record.get("status") == "error" or record.get("error"):
        status = "error"
        message = record.get("error_message")
        attrs["error.type"] = str(record.get("error_type") or "_OTHER")
    return OtelSpan(
        trace_id=otel_trace_id(trace_id),
        span_id=otel_span_id(span_id),
        parent_span_id=otel_span_id(parent_id) if parent_id else root_span_id(trace_id),
        name=_span_name(span_type, record, data),
        kind="client" if span_type in _CLIENT_TYPES else "internal",
        start_ns=start_ns,
        end_ns=end_ns,
        attributes=attrs,
        status=status,
        status_message=message,
        events=events,
    )


def otel_span_from_trace(
    record: Mapping[str, Any], run_input: Any = None, run_output: Any = None
) -> OtelSpan:
    """The `invoke_workflow` root span for a trace record; `run_input`/`run_output` (content
    capture on) are the workflow's input and final output."""
    trace_id = str(record["trace_id"])
    start_ns, end_ns = otel_times(record)
    workflow = str(record.get("workflow_name") or "")
    blob = {key: record[key] for key in TRACE_BLOB_FIELDS if record.get(key) is not None}
    if not _CANONICAL_TRACE_ID.fullmatch(trace_id):
        blob["trace_id"] = trace_id
    attrs: dict[str, Any] = {
        A_RECORD: _json(blob),
        OP: "invoke_workflow",
        "gen_ai.workflow.name": workflow,
        OI_KIND: span_kind("workflow"),
    }
    group_id = record.get("group_id")
    if group_id is not None:
        attrs["gen_ai.conversation.id"] = str(group_id)
        attrs[SpanAttributes.SESSION_ID] = str(group_id)
    set_value(attrs, "input", run_input)
    set_value(attrs, "output", run_output)
    return OtelSpan(
        trace_id=otel_trace_id(trace_id),
        span_id=root_span_id(trace_id),
        parent_span_id=None,
        name=f"invoke_workflow {workflow}" if workflow else "invoke_workflow",
        kind="internal",
        start_ns=start_ns,
        end_ns=end_ns,
        attributes=attrs,
    )


def otel_spans_from_records(
    records: list[dict[str, Any]], capture_content: bool = False, run_io: RunIO | None = None
) -> list[OtelSpan]:
    """The OTel spans of records in the order they finished. With content capture on, `run_io`
    (kept across batches by the caller) gives each workflow root its run's input and output."""
    spans: list[OtelSpan] = []
    for record in records:
        if record.get("kind") == "trace":
            if capture_content and run_io is not None:
                spans.append(otel_span_from_trace(record, *run_io.take(record.get("trace_id"))))
            else:
                spans.append(otel_span_from_trace(record))
        else:
            if capture_content and run_io is not None:
                run_io.observe(record)
            spans.append(otel_span_from_record(record, capture_content))
    return spans
