"""What the OpenAI models send: tools, handoffs, structured output, settings and history, as
captured by the local OpenAI-speaking server; and how providers pick models and clients."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from agentoscope.runtime.agent_output import AgentOutputSchema
from agentoscope.runtime.exceptions import UserError
from agentoscope.runtime.handoffs import Handoff
from agentoscope.runtime.model_settings import MCPToolChoice, ModelSettings
from agentoscope.runtime.models import (
    Model,
    ModelProvider,
    ModelTracing,
    MultiProvider,
    OpenAIChatCompletionsModel,
    OpenAIProvider,
    OpenAIResponsesModel,
)
from agentoscope.runtime.models.chatcmpl_converter import FAKE_RESPONSES_ID, items_to_messages
from agentoscope.runtime.models.openai_shared import url_for_trace
from agentoscope.runtime.tool import FileSearchTool, WebSearchTool, function_tool
from support.fake_openai import FakeOpenAIServer, FakeUsage, json_reply, text_reply


class Forecast(BaseModel):
    city: str
    celsius: int


@function_tool
def get_weather(city: str) -> str:
    """Weather of a city.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


async def _refund(ctx: Any, args: str) -> Any:
    raise AssertionError("not invoked in these tests")


REFUND_HANDOFF = Handoff(
    tool_name="transfer_to_refunds",
    tool_description="Hand off to the refunds agent.",
    input_json_schema={"type": "object", "properties": {}, "additionalProperties": False},
    on_invoke_handoff=_refund,
    agent_name="Refunds",
)

HISTORY: list[Any] = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "type": "message",
        "id": FAKE_RESPONSES_ID,
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}],
        "provider_data": {"model": "gpt-4o"},
    },
    {
        "type": "function_call",
        "id": FAKE_RESPONSES_ID,
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    },
    {"type": "function_call_output", "call_id": "call_1", "output": "sunny in Paris"},
]


async def call(model: Model, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {
        "system_instructions": "You are helpful.",
        "input": "Hi",
        "model_settings": ModelSettings(),
        "tools": [],
        "output_schema": None,
        "handoffs": [],
        "tracing": ModelTracing.DISABLED,
        "previous_response_id": None,
        "conversation_id": None,
        "prompt": None,
    }
    arguments.update(kwargs)
    return await model.get_response(**arguments)


# --- Responses API ------------------------------------------------------------------------


async def test_responses_request_carries_tools_handoffs_schema_and_settings(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(json_reply({"city": "Paris", "celsius": 21}))
    model = OpenAIResponsesModel("gpt-4o", server.client(max_retries=0))
    settings = ModelSettings(
        temperature=0.3,
        max_tokens=200,
        tool_choice="get_weather",
        parallel_tool_calls=False,
        metadata={"team": "qa"},
        store=False,
        reasoning={"effort": "low"},
        verbosity="low",
    )
    schema = AgentOutputSchema(Forecast)
    response = await call(
        model,
        model_settings=settings,
        tools=[get_weather],
        handoffs=[REFUND_HANDOFF],
        output_schema=schema,
        previous_response_id="resp_previous",
    )

    body = server.last_request.body
    assert body["instructions"] == "You are helpful."
    assert body["input"] == [{"role": "user", "content": "Hi"}]
    assert body["text"] == {
        "format": {
            "type": "json_schema",
            "name": "final_output",
            "schema": schema.json_schema(),
            "strict": True,
        },
        "verbosity": "low",
    }
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": get_weather.description,
            "parameters": get_weather.params_json_schema,
            "strict": True,
        },
        {
            "type": "function",
            "name": "transfer_to_refunds",
            "description": "Hand off to the refunds agent.",
            "parameters": REFUND_HANDOFF.input_json_schema,
            "strict": True,
        },
    ]
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert body["parallel_tool_calls"] is False
    assert body["temperature"] == 0.3
    assert body["max_output_tokens"] == 200
    assert body["metadata"] == {"team": "qa"}
    assert body["store"] is False
    assert body["reasoning"] == {"effort": "low"}
    assert body["previous_response_id"] == "resp_previous"
    assert "stream" not in body
    assert schema.validate_json(response.output[0].content[0].text) == Forecast(
        city="Paris", celsius=21
    )


