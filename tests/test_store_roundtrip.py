"""Every span type from our tracing core reaches the store intact: through DuckDBProcessor (with
`configure(duckdb=...)`), through JSONL files and `ingest_jsonl`, and from the official SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import agents
import pytest

from agentoscope import tracing
from agentoscope.tracing.processors.duckdb import DuckDBProcessor
from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store.queries import run, trace_detail
from support.sdk_workflow import SDK_SPAN_TYPES, run_sdk_workflow
from support.store_spans import EVERY_SPAN_COUNT, EVERY_SPAN_TYPE, emit_every_span_type, store_rows

COMPARED = (
    "trace_id, span_id, parent_id, span_type, name, agent_name, tool_name, model, started_at, "
    "ended_at, duration_ms, status, error_type, error_message, input_tokens, output_tokens, "
    "total_tokens, cached_input_tokens, reasoning_tokens, data, error, metadata"
)


def _check_every_span_type(path: Path, trace_id: str) -> None:
    spans = {r["span_type"]: r for r in store_rows(path, "SELECT * FROM spans ORDER BY started_at")}
    assert set(spans) == EVERY_SPAN_TYPE
    (trace,) = store_rows(path, "SELECT * FROM traces")
    assert trace["trace_id"] == trace_id and trace["workflow_name"] == "Every type"
    assert trace["group_id"] == "session-1" and json.loads(trace["metadata"]) == {"user": "u1"}
    assert trace["inferred"] is False

    generation = spans["generation"]
    assert (generation["model"], generation["input_tokens"], generation["output_tokens"]) == (
        "gpt-4o",
        20,
        5,
    )
    assert generation["agent_name"] == "Triage"
    assert json.loads(generation["data"])["input"] == [
        {"role": "user", "content": "where is my order?"}
    ]
    response = spans["response"]
    assert (response["model"], response["total_tokens"], response["cached_input_tokens"]) == (
        "gpt-4o-mini",
        18,
        3,
    )
    assert response["reasoning_tokens"] == 2 and response["agent_name"] == "Voice"
    tools = store_rows(path, "SELECT * FROM tool_calls ORDER BY started_at")
    assert [(t["tool_name"], t["status"]) for t in tools] == [("lookup", "ok"), ("refund", "error")]
    assert tools[1]["error_type"] == "ValueError" and tools[1]["error_message"] == "not allowed"
    assert spans["handoff"]["name"] == "Triage -> Voice"
    assert json.loads(spans["guardrail"]["data"])["source"] == "input"
    assert spans["transcription"]["model"] == "whisper-1" and spans["speech"]["model"] == "tts-1"
    assert json.loads(spans["custom"]["data"]) == {
        "type": "custom",
        "name": "checkpoint",
        "data": {"step": 3},
    }
    assert json.loads(spans["mcp_tools"]["data"])["result"] == ["read", "write"]
    assert spans["task"]["agent_name"] is None and spans["turn"]["agent_name"] is None
    for row in spans.values():
        assert row["started_at"] <= row["ended_at"]
        assert row["duration_ms"] == pytest.approx(
            (row["ended_at"] - row["started_at"]).total_seconds() * 1000, abs=0.002
        )


def test_every_span_type_through_configure_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "traces.duckdb"
    tracing.configure(duckdb=path)
    trace_id = emit_every_span_type()
    tracing.flush_traces()
    # The same process reads the file the processor owns: the connection is shared.
    with SpanStore(path) as reader:
        assert run(reader, "overview").iloc[0]["spans"] == EVERY_SPAN_COUNT
        trace, spans = trace_detail(reader, trace_id)
        assert trace is not None and trace["workflow_name"] == "Every type"
        assert set(spans["span_type"]) == EVERY_SPAN_TYPE
    tracing.shutdown_tracing()
    _check_every_span_type(path, trace_id)
    stats = next(v for k, v in tracing.stats().items() if k.startswith("DuckDBProcessor"))
    assert stats["errors"] == 0 and stats["exported"] == EVERY_SPAN_COUNT + 1


def test_every_span_type_through_jsonl_and_ingest_gives_the_same_rows(tmp_path: Path) -> None:
    jsonl, direct = tmp_path / "traces.jsonl", tmp_path / "direct.duckdb"
    tracing.configure(jsonl=jsonl, duckdb=direct)
    trace_id = emit_every_span_type()
    tracing.shutdown_tracing()

    from_file = tmp_path / "from-file.duckdb"
    with SpanStore(from_file) as store:
        report = store.ingest_jsonl(jsonl)
    assert (report.spans, report.traces, report.malformed_count) == (EVERY_SPAN_COUNT, 1, 0)
    assert report.fast_files == 1
    _check_every_span_type(from_file, trace_id)
    query = f"SELECT {COMPARED} FROM spans ORDER BY span_id"
    assert store_rows(from_file, query) == store_rows(direct, query)
    assert store_rows(from_file, "SELECT * FROM traces") == store_rows(
        direct, "SELECT * FROM traces"
    )


async def test_official_sdk_spans_land_through_the_drop_in(tmp_path: Path) -> None:
    path = tmp_path / "sdk.duckdb"
    processor = DuckDBProcessor(path)
    agents.set_trace_processors([processor])
    try:
        trace_id, _ = await run_sdk_workflow()
        agents.flush_traces()
    finally:
        agents.set_trace_processors([])
        processor.shutdown()
    spans = store_rows(path, "SELECT * FROM spans")
    assert {s["span_type"] for s in spans} == SDK_SPAN_TYPES
    assert {s["trace_id"] for s in spans} == {trace_id}
    (trace,) = store_rows(path, "SELECT * FROM traces")
    assert trace["workflow_name"] == "SDK drop-in" and trace["inferred"] is False
    assert trace["started_at"] <= min(s["started_at"] for s in spans)
    tool = next(s for s in spans if s["span_type"] == "function")
    assert tool["tool_name"] == "lookup_order" and tool["agent_name"] == "Orders"


def test_processor_keeps_going_when_a_batch_fails(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "p.duckdb"
    processor = DuckDBProcessor(path)
    tracing.set_trace_processors([processor])
    with tracing.trace("first"), tracing.custom_span("a", {}):
        pass
    processor.force_flush()
    # A batch the store cannot take (it is closed underneath the processor) is counted...
    assert processor.store is not None
    processor.store.close()
    with tracing.trace("second"), tracing.custom_span("b", {}):
        pass
    processor.force_flush()
    assert processor.stats()["errors"] == 1 and processor.stats()["failed_records"] == 2
    assert "export of 2 records failed" in caplog.text
    # ...and the next batch goes in once the store is back.
    processor.exporter._store = None
    with tracing.trace("third"), tracing.custom_span("c", {}):
        pass
    tracing.shutdown_tracing()
    workflows = {r["workflow_name"] for r in store_rows(path, "SELECT * FROM traces")}
    assert workflows == {"first", "third"}
