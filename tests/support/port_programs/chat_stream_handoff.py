"""handoffs + streaming on Chat Completions: a streamed run hands off, and the second agent
answers with structured output; the events and the final object."""

import asyncio

from agents import Agent, OpenAIChatCompletionsModel, Runner
from pydantic import BaseModel

from ._record import client, install, save


class Weather(BaseModel):
    city: str
    forecast: str


async def main() -> None:
    openai_client = client()
    model = OpenAIChatCompletionsModel(model="gpt-4o", openai_client=openai_client)
    forecaster = Agent(
        name="Forecaster",
        instructions="Give the forecast.",
        output_type=Weather,
        model=model,
    )
    triage = Agent(name="Triage", instructions="Route.", handoffs=[forecaster], model=model)
    recorder = install()
    result = Runner.run_streamed(triage, "Weather in Lisbon?")
    events = []
    async for event in result.stream_events():
        if event.type == "run_item_stream_event":
            events.append(event.name)
        elif event.type == "agent_updated_stream_event":
            events.append(f"agent:{event.new_agent.name}")
    save(
        recorder,
        final=result.final_output.model_dump(),
        events=events,
        last_agent=result.last_agent.name,
        input_list=[i.get("role") or i.get("type") for i in result.to_input_list()],
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
