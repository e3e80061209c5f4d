"""agent_patterns/agents_as_tools: an orchestrator calls translator agents as tools, one with a
custom output extractor, then a synthesizer agent writes the answer, all in one trace."""

import asyncio

from agents import Agent, ItemHelpers, MessageOutputItem, Runner, RunResult, trace

from ._record import client, install, responses_model, save


async def first_line(result: RunResult) -> str:
    return str(result.final_output).splitlines()[0]


async def main() -> None:
    openai_client = client()
    model = responses_model(openai_client)
    spanish = Agent(name="spanish_agent", instructions="Translate to Spanish.", model=model)
    french = Agent(name="french_agent", instructions="Translate to French.", model=model)
    orchestrator = Agent(
        name="orchestrator_agent",
        instructions="Use the tools to translate.",
        tools=[
            spanish.as_tool(tool_name="translate_to_spanish", tool_description="To Spanish"),
            french.as_tool(
                tool_name="translate_to_french",
                tool_description="To French",
                custom_output_extractor=first_line,
            ),
        ],
        model=model,
    )
    synthesizer = Agent(name="synthesizer_agent", instructions="Combine.", model=model)
    recorder = install()
    with trace("Orchestrator evaluator"):
        result = await Runner.run(orchestrator, "Say hello in Spanish and French.")
        steps = [
            ItemHelpers.text_message_output(item)
            for item in result.new_items
            if isinstance(item, MessageOutputItem)
        ]
        final = await Runner.run(synthesizer, result.to_input_list())
    save(recorder, steps=steps, final=final.final_output)
    await openai_client.close()


if __name__ == "__main__":
    asyncio.run(main())
