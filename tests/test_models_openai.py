"""Both OpenAI models against a local server speaking the OpenAI API, through the real `openai`
client over real sockets: replies, tool calls, streaming, retries, usage and spans."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from openai import APITimeoutError, BadRequestError
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage

from agentoscope.runtime.exceptions import ModelBehaviorError
from agentoscope.runtime.model_settings import ModelSettings
from agentoscope.runtime.models import (
    ModelTracing,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
)
from agentoscope.runtime.tool import function_tool
from agentoscope.tracing import add_trace_processor, custom_span, span_record, trace
from support.collect import CollectingProcessor
from support.fake_openai import (
    FakeError,
    FakeOpenAIServer,
    FakeReply,
    FakeToolCall,
    FakeUsage,
    rate_limited,
    text_reply,
    tool_calls_reply,
)


@dataclass(frozen=True)
class Api:
    name: str
    model_class: type[Any]
    endpoint: str
    span_type: str


RESPONSES = Api("responses", OpenAIResponsesModel, "/v1/responses", "response")
CHAT = Api("chat", OpenAIChatCompletionsModel, "/v1/chat/completions", "generation")
BOTH = pytest.mark.parametrize("api", [RESPONSES, CHAT], ids=lambda api: api.name)


@pytest.fixture
def spans() -> CollectingProcessor:
    collector = CollectingProcessor()
    add_trace_processor(collector)
    return collector


def make_model(api: Api, server: FakeOpenAIServer, **client_options: Any) -> Any:
    client_options.setdefault("max_retries", 0)
    return api.model_class("gpt-4o", server.client(**client_options))


@function_tool
def get_weather(city: str) -> str:
    """Weather of a city.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


