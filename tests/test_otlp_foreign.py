"""Spans from a plain OpenTelemetry SDK app (not ours) land in the store through `serve`: typed from
the GenAI conventions or OpenInference, ids from the OTel ids, parent links and errors kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from support.serve import running_service


def _span_id(context_span_id: int) -> str:
    return f"span_{context_span_id:024x}"


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_plain_opentelemetry_app_spans_land(tmp_path: Path, protocol: str) -> None:
    with running_service(tmp_path / "store.duckdb", decode_workers=1) as service:
        if protocol == "grpc":
            exporter = GrpcExporter(endpoint=f"127.0.0.1:{service.grpc_port}", insecure=True)
        else:
            exporter = HttpExporter(endpoint=f"{service.http_url}/v1/traces")
        provider = TracerProvider(resource=Resource.create({"service.name": "other-app"}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        tracer = provider.get_tracer("other.app")

        with tracer.start_as_current_span("support workflow") as root:
            with tracer.start_as_current_span(
                "invoke_agent Helper",
                attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Helper"},
            ) as agent:
                with tracer.start_as_current_span(
                    "chat gpt-4o",
                    attributes={
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": "gpt-4o",
                        "gen_ai.usage.input_tokens": 10,
                        "gen_ai.usage.output_tokens": 4,
                    },
                ) as chat:
                    pass
                with tracer.start_as_current_span(
                    "execute_tool search",
                    attributes={
                        "gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": "search",
                    },
                    record_exception=False,
                    set_status_on_exception=False,
                ) as tool:
                    tool.record_exception(ValueError("index offline"))
                    tool.set_status(Status(StatusCode.ERROR, "index offline"))
            with tracer.start_as_current_span(
                "retrieve docs", attributes={"openinference.span.kind": "TOOL", "tool.name": "docs"}
            ) as retriever:
                pass
            with tracer.start_as_current_span(
                "llm call",
                attributes={
                    "openinference.span.kind": "LLM",
                    "llm.model_name": "claude",
                    "llm.token_count.prompt": 3,
                    "llm.token_count.completion": 2,
                },
            ) as oi_llm:
                pass
            with tracer.start_as_current_span("plain step", attributes={"step": 1}) as plain:
                pass
        provider.force_flush()
        provider.shutdown()
        spans = service.query("SELECT * FROM spans").set_index("span_id")
        traces = service.query("SELECT * FROM traces")

    trace_id = f"trace_{root.get_span_context().trace_id:032x}"
    assert set(spans["trace_id"]) == {trace_id}

    def row(span: object):
        return spans.loc[_span_id(span.get_span_context().span_id)]  # type: ignore[attr-defined]

    expected = {
        root: ("custom", None),
        agent: ("agent", root),
        chat: ("generation", agent),
        tool: ("function", agent),
        retriever: ("function", root),
        oi_llm: ("generation", root),
        plain: ("custom", root),
    }
    for span, (span_type, parent) in expected.items():
        found = row(span)
        assert found["span_type"] == span_type, span.name  # type: ignore[attr-defined]
        parent_id = _span_id(parent.get_span_context().span_id) if parent else None  # type: ignore[attr-defined]
        assert (found["parent_id"] if isinstance(found["parent_id"], str) else None) == parent_id

    assert row(agent)["agent_name"] == "Helper"
    chat_row = row(chat)
    assert (
        chat_row["model"],
        chat_row["input_tokens"],
        chat_row["output_tokens"],
        chat_row["total_tokens"],
    ) == (
        "gpt-4o",
        10,
        4,
        14,
    )
    assert (row(oi_llm)["model"], row(oi_llm)["total_tokens"]) == ("claude", 5)
    tool_row = row(tool)
    assert (tool_row["tool_name"], tool_row["status"]) == ("search", "error")
    assert (tool_row["error_type"], tool_row["error_message"]) == ("ValueError", "index offline")
    assert row(retriever)["tool_name"] == "docs"
    assert row(root)["status"] == "ok"
    assert (
        row(root)["started_at"]
        <= row(chat)["started_at"]
        <= row(chat)["ended_at"]
        <= row(root)["ended_at"]
    )
    # Nothing of theirs is lost: attributes and resource are kept with the span.
    otel = json.loads(row(plain)["data"])["otel"]
    assert otel["attributes"] == {"step": 1}
    assert otel["resource"]["service.name"] == "other-app"
    assert otel["scope"] == "other.app"
    # The root span makes the trace visible in trace lists.
    assert list(traces["trace_id"]) == [trace_id]
    assert traces["workflow_name"][0] == "support workflow"
