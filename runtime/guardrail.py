"""Guardrails: checks that run on an agent's input (before/alongside its first model call) or on
its final output. A guardrail whose `tripwire_triggered` is True stops the run with
InputGuardrailTripwireTriggered / OutputGuardrailTripwireTriggered, which carry the result."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from .run_context import RunContextWrapper

if TYPE_CHECKING:
    from .agent import Agent
    from .items import TResponseInputItem


@dataclass
class GuardrailFunctionOutput:
    output_info: Any
    """Whatever the check wants to report (reasons, scores...)."""
    tripwire_triggered: bool
    """True stops the run."""


@dataclass
class InputGuardrailResult:
    guardrail: InputGuardrail
    output: GuardrailFunctionOutput


@dataclass
class OutputGuardrailResult:
    guardrail: OutputGuardrail
    agent_output: Any
    """The final output the guardrail checked."""
    agent: Agent[Any]
    output: GuardrailFunctionOutput


async def _call(func: Callable[..., Any], *args: Any) -> GuardrailFunctionOutput:
    result = func(*args)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, GuardrailFunctionOutput):
        raise TypeError(
            f"Guardrail {getattr(func, '__name__', func)!r} must return GuardrailFunctionOutput, "
            f"got {type(result).__name__}"
        )
    return result


@dataclass
class InputGuardrail:
    """`guardrail_function(ctx, agent, input)` -> GuardrailFunctionOutput (sync or async).
    With run_in_parallel (the default) it runs alongside the first model call; otherwise the
    model is called only after it passed."""

    guardrail_function: Callable[..., Any]
    name: str | None = None
    run_in_parallel: bool = True

    def get_name(self) -> str:
        if self.name:
            return self.name
        name: str = getattr(self.guardrail_function, "__name__", "input_guardrail")
        return name

    async def run(
        self,
        agent: Agent[Any],
        input: str | list[TResponseInputItem],
        context: RunContextWrapper[Any],
    ) -> InputGuardrailResult:
        output = await _call(self.guardrail_function, context, agent, input)
        return InputGuardrailResult(guardrail=self, output=output)


@dataclass
class OutputGuardrail:
    """`guardrail_function(ctx, agent, output)` -> GuardrailFunctionOutput (sync or async)."""

    guardrail_function: Callable[..., Any]
    name: str | None = None

    def get_name(self) -> str:
        if self.name:
            return self.name
        name: str = getattr(self.guardrail_function, "__name__", "output_guardrail")
        return name

    async def run(
        self, context: RunContextWrapper[Any], agent: Agent[Any], agent_output: Any
    ) -> OutputGuardrailResult:
        output = await _call(self.guardrail_function, context, agent, agent_output)
        return OutputGuardrailResult(
            guardrail=self, agent_output=agent_output, agent=agent, output=output
        )


@overload
def input_guardrail(func: Callable[..., Any], /) -> InputGuardrail: ...


@overload
def input_guardrail(
    *, name: str | None = None, run_in_parallel: bool = True
) -> Callable[[Callable[..., Any]], InputGuardrail]: ...


def input_guardrail(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    run_in_parallel: bool = True,
) -> InputGuardrail | Callable[[Callable[..., Any]], InputGuardrail]:
    """Make an InputGuardrail of `func(ctx, agent, input)`, bare or with options."""

    def build(f: Callable[..., Any]) -> InputGuardrail:
        return InputGuardrail(guardrail_function=f, name=name, run_in_parallel=run_in_parallel)

    return build(func) if func is not None else build


@overload
def output_guardrail(func: Callable[..., Any], /) -> OutputGuardrail: ...


@overload
def output_guardrail(
    *, name: str | None = None
) -> Callable[[Callable[..., Any]], OutputGuardrail]: ...


def output_guardrail(
    func: Callable[..., Any] | None = None, *, name: str | None = None
) -> OutputGuardrail | Callable[[Callable[..., Any]], OutputGuardrail]:
    """Make an OutputGuardrail of `func(ctx, agent, output)`, bare or with options."""

    def build(f: Callable[..., Any]) -> OutputGuardrail:
        return OutputGuardrail(guardrail_function=f, name=name)

    return build(func) if func is not None else build
