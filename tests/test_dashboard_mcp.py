"""The dashboard shows the MCP server beside the tool name of an MCP call."""

from __future__ import annotations

import json

import pandas as pd

from agentoscope.dashboard.span_tree import mcp_server_of, tree_order


def test_span_tree_labels_mcp_calls_with_their_server() -> None:
    spans = pd.DataFrame(
        {
            "span_id": ["s1", "s2", "s3"],
            "parent_id": [None, "s1", "s1"],
            "started_at": pd.to_datetime(
                ["2026-12-04T10:00:00", "2026-12-04T10:00:01", "2026-12-04T10:00:02"]
            ),
            "duration_ms": [3000.0, 20.0, 30.0],
            "span_type": ["agent", "function", "function"],
            "name": ["Warehouse assistant", "lookup_order", "local_helper"],
            "data": [
                json.dumps({"type": "agent", "name": "Warehouse assistant"}),
                json.dumps({"type": "function", "mcp_data": {"server": "warehouse"}}),
                json.dumps({"type": "function", "mcp_data": None}),
            ],
        }
    )
    labels = list(tree_order(spans)["tree"])
    assert labels == ["Warehouse assistant", "├ lookup_order · MCP warehouse", "└ local_helper"]


def test_mcp_server_of_reads_dicts_and_json() -> None:
    assert mcp_server_of({"mcp_data": {"server": "time"}}) == "time"
    assert mcp_server_of('{"mcp_data": {"server": "time", "hosted": true}}') == "time"
    assert mcp_server_of('{"mcp_data": null}') is None
    assert mcp_server_of("not json mcp_data") is None
    assert mcp_server_of(None) is None
