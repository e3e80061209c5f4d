"""Helpers for realtime session tests: read events until one arrives, the span tree as text."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from agentoscope.runtime.realtime import RealtimeSession, RealtimeSessionEvent


async def events_until(
    session: RealtimeSession,
    stop: Callable[[RealtimeSessionEvent], bool],
    *,
    raw: bool = False,
) -> list[RealtimeSessionEvent]:
    """The session's events up to and including the first for which `stop` is true
    (raw model events left out unless `raw`)."""
    seen: list[RealtimeSessionEvent] = []
    async for event in session:
        if raw or event.type != "raw_model_event":
            seen.append(event)
        if stop(event):
            return seen
    raise AssertionError(f"the session ended first; events: {[e.type for e in seen]}")


def nth(kind: str, n: int) -> Callable[[RealtimeSessionEvent], bool]:
    """A stop condition: the n-th event of type `kind`."""
    count = 0

    def stop(event: RealtimeSessionEvent) -> bool:
        nonlocal count
        if event.type == kind:
            count += 1
        return count >= n

    return stop


def span_tree(spans: list[Any]) -> list[str]:
    """`type name` per span, indented under its parent, children in start order."""
    by_parent: dict[str | None, list[Any]] = defaultdict(list)
    ids = {span.span_id for span in spans}
    for span in spans:
        by_parent[span.parent_id if span.parent_id in ids else None].append(span)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(by_parent[parent], key=lambda s: s.started_at_ns):
            lines.append("  " * depth + f"{span.span_data.type} {_name(span.span_data)}".rstrip())
            walk(span.span_id, depth + 1)

    walk(None, 0)
    return lines


def _name(data: Any) -> str:
    kind = data.type
    if kind in ("agent", "function", "guardrail"):
        return str(data.name)
    if kind == "handoff":
        return f"{data.from_agent} -> {data.to_agent}"
    return ""


def spans_of(spans: list[Any], kind: str) -> list[Any]:
    return sorted((s for s in spans if s.span_data.type == kind), key=lambda s: s.started_at_ns)
