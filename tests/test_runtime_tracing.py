"""The span tree a run produces: types, parents, names, usage, errors and the sensitive-data
switch, for a triage -> specialist workflow."""

from __future__ import annotations

from typing import Any

import pytest

from agentoscope.runtime import (
    Agent,
    GuardrailFunctionOutput,
    MaxTurnsExceeded,
    RunConfig,
    Runner,
    Usage,
    function_tool,
    input_guardrail,
    output_guardrail,
)
from agentoscope.runtime.models import ScriptedModel, ScriptedTurn, text_message, tool_call
from agentoscope.runtime.usage import InputTokensDetails, OutputTokensDetails
from agentoscope.tracing import set_trace_processors, span_record, trace
from support.collect import CollectingProcessor


@pytest.fixture
def collector() -> CollectingProcessor:
    processor = CollectingProcessor()
    set_trace_processors([processor])
    return processor


@function_tool
def lookup_account(user: str) -> str:
    """Find a user's account."""
    return f"account of {user}: 42 EUR owed"


@function_tool
def refund(amount: int) -> str:
    """Refund an amount."""
    return f"refunded {amount}"


@input_guardrail
def check_input(ctx: Any, agent: Agent[Any], input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="fine", tripwire_triggered=False)


@output_guardrail
def check_output(ctx: Any, agent: Agent[Any], output: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="fine", tripwire_triggered=False)


def _usage(inp: int, out: int, cached: int = 0, reasoning: int = 0) -> Usage:
    return Usage(
        input_tokens=inp,
        output_tokens=out,
        input_tokens_details=InputTokensDetails(cached_tokens=cached),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning),
    )


def _support_agents() -> tuple[Agent[Any], Agent[Any]]:
    billing = Agent(
        name="Billing agent",
        instructions="Handle billing.",
        tools=[refund],
        output_guardrails=[check_output],
        model=ScriptedModel(
            [
                ScriptedTurn([tool_call("refund", {"amount": 5}, "call_refund")], _usage(30, 4)),
                ScriptedTurn([text_message("Refunded 5 EUR.")], _usage(40, 5, 7, 2)),
            ],
            model="billing-model",
        ),
    )
    triage = Agent(
        name="Triage",
        instructions="Route the user.",
        tools=[lookup_account],
        handoffs=[billing],
        input_guardrails=[check_input],
        model=ScriptedModel(
            [
                ScriptedTurn(
                    [tool_call("lookup_account", {"user": "u1"}, "call_lookup")], _usage(10, 2)
                ),
                ScriptedTurn(
                    [tool_call("transfer_to_billing_agent", {}, "call_handoff")], _usage(20, 3)
                ),
            ],
            model="triage-model",
        ),
    )
    return triage, billing


