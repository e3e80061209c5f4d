"""Human in the loop, streamed both ways: a streamed run stops on a tool that needs approval
(its events say so), a person rejects it for good, and the streamed resume answers."""

import asyncio

from agents import Agent, Runner, function_tool

from ._record import client, install, responses_model, save


@function_tool(needs_approval=True)
def wipe_disk(disk: str) -> str:
    """Wipe a disk."""
    return f"wiped {disk}"


async def _drain(result) -> list[str]:
    names = []
    async for event in result.stream_events():
        if event.type == "run_item_stream_event":
            names.append(event.name)
    return names


async def main() -> None:
    openai_client = client()
    agent = Agent(name="Ops", tools=[wipe_disk], model=responses_model(openai_client))
    recorder = install()
    first = Runner.run_streamed(agent, "Wipe disk sdb")
    first_events = await _drain(first)
    state = first.to_state()
    state.reject(first.interruptions[0], always_reject=True)
    second = Runner.run_streamed(agent, state)
    second_events = await _drain(second)
    save(
        recorder,
        first_events=first_events,
        paused=[i.name for i in first.interruptions],
        first_final=first.final_output,
        second_events=second_events,
        final=second.final_output,
        item_types=[i.type for i in second.new_items],
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
