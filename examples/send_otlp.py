"""Send traces over OTLP: to `agentoscope serve`, to an OpenTelemetry Collector, or to any
OTLP backend (Jaeger, Tempo, Phoenix, Langfuse, ...).

    agentoscope serve --store traces.duckdb &            # listens on 127.0.0.1:4318 and :4317
    python examples/send_otlp.py --endpoint http://127.0.0.1:4318

    # through a collector (otel-collector.yaml forwards to serve and any backend you enable):
    otelcol-contrib --config otel-collector.yaml &
    OTEL_EXPORTER_OTLP_ENDPOINT=http://collector-host:4318 python examples/send_otlp.py

With no --endpoint, the standard OTEL_EXPORTER_OTLP_* variables apply (default
http://localhost:4318 for http/protobuf). The workflow is our own runtime on a scripted model.
"""

from __future__ import annotations

import argparse
import asyncio

from agentoscope import tracing
from agentoscope.runtime import Agent, Runner, function_tool
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call


@function_tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="OTLP endpoint (default: OTEL_EXPORTER_OTLP_*)")
    parser.add_argument("--protocol", choices=("http/protobuf", "grpc"), default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    options = {"endpoint": args.endpoint, "protocol": args.protocol, "service_name": "calculator"}
    tracing.configure(otlp={k: v for k, v in options.items() if v is not None})

    for n in range(args.runs):
        agent = Agent(
            name="Calculator",
            instructions="Use the add tool.",
            tools=[add],
            model=ScriptedModel([[tool_call("add", {"a": n, "b": 2})], [text_message(f"{n + 2}")]]),
        )
        result = await Runner.run(agent, f"What is {n} + 2?")
        print(f"run {n}: {result.final_output}")

    tracing.flush_traces()
    print("OTLP export:", tracing.stats())


if __name__ == "__main__":
    asyncio.run(main())
