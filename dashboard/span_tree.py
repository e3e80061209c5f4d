"""One trace's spans in tree order, with depth, tree glyphs and offsets from the trace start: the
rows behind the span tree table and the waterfall chart."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from agentoscope.tracing.tree import TABLE_GLYPHS, tree_rows


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
    starts = pd.to_datetime(frame["started_at"])
    rows = tree_rows(
        list(frame["span_id"]),
        [parent if isinstance(parent, str) else None for parent in frame["parent_id"]],
        [start if pd.notna(start) else pd.Timestamp.max for start in starts],
        TABLE_GLYPHS,
    )
    order = [row.index for row in rows]
    depths = {row.index: row.depth for row in rows}
    prefixes = {row.index: row.prefix for row in rows}

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
