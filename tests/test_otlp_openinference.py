"""What an OpenInference reader (Arize Phoenix) gets from our OTLP export of a real run: span
kinds, model messages, input/output of model calls, tools, agents and the workflow root, each under
the attribute names of the `openinference-semantic-conventions` package. Sent by the real OTLP/HTTP
exporter over a socket to a receiver that keeps the attributes as sent. With content capture off,
or sensitive data off, none of the user's text leaves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from openinference.semconv.trace import (
    MessageAttributes,
    OpenInferenceMimeTypeValues,
    OpenInferenceSpanKindValues,
    SpanAttributes,
    ToolCallAttributes,
)

from agentoscope import tracing
from agentoscope.runtime import (
    Agent,
    GuardrailFunctionOutput,
    RunConfig,
    Runner,
    Usage,
    function_tool,
    input_guardrail,
)
from agentoscope.runtime.models import ScriptedModel, ScriptedTurn, text_message, tool_call
from agentoscope.tracing.otel.run_io import MAX_OPEN_TRACES, RunIO
from agentoscope.tracing.processors.otlp import OTLPProcessor
from support.otlp_sink import ReceivedSpan, otlp_sink

QUESTION = "Will it rain in Quixotica tomorrow?"
CITY = "Quixotica"
TOOL_RESULT = "drizzle over Quixotica-harbour"
ANSWER = "Expect zebra-striped drizzle until noon."
USER_TEXTS = (QUESTION, CITY, TOOL_RESULT, ANSWER)

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
LLM = OpenInferenceSpanKindValues.LLM.value
IN_MSG = SpanAttributes.LLM_INPUT_MESSAGES
OUT_MSG = SpanAttributes.LLM_OUTPUT_MESSAGES
ROLE = MessageAttributes.MESSAGE_ROLE
CONTENT = MessageAttributes.MESSAGE_CONTENT
CALLS = MessageAttributes.MESSAGE_TOOL_CALLS
JSON_MIME = OpenInferenceMimeTypeValues.JSON.value
TEXT_MIME = OpenInferenceMimeTypeValues.TEXT.value


@function_tool
def forecast(city: str) -> str:
    """The forecast for a city."""
    return TOOL_RESULT if city == CITY else "unknown"


@input_guardrail
def on_topic(ctx: Any, agent: Agent[Any], input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="weather", tripwire_triggered=False)


def _usage(inp: int, out: int) -> Usage:
    return Usage(input_tokens=inp, output_tokens=out)


def _run(run_config: RunConfig | None = None) -> Any:
    weather = Agent(
        name="Weather agent",
        instructions="Answer with the forecast.",
        model=ScriptedModel([ScriptedTurn([text_message(ANSWER)], _usage(40, 9))], model="m-2"),
    )
    triage = Agent(
        name="Triage",
        instructions="Look up, then hand off.",
        tools=[forecast],
        handoffs=[weather],
        input_guardrails=[on_topic],
        model=ScriptedModel(
            [
                ScriptedTurn([tool_call("forecast", {"city": CITY}, "call_fc")], _usage(12, 5)),
                ScriptedTurn(
                    [tool_call("transfer_to_weather_agent", {}, "call_ho")], _usage(30, 2)
                ),
            ],
            model="m-1",
        ),
    )
    return asyncio.run(Runner.run(triage, QUESTION, run_config=run_config))


def _exported(capture_content: bool, run_config: RunConfig | None = None) -> list[ReceivedSpan]:
    with otlp_sink() as sink:
        processor = OTLPProcessor(
            endpoint=sink.endpoint, capture_content=capture_content, schedule_delay=0.05
        )
        tracing.set_trace_processors([processor])
        result = _run(run_config)
        assert result.final_output == ANSWER
        tracing.flush_traces()
        processor.shutdown()
        return list(sink.spans)


@pytest.fixture(scope="module")
def captured() -> Iterator[list[ReceivedSpan]]:
    yield _exported(capture_content=True)


def _one(spans: list[ReceivedSpan], name: str) -> dict[str, Any]:
    matches = [span for span in spans if span.name == name]
    assert len(matches) == 1, [span.name for span in spans]
    return matches[0].attributes


def test_every_span_has_its_openinference_kind(captured: list[ReceivedSpan]) -> None:
    kinds = {span.name: span.attributes[KIND] for span in captured}
    assert kinds == {
        "invoke_workflow Agent workflow": OpenInferenceSpanKindValues.CHAIN.value,
        "invoke_agent Triage": OpenInferenceSpanKindValues.AGENT.value,
        "invoke_agent Weather agent": OpenInferenceSpanKindValues.AGENT.value,
        "chat m-1": LLM,
        "chat m-2": LLM,
        "execute_tool forecast": OpenInferenceSpanKindValues.TOOL.value,
        "handoff Triage -> Weather agent": OpenInferenceSpanKindValues.TOOL.value,
        "apply_guardrail on_topic": OpenInferenceSpanKindValues.GUARDRAIL.value,
    }


def test_workflow_and_agents_carry_the_runs_input_and_final_output(
    captured: list[ReceivedSpan],
) -> None:
    root = next(span for span in captured if not span.parent_span_id)
    assert root.name == "invoke_workflow Agent workflow"
    for attrs in (root.attributes, _one(captured, "invoke_agent Triage")):
        assert attrs[SpanAttributes.INPUT_VALUE] == QUESTION
        assert attrs[SpanAttributes.INPUT_MIME_TYPE] == TEXT_MIME
    for attrs in (root.attributes, _one(captured, "invoke_agent Weather agent")):
        assert attrs[SpanAttributes.OUTPUT_VALUE] == ANSWER
        assert attrs[SpanAttributes.OUTPUT_MIME_TYPE] == TEXT_MIME
    # The first agent did not give the final output; the handed-off one got no new input.
    assert SpanAttributes.OUTPUT_VALUE not in _one(captured, "invoke_agent Triage")
    assert SpanAttributes.INPUT_VALUE not in _one(captured, "invoke_agent Weather agent")
    assert _one(captured, "invoke_agent Triage")[SpanAttributes.AGENT_NAME] == "Triage"


def test_model_calls_carry_messages_tool_calls_model_and_tokens(
    captured: list[ReceivedSpan],
) -> None:
    calls = [span.attributes for span in captured if span.name == "chat m-1"]
    assert len(calls) == 2
    first, second = calls
    assert first[SpanAttributes.LLM_MODEL_NAME] == "m-1"
    assert first[SpanAttributes.LLM_TOKEN_COUNT_PROMPT] == 12
    assert first[SpanAttributes.LLM_TOKEN_COUNT_COMPLETION] == 5
    assert first[SpanAttributes.LLM_TOKEN_COUNT_TOTAL] == 17
    assert first[f"{IN_MSG}.0.{ROLE}"] == "system"
    assert first[f"{IN_MSG}.0.{CONTENT}"] == "Look up, then hand off."
    assert first[f"{IN_MSG}.1.{ROLE}"] == "user"
    assert first[f"{IN_MSG}.1.{CONTENT}"] == QUESTION
    call = f"{OUT_MSG}.0.{CALLS}.0."
    assert first[f"{OUT_MSG}.0.{ROLE}"] == "assistant"
    assert first[call + ToolCallAttributes.TOOL_CALL_FUNCTION_NAME] == "forecast"
    assert first[call + ToolCallAttributes.TOOL_CALL_ID] == "call_fc"
    assert json.loads(first[call + ToolCallAttributes.TOOL_CALL_FUNCTION_ARGUMENTS_JSON]) == {
        "city": CITY
    }
    assert first[SpanAttributes.INPUT_MIME_TYPE] == JSON_MIME
    assert QUESTION in first[SpanAttributes.INPUT_VALUE]
    assert first[SpanAttributes.OUTPUT_MIME_TYPE] == JSON_MIME
    # The second call sees the tool's result as a tool message tied to the call.
    tool_messages = [
        key.rsplit(".", 2)[0]
        for key, value in second.items()
        if key.startswith(IN_MSG) and key.endswith(ROLE) and value == "tool"
    ]
    assert len(tool_messages) == 1
    assert second[f"{tool_messages[0]}.{MessageAttributes.MESSAGE_TOOL_CALL_ID}"] == "call_fc"
    assert second[f"{tool_messages[0]}.{CONTENT}"] == TOOL_RESULT
    last = _one(captured, "chat m-2")
    assert (last[f"{OUT_MSG}.0.{ROLE}"], last[f"{OUT_MSG}.0.{CONTENT}"]) == ("assistant", ANSWER)
    assert last[SpanAttributes.LLM_TOKEN_COUNT_PROMPT] == 40


def test_tool_handoff_and_guardrail_spans_read_as_such(captured: list[ReceivedSpan]) -> None:
    tool = _one(captured, "execute_tool forecast")
    assert tool[SpanAttributes.TOOL_NAME] == "forecast"
    assert json.loads(tool[SpanAttributes.INPUT_VALUE]) == {"city": CITY}
    assert tool[SpanAttributes.INPUT_MIME_TYPE] == JSON_MIME
    assert (tool[SpanAttributes.OUTPUT_VALUE], tool[SpanAttributes.OUTPUT_MIME_TYPE]) == (
        TOOL_RESULT,
        TEXT_MIME,
    )
    handoff = _one(captured, "handoff Triage -> Weather agent")
    assert handoff[SpanAttributes.INPUT_VALUE] == "Triage"
    assert handoff[SpanAttributes.OUTPUT_VALUE] == "Weather agent"
    guardrail = _one(captured, "apply_guardrail on_topic")
    assert json.loads(guardrail[SpanAttributes.OUTPUT_VALUE]) == {"tripwire_triggered": False}


def _user_text_in(spans: list[ReceivedSpan]) -> list[tuple[str, str, str]]:
    found = []
    for span in spans:
        for key, value in span.attributes.items():
            for text in USER_TEXTS:
                if text in json.dumps(value):
                    found.append((span.name, key, text))
    return found


def _content_keys(spans: list[ReceivedSpan]) -> list[tuple[str, str]]:
    """Content attributes on the spans whose content is user text (handoffs carry agent names
    and guardrails their verdict, whatever the switch)."""
    return [
        (span.name, key)
        for span in spans
        if not span.name.startswith(("handoff", "apply_guardrail"))
        for key in span.attributes
        if key.startswith(
            (IN_MSG, OUT_MSG, SpanAttributes.INPUT_VALUE, SpanAttributes.OUTPUT_VALUE)
        )
    ]


def test_capture_off_sends_no_user_text() -> None:
    spans = _exported(capture_content=False)
    assert len(spans) == 9, sorted(span.name for span in spans)
    assert _user_text_in(spans) == []
    assert _content_keys(spans) == []
    assert all(KIND in span.attributes for span in spans)  # still typed for the reader


def test_sensitive_data_off_sends_no_user_text_even_when_capturing() -> None:
    spans = _exported(
        capture_content=True, run_config=RunConfig(trace_include_sensitive_data=False)
    )
    assert len(spans) == 9
    assert _user_text_in(spans) == []
    assert _content_keys(spans) == []


def test_the_global_data_policy_off_keeps_run_input_and_output_home() -> None:
    tracing.set_data_policy(include_sensitive_data=False)
    spans = _exported(capture_content=True)
    assert _user_text_in(spans) == []
    assert _content_keys(spans) == []


def test_workflow_io_comes_from_top_level_agents_and_is_bounded() -> None:
    run_io = RunIO()

    def agent(trace: str, parent: str | None, **data: Any) -> dict[str, Any]:
        return {"trace_id": trace, "span_type": "agent", "parent_id": parent, "data": data}

    run_io.observe(agent("t1", None, input="first question"))
    run_io.observe(agent("t1", "span_tool", input="tool input", output="tool answer"))  # nested
    run_io.observe(agent("t1", None, input="ignored: not the first", output="answer one"))
    run_io.observe(agent("t1", None, output="final answer"))
    assert run_io.take("t1") == ("first question", "final answer")
    assert run_io.take("t1") == (None, None)  # forgotten once the root took it
    for number in range(MAX_OPEN_TRACES + 1):
        run_io.observe(agent(f"open{number}", None, input="q"))
    assert run_io.take("open0") == (None, None)  # the oldest unfinished trace went first
    assert run_io.take(f"open{MAX_OPEN_TRACES}") == ("q", None)
