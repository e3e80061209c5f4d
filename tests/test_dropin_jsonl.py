"""The drop-in: our processors on a real official-SDK run produce complete records."""

from __future__ import annotations

from pathlib import Path

import agents

from agentoscope import tracing
from support.sdk_workflow import SDK_SPAN_TYPES, run_sdk_workflow


async def test_every_sdk_span_type_lands_in_jsonl_with_parent_times_and_usage(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sdk.jsonl"
    processors = tracing.instrument_openai_agents(jsonl=path, replace_default=True)
    try:
        trace_id, result = await run_sdk_workflow()
        assert result.final_output == "Order 42 has shipped."
        agents.flush_traces()
    finally:
        agents.set_trace_processors([])
    records = list(tracing.read_jsonl(path))
    spans = [r for r in records if r["kind"] == "span"]
    traces = [r for r in records if r["kind"] == "trace"]
    assert len(traces) == 1 and traces[0]["trace_id"] == trace_id
    assert traces[0]["workflow_name"] == "SDK drop-in" and traces[0]["group_id"] == "conv-sdk"
    assert {s["span_type"] for s in spans} == SDK_SPAN_TYPES

    by_id = {s["span_id"]: s for s in spans}
    for span in spans:
        assert span["trace_id"] == trace_id
        assert span["parent_id"] is None or span["parent_id"] in by_id
        assert span["started_at"] <= span["ended_at"]
        assert traces[0]["started_at"] <= span["started_at"]
    tool = next(s for s in spans if s["span_type"] == "function")
    assert tool["tool_name"] == "lookup_order" and tool["agent_name"] == "Orders"
    assert by_id[tool["parent_id"]]["span_type"] == "turn"
    generations = [s for s in spans if s["span_type"] == "generation"]
    assert len(generations) == 3
    assert all(g["input_tokens"] == 20 and g["output_tokens"] == 5 for g in generations)
    assert all(g["cached_input_tokens"] == 4 and g["reasoning_tokens"] == 2 for g in generations)
    assert all(g["model"] == "scripted-model" and g["agent_name"] for g in generations)
    handoff = next(s for s in spans if s["span_type"] == "handoff")
    assert handoff["data"]["from_agent"] == "Triage" and handoff["data"]["to_agent"] == "Orders"
    guardrails = {s["name"] for s in spans if s["span_type"] == "guardrail"}
    assert guardrails == {"no_secrets", "polite"}
    task = next(s for s in spans if s["span_type"] == "task")
    assert task["data"]["data"]["sdk_span_type"] == "task" and task["input_tokens"] is None
    assert processors[0].stats()["dropped"] == 0


async def test_default_sdk_exporter_is_kept_unless_replaced(tmp_path: Path) -> None:
    provider = agents.tracing.get_trace_provider()
    before = list(provider._multi_processor._processors)
    try:
        added = tracing.instrument_openai_agents(jsonl=tmp_path / "a.jsonl")
        now = list(provider._multi_processor._processors)
        assert now == [*before, *added]
    finally:
        agents.set_trace_processors(before)
