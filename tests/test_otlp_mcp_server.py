"""A tool call through an MCP server keeps its server over OTLP: the OTel span names it
(`agentoscope.mcp.server`, beside `mcp.method.name=tools/call`), and `serve` stores it back
as the span's `mcp_data`, for our spans and for a foreign app's spans carrying that attribute."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from agentoscope import tracing
from agentoscope.tracing.otel.mapping import otel_spans_from_records
from support.serve import RecordKeeper, running_service


def _tool_calls() -> None:
    with tracing.trace("mcp workflow"):
        with tracing.function_span("read_file", input='{"path": "a.txt"}') as span:
            span.span_data.mcp_data = {"server": "filesystem"}
            span.span_data.output = "hello"
        with tracing.function_span("add", input='{"a": 1}', output="2"):
            pass


def _data_by_tool(rows: Any) -> dict[str, dict[str, Any]]:
    functions = rows[rows["span_type"] == "function"]
    return {row["tool_name"]: json.loads(row["data"]) for _, row in functions.iterrows()}


def test_the_otel_span_names_the_mcp_server() -> None:
    keeper = RecordKeeper()
    tracing.set_trace_processors([keeper])
    _tool_calls()
    tracing.flush_traces()
    spans = {
        span.attributes.get("gen_ai.tool.name"): span
        for span in otel_spans_from_records(keeper.records)
        if span.attributes.get("gen_ai.operation.name") == "execute_tool"
    }
    mcp = spans["read_file"].attributes
    assert mcp["agentoscope.mcp.server"] == "filesystem"
    assert mcp["mcp.method.name"] == "tools/call"
    assert mcp["gen_ai.tool.type"] == "extension"
    plain = spans["add"].attributes
    assert "agentoscope.mcp.server" not in plain
    assert plain["gen_ai.tool.type"] == "function"


def test_our_mcp_tool_call_round_trips_through_serve(tmp_path: Path) -> None:
    with running_service(tmp_path / "store.duckdb", decode_workers=0) as service:
        exporter = tracing.OTLPProcessor(
            endpoint=service.http_url, protocol="http/protobuf", schedule_delay=0.05
        )
        tracing.set_trace_processors([exporter])
        _tool_calls()
        tracing.flush_traces()
        assert exporter.stats()["failed_batches"] == 0
        data = _data_by_tool(service.query("SELECT * FROM spans"))
    assert data["read_file"]["mcp_data"] == {"server": "filesystem"}
    assert data["add"]["mcp_data"] is None


def test_a_foreign_tool_span_with_the_server_attribute_gets_mcp_data(tmp_path: Path) -> None:
    with running_service(tmp_path / "store.duckdb", decode_workers=0) as service:
        provider = TracerProvider()
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{service.http_url}/v1/traces"))
        )
        tracer = provider.get_tracer("other.app")
        with tracer.start_as_current_span("workflow"):
            with tracer.start_as_current_span(
                "execute_tool search_docs",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "search_docs",
                    "mcp.method.name": "tools/call",
                    "agentoscope.mcp.server": "docs-server",
                },
            ):
                pass
            with tracer.start_as_current_span(
                "execute_tool lookup",
                attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"},
            ):
                pass
        provider.force_flush()
        provider.shutdown()
        data = _data_by_tool(service.query("SELECT * FROM spans"))
    assert data["search_docs"]["mcp_data"] == {"server": "docs-server"}
    assert data["search_docs"]["otel"]["attributes"]["agentoscope.mcp.server"] == "docs-server"
    assert "mcp_data" not in data["lookup"]
