"""A readable span tree of one trace, from records: for the console and `agentoscope show`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

_COLORS = {
    "agent": "\033[1;36m",
    "generation": "\033[35m",
    "response": "\033[35m",
    "function": "\033[33m",
    "handoff": "\033[34m",
    "guardrail": "\033[32m",
    "error": "\033[1;31m",
    "dim": "\033[2m",
}
_RESET = "\033[0m"


def format_duration(ms: float | None) -> str:
    if ms is None:
        return "?"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLORS[style]}{text}{_RESET}" if color and style in _COLORS else text


def _span_line(span: dict[str, Any], color: bool) -> str:
    span_type = span.get("span_type") or "?"
    parts = [_paint(span_type, span_type, color), str(span.get("name") or "")]
    parts.append(_paint(format_duration(span.get("duration_ms")), "dim", color))
    input_tokens, output_tokens = span.get("input_tokens"), span.get("output_tokens")
    if input_tokens is not None or output_tokens is not None:
        parts.append(f"{input_tokens or 0}→{output_tokens or 0} tok")
    tripped = span.get("triggered")
    if tripped is None:  # a record written before the field existed
        data = span.get("data")
        tripped = isinstance(data, dict) and data.get("triggered")
    if span_type == "guardrail" and tripped:
        parts.append(_paint("TRIPPED", "error", color))
    if span.get("status") == "error":
        message = span.get("error_message") or ""
        parts.append(
            _paint(f"✗ {span.get('error_type') or 'error'}: {message[:120]}", "error", color)
        )
    return "  ".join(part for part in parts if part)


def render_trace(
    trace: dict[str, Any] | None, spans: Iterable[dict[str, Any]], color: bool = False
) -> str:
    """The trace header and its spans as an indented tree, children in start order."""
    spans = list(spans)
    ids = {span["span_id"] for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        parent = span.get("parent_id")
        children[parent if parent in ids else None].append(span)
    for group in children.values():
        group.sort(key=lambda span: span.get("started_at") or "")

    errors = sum(1 for span in spans if span.get("status") == "error")
    tokens = sum(
        (span.get("input_tokens") or 0) + (span.get("output_tokens") or 0) for span in spans
    )
    trace_id = (trace or {}).get("trace_id") or (spans[0]["trace_id"] if spans else "?")
    name = (trace or {}).get("workflow_name") or "(trace not finished)"
    header = [_paint("●", "agent", color), _paint(str(name), "agent", color), trace_id]
    if trace and trace.get("duration_ms") is not None:
        header.append(format_duration(trace["duration_ms"]))
    header.append(f"{len(spans)} spans")
    if tokens:
        header.append(f"{tokens:,} tok")
    if errors:
        header.append(_paint(f"{errors} error{'s' if errors > 1 else ''}", "error", color))
    lines = ["  ".join(header)]

    def walk(parent: str | None, prefix: str) -> None:
        group = children.get(parent, [])
        for index, span in enumerate(group):
            last = index == len(group) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_span_line(span, color)}")
            walk(span["span_id"], prefix + ("   " if last else "│  "))

    walk(None, "")
    return "\n".join(lines)
