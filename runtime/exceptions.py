"""Exceptions of the runtime, with the SDK's names. Run failures carry `run_data`: what the run
had produced before it failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent import Agent
    from .guardrail import InputGuardrailResult, OutputGuardrailResult
    from .items import ModelResponse, RunItem, TResponseInputItem
    from .run_context import RunContextWrapper
    from .tool_guardrails import (
        ToolGuardrailFunctionOutput,
        ToolInputGuardrail,
        ToolOutputGuardrail,
    )


@dataclass
class RunErrorDetails:
    """What a run had produced when it raised."""

    input: str | list[TResponseInputItem]
    new_items: list[RunItem]
    raw_responses: list[ModelResponse]
    last_agent: Agent[Any]
    context_wrapper: RunContextWrapper[Any]
    input_guardrail_results: list[InputGuardrailResult] = field(default_factory=list)
    output_guardrail_results: list[OutputGuardrailResult] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"RunErrorDetails(last_agent={self.last_agent.name!r}, "
            f"new_items={len(self.new_items)}, raw_responses={len(self.raw_responses)})"
        )


class AgentsException(Exception):
    """Base class of the runtime's exceptions."""

    run_data: RunErrorDetails | None

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.run_data = None


class MaxTurnsExceeded(AgentsException):
    """The run needed more model turns than `max_turns`."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ModelBehaviorError(AgentsException):
    """The model did something invalid: called an unknown tool, returned malformed JSON, or an
    output that does not match the agent's output_type."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class UserError(AgentsException):
    """The runtime was used wrongly (bad configuration, bad arguments)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ModelTimeoutError(AgentsException):
    """A model call exceeded ModelSettings.timeout."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        super().__init__(f"Model call timed out after {timeout_seconds:g} seconds.")


class ToolTimeoutError(AgentsException):
    """A function tool ran longer than its timeout (with timeout_behavior="raise_exception")."""

    def __init__(self, tool_name: str, timeout_seconds: float) -> None:
        self.tool_name = tool_name
        self.timeout_seconds = timeout_seconds
        super().__init__(f"Tool '{tool_name}' timed out after {timeout_seconds:g} seconds.")


class InputGuardrailTripwireTriggered(AgentsException):
    """An input guardrail tripped; `guardrail_result` says which and why."""

    def __init__(self, guardrail_result: InputGuardrailResult) -> None:
        self.guardrail_result = guardrail_result
        super().__init__(f"Input guardrail {guardrail_result.guardrail.get_name()!r} triggered")


class OutputGuardrailTripwireTriggered(AgentsException):
    """An output guardrail tripped; `guardrail_result` says which and why."""

    def __init__(self, guardrail_result: OutputGuardrailResult) -> None:
        self.guardrail_result = guardrail_result
        super().__init__(f"Output guardrail {guardrail_result.guardrail.get_name()!r} triggered")


class ToolInputGuardrailTripwireTriggered(AgentsException):
    """A tool input guardrail answered raise_exception: the call did not run."""

    def __init__(self, guardrail: ToolInputGuardrail[Any], output: ToolGuardrailFunctionOutput):
        self.guardrail = guardrail
        self.output = output
        super().__init__(f"Tool input guardrail {guardrail.get_name()!r} triggered tripwire")


class ToolOutputGuardrailTripwireTriggered(AgentsException):
    """A tool output guardrail answered raise_exception: the output never reached the model."""

    def __init__(self, guardrail: ToolOutputGuardrail[Any], output: ToolGuardrailFunctionOutput):
        self.guardrail = guardrail
        self.output = output
        super().__init__(f"Tool output guardrail {guardrail.get_name()!r} triggered tripwire")
