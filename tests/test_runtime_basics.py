"""Building blocks: Usage, ModelSettings, strict schemas, items, ScriptedModel."""

from __future__ import annotations

import pytest
from openai.types.completion_usage import CompletionUsage, PromptTokensDetails
from openai.types.responses import ResponseUsage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from agentoscope.runtime import (
    Agent,
    ItemHelpers,
    ModelSettings,
    Runner,
    Usage,
    UserError,
    ensure_strict_json_schema,
)
from agentoscope.runtime.items import ModelResponse
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call


def test_usage_from_both_openai_apis_and_add() -> None:
    responses = Usage.from_openai(
        ResponseUsage(
            input_tokens=100,
            input_tokens_details=InputTokensDetails(cached_tokens=40, cache_write_tokens=5),
            output_tokens=20,
            output_tokens_details=OutputTokensDetails(reasoning_tokens=8),
            total_tokens=120,
        )
    )
    chat = Usage.from_openai(
        CompletionUsage(
            prompt_tokens=10,
            completion_tokens=3,
            total_tokens=13,
            prompt_tokens_details=PromptTokensDetails(cached_tokens=2),
        )
    )
    total = Usage()
    total.add(responses)
    total.add(chat)
    assert (total.requests, total.input_tokens, total.output_tokens, total.total_tokens) == (
        2,
        110,
        23,
        133,
    )
    assert total.input_tokens_details.cached_tokens == 42
    assert total.input_tokens_details.cache_write_tokens == 5
    assert total.output_tokens_details.reasoning_tokens == 8
    assert [e.input_tokens for e in total.request_usage_entries] == [100, 10]
    assert Usage.from_openai(None).total_tokens == 0
    assert Usage(input_tokens_details={"cached_tokens": 3}).input_tokens_details.cached_tokens == 3


def test_model_settings_resolve_and_serialise() -> None:
    base = ModelSettings(temperature=0.2, extra_args={"a": 1}, metadata={"k": "v"})
    merged = base.resolve(ModelSettings(top_p=0.9, extra_args={"b": 2}))
    assert (merged.temperature, merged.top_p, merged.extra_args) == (0.2, 0.9, {"a": 1, "b": 2})
    assert base.top_p is None  # resolve returns a copy
    assert base.resolve({"temperature": 1.0}).temperature == 1.0
    assert base.resolve(None) is base
    with pytest.raises(TypeError, match="Unknown model settings: temprature"):
        base.resolve({"temprature": 1.0})
    assert merged.to_json_dict()["extra_args"] == {"a": 1, "b": 2}
    assert "extra_headers" not in merged.to_traceable_dict()


def test_strict_schema_rules() -> None:
    schema = {
        "type": "object",
        "properties": {
            "choice": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "note": {"type": "string", "default": None},
        },
    }
    strict = ensure_strict_json_schema(schema)
    assert strict["required"] == ["choice", "note"]
    assert strict["additionalProperties"] is False
    assert "oneOf" not in strict["properties"]["choice"]
    assert len(strict["properties"]["choice"]["anyOf"]) == 2
    assert "default" not in strict["properties"]["note"]
    assert "required" not in schema  # the input is left alone
    assert ensure_strict_json_schema({})["properties"] == {}
    with pytest.raises(UserError, match="additional properties"):
        ensure_strict_json_schema({"type": "object", "additionalProperties": True})
    with pytest.raises(UserError, match="does not resolve"):
        ensure_strict_json_schema(
            {"type": "object", "properties": {"x": {"$ref": "#/$defs/Nope", "title": "X"}}}
        )


def test_items_round_trip_to_input() -> None:
    message = text_message("hello there", item_id="msg_1")
    call = tool_call("f", {"a": 1}, "call_1", item_id="fc_1")
    response = ModelResponse(output=[message, call], usage=Usage(), response_id="r1")
    message_input, call_input = response.to_input_items()
    assert message_input["role"] == "assistant" and message_input["id"] == "msg_1"
    assert call_input == {
        "arguments": '{"a": 1}',
        "call_id": "call_1",
        "name": "f",
        "type": "function_call",
        "id": "fc_1",
        "status": "completed",
    }
    assert ItemHelpers.extract_text(message) == "hello there"
    assert ItemHelpers.extract_last_content(call) == ""
    assert ItemHelpers.input_to_new_input_list("hi") == [{"content": "hi", "role": "user"}]


async def test_scripted_model_running_out_of_turns_names_the_call() -> None:
    model = ScriptedModel([])
    with pytest.raises(RuntimeError, match="no turn left for call #1"):
        await Runner.run(Agent(name="A", model=model), "x")
    assert model.remaining_turns == 0


async def test_model_resolution_by_name_uses_the_provider() -> None:
    from agentoscope.runtime import ModelProvider, RunConfig

    scripted = ScriptedModel([[text_message("from provider")]])
    asked: list[str | None] = []

    class OneModel(ModelProvider):
        def get_model(self, model_name: str | None) -> ScriptedModel:
            asked.append(model_name)
            return scripted

    agent = Agent(name="Named", model="my-model")
    result = await Runner.run(agent, "x", run_config=RunConfig(model_provider=OneModel()))
    assert result.final_output == "from provider" and asked == ["my-model"]
    override = ScriptedModel([[text_message("override")]])
    result = await Runner.run(agent, "x", run_config=RunConfig(model=override))
    assert result.final_output == "override"
