"""The drop-in on a real official-SDK run: every span lands in JSONL, a DuckDB store and, over
OTLP through real sockets, in `agentoscope serve`, with the same ids, parents, times and usage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import agents

from agentoscope import tracing
from agentoscope.tracing import OTLPProcessor, SpanStore
from support.sdk_workflow import SDK_SPAN_TYPES, run_sdk_workflow
from support.serve import running_service, wait_until

COMPARED = (
    "trace_id",
    "parent_id",
    "span_type",
    "name",
    "agent_name",
    "tool_name",
    "model",
    "status",
    "error_type",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
)


def _rows(store: SpanStore, trace_id: str) -> dict[str, dict[str, Any]]:
    frame = store.query(
        "SELECT *, strftime(started_at, '%Y-%m-%dT%H:%M:%S.%f') AS start_text, "
        "strftime(ended_at, '%Y-%m-%dT%H:%M:%S.%f') AS end_text FROM spans WHERE trace_id = ?",
        [trace_id],
    )
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return {row["span_id"]: row for row in rows}


async def test_sdk_run_lands_identically_in_jsonl_duckdb_and_otlp(tmp_path: Path) -> None:
    served_store = tmp_path / "served.duckdb"
    local_store = tmp_path / "local.duckdb"
    with running_service(served_store, grpc_port=None) as service:
        otlp = OTLPProcessor(
            endpoint=f"http://127.0.0.1:{service.http_port}", protocol="http/protobuf"
        )
        processors = tracing.instrument_openai_agents(
            jsonl=tmp_path / "sdk.jsonl", duckdb=local_store, otlp=otlp, replace_default=True
        )
        try:
            trace_id, result = await run_sdk_workflow()
            agents.flush_traces()
        finally:
            agents.set_trace_processors([])
        assert result.final_output == "Order 42 has shipped."
        records = {
            r["span_id"]: r
            for r in tracing.read_jsonl(tmp_path / "sdk.jsonl")
            if r["kind"] == "span"
        }
        assert {r["span_type"] for r in records.values()} == SDK_SPAN_TYPES
        wait_until(
            lambda: len(_rows(service.store, trace_id)) == len(records), what="OTLP spans in serve"
        )
        served = _rows(service.store, trace_id)
        served_trace = service.store.query("SELECT * FROM traces WHERE trace_id = ?", [trace_id])
    for processor in processors:
        assert processor.stats()["dropped"] == 0 and processor.stats()["errors"] == 0
        processor.shutdown()

    with SpanStore(local_store, read_only=True) as store:
        local = _rows(store, trace_id)
        local_trace = store.query("SELECT * FROM traces WHERE trace_id = ?", [trace_id])

    assert set(local) == set(served) == set(records)
    for span_id, record in records.items():
        for field in COMPARED:
            assert local[span_id][field] == record[field], (field, record["span_type"])
            assert served[span_id][field] == record[field], (field, record["span_type"])
        # times to the microsecond, in all three
        assert local[span_id]["start_text"] == record["started_at"][:26]
        assert served[span_id]["start_text"] == record["started_at"][:26]
        assert served[span_id]["end_text"] == record["ended_at"][:26]
    assert local_trace["workflow_name"][0] == served_trace["workflow_name"][0] == "SDK drop-in"
    assert local_trace["group_id"][0] == served_trace["group_id"][0] == "conv-sdk"
