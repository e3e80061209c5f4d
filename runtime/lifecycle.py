"""Lifecycle hooks: `RunHooks` see every agent of a run, `AgentHooks` one agent. Subclass and
override what you need; every method is async and does nothing by default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic

from .run_context import RunContextWrapper, TContext

if TYPE_CHECKING:
    from .agent import Agent
    from .items import ModelResponse, TResponseInputItem
    from .tool import Tool


class RunHooks(Generic[TContext]):
    """Callbacks for a whole run (pass `hooks=` to Runner.run)."""

    async def on_llm_start(
        self,
        context: RunContextWrapper[TContext],
        agent: Agent[TContext],
        system_prompt: str | None,
        input_items: list[TResponseInputItem],
    ) -> None:
        """Just before a model call."""

    async def on_llm_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], response: ModelResponse
    ) -> None:
        """Just after a model call returned."""

    async def on_agent_start(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext]
    ) -> None:
        """When an agent becomes the current agent (the first one, or after a handoff)."""

    async def on_agent_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], output: Any
    ) -> None:
        """When an agent produced the final output."""

    async def on_handoff(
        self,
        context: RunContextWrapper[TContext],
        from_agent: Agent[TContext],
        to_agent: Agent[TContext],
    ) -> None:
        """When a handoff happens."""

    async def on_tool_start(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], tool: Tool
    ) -> None:
        """Before a tool runs."""

    async def on_tool_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], tool: Tool, result: Any
    ) -> None:
        """After a tool ran, with what it returned."""


class AgentHooks(Generic[TContext]):
    """Callbacks for one agent (set `Agent.hooks`)."""

    async def on_start(self, context: RunContextWrapper[TContext], agent: Agent[TContext]) -> None:
        """When this agent becomes the current agent."""

    async def on_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], output: Any
    ) -> None:
        """When this agent produced the final output."""

    async def on_handoff(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], source: Agent[TContext]
    ) -> None:
        """When this agent hands off: `agent` is the target, `source` this agent."""

    async def on_tool_start(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], tool: Tool
    ) -> None:
        """Before one of this agent's tools runs."""

    async def on_tool_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], tool: Tool, result: Any
    ) -> None:
        """After one of this agent's tools ran."""

    async def on_llm_start(
        self,
        context: RunContextWrapper[TContext],
        agent: Agent[TContext],
        system_prompt: str | None,
        input_items: list[TResponseInputItem],
    ) -> None:
        """Before this agent calls its model."""

    async def on_llm_end(
        self, context: RunContextWrapper[TContext], agent: Agent[TContext], response: ModelResponse
    ) -> None:
        """After this agent's model call returned."""
