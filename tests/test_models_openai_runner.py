"""End to end: `Runner` with agents on the OpenAI models, against the local OpenAI-speaking
server: a tool call then a final answer, streamed and not, structured output, and a handoff
between an agent on Chat Completions and one on the Responses API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from agentoscope.runtime import Agent, RunConfig, Runner, function_tool
from agentoscope.runtime.models import OpenAIChatCompletionsModel, OpenAIResponsesModel
from agentoscope.runtime.models.chatcmpl_converter import FAKE_RESPONSES_ID
from agentoscope.tracing import add_trace_processor, span_record
from support.collect import CollectingProcessor
from support.fake_openai import (
    FakeOpenAIServer,
    FakeReply,
    FakeToolCall,
    FakeUsage,
    json_reply,
    text_reply,
    tool_call_reply,
)

MODEL_CLASSES = pytest.mark.parametrize(
    "model_class",
    [OpenAIResponsesModel, OpenAIChatCompletionsModel],
    ids=["responses", "chat"],
)


@function_tool
def get_weather(city: str) -> str:
    """Weather of a city.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


class Forecast(BaseModel):
    city: str
    celsius: int


@pytest.fixture
def spans() -> CollectingProcessor:
    collector = CollectingProcessor()
    add_trace_processor(collector)
    return collector


def script_weather_turns(server: FakeOpenAIServer) -> None:
    server.enqueue(
        tool_call_reply(
            "get_weather", {"city": "Paris"}, usage=FakeUsage(50, 10, cached_tokens=20)
        ),
        text_reply("It is sunny in Paris.", usage=FakeUsage(80, 8, reasoning_tokens=4)),
    )


def model_span_type(model_class: type[Any]) -> str:
    return "response" if model_class is OpenAIResponsesModel else "generation"


def tool_output_sent(server: FakeOpenAIServer) -> str:
    """The text of the tool result the second model call carried back to the model."""
    body = server.requests[1].body
    if "messages" in body:
        [tool_message] = [m for m in body["messages"] if m["role"] == "tool"]
        return tool_message["content"]
    [output] = [i for i in body["input"] if i.get("type") == "function_call_output"]
    return output["output"]


@MODEL_CLASSES
async def test_run_with_a_tool_call_then_a_final_answer(
    model_class: type[Any], server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    script_weather_turns(server)
    agent = Agent(
        name="Weather",
        instructions="Answer with the weather.",
        tools=[get_weather],
        model=model_class("gpt-4o", server.client(max_retries=0)),
    )

    result = await Runner.run(agent, "Weather in Paris?", run_config=RunConfig(workflow_name="wx"))

    assert result.final_output == "It is sunny in Paris."
    assert tool_output_sent(server) == "sunny in Paris"
    usage = result.context_wrapper.usage
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 130, 18)
    assert usage.input_tokens_details.cached_tokens == 20
    assert usage.output_tokens_details.reasoning_tokens == 4

    records = {s.span_id: span_record(s) for s in spans.ended_spans}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in records.values():
        by_type.setdefault(record["span_type"], []).append(record)
    [agent_record] = by_type["agent"]
    model_records = by_type[model_span_type(model_class)]
    [function_record] = by_type["function"]
    assert len(model_records) == 2
    assert {r["parent_id"] for r in [*model_records, function_record]} == {agent_record["span_id"]}
    assert {r["trace_id"] for r in records.values()} == {agent_record["trace_id"]}
    assert function_record["name"] == "get_weather"
    [first_call] = [i for i in result.new_items if i.type == "tool_call_item"]
    assert function_record["data"].get("call_id") == first_call.call_id
    assert [(r["input_tokens"], r["cached_input_tokens"]) for r in model_records] == [
        (50, 20),
        (80, 0),
    ]
    assert [r["reasoning_tokens"] for r in model_records] == [0, 4]
    assert all(r["model"] == "gpt-4o" and r["status"] == "ok" for r in model_records)
    assert all(r["agent_name"] == "Weather" for r in [*model_records, function_record])
    [trace_done] = spans.ended_traces
    assert trace_done.name == "wx"


@MODEL_CLASSES
async def test_streamed_run_with_a_tool_call_then_a_final_answer(
    model_class: type[Any], server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    script_weather_turns(server)
    agent = Agent(
        name="Weather",
        tools=[get_weather],
        model=model_class("gpt-4o", server.client(max_retries=0)),
    )

    result = Runner.run_streamed(agent, "Weather in Paris?")
    events = [event async for event in result.stream_events()]

    assert result.final_output == "It is sunny in Paris."
    raw = [e.data for e in events if e.type == "raw_response_event"]
    deltas = [e.delta for e in raw if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "It is sunny in Paris."
    assert [e.type for e in raw].count("response.completed") == 2
    item_names = [e.name for e in events if e.type == "run_item_stream_event"]
    assert item_names.index("tool_called") < item_names.index("tool_output")
    assert item_names[-1] == "message_output_created"
    assert all(request.body["stream"] is True for request in server.requests)
    model_records = [
        span_record(s)
        for s in spans.ended_spans
        if s.span_data.type == model_span_type(model_class)
    ]
    assert [r["input_tokens"] for r in model_records] == [50, 80]


@MODEL_CLASSES
async def test_run_with_structured_output(model_class: type[Any], server: FakeOpenAIServer) -> None:
    server.enqueue(json_reply({"city": "Oslo", "celsius": -3}))
    agent = Agent(
        name="Forecaster",
        output_type=Forecast,
        model=model_class("gpt-4o", server.client(max_retries=0)),
    )
    result = await Runner.run(agent, "Forecast for Oslo")
    assert result.final_output == Forecast(city="Oslo", celsius=-3)
    body = server.last_request.body
    schema = body["text"]["format"] if "text" in body else body["response_format"]["json_schema"]
    assert schema["name"] == "final_output"
    assert set(schema["schema"]["properties"]) == {"city", "celsius"}


async def test_handoff_from_a_chat_agent_to_a_responses_agent(
    server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    specialist = Agent(
        name="Billing",
        instructions="Answer billing questions.",
        model=OpenAIResponsesModel("gpt-4o", server.client(max_retries=0)),
    )
    triage = Agent(
        name="Triage",
        handoffs=[specialist],
        model=OpenAIChatCompletionsModel("local-llama", server.client(max_retries=0)),
    )
    # One chat turn says something and calls the handoff tool; the specialist then answers.
    server.enqueue(
        FakeReply(text="Routing you.", tool_calls=[FakeToolCall("transfer_to_billing", {})]),
        text_reply("Your invoice is paid."),
    )

    result = await Runner.run(triage, "Is my invoice paid?")

    assert result.final_output == "Your invoice is paid."
    assert result.last_agent is specialist
    chat_request, responses_request = server.requests
    assert chat_request.endpoint == "/v1/chat/completions"
    assert responses_request.endpoint == "/v1/responses"
    sent = json.dumps(responses_request.body["input"])
    assert FAKE_RESPONSES_ID not in sent and "provider_data" not in sent
    assert "Routing you." in sent
    types = [s.span_data.type for s in spans.ended_spans]
    assert types.count("agent") == 2 and "handoff" in types
    assert types.count("generation") == 1 and types.count("response") == 1
