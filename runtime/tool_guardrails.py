"""Tool guardrails: checks around one function tool call, as in the SDK.

An input guardrail sees the call (its ToolContext: tool name, arguments) before the tool runs;
an output guardrail sees what the tool returned. Each answers with a ToolGuardrailFunctionOutput:

- `allow()`: go on;
- `reject_content(message)`: the tool does not run (input) or its output is dropped (output);
  the model gets `message` as the call's output, and the run goes on;
- `raise_exception()`: the run stops with ToolInputGuardrailTripwireTriggered /
  ToolOutputGuardrailTripwireTriggered.

Attach them with `function_tool(tool_input_guardrails=[...], tool_output_guardrails=[...])`.
Each check is a guardrail span under the call's function span, `triggered` when it did not
allow; a tripwire also sets an error on the function span.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from typing_extensions import TypedDict

from agentoscope.tracing import get_current_span, guardrail_span

from .exceptions import (
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailTripwireTriggered,
    UserError,
)

if TYPE_CHECKING:
    from .agent import Agent
    from .run_context import ToolContext
    from .tool import FunctionTool

TContext_co = TypeVar("TContext_co", covariant=True)


class RejectContentBehavior(TypedDict):
    type: Literal["reject_content"]
    message: str


class RaiseExceptionBehavior(TypedDict):
    type: Literal["raise_exception"]


class AllowBehavior(TypedDict):
    type: Literal["allow"]


@dataclass
class ToolGuardrailFunctionOutput:
    """What a tool guardrail decided; build it with allow / reject_content / raise_exception."""

    output_info: Any
    behavior: RejectContentBehavior | RaiseExceptionBehavior | AllowBehavior = field(
        default_factory=lambda: AllowBehavior(type="allow")
    )

    @classmethod
    def allow(cls, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        return cls(output_info=output_info, behavior=AllowBehavior(type="allow"))

    @classmethod
    def reject_content(cls, message: str, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        return cls(
            output_info=output_info,
            behavior=RejectContentBehavior(type="reject_content", message=message),
        )

    @classmethod
    def raise_exception(cls, output_info: Any = None) -> ToolGuardrailFunctionOutput:
        return cls(output_info=output_info, behavior=RaiseExceptionBehavior(type="raise_exception"))


@dataclass
class ToolInputGuardrailData:
    context: ToolContext[Any]
    """The call: tool_name, tool_arguments (JSON), tool_call_id, and the run context."""
    agent: Agent[Any]


@dataclass
class ToolOutputGuardrailData(ToolInputGuardrailData):
    output: Any
    """What the tool returned."""


async def _decide(func: Callable[..., Any], data: Any, name: str) -> ToolGuardrailFunctionOutput:
    decided = func(data)
    if inspect.isawaitable(decided):
        decided = await decided
    if not isinstance(decided, ToolGuardrailFunctionOutput):
        raise UserError(
            f"Tool guardrail {name!r} must return ToolGuardrailFunctionOutput, "
            f"got {type(decided).__name__}"
        )
    return decided


@dataclass
class ToolInputGuardrail(Generic[TContext_co]):
    """`guardrail_function(data: ToolInputGuardrailData)` -> ToolGuardrailFunctionOutput."""

    guardrail_function: Callable[..., Any]
    name: str | None = None

    def get_name(self) -> str:
        return self.name or str(
            getattr(self.guardrail_function, "__name__", "tool_input_guardrail")
        )

    async def run(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        return await _decide(self.guardrail_function, data, self.get_name())


@dataclass
class ToolOutputGuardrail(Generic[TContext_co]):
    """`guardrail_function(data: ToolOutputGuardrailData)` -> ToolGuardrailFunctionOutput."""

    guardrail_function: Callable[..., Any]
    name: str | None = None

    def get_name(self) -> str:
        return self.name or str(
            getattr(self.guardrail_function, "__name__", "tool_output_guardrail")
        )

    async def run(self, data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
        return await _decide(self.guardrail_function, data, self.get_name())


@dataclass
class ToolInputGuardrailResult:
    guardrail: ToolInputGuardrail[Any]
    output: ToolGuardrailFunctionOutput


@dataclass
class ToolOutputGuardrailResult:
    guardrail: ToolOutputGuardrail[Any]
    output: ToolGuardrailFunctionOutput


@overload
def tool_input_guardrail(func: Callable[..., Any], /) -> ToolInputGuardrail[Any]: ...


@overload
def tool_input_guardrail(
    *, name: str | None = None
) -> Callable[[Callable[..., Any]], ToolInputGuardrail[Any]]: ...


def tool_input_guardrail(
    func: Callable[..., Any] | None = None, *, name: str | None = None
) -> ToolInputGuardrail[Any] | Callable[[Callable[..., Any]], ToolInputGuardrail[Any]]:
    """Make a ToolInputGuardrail of `func(data)`, bare or with a name."""

    def build(f: Callable[..., Any]) -> ToolInputGuardrail[Any]:
        return ToolInputGuardrail(guardrail_function=f, name=name)

    return build(func) if func is not None else build


@overload
def tool_output_guardrail(func: Callable[..., Any], /) -> ToolOutputGuardrail[Any]: ...


@overload
def tool_output_guardrail(
    *, name: str | None = None
) -> Callable[[Callable[..., Any]], ToolOutputGuardrail[Any]]: ...


def tool_output_guardrail(
    func: Callable[..., Any] | None = None, *, name: str | None = None
) -> ToolOutputGuardrail[Any] | Callable[[Callable[..., Any]], ToolOutputGuardrail[Any]]:
    """Make a ToolOutputGuardrail of `func(data)`, bare or with a name."""

    def build(f: Callable[..., Any]) -> ToolOutputGuardrail[Any]:
        return ToolOutputGuardrail(guardrail_function=f, name=name)

    return build(func) if func is not None else build


def check_guardrail_lists(tool: FunctionTool) -> None:
    """Refuse, where the tool is defined, a guardrail list holding something else."""
    for label, kind, guardrails in (
        ("tool_input_guardrails", ToolInputGuardrail, tool.tool_input_guardrails),
        ("tool_output_guardrails", ToolOutputGuardrail, tool.tool_output_guardrails),
    ):
        for guardrail in guardrails or []:
            if not isinstance(guardrail, kind):
                raise UserError(
                    f"Tool {tool.name!r}: {label} takes {kind.__name__} objects (made with "
                    f"@{label[:-1]}), got {type(guardrail).__name__}"
                )


_NOT_REJECTED = object()


def _trip(name: str, direction: str) -> None:
    span = get_current_span()
    if span is not None:
        span.set_error(
            {
                "message": f"Tool {direction} guardrail tripwire triggered",
                "data": {
                    "type": f"Tool{direction.title()}GuardrailTripwireTriggered",
                    "guardrail": name,
                },
            }
        )


async def check_tool_input(tool: FunctionTool, context: ToolContext[Any], agent: Agent[Any]) -> Any:
    """Run the tool's input guardrails. Returns the message that replaces the call's output
    when one rejected the content, else _NOT_REJECTED; raises on raise_exception."""
    for guardrail in tool.tool_input_guardrails or []:
        name = guardrail.get_name()
        with guardrail_span(name, source="tool_input") as span:
            decided = await guardrail.run(ToolInputGuardrailData(context=context, agent=agent))
            kind = decided.behavior["type"]
            span.span_data.triggered = kind != "allow"
        _record(context, ToolInputGuardrailResult(guardrail, decided), "input")
        if kind == "raise_exception":
            _trip(name, "input")
            raise ToolInputGuardrailTripwireTriggered(guardrail=guardrail, output=decided)
        if kind == "reject_content":
            return decided.behavior["message"]
    return _NOT_REJECTED


async def check_tool_output(
    tool: FunctionTool, context: ToolContext[Any], agent: Agent[Any], output: Any
) -> Any:
    """Run the tool's output guardrails; returns the output the model gets."""
    for guardrail in tool.tool_output_guardrails or []:
        name = guardrail.get_name()
        data = ToolOutputGuardrailData(context=context, agent=agent, output=output)
        with guardrail_span(name, source="tool_output") as span:
            decided = await guardrail.run(data)
            kind = decided.behavior["type"]
            span.span_data.triggered = kind != "allow"
        _record(context, ToolOutputGuardrailResult(guardrail, decided), "output")
        if kind == "raise_exception":
            _trip(name, "output")
            raise ToolOutputGuardrailTripwireTriggered(guardrail=guardrail, output=decided)
        if kind == "reject_content":
            return decided.behavior["message"]
    return output


def _record(context: ToolContext[Any], result: Any, direction: str) -> None:
    results = context._tool_guardrail_results
    if results is not None:
        results[direction].append(result)


def is_rejected(value: Any) -> bool:
    return value is not _NOT_REJECTED


__all__ = [
    "AllowBehavior",
    "RaiseExceptionBehavior",
    "RejectContentBehavior",
    "ToolGuardrailFunctionOutput",
    "ToolInputGuardrail",
    "ToolInputGuardrailData",
    "ToolInputGuardrailResult",
    "ToolOutputGuardrail",
    "ToolOutputGuardrailData",
    "ToolOutputGuardrailResult",
    "check_tool_input",
    "check_tool_output",
    "tool_input_guardrail",
    "tool_output_guardrail",
]
