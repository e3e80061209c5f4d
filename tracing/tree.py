"""A readable span tree of one trace, from records: the walk (depth-first, children by start)
that the console, `agentoscope show` and the dashboard share, and how durations read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


def format_duration(ms: float | None, missing: str = "?") -> str:
    """A duration for people: µs under a millisecond, ms under a second (one decimal below
    100 ms), seconds under a minute, then minutes and seconds."""
    if ms is None or ms != ms:  # None or NaN
        return missing
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(ms / 1000, 60)
    return f"{int(minutes)} min {seconds:.0f} s"


@dataclass(frozen=True)
class Glyphs:
    """How a tree is drawn: the branch before a span and the indent below it."""

    branch: str
    last_branch: str
    indent: str
    last_indent: str
    roots_branch: bool  # roots get a branch too (under a header), or stand flush left


CONSOLE_GLYPHS = Glyphs("├─ ", "└─ ", "│  ", "   ", roots_branch=True)
TABLE_GLYPHS = Glyphs("├ ", "└ ", "│  ", "   ", roots_branch=False)


@dataclass(frozen=True)
class TreeRow:
    """One span's place in the tree: its position in the input, depth and drawn prefix."""

    index: int
    depth: int
    prefix: str


def tree_rows(
    span_ids: Sequence[Any],
    parent_ids: Sequence[Any],
    start_keys: Sequence[Any],
    glyphs: Glyphs = CONSOLE_GLYPHS,
) -> list[TreeRow]:
    """The spans in depth-first order, children by `start_keys` (comparable values).

    A span whose parent is missing (not yet written, or dropped) becomes a root, and spans
    caught in a parent cycle (bad data) come last, each once: nothing recorded is hidden."""
    ids = set(span_ids)
    children: dict[Any, list[int]] = defaultdict(list)
    for index, parent in enumerate(parent_ids):
        children[parent if parent is not None and parent in ids else None].append(index)
    for group in children.values():
        group.sort(key=lambda index: start_keys[index])

    rows: list[TreeRow] = []
    seen: set[int] = set()
    roots = children[None]
    stack = [
        (index, 0, "", pos == len(roots) - 1) for pos, index in reversed(list(enumerate(roots)))
    ]
    while stack:
        index, depth, prefix, last = stack.pop()
        if index in seen:
            continue
        seen.add(index)
        drawn = depth > 0 or glyphs.roots_branch
        branch = (glyphs.last_branch if last else glyphs.branch) if drawn else ""
        rows.append(TreeRow(index, depth, prefix + branch))
        below = prefix + (glyphs.last_indent if last else glyphs.indent) if drawn else ""
        kids = children.get(span_ids[index], [])
        for pos, child in reversed(list(enumerate(kids))):
            stack.append((child, depth + 1, below, pos == len(kids) - 1))
    rows += [TreeRow(index, 0, "") for index in range(len(span_ids)) if index not in seen]
    return rows


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_COLORS[style]}{text}{_RESET}" if color and style in _COLORS else text


def _span_line(span: dict[str, Any], color: bool) -> str:
    span_type = span.get("span_type") or "?"
    parts = [_paint(span_type, span_type, color), str(span.get("name") or "")]
    parts.append(_paint(format_duration(span.get("duration_ms")), "dim", color))
    input_tokens, output_tokens = span.get("input_tokens"), span.get("output_tokens")
    if input_tokens is not None or output_tokens is not None:
        parts.append(f"{input_tokens or 0}→{output_tokens or 0} tok")
    # Records carry the verdict; the store fills it for records written before the field.
    if span_type == "guardrail" and span.get("triggered"):
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
    rows = tree_rows(
        [span["span_id"] for span in spans],
        [span.get("parent_id") for span in spans],
        [span.get("started_at") or "" for span in spans],
    )

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
    lines += [f"{row.prefix}{_span_line(spans[row.index], color)}" for row in rows]
    return "\n".join(lines)
