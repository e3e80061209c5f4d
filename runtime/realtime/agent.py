"""`RealtimeAgent`: an agent for a realtime session. All agents of a session share its one
model, so unlike `Agent` it has no model, model settings or output type; its instructions,
tools and handoffs become the session's when it is the active agent."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias

from ..exceptions import UserError
from ..guardrail import OutputGuardrail
from ..handoffs import Handoff
from ..lifecycle import AgentHooks, RunHooks
from ..run_context import RunContextWrapper, TContext
from ..tool import Tool, is_tool_enabled

RealtimeAgentHooks: TypeAlias = AgentHooks
"""Hooks of one realtime agent: on_start/on_end per response, on_handoff, on_tool_start/end."""
RealtimeRunHooks: TypeAlias = RunHooks
"""The SDK's alias; a realtime session takes no run hooks (neither does the SDK's)."""


@dataclass
class RealtimeAgent(Generic[TContext]):
    name: str
    handoff_description: str | None = None
    tools: list[Tool] = field(default_factory=list)
    mcp_servers: list[Any] = field(default_factory=list)
    """Not supported for realtime agents here: a non-empty list (or mcp_config) is an error at
    session start."""
    mcp_config: dict[str, Any] = field(default_factory=dict)
    instructions: (
        str | Callable[[RunContextWrapper[TContext], RealtimeAgent[TContext]], Any] | None
    ) = None
    """The system prompt, or a (sync or async) function of (ctx, agent) returning it."""
    prompt: Any | None = None
    """A server-side prompt template, passed to the session as is."""
    handoffs: list[RealtimeAgent[Any] | Handoff] = field(default_factory=list)
    output_guardrails: list[OutputGuardrail] = field(default_factory=list)
    """Run on the transcript as it streams; a trip interrupts the response."""
    hooks: RealtimeAgentHooks | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"RealtimeAgent name must be a string, got {type(self.name).__name__}")
        for name in ("tools", "handoffs", "output_guardrails"):
            value = getattr(self, name)
            if not isinstance(value, list):
                raise TypeError(f"RealtimeAgent {name} must be a list, got {type(value).__name__}")
        if self.instructions is not None and not (
            isinstance(self.instructions, str) or callable(self.instructions)
        ):
            raise TypeError(
                "RealtimeAgent instructions must be a string, a function or None, got "
                f"{type(self.instructions).__name__}"
            )

    def clone(self, **kwargs: Any) -> RealtimeAgent[TContext]:
        """A copy with the given fields changed (lists are shared, as in the SDK)."""
        return dataclasses.replace(self, **kwargs)

    async def get_system_prompt(self, run_context: RunContextWrapper[TContext]) -> str | None:
        if self.instructions is None or isinstance(self.instructions, str):
            return self.instructions
        result = self.instructions(run_context, self)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, str):
            raise UserError(
                f"RealtimeAgent {self.name!r}: instructions function returned "
                f"{type(result).__name__}, not a string"
            )
        return result

    async def get_all_tools(self, run_context: RunContextWrapper[TContext]) -> list[Tool]:
        if self.mcp_servers or self.mcp_config:
            raise UserError(
                f"RealtimeAgent {self.name!r}: mcp_servers and mcp_config are not supported in "
                "realtime sessions"
            )
        return [t for t in self.tools if await is_tool_enabled(t, run_context, self)]  # type: ignore[arg-type]
