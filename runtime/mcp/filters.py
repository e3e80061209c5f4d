"""Which of a server's tools an agent gets to see: a static allow/block list, or a (sync or
async) function of the run context, the agent and the tool."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NotRequired, TypeAlias

from typing_extensions import TypedDict

from ..exceptions import UserError
from ..run_context import RunContextWrapper

if TYPE_CHECKING:
    from mcp.types import Tool as MCPTool

logger = logging.getLogger("agentoscope.runtime.mcp")


@dataclass
class ToolFilterContext:
    """What a filter function can look at besides the tool itself."""

    run_context: RunContextWrapper[Any]
    agent: Any
    """The agent asking for its tools."""
    server_name: str


ToolFilterCallable: TypeAlias = Callable[[ToolFilterContext, "MCPTool"], Any]
"""(context, tool) -> bool, or an awaitable of one. True keeps the tool."""


class ToolFilterStatic(TypedDict):
    allowed_tool_names: NotRequired[list[str]]
    """Only these tools (when given)."""
    blocked_tool_names: NotRequired[list[str]]
    """Never these tools."""


ToolFilter: TypeAlias = ToolFilterCallable | ToolFilterStatic | None


def create_static_tool_filter(
    allowed_tool_names: list[str] | None = None,
    blocked_tool_names: list[str] | None = None,
) -> ToolFilterStatic | None:
    """A static filter from an allowlist and/or a blocklist; None when neither is given."""
    if allowed_tool_names is None and blocked_tool_names is None:
        return None
    static: ToolFilterStatic = {}
    if allowed_tool_names is not None:
        static["allowed_tool_names"] = list(allowed_tool_names)
    if blocked_tool_names is not None:
        static["blocked_tool_names"] = list(blocked_tool_names)
    return static


def check_tool_filter(tool_filter: Any) -> None:
    """Reject what is neither a static filter nor a callable, at construction time."""
    if tool_filter is None or callable(tool_filter):
        return
    if not isinstance(tool_filter, dict):
        raise UserError(f"tool_filter must be a dict or a callable, got {type(tool_filter)!r}")
    unknown = set(tool_filter) - {"allowed_tool_names", "blocked_tool_names"}
    if unknown:
        raise UserError(
            f"tool_filter has unknown keys {sorted(unknown)}; "
            "use allowed_tool_names and/or blocked_tool_names"
        )


async def apply_tool_filter(
    tools: list[MCPTool],
    tool_filter: ToolFilter,
    server_name: str,
    run_context: RunContextWrapper[Any] | None,
    agent: Any | None,
) -> list[MCPTool]:
    if tool_filter is None:
        return tools
    if isinstance(tool_filter, dict):
        allowed = tool_filter.get("allowed_tool_names")
        blocked = set(tool_filter.get("blocked_tool_names") or ())
        return [
            t for t in tools if (allowed is None or t.name in allowed) and t.name not in blocked
        ]
    if run_context is None or agent is None:
        raise UserError(
            f"MCP server {server_name!r}: a callable tool_filter needs run_context and agent "
            "(list_tools(run_context, agent))"
        )
    context = ToolFilterContext(run_context=run_context, agent=agent, server_name=server_name)
    kept: list[MCPTool] = []
    for tool in tools:
        try:
            verdict = tool_filter(context, tool.model_copy(deep=True))
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception:
            # A filter that fails hides the tool: exposing it could bypass the filter's intent.
            logger.exception("MCP tool filter failed on %r of server %r", tool.name, server_name)
            continue
        if verdict:
            kept.append(tool)
    return kept