async def call(model: Any, tracing: ModelTracing = ModelTracing.ENABLED, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {
        "system_instructions": "Be brief.",
        "input": "What is the weather in Paris?",
        "model_settings": ModelSettings(),
        "tools": [],
        "output_schema": None,
        "handoffs": [],
        "tracing": tracing,
        "previous_response_id": None,
        "conversation_id": None,
        "prompt": None,
    }
    arguments.update(kwargs)
    return await model.get_response(**arguments)


async def stream(model: Any, tracing: ModelTracing = ModelTracing.ENABLED, **kwargs: Any) -> list:
    arguments: dict[str, Any] = {
        "system_instructions": None,
        "input": "Hi",
        "model_settings": ModelSettings(),
        "tools": [],
        "output_schema": None,
        "handoffs": [],
        "tracing": tracing,
        "previous_response_id": None,
        "conversation_id": None,
        "prompt": None,
    }
    arguments.update(kwargs)
    events: AsyncIterator[Any] = model.stream_response(**arguments)
    return [event async for event in events]


def model_spans(collector: CollectingProcessor, api: Api) -> list[Any]:
    return [s for s in collector.ended_spans if s.span_data.type == api.span_type]


@BOTH
async def test_plain_text_reply(api: Api, server: FakeOpenAIServer) -> None:
    server.enqueue(text_reply("It is sunny."))
    response = await call(make_model(api, server))

    [message] = response.output
    assert isinstance(message, ResponseOutputMessage)
    assert message.content[0].text == "It is sunny."  # type: ignore[union-attr]
    assert response.usage.requests == 1
    assert response.usage.total_tokens == 18
    [request] = server.requests_to(api.endpoint)
    assert request.body["model"] == "gpt-4o"
    assert request.headers["authorization"] == "Bearer test-key"
    sent_text = json.dumps(request.body)
    assert "Be brief." in sent_text and "What is the weather in Paris?" in sent_text


@BOTH
async def test_tool_calls_are_parsed_with_unique_call_ids(
    api: Api, server: FakeOpenAIServer
) -> None:
    server.enqueue(
        tool_calls_reply(
            FakeToolCall("get_weather", {"city": "Paris"}),
            FakeToolCall("get_weather", {"city": "Oslo"}),
        )
    )
    response = await call(make_model(api, server), tools=[get_weather])

    calls = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
    assert [json.loads(c.arguments)["city"] for c in calls] == ["Paris", "Oslo"]
    assert all(c.name == "get_weather" and c.call_id for c in calls)
    assert len({c.call_id for c in calls}) == 2
    tools = server.last_request.body["tools"]
    names = [tool.get("name") or tool["function"]["name"] for tool in tools]
    assert names == ["get_weather"]


@BOTH
async def test_tool_calls_without_ids_from_a_compatible_server_get_unique_ids(
    api: Api, server: FakeOpenAIServer
) -> None:
    # Some compatible servers repeat or reuse ids; the runtime needs unique ones per turn.
    server.enqueue(
        tool_calls_reply(
            FakeToolCall("get_weather", {"city": "A"}, call_id="call_same"),
            FakeToolCall("get_weather", {"city": "B"}, call_id="call_same"),
        )
    )
    response = await call(make_model(api, server), tools=[get_weather])
    calls = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
    if api is CHAT:
        assert len({c.call_id for c in calls}) == 2
    else:  # the Responses API owns its ids; we pass them through untouched
        assert [c.call_id for c in calls] == ["call_same", "call_same"]


@BOTH
async def test_streaming_yields_events_in_order_and_assembles_the_final_response(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(text_reply("Hello streaming world"))
    server.enqueue(
        tool_calls_reply(FakeToolCall("get_weather", {"city": "Lyon"}), usage=FakeUsage(5, 3))
    )
    model = make_model(api, server)
    with trace("stream"):
        text_events = await stream(model)
        tool_events = await stream(model, tools=[get_weather])

    types = [event.type for event in text_events]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    deltas = [e.delta for e in text_events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1 and "".join(deltas) == "Hello streaming world"
    assert types.index("response.output_item.added") < types.index("response.output_text.delta")
    assert types.index("response.output_text.done") < types.index("response.output_item.done")
    numbers = [event.sequence_number for event in text_events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    final = text_events[-1].response
    assert final.output[0].content[0].text == "Hello streaming world"

    tool_types = [event.type for event in tool_events]
    arg_deltas = [
        e.delta for e in tool_events if e.type == "response.function_call_arguments.delta"
    ]
    assert json.loads("".join(arg_deltas)) == {"city": "Lyon"}
    assert tool_types.index("response.function_call_arguments.done") < tool_types.index(
        "response.output_item.done"
    )
    [call_item] = tool_events[-1].response.output
    assert call_item.name == "get_weather" and call_item.call_id
    assert json.loads(call_item.arguments) == {"city": "Lyon"}
    assert tool_events[-1].response.usage.input_tokens == 5

    assert all(request.body["stream"] is True for request in server.requests)
    first, second = model_spans(spans, api)
    assert second.span_data.usage["input_tokens"] == 5
    assert second.span_data.usage["output_tokens"] == 3
    assert first.error is None and second.error is None


@BOTH
async def test_rate_limit_is_retried_by_the_openai_client(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(rate_limited(0.01), text_reply("after the retry"))
    server.enqueue(rate_limited(0.01), text_reply("streamed after the retry"))
    model = make_model(api, server, max_retries=2)
    with trace("retry"):
        response = await call(model)
        events = await stream(model)

    assert response.output[0].content[0].text == "after the retry"
    assert events[-1].response.output[0].content[0].text == "streamed after the retry"
    assert len(server.requests_to(api.endpoint)) == 4
    assert server.pending == 0
    assert [s.error for s in model_spans(spans, api)] == [None, None]


@BOTH
async def test_usage_with_cached_and_reasoning_tokens_reaches_the_span(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    usage = FakeUsage(input_tokens=120, output_tokens=30, cached_tokens=100, reasoning_tokens=12)
    server.enqueue(text_reply("ok", usage=usage))
    with trace("usage"):
        response = await call(make_model(api, server))

    assert response.usage.input_tokens_details.cached_tokens == 100
    assert response.usage.output_tokens_details.reasoning_tokens == 12
    [span] = model_spans(spans, api)
    assert span.span_data.usage == {
        "requests": 1,
        "input_tokens": 120,
        "output_tokens": 30,
        "total_tokens": 150,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 12},
    }
    record = span_record(span)
    assert (record["input_tokens"], record["output_tokens"], record["total_tokens"]) == (
        120,
        30,
        150,
    )
    assert record["cached_input_tokens"] == 100
    assert record["reasoning_tokens"] == 12
    assert record["model"] == "gpt-4o"


@BOTH
async def test_span_keeps_inputs_and_outputs_when_data_is_allowed(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(text_reply("The answer"))
    with trace("data on"):
        await call(make_model(api, server))
    [span] = model_spans(spans, api)
    if api is RESPONSES:
        assert span.span_data.input == "What is the weather in Paris?"
        assert span.span_data.response.output[0].content[0].text == "The answer"
    else:
        assert span.span_data.input[0] == {"role": "system", "content": "Be brief."}
        assert span.span_data.output[0]["content"] == "The answer"
        assert span.span_data.model == "gpt-4o"


@BOTH
async def test_sensitive_data_off_keeps_inputs_and_outputs_out_of_the_span(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(text_reply("secret answer"), text_reply("streamed secret"))
    model = make_model(api, server)
    with trace("data off"):
        await call(model, ModelTracing.ENABLED_WITHOUT_DATA)
        await stream(model, ModelTracing.ENABLED_WITHOUT_DATA, input="secret question")

    model_spans_seen = model_spans(spans, api)
    assert len(model_spans_seen) == 2
    for span in model_spans_seen:
        assert span.span_data.input is None
        if api is RESPONSES:
            assert getattr(span.span_data.response, "output", None) is None
            assert span.span_data.response.id  # the id and model survive, the content not
        else:
            assert span.span_data.output is None
        assert span.span_data.usage["requests"] == 1
        dumped = json.dumps(span_record(span), default=str)
        assert "secret" not in dumped and "Paris" not in dumped
        assert span_record(span)["model"] == "gpt-4o"


@BOTH
async def test_tracing_disabled_opens_no_span(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(text_reply("quiet"))
    with trace("disabled"):
        response = await call(make_model(api, server), ModelTracing.DISABLED)
    assert response.output[0].content[0].text == "quiet"
    assert model_spans(spans, api) == []


@BOTH
async def test_model_span_is_a_child_of_the_current_span(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(text_reply("one"), text_reply("two"))
    model = make_model(api, server)
    with trace("parents") as current_trace, custom_span("turn") as parent:
        await call(model)
        await stream(model)
    assert [(s.parent_id, s.trace_id) for s in model_spans(spans, api)] == [
        (parent.span_id, current_trace.trace_id)
    ] * 2


@BOTH
async def test_a_failed_call_is_recorded_on_the_span_and_raised(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(FakeError(400, "Invalid schema for tool", {}, "invalid_request_error", None))
    server.enqueue(FakeError(400, "Invalid schema again", {}, "invalid_request_error", None))
    model = make_model(api, server)
    with trace("errors"):
        with pytest.raises(BadRequestError):
            await call(model)
        with pytest.raises(BadRequestError):
            await stream(model, ModelTracing.ENABLED_WITHOUT_DATA)

    with_data, without_data = model_spans(spans, api)
    assert with_data.error["message"] == "Error getting response"
    assert with_data.error["data"]["type"] == "BadRequestError"
    assert with_data.error["data"]["status_code"] == 400
    assert "Invalid schema for tool" in with_data.error["data"]["error"]
    assert without_data.error["message"] == "Error streaming response"
    assert "Invalid schema" not in json.dumps(without_data.error)
    assert span_record(with_data)["status"] == "error"
    assert span_record(with_data)["error_type"] == "BadRequestError"


@BOTH
async def test_the_api_key_never_reaches_the_trace(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    key = "sk-proj-" + "k3y" * 12
    server.enqueue(text_reply("fine"))
    model = api.model_class("gpt-4o", server.client(api_key=key, max_retries=0))
    settings = ModelSettings(temperature=0.2, extra_headers={"x-api-key": key})
    with trace("keys"):
        await call(model, model_settings=settings)

    assert server.last_request.headers["authorization"] == f"Bearer {key}"
    [span] = model_spans(spans, api)
    assert key not in json.dumps(span_record(span), default=str)
    if api is CHAT:
        config = span.span_data.model_config
        assert config["temperature"] == 0.2
        assert config["base_url"] == server.base_url + "/"
        assert key not in json.dumps(config)


@BOTH
async def test_model_settings_timeout_bounds_each_attempt(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(FakeReply(text="too late", delay_s=2.0))
    model = make_model(api, server)
    with trace("timeout"):
        with pytest.raises(APITimeoutError):
            await call(model, model_settings=ModelSettings(timeout=0.2))
    [span] = model_spans(spans, api)
    assert span.error["data"]["type"] == "APITimeoutError"


@BOTH
async def test_a_reply_cut_at_the_token_limit_is_a_model_behavior_error(
    api: Api, server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    # Responses reports status "incomplete"; Chat Completions an empty message with "length".
    server.enqueue(FakeReply(truncated=True), FakeReply(truncated=True))
    model = make_model(api, server)
    with trace("truncated"):
        with pytest.raises(ModelBehaviorError, match=r"token limit|incomplete"):
            await call(model)
        with pytest.raises(ModelBehaviorError, match=r"token limit|incomplete"):
            await stream(model)
    assert [s.error["data"]["type"] for s in model_spans(spans, api)] == ["ModelBehaviorError"] * 2
    assert all(s.span_data.usage["requests"] == 1 for s in model_spans(spans, api))