async def test_responses_request_leaves_unset_options_out(server: FakeOpenAIServer) -> None:
    server.enqueue(text_reply("ok"))
    await call(
        OpenAIResponsesModel("gpt-4o", server.client(max_retries=0)), system_instructions=None
    )
    body = server.last_request.body
    for absent in ("instructions", "tools", "tool_choice", "parallel_tool_calls", "text"):
        assert absent not in body
    assert body["input"] == [{"role": "user", "content": "Hi"}]


async def test_responses_request_maps_hosted_tools_and_special_tool_choices(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(text_reply("a"), text_reply("b"))
    model = OpenAIResponsesModel("gpt-4o", server.client(max_retries=0))
    tools = [
        WebSearchTool(),
        FileSearchTool(["vs_1"], max_num_results=3, include_search_results=True),
    ]
    await call(model, tools=tools, model_settings=ModelSettings(tool_choice="file_search"))
    await call(
        model, tools=tools, model_settings=ModelSettings(tool_choice=MCPToolChoice("srv", "t"))
    )

    first, second = (request.body for request in server.requests)
    assert first["tools"] == [
        {"type": "web_search", "search_context_size": "medium"},
        {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 3},
    ]
    assert first["include"] == ["file_search_call.results"]
    assert first["tool_choice"] == {"type": "file_search"}
    assert second["tool_choice"] == {"type": "mcp", "server_label": "srv", "name": "t"}


async def test_responses_input_drops_chat_placeholder_ids_and_provider_data(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(text_reply("ok"))
    await call(OpenAIResponsesModel("gpt-4o", server.client(max_retries=0)), input=HISTORY)
    sent = server.last_request.body["input"]
    assert len(sent) == 4
    assert all("provider_data" not in item and item.get("id") != FAKE_RESPONSES_ID for item in sent)
    assert sent[2] == {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    assert HISTORY[1]["id"] == FAKE_RESPONSES_ID  # the caller's items are not changed


async def test_extra_args_reach_the_request_and_clashes_are_refused(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(text_reply("ok"))
    model = OpenAIResponsesModel("gpt-4o", server.client(max_retries=0))
    await call(model, model_settings=ModelSettings(extra_args={"service_tier": "flex"}))
    assert server.last_request.body["service_tier"] == "flex"
    with pytest.raises(TypeError, match="temperature"):
        await call(
            model, model_settings=ModelSettings(temperature=1, extra_args={"temperature": 0})
        )
    assert len(server.requests) == 1


# --- Chat Completions ---------------------------------------------------------------------


async def test_chat_request_carries_messages_tools_and_json_schema_format(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(json_reply({"city": "Paris", "celsius": 21}))
    model = OpenAIChatCompletionsModel("llama-3", server.client(max_retries=0))
    schema = AgentOutputSchema(Forecast)
    settings = ModelSettings(tool_choice="required", temperature=0, max_tokens=50)
    await call(
        model,
        input=HISTORY,
        tools=[get_weather],
        handoffs=[REFUND_HANDOFF],
        output_schema=schema,
        model_settings=settings,
    )

    body = server.last_request.body
    assert body["model"] == "llama-3"
    assert body["messages"] == [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"},
    ]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "final_output", "strict": True, "schema": schema.json_schema()},
    }
    assert [tool["function"]["name"] for tool in body["tools"]] == [
        "get_weather",
        "transfer_to_refunds",
    ]
    assert body["tools"][0]["function"]["parameters"] == get_weather.params_json_schema
    assert body["tool_choice"] == "required"
    assert (body["temperature"], body["max_tokens"]) == (0, 50)


async def test_chat_stream_asks_for_usage_unless_told_not_to(server: FakeOpenAIServer) -> None:
    server.enqueue(text_reply("a", usage=FakeUsage(9, 1)), text_reply("b"))
    model = OpenAIChatCompletionsModel("m", server.client(max_retries=0))

    async def final_usage(settings: ModelSettings) -> Any:
        events = model.stream_response(
            None,
            "Hi",
            settings,
            [],
            None,
            [],
            ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        )
        return [event async for event in events][-1].response.usage

    with_usage = await final_usage(ModelSettings())
    without_usage = await final_usage(ModelSettings(include_usage=False))
    first, second = (request.body for request in server.requests)
    assert first["stream_options"] == {"include_usage": True}
    assert "stream_options" not in second
    assert with_usage.input_tokens == 9
    assert without_usage is None


async def test_chat_model_refuses_hosted_tools_before_calling(server: FakeOpenAIServer) -> None:
    model = OpenAIChatCompletionsModel("m", server.client(max_retries=0))
    with pytest.raises(UserError, match="Responses API"):
        await call(model, tools=[WebSearchTool()])
    assert server.requests == []


def test_items_to_messages_keeps_text_after_tool_calls_in_a_new_assistant_message() -> None:
    messages = items_to_messages(
        [
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": ""},
            {"role": "assistant", "content": "Done."},
            {"role": "developer", "content": [{"type": "input_text", "text": "Rule"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
        ]
    )
    assert messages == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "assistant", "content": "Done."},
        {"role": "developer", "content": "Rule"},
    ]
    with pytest.raises(UserError, match="item_reference"):
        items_to_messages([{"type": "item_reference", "id": "x"}])


def test_trace_urls_lose_credentials_and_query() -> None:
    assert url_for_trace("https://user:sk-secret@host.example/v1?key=abc#x") == (
        "https://host.example/v1"
    )


# --- providers ----------------------------------------------------------------------------


def test_openai_provider_creates_its_client_lazily_from_the_environment(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    provider = OpenAIProvider()  # no key needed to build it
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        provider.get_model("gpt-4o")

    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    model = provider.get_model("gpt-4o")
    assert isinstance(model, OpenAIResponsesModel) and model.model == "gpt-4o"
    assert str(model._client.base_url) == server.base_url + "/"
    assert model._client.api_key == "env-key"


async def test_openai_provider_models_talk_to_the_configured_server(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(text_reply("from chat"))
    provider = OpenAIProvider(api_key="explicit-key", base_url=server.base_url, use_responses=False)
    model = provider.get_model("local-model")
    assert isinstance(model, OpenAIChatCompletionsModel)
    response = await call(model)
    assert response.output[0].content[0].text == "from chat"
    assert server.last_request.headers["authorization"] == "Bearer explicit-key"
    assert server.last_request.endpoint == "/v1/chat/completions"
    client = model._client
    await provider.aclose()
    assert client.is_closed()


def test_openai_provider_refuses_a_client_together_with_client_settings(
    server: FakeOpenAIServer,
) -> None:
    with pytest.raises(UserError, match="openai_client"):
        OpenAIProvider(openai_client=server.client(), api_key="k")


def test_openai_provider_default_model_follows_the_environment(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_DEFAULT_MODEL", "gpt-env-default")
    provider = OpenAIProvider(openai_client=server.client())
    assert provider.get_model(None).model == "gpt-env-default"  # type: ignore[attr-defined]


class RecordingProvider(ModelProvider):
    """A custom provider that remembers which names it was asked for."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.asked: list[str | None] = []

    def get_model(self, model_name: str | None) -> Model:
        self.asked.append(model_name)
        return OpenAIResponsesModel(model_name or "", self.client)


def test_multi_provider_routes_by_prefix(server: FakeOpenAIServer) -> None:
    local = RecordingProvider(server.client())
    provider = MultiProvider(provider_map={"local": local}, openai_client=server.client())

    assert provider.get_model("openai/gpt-4o").model == "gpt-4o"  # type: ignore[attr-defined]
    assert provider.get_model("gpt-4o-mini").model == "gpt-4o-mini"  # type: ignore[attr-defined]
    assert provider.get_model("local/llama-3/8b").model == "llama-3/8b"  # type: ignore[attr-defined]
    assert local.asked == ["llama-3/8b"]
    with pytest.raises(UserError, match=r"Unknown model prefix 'mystery'.*local, openai"):
        provider.get_model("mystery/model")

    passthrough = MultiProvider(
        openai_client=server.client(), unknown_prefix_mode="model_id", openai_prefix_mode="model_id"
    )
    assert passthrough.get_model("openrouter/x").model == "openrouter/x"  # type: ignore[attr-defined]
    assert passthrough.get_model("openai/gpt-4o").model == "openai/gpt-4o"  # type: ignore[attr-defined]


def test_multi_provider_rejects_bad_modes_and_builds_without_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="unknown_prefix_mode"):
        MultiProvider(unknown_prefix_mode="guess")  # type: ignore[arg-type]
    provider = MultiProvider()
    with pytest.raises(UserError, match="No OpenAI API key"):
        provider.get_model("openai/gpt-4o")
