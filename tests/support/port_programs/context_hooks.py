"""basic/dynamic_system_prompt + lifecycle hooks: instructions made from the run context, a
tool that reads the context, and RunHooks that note every event."""

import asyncio
from dataclasses import dataclass

from agents import Agent, RunContextWrapper, RunHooks, Runner, function_tool

from ._record import client, install, responses_model, save


@dataclass
class UserInfo:
    name: str
    uid: int


@function_tool
async def fetch_user_age(wrapper: RunContextWrapper[UserInfo]) -> str:
    """Fetch the age of the user."""
    return f"The user {wrapper.context.name} is 47 years old"


def instructions(context: RunContextWrapper[UserInfo], agent: Agent[UserInfo]) -> str:
    return f"The user's name is {context.context.name}. Help them."


class Notes(RunHooks):
    def __init__(self) -> None:
        self.events: list[str] = []

    async def on_agent_start(self, context, agent) -> None:
        self.events.append(f"agent_start:{agent.name}")

    async def on_agent_end(self, context, agent, output) -> None:
        self.events.append(f"agent_end:{agent.name}")

    async def on_tool_start(self, context, agent, tool) -> None:
        self.events.append(f"tool_start:{tool.name}")

    async def on_tool_end(self, context, agent, tool, result) -> None:
        self.events.append(f"tool_end:{tool.name}:{result}")

    async def on_llm_start(self, context, agent, system_prompt, input_items) -> None:
        self.events.append(f"llm_start:{system_prompt}")

    async def on_llm_end(self, context, agent, response) -> None:
        self.events.append("llm_end")


async def main() -> None:
    openai_client = client()
    agent = Agent[UserInfo](
        name="Assistant",
        instructions=instructions,
        tools=[fetch_user_age],
        model=responses_model(openai_client),
    )
    recorder = install()
    hooks = Notes()
    result = await Runner.run(
        agent, "What is my age?", context=UserInfo(name="John", uid=123), hooks=hooks
    )
    save(
        recorder,
        final=result.final_output,
        events=hooks.events,
        requests=result.context_wrapper.usage.requests,
        total_tokens=result.context_wrapper.usage.total_tokens,
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
