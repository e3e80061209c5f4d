"""A model that keeps calling a tool runs out of turns: MaxTurnsExceeded, with what the run
produced on the exception; then the same with a larger limit finishes."""

import asyncio

from agents import Agent, MaxTurnsExceeded, Runner, function_tool

from ._record import client, install, responses_model, save


@function_tool
def poll() -> str:
    """Poll the job."""
    return "still running"


async def main() -> None:
    openai_client = client()
    agent = Agent(name="Poller", tools=[poll], model=responses_model(openai_client))
    recorder = install()
    outcome = {}
    try:
        await Runner.run(agent, "Wait for the job", max_turns=2)
    except MaxTurnsExceeded as error:
        data = error.run_data
        outcome = {
            "error": str(error),
            "items": [i.type for i in data.new_items] if data else None,
            "last_agent": data.last_agent.name if data else None,
        }
    done = await Runner.run(agent, "Wait for the job", max_turns=3)
    save(recorder, outcome=outcome, final=done.final_output)
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
