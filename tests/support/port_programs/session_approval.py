"""memory + human in the loop: a run with an SQLiteSession pauses for approval, resumes with
the same session, and a follow-up run sees the whole conversation; what the session holds at
each step."""

import asyncio

from agents import Agent, Runner, SQLiteSession, function_tool

from ._record import client, install, responses_model, save


@function_tool(needs_approval=True)
def cancel_order(order: str) -> str:
    """Cancel an order."""
    return f"order {order} cancelled"


def _kinds(items) -> list[str]:
    return [item.get("role") or item.get("type") for item in items]


async def main() -> None:
    openai_client = client()
    agent = Agent(name="Orders", tools=[cancel_order], model=responses_model(openai_client))
    session = SQLiteSession("orders-1")
    recorder = install()
    paused = await Runner.run(agent, "Cancel order 9", session=session)
    at_pause = _kinds(await session.get_items())
    state = paused.to_state()
    state.approve(paused.interruptions[0])
    resumed = await Runner.run(agent, state, session=session)
    after_resume = _kinds(await session.get_items())
    follow_up = await Runner.run(agent, "Thanks!", session=session)
    save(
        recorder,
        at_pause=at_pause,
        after_resume=after_resume,
        final=[resumed.final_output, follow_up.final_output],
        history=_kinds(await session.get_items()),
    )
    session.close()
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
