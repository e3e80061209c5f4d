"""The record <-> OTel span mapping: names, kinds and GenAI attributes per span type, ids and parent
links, the content switch, errors, and the span type of foreign spans."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentoscope import tracing
from agentoscope.tracing.otel.mapping import (
    OtelSpan,
    otel_span_id,
    otel_spans_from_records,
    otel_trace_id,
    root_span_id,
    span_id_from_otel,
)
from agentoscope.tracing.otel.reverse import foreign_span_type, records_from_otel
from support.serve import RecordKeeper, make_every_span_type


@pytest.fixture
def records() -> list[dict[str, Any]]:
    keeper = RecordKeeper()
    tracing.set_trace_processors([keeper])
    make_every_span_type()
    tracing.flush_traces()
    return keeper.records


def _by_type(spans: list[OtelSpan]) -> dict[str, OtelSpan]:
    found: dict[str, OtelSpan] = {}
    for span in spans:
        kind = span.attributes.get("agentoscope.span_type", "trace")
        found.setdefault(kind, span)
    return found


def test_names_kinds_and_genai_attributes(records: list[dict[str, Any]]) -> None:
    spans = _by_type(otel_spans_from_records(records))
    expected = {
        "trace": ("invoke_workflow every type", "internal", "invoke_workflow", "CHAIN"),
        "agent": ("invoke_agent Planner", "internal", "invoke_agent", "AGENT"),
        "generation": ("chat gpt-4o-mini", "client", "chat", "LLM"),
        "response": ("chat gpt-5", "client", "chat", "LLM"),
        "function": ("execute_tool lookup", "internal", "execute_tool", "TOOL"),
        "guardrail": ("apply_guardrail no_pii", "internal", "apply_guardrail", "GUARDRAIL"),
        "handoff": ("handoff Planner -> Writer", "internal", "handoff", "TOOL"),
        "custom": ("cache lookup", "internal", None, "CHAIN"),
        "mcp_tools": ("tools/list files", "client", None, "CHAIN"),
        "transcription": ("speech_to_text whisper-1", "client", "speech_to_text", "LLM"),
        "speech": ("text_to_speech tts-1", "client", "text_to_speech", "LLM"),
        "speech_group": ("speech_group", "internal", None, "CHAIN"),
    }
    assert set(spans) == set(expected)
    for span_type, (name, kind, operation, oi_kind) in expected.items():
        span = spans[span_type]
        assert (span.name, span.kind) == (name, kind), span_type
        assert span.attributes.get("gen_ai.operation.name") == operation, span_type
        assert span.attributes["openinference.span.kind"] == oi_kind, span_type

    generation = spans["generation"].attributes
    assert generation["gen_ai.provider.name"] == "openai"
    assert generation["gen_ai.request.model"] == "gpt-4o-mini"
    assert generation["gen_ai.request.temperature"] == 0.2
    assert generation["gen_ai.request.max_tokens"] == 100
    assert generation["gen_ai.usage.input_tokens"] == 12
    assert generation["gen_ai.usage.output_tokens"] == 7
    assert generation["gen_ai.usage.cache_read.input_tokens"] == 2
    assert generation["gen_ai.usage.reasoning.output_tokens"] == 3
    assert generation["llm.token_count.total"] == 19
    assert "gen_ai.usage.input_tokens" not in spans["agent"].attributes  # usage only on LLM spans
    assert spans["response"].attributes["gen_ai.response.id"] == "resp_123"
    assert spans["response"].attributes["openai.api.type"] == "responses"
    tool = spans["function"].attributes
    assert (tool["gen_ai.tool.name"], tool["gen_ai.tool.call.id"], tool["gen_ai.tool.type"]) == (
        "lookup",
        "call_1",
        "function",
    )
    guardrail = spans["guardrail"]
    assert guardrail.attributes["gen_ai.guardrail.result.value"] == "true"
    assert guardrail.attributes["gen_ai.guardrail.source"] == "input"
    assert [event[0] for event in guardrail.events] == ["gen_ai.guardrail.result"]
    assert spans["mcp_tools"].attributes["agentoscope.mcp.tools"] == ["read", "write"]
    root = spans["trace"].attributes
    assert (root["gen_ai.workflow.name"], root["gen_ai.conversation.id"]) == (
        "every type",
        "group_every",
    )
    # Our keys first: serve reads those two and skips the rest.
    for span in spans.values():
        assert next(iter(span.attributes)) == "agentoscope.record"


def test_ids_and_parent_links(records: list[dict[str, Any]]) -> None:
    spans = otel_spans_from_records(records)
    trace_record = next(r for r in records if r["kind"] == "trace")
    trace_id = trace_record["trace_id"]
    assert all(span.trace_id == int(trace_id[6:], 16) for span in spans)
    by_record = {r.get("span_id", "root"): span for r, span in zip(records, spans, strict=True)}
    root = by_record["root"]
    assert root.parent_span_id is None and root.span_id == root_span_id(trace_id)
    for record in records:
        if record["kind"] != "span":
            continue
        span = by_record[record["span_id"]]
        assert span.span_id == otel_span_id(record["span_id"])
        expected_parent = otel_span_id(record["parent_id"]) if record["parent_id"] else root.span_id
        assert span.parent_span_id == expected_parent
        assert span.attributes["agentoscope.span_id"] == record["span_id"]
        assert span.attributes.get("agentoscope.parent_id") == record["parent_id"]
    assert len({span.span_id for span in spans}) == len(spans)
    # Ids that came from OTel map back to the same OTel id.
    assert otel_span_id(span_id_from_otel(0xEEE19B7EC3C1B174)) == 0xEEE19B7EC3C1B174


def test_any_trace_id_survives(records: list[dict[str, Any]]) -> None:
    record = {**next(r for r in records if r["kind"] == "span"), "trace_id": "my-own-trace"}
    span = otel_spans_from_records([record])[0]
    assert 0 < span.trace_id < 2**128 and span.trace_id == otel_trace_id("my-own-trace")
    assert records_from_otel(span)[0]["trace_id"] == "my-own-trace"


def test_times_keep_microseconds_and_the_exact_duration(records: list[dict[str, Any]]) -> None:
    for record in records:
        back = records_from_otel(otel_spans_from_records([record], capture_content=True)[0])[0]
        assert back["started_at"] == record["started_at"]
        assert back["ended_at"] == record["ended_at"]
        assert back["duration_ms"] == record["duration_ms"]


def test_content_is_sent_only_when_captured(records: list[dict[str, Any]]) -> None:
    generation = next(r for r in records if r.get("span_type") == "generation")
    plain = otel_spans_from_records([generation])[0]
    assert "gen_ai.input.messages" not in plain.attributes
    assert json.loads(plain.attributes["agentoscope.data"])["input"] is None
    captured = otel_spans_from_records([generation], capture_content=True)[0]
    assert json.loads(captured.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "plan a trip"}]}
    ]
    assert json.loads(captured.attributes["gen_ai.output.messages"])[0]["role"] == "assistant"


def test_audio_never_travels_inline() -> None:
    keeper = RecordKeeper()
    tracing.set_trace_processors([keeper])
    with tracing.trace("voice"):
        with tracing.transcription_span(model="whisper-1", input="UklGRiQAAABXQVZF", output="hi"):
            pass
    tracing.flush_traces()
    record = next(r for r in keeper.records if r["kind"] == "span")
    span = otel_spans_from_records([record], capture_content=True)[0]
    sent = json.loads(span.attributes["agentoscope.data"])
    assert sent["input"] == {"data": "", "format": "pcm"}
    assert sent["output"] == "hi"


def test_errors_become_status_error_with_type(records: list[dict[str, Any]]) -> None:
    failing = next(r for r in records if r.get("status") == "error")
    span = otel_spans_from_records([failing])[0]
    assert (span.status, span.status_message) == ("error", "tool exploded")
    assert span.attributes["error.type"] == "ValueError"
    ok = next(r for r in records if r.get("span_type") == "custom")
    assert otel_spans_from_records([ok])[0].status == "unset"  # success leaves status unset


@pytest.mark.parametrize(
    ("attributes", "span_type"),
    [
        ({"gen_ai.operation.name": "chat"}, "generation"),
        ({"gen_ai.operation.name": "text_completion"}, "generation"),
        ({"gen_ai.operation.name": "execute_tool"}, "function"),
        ({"gen_ai.operation.name": "invoke_agent"}, "agent"),
        ({"gen_ai.operation.name": "create_agent"}, "agent"),
        ({"gen_ai.operation.name": "apply_guardrail"}, "guardrail"),
        ({"gen_ai.operation.name": "embeddings"}, "generation"),
        ({"mcp.method.name": "tools/list"}, "mcp_tools"),
        ({"openinference.span.kind": "LLM"}, "generation"),
        ({"openinference.span.kind": "TOOL"}, "function"),
        ({"openinference.span.kind": "AGENT"}, "agent"),
        ({"openinference.span.kind": "RETRIEVER"}, "function"),
        ({"http.method": "GET"}, "custom"),
    ],
)
def test_foreign_span_types(attributes: dict[str, Any], span_type: str) -> None:
    assert foreign_span_type(attributes) == span_type
