"""basic/stream_text + stream_items: a streamed run with a tool; the text deltas and the run
item events, in order."""

import asyncio

from agents import Agent, Runner, function_tool
from openai.types.responses import ResponseTextDeltaEvent

from ._record import client, install, responses_model, save


@function_tool
def how_many_jokes() -> int:
    """How many jokes to tell."""
    return 2


async def main() -> None:
    openai_client = client()
    agent = Agent(
        name="Joker",
        instructions="First call how_many_jokes, then tell that many jokes.",
        tools=[how_many_jokes],
        model=responses_model(openai_client),
    )
    recorder = install()
    result = Runner.run_streamed(agent, "Hello")
    deltas: list[str] = []
    events: list[str] = []
    async for event in result.stream_events():
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            deltas.append(event.data.delta)
        elif event.type == "run_item_stream_event":
            events.append(event.name)
        elif event.type == "agent_updated_stream_event":
            events.append(f"agent:{event.new_agent.name}")
    save(
        recorder,
        final=result.final_output,
        text="".join(deltas),
        events=events,
        complete=result.is_complete,
        turns=result.current_turn,
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
