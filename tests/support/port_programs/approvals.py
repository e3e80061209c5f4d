"""A tool that needs approval: the run pauses, its state goes through JSON, a human approves,
and the run resumes to its final answer (streamed)."""

import asyncio
import json
import os

from agents import Agent, OpenAIResponsesModel, Runner, RunState
from agents.decorators import tool
from openai import AsyncOpenAI

from ._record import install, save

ran = []


@tool(needs_approval=True)
def refund(order: str, amount: int) -> str:
    """Refund an order."""
    ran.append(order)
    return f"refunded {amount} on {order}"


async def main() -> None:
    client = AsyncOpenAI(base_url=os.environ["BASE_URL"], api_key="test-key")
    agent = Agent(
        name="Refunds",
        tools=[refund],
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=client),
    )
    recorder = install()
    result = await Runner.run(agent, "Refund 30 on order 17")
    paused = [(i.name, json.loads(i.arguments)) for i in result.interruptions]
    ran_before = list(ran)
    stored = json.dumps(result.to_state().to_json())
    state = await RunState.from_json(agent, json.loads(stored))
    for item in state.get_interruptions():
        state.approve(item)
    streamed = Runner.run_streamed(agent, state)
    async for _ in streamed.stream_events():
        pass
    save(
        recorder,
        paused=paused,
        ran_before=ran_before,
        ran_after=list(ran),
        final=streamed.final_output,
    )
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
