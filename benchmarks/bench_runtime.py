"""Runs per second of one offline agent workflow: ours against the official openai-agents SDK.

    .venv/bin/python benchmarks/bench_runtime.py [--runs 300] [--reps 5]

The workflow, the same on both sides: `Runner.run` of an agent with one function tool; the
fake model answers turn 1 with a tool call and turn 2 with a final message, each with usage.
Tracing is on, with one no-op processor, so every span is made and dispatched (a trace, an agent
span, two generation spans with input/output/usage, a function span).

  ours: agentoscope.runtime with ScriptedModel.
  SDK:  agents.Runner with a small agents.Model subclass doing what ScriptedModel does (a
        generation span with model, config, input, output and usage).

Two tool flavours: an async tool (awaited) and a sync tool (run in a worker thread on both
sides). Cases run round-robin and the median of the repetitions is reported, because the machine
is shared; the ratio is ours / SDK runs per second. Each case also reports the process CPU time
per run (all threads), which other processes on a busy machine disturb far less than wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

QUESTION = "What is the weather in Paris?"
ANSWER = "It is sunny in Paris, 21 degrees."


Timing = tuple[float, float]  # (wall seconds, process CPU seconds)


def _timed_start() -> Timing:
    return time.perf_counter(), time.process_time()


def _elapsed(start: Timing) -> Timing:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def _ours(sync_tool: bool) -> Callable[[int], Awaitable[Timing]]:
    from agentoscope import tracing
    from agentoscope.runtime import Agent, Runner, Usage, function_tool
    from agentoscope.runtime.models import ScriptedModel, ScriptedTurn, text_message, tool_call

    class NoOp(tracing.TracingProcessor):
        def on_trace_start(self, trace: Any) -> None: ...
        def on_trace_end(self, trace: Any) -> None: ...
        def on_span_start(self, span: Any) -> None: ...
        def on_span_end(self, span: Any) -> None: ...
        def shutdown(self) -> None: ...
        def force_flush(self) -> None: ...

    def get_weather_sync(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}, 21 degrees"

    async def get_weather_async(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}, 21 degrees"

    tool = function_tool(get_weather_sync if sync_tool else get_weather_async)
    turns = [
        ScriptedTurn(
            [tool_call(tool.name, {"city": "Paris"}, "call_1")],
            Usage(input_tokens=50, output_tokens=10),
        ),
        ScriptedTurn([text_message(ANSWER)], Usage(input_tokens=80, output_tokens=12)),
    ]

    async def run(n: int) -> Timing:
        tracing.set_trace_processors([NoOp()])
        start = _timed_start()
        for _ in range(n):
            agent = Agent(
                name="Weather", instructions="Answer.", tools=[tool], model=ScriptedModel(turns)
            )
            result = await Runner.run(agent, QUESTION)
            assert result.final_output == ANSWER
        elapsed = _elapsed(start)
        tracing.set_trace_processors([])
        return elapsed

    return run


def _sdk(sync_tool: bool) -> Callable[[int], Awaitable[Timing]]:
    import agents
    from agents.testing import assistant_message, function_call
    from agents.usage import Usage

    class NoOp(agents.TracingProcessor):
        def on_trace_start(self, trace: Any) -> None: ...
        def on_trace_end(self, trace: Any) -> None: ...
        def on_span_start(self, span: Any) -> None: ...
        def on_span_end(self, span: Any) -> None: ...
        def shutdown(self) -> None: ...
        def force_flush(self) -> None: ...

    class FakeModel(agents.Model):
        """Plays back turns and opens a generation span with usage, like ScriptedModel."""

        def __init__(self, turns: list[tuple[list[Any], Usage]]) -> None:
            self.turns = list(turns)

        async def get_response(
            self,
            system_instructions: Any,
            input: Any,
            model_settings: Any,
            *args: Any,
            **kwargs: Any,
        ) -> Any:
            output, usage = self.turns.pop(0)
            with agents.generation_span(
                input=[{"role": "system", "content": system_instructions}, *input],
                model="scripted-model",
                model_config=model_settings.to_json_dict(),
            ) as span:
                span.span_data.output = [item.model_dump(exclude_unset=True) for item in output]
                span.span_data.usage = {
                    "requests": 1,
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "total_tokens": usage.total_tokens,
                }
            return agents.ModelResponse(output=output, usage=usage, response_id="resp_1")

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    def get_weather_sync(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}, 21 degrees"

    async def get_weather_async(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}, 21 degrees"

    tool = agents.function_tool(get_weather_sync if sync_tool else get_weather_async)
    turns = [
        (
            [function_call(tool.name, {"city": "Paris"}, call_id="call_1")],
            Usage(requests=1, input_tokens=50, output_tokens=10, total_tokens=60),
        ),
        (
            [assistant_message(ANSWER)],
            Usage(requests=1, input_tokens=80, output_tokens=12, total_tokens=92),
        ),
    ]

    async def run(n: int) -> Timing:
        agents.set_trace_processors([NoOp()])
        start = _timed_start()
        for _ in range(n):
            agent = agents.Agent(
                name="Weather", instructions="Answer.", tools=[tool], model=FakeModel(turns)
            )
            result = await agents.Runner.run(agent, QUESTION)
            assert result.final_output == ANSWER
        elapsed = _elapsed(start)
        agents.set_trace_processors([])
        return elapsed

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="runs per repetition and case")
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    args = parser.parse_args(argv)

    cases: dict[str, Callable[[int], Awaitable[Timing]]] = {
        "ours, async tool": _ours(sync_tool=False),
        "SDK, async tool": _sdk(sync_tool=False),
        "ours, sync tool": _ours(sync_tool=True),
        "SDK, sync tool": _sdk(sync_tool=True),
    }

    rates: dict[str, list[float]] = {name: [] for name in cases}
    cpu_us: dict[str, list[float]] = {name: [] for name in cases}

    async def measure() -> None:
        for case in cases.values():  # warm-up: imports, schema caches, thread pool
            await case(20)
        for _ in range(args.reps):
            for name, case in cases.items():
                gc.collect()
                wall, cpu = await case(args.runs)
                rates[name].append(args.runs / wall)
                cpu_us[name].append(cpu / args.runs * 1e6)

    asyncio.run(measure())
    median = {name: statistics.median(values) for name, values in rates.items()}
    cpu = {name: statistics.median(values) for name, values in cpu_us.items()}
    print(
        f"Runner.run, 2 turns (tool call, then final message), tracing on with a no-op "
        f"processor; median of {args.reps} interleaved reps x {args.runs} runs"
    )
    print(f"{'case':<18} {'runs/s':>8} {'µs/run':>8} {'CPU µs/run':>11} {'min..max runs/s':>17}")
    for name, value in median.items():
        spread = f"{min(rates[name]):.0f}..{max(rates[name]):.0f}"
        print(f"{name:<18} {value:>8.0f} {1e6 / value:>8.0f} {cpu[name]:>11.0f} {spread:>17}")
    for flavour in ("async tool", "sync tool"):
        ours, sdk = f"ours, {flavour}", f"SDK, {flavour}"
        print(
            f"ratio ours/SDK, {flavour}: {median[ours] / median[sdk]:.1f}x runs/s, "
            f"{cpu[sdk] / cpu[ours]:.1f}x less CPU per run (target >= 5x)"
        )


if __name__ == "__main__":
    main()