def _tree(spans: list[Any]) -> list[tuple[int, str, str]]:
    """(depth, type, name) in depth-first start order."""
    records = [span_record(s) for s in spans]
    starts = {s.span_id: s.started_at_ns for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for record in records:
        children.setdefault(record["parent_id"], []).append(record)
    out: list[tuple[int, str, str]] = []

    def walk(parent: str | None, depth: int) -> None:
        for record in sorted(children.get(parent, []), key=lambda r: starts[r["span_id"]]):
            out.append((depth, record["span_type"], record["name"]))
            walk(record["span_id"], depth + 1)

    walk(None, 0)
    return out


async def test_triage_to_specialist_span_tree(collector: CollectingProcessor) -> None:
    triage, _ = _support_agents()
    result = await Runner.run(
        triage, "I was charged twice", run_config=RunConfig(workflow_name="Support")
    )
    assert result.final_output == "Refunded 5 EUR."
    assert result.last_agent.name == "Billing agent"

    traces = collector.ended_traces
    assert [t.workflow_name for t in traces] == ["Support"]
    spans = collector.ended_spans
    assert {s.trace_id for s in spans} == {traces[0].trace_id}
    assert _tree(spans) == [
        (0, "agent", "Triage"),
        (1, "guardrail", "check_input"),
        (1, "generation", "triage-model"),
        (1, "function", "lookup_account"),
        (1, "generation", "triage-model"),
        (1, "handoff", "Triage -> Billing agent"),
        (0, "agent", "Billing agent"),
        (1, "generation", "billing-model"),
        (1, "function", "refund"),
        (1, "generation", "billing-model"),
        (1, "guardrail", "check_output"),
    ]
    by_type: dict[str, list[Any]] = {}
    for span in spans:
        by_type.setdefault(span.span_data.type, []).append(span)
    triage_span, billing_span = sorted(by_type["agent"], key=lambda s: s.started_at_ns)
    assert triage_span.span_data.tools == ["lookup_account"]
    assert triage_span.span_data.handoffs == ["Billing agent"]
    assert triage_span.span_data.output_type == "str"
    assert billing_span.span_data.tools == ["refund"]
    assert billing_span.span_data.handoffs == []
    assert all(s.agent_name in ("Triage", "Billing agent") for s in spans)

    generations = sorted(by_type["generation"], key=lambda s: s.started_at_ns)
    records = [span_record(s) for s in generations]
    assert [(r["input_tokens"], r["output_tokens"], r["total_tokens"]) for r in records] == [
        (10, 2, 12),
        (20, 3, 23),
        (30, 4, 34),
        (40, 5, 45),
    ]
    assert (records[3]["cached_input_tokens"], records[3]["reasoning_tokens"]) == (7, 2)
    assert result.context_wrapper.usage.total_tokens == 12 + 23 + 34 + 45
    assert result.context_wrapper.usage.requests == 4

    functions = {s.span_data.name: s for s in by_type["function"]}
    assert functions["lookup_account"].span_data.call_id == "call_lookup"
    assert functions["lookup_account"].span_data.input == '{"user": "u1"}'
    assert functions["lookup_account"].span_data.output == "account of u1: 42 EUR owed"
    assert functions["refund"].span_data.call_id == "call_refund"
    guardrails = {s.span_data.name: s for s in by_type["guardrail"]}
    assert guardrails["check_input"].span_data.source == "input"
    assert guardrails["check_output"].span_data.source == "output"
    assert not any(g.span_data.triggered for g in guardrails.values())
    handoff = by_type["handoff"][0].span_data
    assert (handoff.from_agent, handoff.to_agent) == ("Triage", "Billing agent")
    assert all(s.error is None for s in spans)
    # Generation spans record what the model saw, including the system prompt.
    first_input = generations[0].span_data.input
    assert first_input[0] == {"role": "system", "content": "Route the user."}
    assert generations[0].span_data.output[0]["name"] == "lookup_account"


async def test_sensitive_data_off_keeps_spans_but_not_inputs_outputs(
    collector: CollectingProcessor,
) -> None:
    triage, _ = _support_agents()
    await Runner.run(triage, "hi", run_config=RunConfig(trace_include_sensitive_data=False))
    spans = collector.ended_spans
    assert len(spans) == 11
    for span in spans:
        if span.span_data.type in ("generation", "function"):
            assert span.span_data.input is None
            assert span.span_data.output is None
    generation = next(s for s in spans if s.span_data.type == "generation")
    assert generation.span_data.usage["input_tokens"] == 10


def test_sensitive_default_comes_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA", "false")
    assert RunConfig().trace_include_sensitive_data is False
    monkeypatch.setenv("AGENTOSCOPE_INCLUDE_SENSITIVE_DATA", "1")
    assert RunConfig().trace_include_sensitive_data is True


async def test_run_nests_in_callers_trace(collector: CollectingProcessor) -> None:
    agent = Agent(name="A", model=ScriptedModel([[text_message("one")], [text_message("two")]]))
    with trace("Conversation") as outer:
        await Runner.run(agent, "first")
        await Runner.run(agent, "second")
    assert [t.trace_id for t in collector.ended_traces] == [outer.trace_id]
    agent_spans = [s for s in collector.ended_spans if s.span_data.type == "agent"]
    assert len(agent_spans) == 2
    assert all(s.trace_id == outer.trace_id and s.parent_id is None for s in agent_spans)


async def test_tracing_disabled_emits_nothing(collector: CollectingProcessor) -> None:
    triage, _ = _support_agents()
    result = await Runner.run(triage, "hi", run_config=RunConfig(tracing_disabled=True))
    assert result.final_output == "Refunded 5 EUR."
    assert collector.events == []


async def test_errors_land_on_the_span_where_they_happened(
    collector: CollectingProcessor,
) -> None:
    @function_tool
    def broken(x: int) -> str:
        """Always fails."""
        raise ValueError("disk on fire")

    model = ScriptedModel([[tool_call("broken", {"x": 1})], [tool_call("broken", {"x": 2})]])
    agent = Agent(name="Looper", tools=[broken], model=model)
    with pytest.raises(MaxTurnsExceeded) as caught:
        await Runner.run(agent, "go", max_turns=2)
    assert len(caught.value.run_data.new_items) == 4  # two calls, two error outputs

    spans = collector.ended_spans
    functions = [s for s in spans if s.span_data.type == "function"]
    assert len(functions) == 2
    for span in functions:
        assert span.error["message"] == "Error running tool"
        assert span.error["data"]["type"] == "ValueError"
        assert span.error["data"]["error"] == "disk on fire"
    agent_span = next(s for s in spans if s.span_data.type == "agent")
    assert agent_span.error["data"]["type"] == "MaxTurnsExceeded"
    assert all(s.error is None for s in spans if s.span_data.type == "generation")


async def test_model_error_is_recorded_on_its_generation_span(
    collector: CollectingProcessor,
) -> None:
    agent = Agent(name="A", model=ScriptedModel([ConnectionError("upstream down")]))
    with pytest.raises(ConnectionError):
        await Runner.run(agent, "hi")
    generation = next(s for s in collector.ended_spans if s.span_data.type == "generation")
    assert generation.error["data"] == {"type": "ConnectionError", "message": "upstream down"}
    assert len(collector.ended_traces) == 1  # the trace is closed even when the run fails


async def test_agent_as_tool_nests_its_run_under_the_function_span(
    collector: CollectingProcessor,
) -> None:
    translator = Agent(name="Translator", model=ScriptedModel([[text_message("Bonjour")]]))
    tool = translator.as_tool("translate", "Translate to French")
    boss = Agent(
        name="Boss",
        tools=[tool],
        model=ScriptedModel(
            [[tool_call("translate", {"input": "Hello"})], [text_message("It says Bonjour")]]
        ),
    )
    result = await Runner.run(boss, "translate hello")
    assert result.final_output == "It says Bonjour"
    tree = _tree(collector.ended_spans)
    assert tree == [
        (0, "agent", "Boss"),
        (1, "generation", "scripted-model"),
        (1, "function", "translate"),
        (2, "agent", "Translator"),
        (3, "generation", "scripted-model"),
        (1, "generation", "scripted-model"),
    ]
    assert len(collector.ended_traces) == 1
