"""handoffs/message_filter: a tool call, then a handoff whose input filter drops tool items and
the first message; the next agent sees only what the filter left, and the run's items say so."""

import asyncio

from agents import Agent, HandoffInputData, Runner, function_tool, handoff
from agents.extensions import handoff_filters

from ._record import client, install, responses_model, save


@function_tool
def random_number_tool(max: int) -> int:
    """Return a random integer between 0 and the given maximum."""
    return 7


def spanish_handoff_message_filter(handoff_message_data: HandoffInputData) -> HandoffInputData:
    handoff_message_data = handoff_filters.remove_all_tools(handoff_message_data)
    history = (
        tuple(handoff_message_data.input_history[1:])
        if isinstance(handoff_message_data.input_history, tuple)
        else handoff_message_data.input_history
    )
    return HandoffInputData(
        input_history=history,
        pre_handoff_items=tuple(handoff_message_data.pre_handoff_items),
        new_items=tuple(handoff_message_data.new_items),
    )


async def main() -> None:
    openai_client = client()
    model = responses_model(openai_client)
    spanish = Agent(
        name="Spanish Assistant",
        instructions="You only speak Spanish.",
        handoff_description="A Spanish-speaking assistant.",
        model=model,
    )
    first = Agent(
        name="Assistant",
        instructions="Be extremely concise.",
        tools=[random_number_tool],
        handoffs=[handoff(spanish, input_filter=spanish_handoff_message_filter)],
        model=model,
    )
    recorder = install()
    result = await Runner.run(
        first,
        [
            {"role": "user", "content": "Hi, my name is Sora."},
            {"role": "assistant", "content": "Hello Sora."},
            {"role": "user", "content": "Pick a number up to 10, then let me speak Spanish."},
        ],
    )
    save(
        recorder,
        final=result.final_output,
        last_agent=result.last_agent.name,
        item_types=[i.type for i in result.new_items],
        input_list=[
            i.get("role") or i.get("type") for i in result.to_input_list() if isinstance(i, dict)
        ],
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
