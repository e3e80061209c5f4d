"""memory/sqlite_session_example: two runs share an SQLiteSession (the second sees the first in
its model input), then one item is popped and the history read back."""

import asyncio

from agents import Agent, Runner, SQLiteSession

from ._record import client, install, responses_model, save


async def main() -> None:
    openai_client = client()
    agent = Agent(
        name="Assistant", instructions="Reply concisely.", model=responses_model(openai_client)
    )
    session = SQLiteSession("conversation_123")
    recorder = install()
    first = await Runner.run(agent, "What city is the Golden Gate Bridge in?", session=session)
    second = await Runner.run(agent, "What state is it in?", session=session)
    popped = await session.pop_item()
    history = await session.get_items()
    save(
        recorder,
        finals=[first.final_output, second.final_output],
        popped_role=popped.get("role") if popped else None,
        history=[item.get("role") or item.get("type") for item in history],
        limited=len(await session.get_items(limit=2)),
    )
    session.close()
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
