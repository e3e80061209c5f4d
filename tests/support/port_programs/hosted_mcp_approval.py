"""hosted_mcp/human_in_the_loop: a hosted MCP server asks before each call; without an
on_approval_request the run pauses, a person approves one request and rejects the other, and
the resumed run sends the answers to the provider."""

import asyncio

from agents import Agent, HostedMCPTool, Runner

from ._record import client, install, responses_model, save


async def main() -> None:
    openai_client = client()
    agent = Agent(
        name="MCP Assistant",
        instructions="You must always use the MCP tools to answer questions.",
        tools=[
            HostedMCPTool(
                tool_config={
                    "type": "mcp",
                    "server_label": "deepwiki",
                    "server_url": "https://mcp.deepwiki.com/mcp",
                    "require_approval": "always",
                }
            )
        ],
        model=responses_model(openai_client),
    )
    recorder = install()
    result = await Runner.run(agent, "Which language is openai/codex written in?")
    asked = []
    while result.interruptions:
        state = result.to_state()
        for interruption in result.interruptions:
            asked.append([interruption.name, interruption.arguments])
            if interruption.name == "ask_question":
                state.approve(interruption)
            else:
                state.reject(interruption)
        result = await Runner.run(agent, state)
    save(
        recorder,
        asked=asked,
        final=result.final_output,
        item_types=[i.type for i in result.new_items],
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
