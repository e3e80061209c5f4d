"""tools/web_search: the provider searches, the model answers with what it found."""

import asyncio

from agents import Agent, Runner, WebSearchTool

from ._record import client, install, responses_model, save


async def main() -> None:
    openai_client = client()
    agent = Agent(
        name="Web searcher",
        instructions="You are a helpful agent.",
        tools=[WebSearchTool(user_location={"type": "approximate", "city": "New York"})],
        model=responses_model(openai_client),
    )
    recorder = install()
    result = await Runner.run(agent, "Search the web for 'local sports news'.")
    save(recorder, final=result.final_output, item_types=[i.type for i in result.new_items])
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
