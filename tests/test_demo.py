"""`agentoscope demo --no-dashboard` in a clean directory and environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentoscope.tracing import SpanStore, read_jsonl

ALL_KINDS = {
    "agent",
    "generation",
    "response",
    "function",
    "handoff",
    "guardrail",
    "custom",
    "mcp_tools",
    "transcription",
    "speech",
    "speech_group",
}


@pytest.mark.slow
def test_demo_fills_a_store_with_every_span_kind_and_the_errors(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTOSCOPE_", "OPENAI_"))}
    completed = subprocess.run(
        [sys.executable, "-m", "agentoscope.cli.main", "demo", "--no-dashboard", "--batch", "4"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Tracing: nothing dropped" in completed.stderr
    store_path = tmp_path / ".agentoscope" / "traces.duckdb"
    with SpanStore(store_path, read_only=True) as store:
        kinds = set(store.query("SELECT DISTINCT span_type FROM spans")["span_type"])
        assert kinds == ALL_KINDS
        errors = store.query("SELECT span_type, error_type, name FROM spans WHERE status='error'")
        pairs = set(zip(errors["span_type"], errors["error_type"], strict=True))
        assert ("function", "TimeoutError") in pairs
        assert ("agent", "InputGuardrailTripwireTriggered") in pairs
        tripped = store.query(
            "SELECT count(*) AS n FROM spans WHERE span_type='guardrail' "
            "AND json_extract(data, '$.triggered')::BOOLEAN"
        )
        assert tripped["n"][0] == 1
        traces = store.query("SELECT workflow_name, group_id FROM traces")
        assert len(traces) == 5 + 1 + 1 + 3 + 1 + 1 + 1 + 4  # + voice, MCP, realtime
        mcp_calls = store.query(
            "SELECT tool_name AS name, json_extract_string(mcp_data, '$.server') AS server "
            "FROM tool_calls WHERE json_extract_string(mcp_data, '$.server') IS NOT NULL"
        )
        assert sorted(mcp_calls["name"]) == ["lookup_order", "track_shipment"]
        assert set(mcp_calls["server"]) == {"warehouse"}
        listings = store.query("SELECT data FROM spans WHERE span_type='mcp_tools'")
        assert len(listings) == 3  # one per model call of the warehouse assistant
        chats = traces[traces["workflow_name"] == "Concierge chat"]
        assert len(chats) == 3 and chats["group_id"].nunique() == 1
        summary = store.query(
            "SELECT json_extract_string(data, '$.output_type') AS output_type FROM spans "
            "WHERE span_type='agent' AND name='Ticket summarizer'"
        )
        assert list(summary["output_type"]) == ["TicketSummary"]
    jsonl = list(read_jsonl(tmp_path / ".agentoscope" / "traces.jsonl"))
    assert sum(r["kind"] == "trace" for r in jsonl) == len(traces)
