"""Agent.as_tool beyond the plain `input` string: structured parameters, a custom input
builder, and streaming the sub-agent's events to on_stream."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from agentoscope.runtime import Agent, AgentToolStreamEvent, Runner, UserError
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call


class Translation(BaseModel):
    text: str = Field(description="Text to translate.")
    target: str = Field(description="Target language.")


async def test_structured_parameters_build_the_sub_agents_input() -> None:
    translator_model = ScriptedModel([[text_message("Bonjour")]])
    translator = Agent(name="Translator", model=translator_model)
    tool = translator.as_tool("translate", "Translates.", parameters=Translation)
    assert tool.params_json_schema["required"] == ["text", "target"]
    boss = Agent(
        name="Boss",
        tools=[tool],
        model=ScriptedModel(
            [[tool_call("translate", {"text": "Hello", "target": "fr"})], [text_message("done")]]
        ),
    )
    result = await Runner.run(boss, "translate hello")
    assert result.final_output == "done"
    sent = translator_model.calls[0].input
    text = sent[0]["content"]
    assert '"text": "Hello"' in text and "target (string, required): Target language." in text


async def test_input_builder_decides_the_input() -> None:
    translator_model = ScriptedModel([[text_message("Hallo")]])
    translator = Agent(name="Translator", model=translator_model)
    tool = translator.as_tool(
        "translate",
        "Translates.",
        parameters=Translation,
        input_builder=lambda o: f"Say {o['params']['text']!r} in {o['params']['target']}",
    )
    boss = Agent(
        name="Boss",
        tools=[tool],
        model=ScriptedModel(
            [[tool_call("translate", {"text": "Hello", "target": "de"})], [text_message("ok")]]
        ),
    )
    await Runner.run(boss, "x")
    assert translator_model.calls[0].input[0]["content"] == "Say 'Hello' in de"
    with pytest.raises(UserError, match="parameters"):
        translator.as_tool("t", "t", input_builder=lambda o: "")


async def test_on_stream_sees_the_sub_agents_events() -> None:
    seen: list[AgentToolStreamEvent] = []

    async def on_stream(event: AgentToolStreamEvent) -> None:
        seen.append(event)

    writer = Agent(name="Writer", model=ScriptedModel([[text_message("a poem")]]))
    boss = Agent(
        name="Boss",
        tools=[writer.as_tool("write", "Writes.", on_stream=on_stream)],
        model=ScriptedModel(
            [[tool_call("write", {"input": "poem"}, call_id="w1")], [text_message("here")]]
        ),
    )
    result = await Runner.run(boss, "a poem please")
    outputs = [i.raw_item["output"] for i in result.new_items if i.type == "tool_call_output_item"]
    assert outputs == ["a poem"]
    assert {e["agent"].name for e in seen} == {"Writer"}
    assert {e["tool_call"].call_id for e in seen} == {"w1"}
    kinds = [e["event"].type for e in seen]
    assert "agent_updated_stream_event" in kinds and "raw_response_event" in kinds
    texts = [
        e["event"].item.raw_item.content[0].text
        for e in seen
        if e["event"].type == "run_item_stream_event"
    ]
    assert texts == ["a poem"]
