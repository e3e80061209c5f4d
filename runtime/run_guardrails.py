"""Running guardrails, each in its own guardrail span under the agent span."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from agentoscope.tracing import Span, guardrail_span

from .agent import Agent
from .exceptions import InputGuardrailTripwireTriggered, OutputGuardrailTripwireTriggered
from .guardrail import InputGuardrail, InputGuardrailResult, OutputGuardrail, OutputGuardrailResult
from .items import TResponseInputItem
from .run_context import RunContextWrapper
from .run_tracing import set_span_error


async def _input_one(
    guardrail: InputGuardrail,
    agent: Agent[Any],
    input: str | list[TResponseInputItem],
    context: RunContextWrapper[Any],
) -> InputGuardrailResult:
    with guardrail_span(guardrail.get_name(), source="input") as span:
        result = await guardrail.run(agent, input, context)
        span.span_data.triggered = result.output.tripwire_triggered
        return result


async def _output_one(
    guardrail: OutputGuardrail, agent: Agent[Any], output: Any, context: RunContextWrapper[Any]
) -> OutputGuardrailResult:
    with guardrail_span(guardrail.get_name(), source="output") as span:
        result = await guardrail.run(context, agent, output)
        span.span_data.triggered = result.output.tripwire_triggered
        return result


async def _first_trip(tasks: list[asyncio.Task[Any]]) -> tuple[list[Any], Any | None]:
    """Await the guardrails; cancel the rest on the first tripwire. Returns (results, tripped)."""
    results: list[Any] = []
    try:
        for next_done in asyncio.as_completed(tasks):
            result = await next_done
            results.append(result)
            if result.output.tripwire_triggered:
                return results, result
    finally:
        for task in tasks:
            task.cancel()
    return results, None


async def run_input_guardrails(
    guardrails: list[InputGuardrail],
    agent: Agent[Any],
    input: str | list[TResponseInputItem],
    context: RunContextWrapper[Any],
    agent_span: Span[Any] | None,
    into: list[InputGuardrailResult],
) -> None:
    """Run the guardrails concurrently, append their results to `into`, and raise
    InputGuardrailTripwireTriggered (error on the agent span) on the first tripwire."""
    calls = [_input_one(guardrail, agent, input, context) for guardrail in guardrails]
    await _run_all(calls, agent_span, into, InputGuardrailTripwireTriggered)


async def run_output_guardrails(
    guardrails: list[OutputGuardrail],
    agent: Agent[Any],
    output: Any,
    context: RunContextWrapper[Any],
    agent_span: Span[Any] | None,
    into: list[OutputGuardrailResult],
) -> None:
    """As run_input_guardrails, for the final output."""
    calls = [_output_one(guardrail, agent, output, context) for guardrail in guardrails]
    await _run_all(calls, agent_span, into, OutputGuardrailTripwireTriggered)


async def _run_all(
    calls: list[Coroutine[Any, Any, Any]],
    agent_span: Span[Any] | None,
    into: list[Any],
    tripwire: type[InputGuardrailTripwireTriggered] | type[OutputGuardrailTripwireTriggered],
) -> None:
    """Await the guardrail calls (a lone one directly, several concurrently), keep their
    results in `into`, and raise `tripwire` on the first that trips."""
    if len(calls) == 1:
        results = [await calls[0]]
        tripped = results[0] if results[0].output.tripwire_triggered else None
    else:
        tasks = [asyncio.ensure_future(call) for call in calls]
        results, tripped = await _first_trip(tasks)
    into.extend(results)
    if tripped is not None:
        name = tripped.guardrail.get_name()
        set_span_error(
            agent_span, "Guardrail tripwire triggered", tripwire.__name__, guardrail=name
        )
        raise tripwire(tripped)
