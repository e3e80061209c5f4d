"""Realtime sessions on `ScriptedRealtimeModel`, offline: the same protocol code as the WebSocket
model, so these check the session's own behaviour (hooks, text output, interruptions, a script
that runs out) and where its traces land (JSONL and the DuckDB store, with the data policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentoscope import tracing
from agentoscope.runtime import (
    GuardrailFunctionOutput,
    RunContextWrapper,
    UserError,
    function_tool,
    output_guardrail,
)
from agentoscope.runtime.lifecycle import AgentHooks
from agentoscope.runtime.realtime import (
    RealtimeAgent,
    RealtimeRunConfig,
    RealtimeRunner,
    ScriptedRealtimeModel,
    ScriptedRealtimeTurn,
    realtime_handoff,
)
from agentoscope.tracing import DuckDBProcessor, SpanStore, add_trace_processor
from support.collect import CollectingProcessor
from support.realtime_checks import events_until, nth, span_tree, spans_of


@function_tool
def lookup_order(order_id: str) -> str:
    """Look an order up."""
    with tracing.custom_span("orders_db.query", {"key": order_id}):
        return f"order {order_id}: delivered"


class RecordingHooks(AgentHooks[Any]):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def on_start(self, context: Any, agent: Any) -> None:
        self.calls.append(f"start {agent.name}")

    async def on_end(self, context: Any, agent: Any, output: Any) -> None:
        self.calls.append(f"end {agent.name}: {output}")

    async def on_tool_start(self, context: Any, agent: Any, tool: Any) -> None:
        self.calls.append(f"tool_start {tool.name}")

    async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: Any) -> None:
        self.calls.append(f"tool_end {tool.name} -> {result}")

    async def on_handoff(self, context: Any, agent: Any, source: Any) -> None:
        self.calls.append(f"handoff {source.name} -> {agent.name}")


def phone_call(hooks: RecordingHooks | None = None) -> tuple[RealtimeAgent[Any], list[str]]:
    handed: list[str] = []
    billing = RealtimeAgent(name="Billing", instructions="Billing.")
    agent = RealtimeAgent(
        name="Phone",
        instructions="Answer the phone.",
        tools=[lookup_order],
        handoffs=[
            realtime_handoff(billing, on_handoff=lambda ctx: handed.append(str(ctx.context)))
        ],
        hooks=hooks,
    )
    return agent, handed


def scripted() -> ScriptedRealtimeModel:
    return ScriptedRealtimeModel(
        [
            ScriptedRealtimeTurn(tool_calls=[("lookup_order", {"order_id": "A-1"})]),
            ScriptedRealtimeTurn(
                text="Delivered. Billing next.", tool_calls=[("transfer_to_billing", {})]
            ),
            ScriptedRealtimeTurn(text="Billing here."),
        ],
        user_transcripts=["Where is order A-1?"],
    )


async def test_offline_call_with_tool_handoff_hooks_and_nested_tool_spans() -> None:
    collector = CollectingProcessor()
    add_trace_processor(collector)
    hooks = RecordingHooks()
    agent, handed = phone_call(hooks)
    model = scripted()
    async with await RealtimeRunner(agent, model=model).run(context="caller-42") as session:
        await session.send_audio(bytes(4800), commit=True)
        await events_until(session, nth("agent_end", 3))
        history = session.history

    assert handed == ["caller-42"]
    assert hooks.calls == [
        "start Phone",
        "tool_start lookup_order",
        "end Phone: ",
        "tool_end lookup_order -> order A-1: delivered",
        "start Phone",
        "handoff Phone -> Billing",
        "end Phone: Delivered. Billing next.",
    ]
    assert [getattr(item, "role", item.type) for item in history] == [
        "user",
        "function_call",
        "assistant",
        "function_call",
        "assistant",
    ]
    assert history[0].content[0].transcript == "Where is order A-1?"  # type: ignore[union-attr]
    assert model.turns_left == 0
    # The spans a tool opens itself nest under its function span.
    assert span_tree(collector.ended_spans) == [
        "agent Phone",
        "  transcription",
        "  response",
        "  function lookup_order",
        "    custom",
        "  response",
        "    speech",
        "  handoff Phone -> Billing",
        "agent Billing",
        "  response",
        "    speech",
    ]


async def test_session_lands_in_jsonl_and_duckdb_with_the_data_policy(tmp_path: Path) -> None:
    jsonl = tmp_path / "traces.jsonl"
    store = tmp_path / "traces.duckdb"
    tracing.configure(jsonl=jsonl)
    add_trace_processor(DuckDBProcessor(store))
    tracing.set_data_policy(include_sensitive_data=False)
    agent, _ = phone_call()
    config: RealtimeRunConfig = {
        "model_settings": {"tracing": {"workflow_name": "Phone line", "metadata": {"line": "7"}}},
        "trace_include_sensitive_audio_data": True,
    }
    async with await RealtimeRunner(agent, model=scripted(), config=config).run() as session:
        await session.send_audio(bytes(4800), commit=True)
        await events_until(session, nth("agent_end", 3))
        trace_id = session.trace_id
    tracing.shutdown_tracing()

    records = list(tracing.read_jsonl(jsonl))
    (trace,) = [r for r in records if r["kind"] == "trace"]
    assert (trace["trace_id"], trace["workflow_name"]) == (trace_id, "Phone line")
    assert trace["group_id"] == session.session_id
    assert trace["metadata"]["line"] == "7"
    spans = [r for r in records if r["kind"] == "span"]
    # With sensitive data off, no words of the caller or the agent leave the process, and no
    # audio either, whatever the audio switch says.
    (heard,) = [r for r in spans if r["span_type"] == "transcription"]
    assert heard["data"]["output"] is None and heard["data"]["input"]["data"] == ""
    for spoken in (r for r in spans if r["span_type"] == "speech"):
        assert spoken["data"]["input"] is None and spoken["data"]["output"]["data"] == ""
    (tool,) = [r for r in spans if r["span_type"] == "function"]
    assert tool["data"]["input"] is None and tool["data"]["output"] is None
    assert "Delivered" not in jsonl.read_text()

    with SpanStore(store, read_only=True) as db:
        rows = db.query(
            "SELECT span_type, agent_name, model, input_tokens, output_tokens FROM spans "
            "WHERE span_type = 'response' ORDER BY started_at"
        )
        assert list(rows["agent_name"]) == ["Phone", "Phone", "Billing"]
        assert set(rows["model"]) == {"scripted-realtime"}
        assert all(rows["input_tokens"] > 0) and all(rows["output_tokens"] > 0)
        kinds = set(db.query("SELECT DISTINCT span_type FROM spans")["span_type"])
        assert kinds == {
            "agent",
            "transcription",
            "response",
            "function",
            "custom",
            "speech",
            "handoff",
        }
        (group,) = db.query("SELECT group_id FROM traces")["group_id"]
        assert group == session.session_id


@output_guardrail(name="no_refund_promises")
def no_refund_promises(
    ctx: RunContextWrapper[Any], agent: Any, text: str
) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="refund" in text)


async def test_text_output_guardrail_cancels_without_touching_audio() -> None:
    collector = CollectingProcessor()
    add_trace_processor(collector)
    agent = RealtimeAgent(name="Texter", output_guardrails=[no_refund_promises])
    model = ScriptedRealtimeModel(
        [
            ScriptedRealtimeTurn(text="Sure, you will get a full refund tomorrow.", chunks=6),
            ScriptedRealtimeTurn(text="Let me check that for you."),
        ]
    )
    config: RealtimeRunConfig = {
        "model_settings": {"output_modalities": ["text"]},
        "guardrails_settings": {"debounce_text_length": 5},
    }
    async with await RealtimeRunner(agent, model=model, config=config).run() as session:
        await session.send_message("Can I get a refund?")
        events = await events_until(session, nth("agent_end", 2))
    assert [e.type for e in events].count("guardrail_tripped") == 1
    assert "audio_interrupted" not in [e.type for e in events]
    sent = [event["type"] for event in model.sent]
    assert "response.cancel" in sent and "conversation.item.truncate" not in sent
    assert session.history[-1].content[0].text == "Let me check that for you."  # type: ignore[union-attr]
    assert any(g.span_data.triggered for g in spans_of(collector.ended_spans, "guardrail"))


async def test_interrupt_truncates_and_cancels_and_a_spent_script_is_an_error() -> None:
    agent = RealtimeAgent(name="Talker")
    model = ScriptedRealtimeModel([ScriptedRealtimeTurn(text="A long story " * 10, chunks=10)])
    async with await RealtimeRunner(agent, model=model).run() as session:
        await session.send_message("Tell me a story")
        await events_until(session, nth("audio", 1))
        await session.interrupt()
        events = await events_until(session, nth("agent_end", 1))
        await session.send_message("And another?")
        (error,) = [
            e for e in await events_until(session, lambda e: e.type == "error") if e.type == "error"
        ]
    assert [e.type for e in events].count("audio_interrupted") == 1
    (truncate,) = [e for e in model.sent if e["type"] == "conversation.item.truncate"]
    assert truncate["audio_end_ms"] >= 0
    # As in the SDK: the session asked the server to stop on speech by itself (the default
    # turn detection), so a manual interrupt cuts playback and does not cancel.
    assert "response.cancel" not in [e["type"] for e in model.sent]
    assert error.error["code"] == "script_exhausted"


async def test_tools_inline_and_no_sensitive_data_on_spans() -> None:
    collector = CollectingProcessor()
    add_trace_processor(collector)
    agent, _ = phone_call()
    config: RealtimeRunConfig = {"async_tool_calls": False, "trace_include_sensitive_data": False}
    async with await RealtimeRunner(agent, model=scripted(), config=config).run() as session:
        await session.send_audio(bytes(4800), commit=True)
        events = await events_until(session, nth("agent_end", 3))
    # Run inline, a tool finishes before the response that called it is over.
    kinds = [e.type for e in events]
    assert kinds.index("tool_end") < kinds.index("agent_end")
    (function,) = spans_of(collector.ended_spans, "function")
    assert (function.span_data.input, function.span_data.output) == (None, None)
    for speech in spans_of(collector.ended_spans, "speech"):
        assert speech.span_data.input is None
    (heard,) = spans_of(collector.ended_spans, "transcription")
    assert heard.span_data.output is None
    for response in spans_of(collector.ended_spans, "response"):
        assert response.span_data.response["output"] is None
        assert response.span_data.usage["input_tokens"] > 0


async def test_tracing_disabled_records_nothing() -> None:
    collector = CollectingProcessor()
    add_trace_processor(collector)
    agent, _ = phone_call()
    config: RealtimeRunConfig = {"tracing_disabled": True}
    async with await RealtimeRunner(agent, model=scripted(), config=config).run() as session:
        await session.send_audio(bytes(4800), commit=True)
        await events_until(session, nth("agent_end", 3))
        assert session.trace_id is None
    assert collector.events == []


def test_the_sdks_realtime_names_are_here_but_approvals_and_sip() -> None:
    import agents.realtime as sdk

    import agentoscope.runtime.realtime as ours

    missing = set(sdk.__all__) - set(ours.__all__)
    # Tool approvals are not supported in realtime sessions: a tool with needs_approval is an
    # error. SIP calls are left out: the name resolves and its use names the alternative.
    assert missing == {"RealtimeToolApprovalRequired", "RealtimeToolExecutionConfig"}
    with pytest.raises(UserError, match="OpenAIRealtimeWebSocketModel"):
        ours.OpenAIRealtimeSIPModel()


def test_usage_from_response_done_keeps_the_modality_details() -> None:
    from agentoscope.runtime.realtime.openai_conversions import usage_event

    event = usage_event(
        {
            "input_tokens": 120,
            "output_tokens": 40,
            "input_token_details": {
                "text_tokens": 20,
                "audio_tokens": 100,
                "cached_tokens": 64,
                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 64},
            },
            "output_token_details": {"text_tokens": 10, "audio_tokens": 30},
        },
        "resp_9",
    )
    assert (event.usage.requests, event.usage.total_tokens) == (1, 160)
    assert event.usage.input_tokens_details.cached_tokens == 64
    assert event.input_tokens_details is not None and event.input_tokens_details.audio_tokens == 100
    assert event.input_tokens_details.cached_tokens_details is not None
    assert event.input_tokens_details.cached_tokens_details.audio_tokens == 64
    assert event.output_tokens_details is not None
    assert event.output_tokens_details.audio_tokens == 30
    assert event.response_id == "resp_9"
