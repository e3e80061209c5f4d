"""Send a traced agent run to a local Arize Phoenix, offline (a scripted model, no API key).

    pip install arize-phoenix && phoenix serve      # UI and OTLP on http://127.0.0.1:6006
    python examples/phoenix.py                      # then open http://127.0.0.1:6006

The endpoint is PHOENIX_COLLECTOR_ENDPOINT (a base URL such as http://127.0.0.1:6006, or the full
/v1/traces URL), else http://127.0.0.1:6006/v1/traces; `--endpoint` overrides both. The spans go
to the Phoenix project named by `--project` (default "agentoscope").

Content capture is on, so Phoenix shows the run's input and output on the workflow and agent
spans, the messages of each model call, and tool arguments and results. Without a Phoenix
listening there, the script says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from typing import Any
from urllib.parse import urlsplit

from openinference.semconv.resource import ResourceAttributes

from agentoscope import tracing
from agentoscope.runtime import (
    Agent,
    GuardrailFunctionOutput,
    Runner,
    Usage,
    function_tool,
    input_guardrail,
)
from agentoscope.runtime.models import ScriptedModel, ScriptedTurn, text_message, tool_call
from agentoscope.tracing.processors.otlp import OTLPProcessor

DEFAULT_ENDPOINT = "http://127.0.0.1:6006/v1/traces"


@function_tool
def order_status(order_id: str) -> str:
    """Where an order is.

    Args:
        order_id: The order's id, like A-1042.
    """
    return f"Order {order_id}: shipped on Monday, arriving Thursday."


@input_guardrail
def on_topic(ctx: Any, agent: Agent[Any], input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="about an order", tripwire_triggered=False)


def _agents() -> Agent[Any]:
    shipping = Agent(
        name="Shipping agent",
        instructions="Tell the customer when the order arrives.",
        model=ScriptedModel(
            [
                ScriptedTurn(
                    [text_message("Your order A-1042 shipped on Monday and arrives Thursday.")],
                    Usage(input_tokens=182, output_tokens=17),
                )
            ],
            model="gpt-4o-mini",
        ),
    )
    return Agent(
        name="Support triage",
        instructions="Look the order up, then hand off to shipping.",
        tools=[order_status],
        handoffs=[shipping],
        input_guardrails=[on_topic],
        model=ScriptedModel(
            [
                ScriptedTurn(
                    [tool_call("order_status", {"order_id": "A-1042"})],
                    Usage(input_tokens=96, output_tokens=14),
                ),
                ScriptedTurn(
                    [tool_call("transfer_to_shipping_agent", {})],
                    Usage(input_tokens=141, output_tokens=9),
                ),
            ],
            model="gpt-4o",
        ),
    )


def _endpoint(given: str | None) -> str:
    endpoint = given or os.environ.get("PHOENIX_COLLECTOR_ENDPOINT") or DEFAULT_ENDPOINT
    if not urlsplit(endpoint).path.rstrip("/"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def _listening(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help=f"OTLP/HTTP traces URL (default {DEFAULT_ENDPOINT})")
    parser.add_argument("--project", default="agentoscope", help="the Phoenix project")
    args = parser.parse_args()

    endpoint = _endpoint(args.endpoint)
    if not _listening(endpoint):
        print(
            f"No Phoenix at {endpoint}. Start one with `pip install arize-phoenix && "
            "phoenix serve`, or set PHOENIX_COLLECTOR_ENDPOINT.",
            file=sys.stderr,
        )
        return 2

    processor = OTLPProcessor(
        endpoint=endpoint,
        capture_content=True,
        service_name="agentoscope-phoenix-example",
        resource_attributes={ResourceAttributes.PROJECT_NAME: args.project},
    )
    tracing.set_trace_processors([processor])
    result = await Runner.run(_agents(), "Where is my order A-1042?")
    print(f"final output: {result.final_output}")
    tracing.flush_traces()
    processor.shutdown()
    stats = processor.stats()
    print(f"sent {stats['exported']} spans to {endpoint} (project {args.project!r})")
    return 0 if stats["exported"] and not stats.get("failed_records") else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
