"""Structured output: the schema the model receives and validation of what it returns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

from agentoscope.runtime import (
    Agent,
    AgentOutputSchema,
    ModelBehaviorError,
    Runner,
    UserError,
)
from agentoscope.runtime.models import ScriptedModel, text_message


class Weather(BaseModel):
    city: str
    celsius: float


@dataclass
class Forecast:
    days: list[str]
    rain: bool


class Person(TypedDict):
    name: str
    age: int


CASES: list[tuple[Any, str, Any]] = [
    (Weather, '{"city": "Oslo", "celsius": -3.5}', Weather(city="Oslo", celsius=-3.5)),
    (Forecast, '{"response": {"days": ["mon"], "rain": true}}', Forecast(days=["mon"], rain=True)),
    (Person, '{"name": "Ada", "age": 36}', {"name": "Ada", "age": 36}),
    (int, '{"response": 42}', 42),
    (bool, '{"response": false}', False),
    (list[str], '{"response": ["a", "b"]}', ["a", "b"]),
]


@pytest.mark.parametrize(("output_type", "text", "expected"), CASES)
async def test_valid_structured_output(output_type: Any, text: str, expected: Any) -> None:
    model = ScriptedModel([[text_message(text)]])
    agent = Agent(name="S", output_type=output_type, model=model)
    result = await Runner.run(agent, "go")
    assert result.final_output == expected
    assert result.final_output_as(type(expected), raise_if_incorrect_type=True) == expected
    schema = model.calls[0].output_schema
    assert schema is not None and schema.is_strict_json_schema()
    assert schema.json_schema()["type"] == "object"
    assert schema.json_schema()["additionalProperties"] is False


INVALID: list[tuple[Any, str]] = [
    (Weather, '{"city": "Oslo"}'),  # missing field
    (Weather, "it is cold"),  # not JSON
    (Forecast, '{"days": ["mon"], "rain": true}'),  # not wrapped
    (Person, '{"name": "Ada", "age": "36"}'),  # strict: no str -> int coercion
    (int, '{"response": "42"}'),
    (list[str], '{"response": [1, 2]}'),
]


@pytest.mark.parametrize(("output_type", "text"), INVALID)
async def test_invalid_structured_output_raises_model_behavior_error(
    output_type: Any, text: str
) -> None:
    agent = Agent(name="S", output_type=output_type, model=ScriptedModel([[text_message(text)]]))
    with pytest.raises(ModelBehaviorError) as caught:
        await Runner.run(agent, "go")
    assert caught.value.run_data is not None
    assert len(caught.value.run_data.new_items) == 1  # the offending message is kept


def test_schemas_sent_to_the_model() -> None:
    weather = AgentOutputSchema(Weather).json_schema()
    assert weather["required"] == ["city", "celsius"]
    wrapped = AgentOutputSchema(int).json_schema()
    assert wrapped["properties"] == {"response": {"title": "Response", "type": "integer"}}
    assert AgentOutputSchema(str).is_plain_text()
    with pytest.raises(UserError, match="plain text"):
        AgentOutputSchema(str).json_schema()
    with pytest.raises(UserError, match="strict"):
        AgentOutputSchema(dict[str, int])  # open objects cannot be strict
    loose = AgentOutputSchema(dict[str, int], strict_json_schema=False)
    assert loose.validate_json('{"a": 1}') == {"a": 1}


async def test_structured_agent_asks_again_when_the_model_gives_no_text() -> None:
    model = ScriptedModel([[], [text_message(json.dumps({"city": "Rome", "celsius": 20}))]])
    agent = Agent(name="S", output_type=Weather, model=model)
    result = await Runner.run(agent, "go")
    assert result.final_output == Weather(city="Rome", celsius=20)
    assert len(model.calls) == 2


async def test_plain_text_output_is_the_last_message_text() -> None:
    model = ScriptedModel([[text_message("first"), text_message("second")]])
    result = await Runner.run(Agent(name="P", model=model), "go")
    assert result.final_output == "second"
    assert result.last_response_id is not None
    assert [i.type for i in result.new_items] == ["message_output_item"] * 2
