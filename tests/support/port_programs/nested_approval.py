"""agents as tools + human in the loop: a tool of a sub-agent (called through Agent.as_tool)
needs approval; the outer run pauses on it, and resuming finishes the sub-agent's run, then the
outer one."""

import asyncio

from agents import Agent, Runner, function_tool

from ._record import client, install, responses_model, save

ran: list[str] = []


@function_tool(needs_approval=True)
def wipe_disk(disk: str) -> str:
    """Wipe a disk."""
    ran.append(disk)
    return f"wiped {disk}"


async def main() -> None:
    openai_client = client()
    model = responses_model(openai_client)
    ops = Agent(name="Ops", instructions="Do it.", tools=[wipe_disk], model=model)
    desk = Agent(
        name="Desk",
        instructions="Use the ops tool.",
        tools=[ops.as_tool(tool_name="ops", tool_description="Operations")],
        model=model,
    )
    recorder = install()
    result = await Runner.run(desk, "Wipe sdb")
    asked = []
    while result.interruptions:
        state = result.to_state()
        for item in result.interruptions:
            asked.append([item.name, item.agent.name if item.agent else None])
            state.approve(item)
        result = await Runner.run(desk, state)
    save(
        recorder,
        asked=asked,
        ran=ran,
        final=result.final_output,
        item_types=[i.type for i in result.new_items],
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
