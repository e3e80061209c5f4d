"""Handoffs (with input filters and typed input) and guardrails (tripwires carry results)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from agentoscope.runtime import (
    Agent,
    GuardrailFunctionOutput,
    HandoffInputData,
    InputGuardrailTripwireTriggered,
    OutputGuardrailTripwireTriggered,
    RunConfig,
    RunContextWrapper,
    Runner,
    UserError,
    function_tool,
    handoff,
    handoff_filters,
    input_guardrail,
    output_guardrail,
)
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call
from agentoscope.tracing import set_trace_processors
from support.collect import CollectingProcessor


@function_tool
def lookup(order: str) -> str:
    """Look an order up."""
    return f"order {order}: shipped"


def _types(items: list[dict[str, Any]]) -> list[str]:
    return [i.get("type", "message") for i in items]


async def test_handoff_with_remove_all_tools_filter() -> None:
    specialist_model = ScriptedModel([[text_message("I can help with the refund.")]])
    specialist = Agent(name="Refunds", model=specialist_model, handoff_description="Refunds")
    triage_model = ScriptedModel(
        [
            [tool_call("lookup", {"order": "A1"})],
            [text_message("Let me transfer you."), tool_call("transfer_to_refunds", {})],
        ]
    )
    triage = Agent(
        name="Triage",
        tools=[lookup],
        handoffs=[handoff(specialist, input_filter=handoff_filters.remove_all_tools)],
        model=triage_model,
    )
    result = await Runner.run(triage, "refund order A1")
    assert result.final_output == "I can help with the refund."
    assert result.last_agent is specialist
    # Triage saw everything; the specialist sees the conversation without tool traffic.
    assert _types(triage_model.calls[1].input) == [
        "message",
        "function_call",
        "function_call_output",
    ]
    assert _types(specialist_model.calls[0].input) == ["message", "message"]
    assert specialist_model.calls[0].input[1]["content"][0]["text"] == "Let me transfer you."
    # The handoff tool was offered with the SDK's default name and description.
    offered = triage_model.calls[0].handoffs[0]
    assert (offered.tool_name, offered.agent_name) == ("transfer_to_refunds", "Refunds")
    assert offered.tool_description == "Handoff to the Refunds agent to handle the request. Refunds"
    # The run's record keeps the earlier turn as it happened; the handoff turn's items come
    # through the filter (the SDK's new_items, checked against it in test_sdk_port.py).
    assert [i.type for i in result.new_items] == [
        "tool_call_item",
        "tool_call_output_item",
        "message_output_item",
        "message_output_item",
    ]


async def test_handoff_without_filter_keeps_history_and_runs_on_handoff() -> None:
    class Escalation(BaseModel):
        reason: str

    seen: list[str] = []

    def on_handoff(ctx: RunContextWrapper[Any], data: Escalation) -> None:
        seen.append(data.reason)

    manager_model = ScriptedModel([[text_message("Manager here.")]])
    manager = Agent(name="Manager", model=manager_model)
    desk = Agent(
        name="Desk",
        handoffs=[
            handoff(
                manager,
                tool_name_override="escalate",
                on_handoff=on_handoff,
                input_type=Escalation,
            )
        ],
        model=ScriptedModel([[tool_call("escalate", {"reason": "angry customer"}, "h1")]]),
    )
    result = await Runner.run(desk, "I want a manager")
    assert seen == ["angry customer"]
    assert _types(manager_model.calls[0].input) == [
        "message",
        "function_call",
        "function_call_output",
    ]
    handoff_output = manager_model.calls[0].input[2]
    assert handoff_output == {
        "call_id": "h1",
        "output": '{"assistant": "Manager"}',
        "type": "function_call_output",
    }
    assert [i.type for i in result.new_items] == [
        "handoff_call_item",
        "handoff_output_item",
        "message_output_item",
    ]
    assert result.new_items[1].source_agent is desk
    assert result.new_items[1].target_agent is manager


async def test_run_config_filter_applies_and_bad_filter_is_a_user_error() -> None:
    def keep_last_user_message(data: HandoffInputData) -> HandoffInputData:
        return data.clone(input_history="summary: user wants help", pre_handoff_items=())

    target_model = ScriptedModel([[text_message("done")]])
    target = Agent(name="Target", model=target_model)
    source = Agent(
        name="Source",
        handoffs=[target],
        model=ScriptedModel([[tool_call("transfer_to_target", {})]]),
    )
    config = RunConfig(handoff_input_filter=keep_last_user_message)
    result = await Runner.run(source, "long story", run_config=config)
    assert target_model.calls[0].input[0] == {"content": "summary: user wants help", "role": "user"}
    assert result.input == "summary: user wants help"
    assert len(target_model.calls[0].input) == 3  # summary, handoff call, handoff output

    bad = source.clone(model=ScriptedModel([[tool_call("transfer_to_target", {})]]))
    with pytest.raises(UserError, match="input filter"):
        await Runner.run(bad, "x", run_config=RunConfig(handoff_input_filter=lambda d: None))


async def test_multiple_handoffs_take_the_first() -> None:
    first, second = (
        Agent(name="First", model=ScriptedModel([[text_message("first here")]])),
        Agent(name="Second", model=ScriptedModel([])),
    )
    router = Agent(
        name="Router",
        handoffs=[first, second],
        model=ScriptedModel(
            [[tool_call("transfer_to_first", {}), tool_call("transfer_to_second", {})]]
        ),
    )
    result = await Runner.run(router, "go")
    assert result.last_agent is first
    outputs = [i for i in result.new_items if i.type == "tool_call_output_item"]
    assert outputs[0].output == "Multiple handoffs detected, ignoring this one."


@input_guardrail
async def no_homework(ctx: Any, agent: Agent[Any], input: Any) -> GuardrailFunctionOutput:
    text = input if isinstance(input, str) else str(input)
    return GuardrailFunctionOutput(
        output_info={"homework": "math" in text}, tripwire_triggered="math" in text
    )


@input_guardrail(name="always_ok", run_in_parallel=False)
def always_ok(ctx: Any, agent: Agent[Any], input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="ok", tripwire_triggered=False)


async def test_input_guardrail_tripwire_carries_the_result() -> None:
    collector = CollectingProcessor()
    set_trace_processors([collector])
    agent = Agent(
        name="Tutor",
        input_guardrails=[always_ok, no_homework],
        model=ScriptedModel([[text_message("here is your homework")]]),
    )
    with pytest.raises(InputGuardrailTripwireTriggered) as caught:
        await Runner.run(agent, "do my math homework")
    result = caught.value.guardrail_result
    assert result.guardrail is no_homework
    assert result.output.output_info == {"homework": True}
    assert [r.guardrail.get_name() for r in caught.value.run_data.input_guardrail_results] == [
        "always_ok",
        "no_homework",
    ]
    spans = {s.span_data.name: s for s in collector.ended_spans if s.span_data.type == "guardrail"}
    assert spans["no_homework"].span_data.triggered is True
    assert spans["always_ok"].span_data.triggered is False
    agent_span = next(s for s in collector.ended_spans if s.span_data.type == "agent")
    assert agent_span.error["data"] == {
        "type": "InputGuardrailTripwireTriggered",
        "guardrail": "no_homework",
    }
    assert all(s.parent_id == agent_span.span_id for s in spans.values())

    ok = await Runner.run(agent.clone(model=ScriptedModel([[text_message("hi")]])), "history?")
    assert [r.output.tripwire_triggered for r in ok.input_guardrail_results] == [False, False]


async def test_blocking_input_guardrail_stops_before_the_model_is_called() -> None:
    blocker = input_guardrail(
        lambda ctx, agent, input: GuardrailFunctionOutput(None, True), run_in_parallel=False
    )
    model = ScriptedModel([[text_message("never")]])
    with pytest.raises(InputGuardrailTripwireTriggered):
        await Runner.run(Agent(name="B", input_guardrails=[blocker], model=model), "x")
    assert model.calls == []


async def test_output_guardrail_tripwire_carries_the_result() -> None:
    @output_guardrail
    def no_secrets(ctx: Any, agent: Agent[Any], output: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(
            output_info=len(output), tripwire_triggered="secret" in output
        )

    agent = Agent(
        name="Leaky",
        output_guardrails=[no_secrets],
        model=ScriptedModel([[text_message("the secret is 42")]]),
    )
    with pytest.raises(OutputGuardrailTripwireTriggered) as caught:
        await Runner.run(agent, "tell me")
    result = caught.value.guardrail_result
    assert (result.agent_output, result.agent, result.output.output_info) == (
        "the secret is 42",
        agent,
        16,
    )
    run_config_guard = output_guardrail(
        lambda ctx, agent, output: GuardrailFunctionOutput("checked", False), name="global"
    )
    ok = await Runner.run(
        agent.clone(model=ScriptedModel([[text_message("all public")]])),
        "tell me",
        run_config=RunConfig(output_guardrails=[run_config_guard]),
    )
    assert [r.guardrail.get_name() for r in ok.output_guardrail_results] == ["no_secrets", "global"]
