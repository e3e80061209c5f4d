"""Handoffs between realtime agents: a `transfer_to_<agent>` tool that, when the model calls it,
makes the other agent the session's active one (new instructions and tools, same conversation).
Input filters do not apply: the server keeps the one conversation."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..exceptions import ModelBehaviorError, UserError
from ..handoffs import Handoff
from ..run_context import RunContextWrapper
from ..strict_schema import ensure_strict_json_schema
from .agent import RealtimeAgent


def realtime_handoff(
    agent: RealtimeAgent[Any],
    *,
    tool_name_override: str | None = None,
    tool_description_override: str | None = None,
    on_handoff: Callable[..., Any] | None = None,
    input_type: type[Any] | None = None,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Any], Any] = True,
) -> Handoff:
    """A handoff to `agent`; `on_handoff(ctx)` (or `on_handoff(ctx, input)` with `input_type`,
    validated from the model's arguments) runs when the model takes it."""
    adapter: TypeAdapter[Any] | None = None
    if input_type is not None:
        if on_handoff is None:
            raise UserError("realtime_handoff(): input_type needs an on_handoff(ctx, input)")
        if len(inspect.signature(on_handoff).parameters) != 2:
            raise UserError("realtime_handoff(): on_handoff must take (context, input)")
        adapter = TypeAdapter(input_type)
        schema = ensure_strict_json_schema(adapter.json_schema())
    else:
        if on_handoff is not None and len(inspect.signature(on_handoff).parameters) != 1:
            raise UserError("realtime_handoff(): on_handoff must take one argument: context")
        schema = ensure_strict_json_schema({})

    async def invoke(ctx: RunContextWrapper[Any], input_json: str) -> Any:
        result: Any = None
        if adapter is not None and on_handoff is not None:
            if not input_json:
                raise ModelBehaviorError(f"Handoff to {agent.name!r} expects input, got none")
            try:
                value = adapter.validate_json(input_json)
            except ValidationError as error:
                raise ModelBehaviorError(
                    f"Invalid handoff input for {agent.name!r}: {error}"
                ) from error
            result = on_handoff(ctx, value)
        elif on_handoff is not None:
            result = on_handoff(ctx)
        if inspect.isawaitable(result):
            await result
        return agent

    return Handoff(
        tool_name=tool_name_override or Handoff.default_tool_name(agent),  # type: ignore[arg-type]
        tool_description=tool_description_override or Handoff.default_tool_description(agent),  # type: ignore[arg-type]
        input_json_schema=schema,
        on_invoke_handoff=invoke,
        agent_name=agent.name,
        is_enabled=is_enabled,
    )


async def enabled_handoffs(agent: RealtimeAgent[Any], ctx: RunContextWrapper[Any]) -> list[Handoff]:
    result: list[Handoff] = []
    for entry in agent.handoffs:
        if isinstance(entry, RealtimeAgent):
            entry = realtime_handoff(entry)
        elif not isinstance(entry, Handoff):
            raise UserError(f"RealtimeAgent {agent.name!r}: invalid handoff {entry!r}")
        enabled = entry.is_enabled
        if callable(enabled):
            enabled = enabled(ctx, agent)  # type: ignore[arg-type]
            if inspect.isawaitable(enabled):
                enabled = await enabled
        if enabled:
            result.append(entry)
    return result
