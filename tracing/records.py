"""One conversion from a finished span or trace to a flat, versioned record (a plain dict).

Every processor writes records: JSONL lines are records, store rows are records, OTLP spans are
built from records. Spans and traces from the official `openai-agents` SDK convert the same way as
ours (SDK task/turn spans export as `custom` with `data.sdk_span_type`; their `span_type` here is
`task`/`turn`).

The fields, their order and types are in `schema.py`.

Token columns are filled for model calls only (generation, response, transcription, speech), so
summing them never double counts; task/turn aggregates stay inside `data.data.usage`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from .clock import iso_from_ns, ns_from_iso
from .schema import MODEL_SPAN_TYPES, RECORD_VERSION
from .sensitive import DataPolicy, clean_fast, clean_text, get_data_policy
from .validate import checked_count, checked_id, checked_times, warn

_SENSITIVE_FIELDS: dict[str, tuple[str, ...]] = {
    "agent": ("input", "output"),
    "generation": ("input", "output"),
    "function": ("input", "output"),
    "speech_group": ("input",),
    "speech": ("input",),
    "transcription": ("output",),
}
_UNSET: Any = object()


def _times(obj: Any) -> tuple[int | None, int | None]:
    start = getattr(obj, "started_at_ns", _UNSET)  # our Span and Trace: integer nanoseconds
    if start is not _UNSET:
        return start, obj.ended_at_ns
    return _iso_time(obj, "started_at"), _iso_time(obj, "ended_at")


def _iso_time(obj: Any, field: str) -> int | None:
    value = getattr(obj, field, None)
    try:
        return ns_from_iso(value)
    except (TypeError, ValueError):
        warn(field, f"not an ISO-8601 time: {value!r}; dropped")
        return None


def _text_id(value: Any, field: str) -> str | None:
    return value if type(value) is str else checked_id(value, field)


def _duration_ms(start: int | None, end: int | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start) / 1_000_000


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _count(usage: Any, field: str, *names: str) -> int | None:
    """The first of `names` present in `usage`, as a count checked under `field`."""
    for name in names:
        value = _get(usage, name)
        if value is not None:
            return checked_count(value, field)
    return None


def usage_numbers(usage: Any) -> tuple[int | None, ...]:
    """(input, output, total, cached input, reasoning) from a Responses- or Chat-style usage."""
    if usage is None:
        return (None, None, None, None, None)
    input_tokens = _count(usage, "input_tokens", "input_tokens", "prompt_tokens")
    output_tokens = _count(usage, "output_tokens", "output_tokens", "completion_tokens")
    total = _count(usage, "total_tokens", "total_tokens")
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    input_details = _get(usage, "input_tokens_details") or _get(usage, "prompt_tokens_details")
    output_details = _get(usage, "output_tokens_details") or _get(
        usage, "completion_tokens_details"
    )
    cached = _count(input_details, "cached_input_tokens", "cached_tokens")
    if cached is None:
        cached = _count(usage, "cached_input_tokens", "cached_input_tokens")
    reasoning = _count(output_details, "reasoning_tokens", "reasoning_tokens")
    return (input_tokens, output_tokens, total, cached, reasoning)


def _span_name(span_type: str, exported: Mapping[str, Any], model: str | None) -> str:
    if span_type in ("agent", "function", "guardrail"):
        return str(exported.get("name") or span_type)
    if span_type == "custom":
        return str(exported.get("name") or "custom")
    if span_type == "task":
        return str(_get(exported.get("data"), "name") or "task")
    if span_type == "turn":
        data = exported.get("data") or {}
        return f"turn {_get(data, 'turn')} {_get(data, 'agent_name') or ''}".strip()
    if span_type == "handoff":
        return f"{exported.get('from_agent') or '?'} -> {exported.get('to_agent') or '?'}"
    if span_type == "mcp_tools":
        return f"mcp_tools {exported.get('server') or ''}".strip()
    if model:
        return model
    return span_type


# With sensitive data off, a span error keeps what code wrote, never what a user did: the
# error's class name, the fixed message it was set with, numbers, and these keys when their value
# is a name (a tool, a guardrail, an exception class). Exception text, echoed inputs and free-form
# details go.
_NAME_KEYS = frozenset(
    {
        "type",
        "error_type",
        "exception_type",
        "tool_name",
        "guardrail",
        "guardrail_name",
        "agent_name",
        "requested_agents",
        "sdk_span_type",
    }
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,199}")
_TYPE_KEYS = ("type", "error_type", "exception_type")


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


def _code_only(data: Any) -> dict[str, Any] | None:
    """An error's `data` without user text: numbers, booleans and names under known keys."""
    if not isinstance(data, Mapping):
        return None
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or isinstance(value, bool | int | float):
            kept[str(key)] = value
        elif key in _NAME_KEYS and (
            _is_name(value)
            or (isinstance(value, list | tuple) and all(_is_name(item) for item in value))
        ):
            kept[str(key)] = list(value) if isinstance(value, list | tuple) else value
    return kept


