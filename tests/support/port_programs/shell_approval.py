"""tools/shell_human_in_the_loop: a local shell tool whose commands need approval; the first
command is approved, a second one rejected, and the model sees both outcomes."""

import asyncio

from agents import Agent, Runner, ShellCommandRequest, ShellTool

from ._record import client, install, responses_model, save

ran: list[list[str]] = []


async def executor(request: ShellCommandRequest) -> str:
    ran.append(list(request.data.action.commands))
    return "file.txt\n"


async def main() -> None:
    openai_client = client()
    agent = Agent(
        name="Shell Assistant",
        instructions="Use the shell tool.",
        tools=[ShellTool(executor=executor, needs_approval=True)],
        model=responses_model(openai_client),
    )
    recorder = install()
    result = await Runner.run(agent, "List the files, then delete them.")
    decided = []
    while result.interruptions:
        state = result.to_state()
        for interruption in result.interruptions:
            commands = interruption.raw_item.action.commands
            approve = commands[0].startswith("ls")
            decided.append([interruption.name, commands, approve])
            if approve:
                state.approve(interruption)
            else:
                state.reject(interruption)
        result = await Runner.run(agent, state)
    save(
        recorder,
        decided=decided,
        ran=ran,
        final=result.final_output,
        outputs=[i.output for i in result.new_items if i.type == "tool_call_output_item"],
        item_types=[i.type for i in result.new_items],
    )
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
