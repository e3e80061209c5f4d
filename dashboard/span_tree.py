"""One trace's spans in tree order, with depth, tree glyphs and offsets from the trace start: the
rows behind the span tree table and the waterfall chart."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import pandas as pd


def mcp_server_of(span_data: Any) -> str | None:
    """The MCP server a function span's call went to (its `mcp_data.server`), if any."""
    if isinstance(span_data, str):
        if "mcp_data" not in span_data:
            return None
        try:
            span_data = json.loads(span_data)
        except ValueError:
            return None
    mcp_data = span_data.get("mcp_data") if isinstance(span_data, dict) else None
    server = mcp_data.get("server") if isinstance(mcp_data, dict) else None
    return server if isinstance(server, str) and server else None


def _label(kind: Any, name: Any, span_data: Any) -> str:
    label = name if isinstance(name, str) and name else str(kind)
    if kind == "function":
        server = mcp_server_of(span_data)
        if server is not None:
            return f"{label} · MCP {server}"
    return label


def tree_order(spans: pd.DataFrame, trace_started_at: datetime | None = None) -> pd.DataFrame:
    """`spans` (one trace) sorted depth-first, children by start time, plus columns:
    depth, tree (indented label), offset_ms and end_ms from the earliest start.

    A span whose parent is missing (not yet written, or dropped) becomes a root, so nothing that
    was recorded is hidden.
    """
    if spans.empty:
        return spans.assign(depth=[], tree=[], offset_ms=[], end_ms=[])
    frame = spans.reset_index(drop=True)
    ids = set(frame["span_id"])
    children: dict[Any, list[int]] = defaultdict(list)
    starts = pd.to_datetime(frame["started_at"])
    for index, parent in enumerate(frame["parent_id"]):
        key = parent if isinstance(parent, str) and parent in ids else None
        children[key].append(index)
    for group in children.values():
        group.sort(key=lambda i: starts.iloc[i] if pd.notna(starts.iloc[i]) else pd.Timestamp.max)

    order: list[int] = []
    depths: dict[int, int] = {}
    prefixes: dict[int, str] = {}
    stack: list[tuple[int, int, str, bool]] = [
        (index, 0, "", position == len(children[None]) - 1)
        for position, index in reversed(list(enumerate(children[None])))
    ]
    seen: set[int] = set()
    while stack:
        index, depth, prefix, last = stack.pop()
        if index in seen:  # a parent cycle in bad data: show each span once
            continue
        seen.add(index)
        order.append(index)
        depths[index] = depth
        prefixes[index] = (prefix + ("└ " if last else "├ ")) if depth else ""
        child_prefix = (prefix + ("   " if last else "│  ")) if depth else ""
        kids = children.get(frame.at[index, "span_id"], [])
        for position, child in reversed(list(enumerate(kids))):
            stack.append((child, depth + 1, child_prefix, position == len(kids) - 1))
    order += [index for index in range(len(frame)) if index not in seen]

    ordered = frame.iloc[order].reset_index(drop=True)
    origin = starts.min()
    if trace_started_at is not None and pd.notna(trace_started_at):
        origin = min(origin, pd.Timestamp(trace_started_at))
    ordered_starts = pd.to_datetime(ordered["started_at"])
    offset = (ordered_starts - origin).dt.total_seconds() * 1000
    length = ordered["duration_ms"].astype("float64").fillna(0.0)
    ordered["depth"] = [depths.get(index, 0) for index in order]
    data = ordered["data"] if "data" in ordered else [None] * len(ordered)
    ordered["tree"] = [
        prefixes.get(index, "") + _label(kind, name, span_data)
        for index, kind, name, span_data in zip(
            order, ordered["span_type"], ordered["name"], data, strict=True
        )
    ]
    ordered["offset_ms"] = offset
    ordered["end_ms"] = offset + length
    return ordered