def _error_fields(
    error: Any, include_sensitive: bool
) -> tuple[str | None, str | None, dict[str, Any] | None]:
    """(error_type, error_message, error) of a span's error, as the policy allows."""
    if not error:
        return None, None, None
    message = _get(error, "message")
    data = _get(error, "data")
    error_type = None
    if isinstance(data, Mapping):
        for key in _TYPE_KEYS:
            value = data.get(key)
            if value and (include_sensitive or _is_name(value)):
                error_type = str(value)
                break
    message_text = str(message) if message is not None else None
    if include_sensitive:
        if error_type is None:
            error_type = (message_text or "Error")[:200]
        return error_type, message_text, error
    if error_type is None:
        error_type = "Error"
    kept = {"message": message_text, "data": _code_only(data)}
    return error_type, message_text, kept


def span_record(
    span: Any, agent_name: str | None = _UNSET, policy: DataPolicy | None = None
) -> dict[str, Any]:
    """The record of a finished span (ours or the official SDK's)."""
    policy = policy or get_data_policy()
    span_data = span.span_data
    try:
        exported = span_data.export()  # a new dict on every call (ours and the SDK's)
    except Exception as error:  # a span data class we do not know, broken: keep the span
        exported = {"type": getattr(span_data, "type", "unknown"), "export_error": repr(error)}
    span_type = str(exported.get("type") or getattr(span_data, "type", "unknown"))
    inner = exported.get("data")
    if span_type == "custom" and isinstance(inner, Mapping):
        sdk_type = inner.get("sdk_span_type")
        if sdk_type in ("task", "turn"):
            span_type = sdk_type

    model = None
    usage = exported.get("usage")
    if span_type == "response":
        response = getattr(span_data, "response", None)
        model = _get(response, "model")
        if usage is None:
            usage = _get(response, "usage")
        exported["model"] = model
        if policy.include_sensitive_data:
            exported["input"] = getattr(span_data, "input", None)
            exported["output"] = _get(response, "output")
    elif span_type in MODEL_SPAN_TYPES:
        model = exported.get("model")

    if not policy.include_sensitive_data:
        for field in _SENSITIVE_FIELDS.get(span_type, ()):
            if field in exported:
                exported[field] = None
        if span_type == "transcription" and isinstance(exported.get("input"), Mapping):
            exported["input"] = {**exported["input"], "data": ""}
        if span_type == "speech" and isinstance(exported.get("output"), Mapping):
            exported["output"] = {**exported["output"], "data": ""}

    if span_type in MODEL_SPAN_TYPES:
        input_tokens, output_tokens, total, cached, reasoning = usage_numbers(usage)
    else:
        input_tokens = output_tokens = total = cached = reasoning = None

    start, end = checked_times(*_times(span))
    span_error = span.error
    error_type, error_message, error_kept = _error_fields(span_error, policy.include_sensitive_data)
    if agent_name is _UNSET:
        agent_name = getattr(span, "agent_name", None)
    metadata = getattr(span_data, "metadata", None)
    limit = policy.max_field_chars
    audio = _take_audio(span_type, exported)
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "kind": "span",
        "trace_id": _text_id(span.trace_id, "trace_id"),
        "span_id": _text_id(span.span_id, "span_id"),
        "parent_id": _text_id(span.parent_id, "parent_id"),
        "span_type": span_type,
        "name": clean_text(str(_span_name(span_type, exported, model)), 512),
        "agent_name": agent_name,
        "tool_name": exported.get("name") if span_type == "function" else None,
        "model": model if model is None else str(model),
        "started_at": iso_from_ns(start),
        "ended_at": iso_from_ns(end),
        "duration_ms": _duration_ms(start, end),
        "status": "error" if span_error else "ok",
        "error_type": clean_text(error_type, 200) if error_type else None,
        "error_message": clean_text(error_message, limit) if error_message else None,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total,
        "cached_input_tokens": cached,
        "reasoning_tokens": reasoning,
        "triggered": bool(exported.get("triggered")) if span_type == "guardrail" else None,
        "data": clean_fast(exported, limit),
        "error": clean_fast(error_kept, limit) if error_kept else None,
        "metadata": clean_fast(metadata, limit) if metadata else None,
    }
    if audio is not None:
        _put_audio(record["data"], *audio, policy.max_audio_chars)
    if policy.redact is not None:
        record = policy.redact(record)
    return record


