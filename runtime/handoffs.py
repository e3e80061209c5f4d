"""Handoffs: an agent hands the conversation to another agent by calling a `transfer_to_<name>`
tool. `input_filter` decides what history the next agent sees."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import TypeAdapter, ValidationError

from .exceptions import ModelBehaviorError, UserError
from .run_context import RunContextWrapper
from .strict_schema import ensure_strict_json_schema

if TYPE_CHECKING:
    from .agent import Agent
    from .items import RunItem, TResponseInputItem


@dataclass(frozen=True)
class HandoffInputData:
    """What the next agent would see; an input filter returns a changed copy (`clone()`)."""

    input_history: str | tuple[TResponseInputItem, ...]
    """The run's input, before Runner.run() started producing items."""
    pre_handoff_items: tuple[RunItem, ...]
    """Items produced before the turn in which the handoff was called."""
    new_items: tuple[RunItem, ...]
    """Items of the handoff turn, including the handoff call and its output."""
    run_context: RunContextWrapper[Any] | None = None
    input_items: tuple[RunItem, ...] | None = None
    """When set, used instead of new_items for the next agent's input (new_items stay in the
    run's history)."""

    def clone(self, **changes: Any) -> HandoffInputData:
        return replace(self, **changes)


HandoffInputFilter: TypeAlias = Callable[[HandoffInputData], Any]
"""Returns a HandoffInputData (or an awaitable of one)."""


def snake_case(name: str) -> str:
    """A name usable as a tool name: `Billing Agent` -> `billing_agent`."""
    return re.sub(r"[^a-zA-Z0-9_]+", "_", name).strip("_").lower()


@dataclass
class Handoff:
    """A handoff as the model sees it (a tool) and as the runner invokes it."""

    tool_name: str
    tool_description: str
    input_json_schema: dict[str, Any]
    on_invoke_handoff: Callable[[RunContextWrapper[Any], str], Awaitable[Agent[Any]]]
    """Called with the context and the model's JSON arguments; returns the next agent."""
    agent_name: str
    input_filter: HandoffInputFilter | None = None
    nest_handoff_history: bool | None = None
    strict_json_schema: bool = True
    is_enabled: bool | Callable[[RunContextWrapper[Any], Agent[Any]], Any] = True
    _agent: Any = field(default=None, repr=False, kw_only=True)
    """The target agent when known (lets a RunState from JSON find agents by name)."""

    def get_transfer_message(self, agent: Agent[Any]) -> str:
        """The tool output recorded for the handoff call."""
        return json.dumps({"assistant": agent.name})

    @classmethod
    def default_tool_name(cls, agent: Agent[Any]) -> str:
        return snake_case(f"transfer_to_{agent.name}")

    @classmethod
    def default_tool_description(cls, agent: Agent[Any]) -> str:
        return (
            f"Handoff to the {agent.name} agent to handle the request. "
            f"{agent.handoff_description or ''}"
        )


def handoff(
    agent: Agent[Any],
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
    on_handoff: Callable[..., Any] | None = None,
    input_type: type[Any] | None = None,
    input_filter: HandoffInputFilter | None = None,
    nest_handoff_history: bool | None = None,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Agent[Any]], Any] = True,
) -> Handoff:
    """A handoff to `agent`. `on_handoff(ctx)` (or `on_handoff(ctx, input)` with `input_type`,
    validated from the model's arguments) runs when the model takes the handoff."""
    if nest_handoff_history:
        raise UserError(
            "handoff(nest_handoff_history=True) is not supported by agentoscope.runtime: shape "
            "what the next agent sees with input_filter=..."
        )
    adapter: TypeAdapter[Any] | None = None
    if input_type is not None:
        if on_handoff is None:
            raise UserError("handoff(): input_type needs an on_handoff(ctx, input) callback")
        if len(inspect.signature(on_handoff).parameters) != 2:
            raise UserError("handoff(): on_handoff must take two arguments: context and input")
        adapter = TypeAdapter(input_type)
        schema = ensure_strict_json_schema(adapter.json_schema())
    else:
        if on_handoff is not None and len(inspect.signature(on_handoff).parameters) != 1:
            raise UserError("handoff(): on_handoff must take one argument: context")
        schema = ensure_strict_json_schema({})

    async def on_invoke_handoff(ctx: RunContextWrapper[Any], input_json: str) -> Agent[Any]:
        if adapter is not None and on_handoff is not None:
            if not input_json:
                raise ModelBehaviorError(
                    f"Handoff {agent.name!r} expects input of type {input_type!r}, got none"
                )
            try:
                value = adapter.validate_json(input_json)
            except ValidationError as exc:
                raise ModelBehaviorError(
                    f"Invalid handoff input for {agent.name!r}: {exc}"
                ) from exc
            result = on_handoff(ctx, value)
        elif on_handoff is not None:
            result = on_handoff(ctx)
        else:
            result = None
        if inspect.isawaitable(result):
            await result
        return agent

    return Handoff(
        tool_name=tool_name_override or Handoff.default_tool_name(agent),
        tool_description=tool_description_override or Handoff.default_tool_description(agent),
        input_json_schema=schema,
        on_invoke_handoff=on_invoke_handoff,
        agent_name=agent.name,
        input_filter=input_filter,
        nest_handoff_history=nest_handoff_history,
        is_enabled=is_enabled,
        _agent=agent,
    )
