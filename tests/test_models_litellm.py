"""LitellmModel and `litellm/<provider>/<model>` names: a real LiteLLM against the local
OpenAI-speaking server (LiteLLM's `openai/` provider with api_base), plain and streamed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentoscope.runtime import Agent, RunConfig, Runner, function_tool, set_trace_processors
from agentoscope.runtime.extensions.models.litellm_model import LitellmModel
from agentoscope.runtime.models import MultiProvider
from support.collect import CollectingProcessor
from support.fake_openai import FakeOpenAIServer, text_reply, tool_call_reply


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.mark.slow
async def test_litellm_model_runs_tools_and_streams(server: FakeOpenAIServer) -> None:
    collector = CollectingProcessor()
    set_trace_processors([collector])
    model = LitellmModel("openai/gpt-4o", base_url=server.base_url, api_key="test-key")
    agent = Agent(name="Weather", tools=[get_weather], model=model)
    server.enqueue(tool_call_reply("get_weather", {"city": "Oslo"}), text_reply("Sunny in Oslo."))
    result = await Runner.run(agent, "weather in Oslo?")
    assert result.final_output == "Sunny in Oslo."
    first = server.requests[0]
    assert first.path == "/v1/chat/completions"
    assert first.body["tools"][0]["function"]["name"] == "get_weather"
    second = server.requests[1].body["messages"]
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": second[-2]["tool_calls"][0]["id"],
        "content": "sunny in Oslo",
    }
    generations = [s for s in collector.ended_spans if s.span_data.type == "generation"]
    assert [g.span_data.model for g in generations] == ["openai/gpt-4o", "openai/gpt-4o"]
    assert generations[0].span_data.usage["input_tokens"] > 0

    server.enqueue(text_reply("Streamed answer."))
    streamed = Runner.run_streamed(agent, "again")
    deltas = [
        e.data.delta
        async for e in streamed.stream_events()
        if e.type == "raw_response_event" and e.data.type == "response.output_text.delta"
    ]
    assert "".join(deltas) == "Streamed answer."
    assert streamed.final_output == "Streamed answer."


@pytest.mark.slow
async def test_litellm_prefix_through_the_multi_provider(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # LiteLLM's own configuration for its openai provider: the base URL and key.
    monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    model = MultiProvider().get_model("litellm/openai/gpt-4o-mini")
    assert isinstance(model, LitellmModel) and model.model == "openai/gpt-4o-mini"
    server.enqueue(text_reply("via litellm"))
    agent = Agent(name="A")
    result = await Runner.run(agent, "hi", run_config=RunConfig(model="litellm/openai/gpt-4o-mini"))
    assert result.final_output == "via litellm"
    assert server.requests[-1].body["model"] == "gpt-4o-mini"