# Where transcription and speech spans carry their audio (base64 PCM, present only with the
# sensitive-audio switch on): it is bounded by `max_audio_chars`, not the field limit, and never
# run through the secret rules (it is not text, and a masked run would corrupt the sound).
_AUDIO_FIELDS = {"transcription": "input", "speech": "output"}


def _take_audio(span_type: str, exported: dict[str, Any]) -> tuple[str, str] | None:
    field = _AUDIO_FIELDS.get(span_type)
    holder = exported.get(field) if field else None
    if field is None or not isinstance(holder, Mapping):
        return None
    data = holder.get("data")
    if not isinstance(data, str) or not data:
        return None
    exported[field] = {**holder, "data": ""}
    return field, data


def _put_audio(data: Any, field: str, audio: str, max_chars: int) -> None:
    holder = data.get(field) if isinstance(data, dict) else None
    if not isinstance(holder, dict):
        return
    if len(audio) > max_chars:
        kept = max_chars - max_chars % 4  # whole base64 quanta: the kept part still decodes
        audio = f"{audio[:kept]}…[truncated {len(audio) - kept} chars]"
    data[field] = {**holder, "data": audio}


def trace_record(
    trace: Any,
    started_ns: int | None = None,
    ended_ns: int | None = None,
    policy: DataPolicy | None = None,
) -> dict[str, Any]:
    """The record of a finished trace. SDK traces carry no times: pass the ones seen here."""
    policy = policy or get_data_policy()
    own_start, own_end = _times(trace)  # the SDK's traces have none
    start, end = checked_times(
        own_start if own_start is not None else started_ns,
        own_end if own_end is not None else ended_ns,
    )
    metadata = getattr(trace, "metadata", None)
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "kind": "trace",
        "trace_id": _text_id(trace.trace_id, "trace_id"),
        "workflow_name": clean_text(str(getattr(trace, "name", "") or ""), 512),
        "group_id": getattr(trace, "group_id", None),
        "metadata": clean_fast(metadata, policy.max_field_chars) if metadata else None,
        "started_at": iso_from_ns(start),
        "ended_at": iso_from_ns(end),
        "duration_ms": _duration_ms(start, end),
    }
    if policy.redact is not None:
        record = policy.redact(record)
    return record


class ForeignSpanAgents:
    """Tracks the enclosing agent of spans that do not carry it (the official SDK's), from
    `on_span_start`, so their records get `agent_name` like ours. Forgotten when the trace ends."""

    def __init__(self) -> None:
        self._by_trace: dict[str, dict[str, str | None]] = {}
        self._lock = threading.Lock()

    def on_span_start(self, span: Any) -> None:
        data = span.span_data
        span_type = getattr(data, "type", None)
        with self._lock:
            spans = self._by_trace.setdefault(span.trace_id, {})
            if span_type == "agent":
                agent = getattr(data, "name", None)
            else:
                agent = spans.get(span.parent_id) if span.parent_id else None
            spans[span.span_id] = agent

    def agent_of(self, span: Any) -> str | None:
        with self._lock:
            spans = self._by_trace.get(span.trace_id)
            return spans.get(span.span_id) if spans else None

    def forget_trace(self, trace_id: str) -> None:
        with self._lock:
            self._by_trace.pop(trace_id, None)
