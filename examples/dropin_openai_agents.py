"""The drop-in: an existing official openai-agents program, traced by Agentoscope unchanged.

    python examples/dropin_openai_agents.py [--store PATH] [--jsonl PATH]

The program below is plain `agents` code. The only Agentoscope line is `instrument_openai_agents`,
which adds our JSONL and DuckDB processors next to the SDK's own exporter. It runs offline on the
SDK's ScriptedModel; with OPENAI_API_KEY set and `--live`, it uses a real OpenAI model.
"""

from __future__ import annotations

import argparse
import asyncio

import agents
from agents.testing import ScriptedModel, assistant_message, function_call

from agentoscope.tracing import SpanStore, instrument_openai_agents


@agents.function_tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city name.
    """
    return f"{city}: 18°C, light rain"


def build_agent(live: bool) -> agents.Agent:
    model = (
        "gpt-4.1-mini"
        if live
        else ScriptedModel(
            [
                [function_call("get_weather", {"city": "Lisbon"}, call_id="call_1")],
                [assistant_message("It is 18°C with light rain in Lisbon.")],
            ]
        )
    )
    return agents.Agent(
        name="Weather agent",
        instructions="Answer weather questions with the tool.",
        tools=[get_weather],
        model=model,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="dropin.duckdb")
    parser.add_argument("--jsonl", default="dropin.jsonl")
    parser.add_argument("--live", action="store_true", help="use OpenAI (needs OPENAI_API_KEY)")
    args = parser.parse_args()

    # The one line: our processors join the SDK's (its OpenAI exporter stays unless
    # replace_default=True; offline we replace it so nothing tries to reach OpenAI).
    processors = instrument_openai_agents(
        jsonl=args.jsonl, duckdb=args.store, replace_default=not args.live
    )

    result = await agents.Runner.run(build_agent(args.live), "What's the weather in Lisbon?")
    print("answer:", result.final_output)

    agents.flush_traces()
    for processor in processors:
        processor.shutdown()  # releases the store file for readers
    with SpanStore(args.store, read_only=True) as store:
        print(store.query("SELECT span_type, name, duration_ms FROM spans ORDER BY started_at"))


if __name__ == "__main__":
    asyncio.run(main())
