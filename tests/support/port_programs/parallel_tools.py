"""tools: two function tools called in one turn (one takes a pydantic model), then an answer;
a second agent stops at its first tool's output (tool_use_behavior)."""

import asyncio

from agents import Agent, Runner, function_tool
from pydantic import BaseModel

from ._record import client, install, responses_model, save


class Location(BaseModel):
    city: str
    country: str


@function_tool
def get_weather(location: Location) -> str:
    """Weather at a place."""
    return f"Sunny in {location.city}, {location.country}"


@function_tool(name_override="local_time", description_override="The local time of a city.")
def time_of(city: str) -> str:
    return f"12:00 in {city}"


async def main() -> None:
    openai_client = client()
    model = responses_model(openai_client)
    agent = Agent(name="Weather", tools=[get_weather, time_of], model=model)
    stopper = Agent(
        name="Stopper",
        tools=[get_weather],
        tool_use_behavior="stop_on_first_tool",
        model=model,
    )
    recorder = install()
    first = await Runner.run(agent, "Weather and time in Paris?")
    second = await Runner.run(stopper, "Weather in Oslo?")
    outputs = [i.output for i in first.new_items if i.type == "tool_call_output_item"]
    save(recorder, final=first.final_output, tool_outputs=outputs, stopped=second.final_output)
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
