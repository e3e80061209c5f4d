"""`Agent.get_mcp_tools`: the agent's `mcp_servers` and `mcp_config` applied."""

from __future__ import annotations

from typing import Any

from ..exceptions import UserError
from ..run_context import RunContextWrapper
from .interface import MCPServer
from .util import MCPUtil, default_mcp_tool_error_function

_CONFIG_KEYS = frozenset(
    {"convert_schemas_to_strict", "failure_error_function", "include_server_in_tool_names"}
)


async def mcp_tools_of(agent: Any, run_context: RunContextWrapper[Any]) -> list[Any]:
    config = agent.mcp_config or {}
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        raise UserError(
            f"Agent {agent.name!r}: unknown mcp_config keys {unknown}; "
            f"known: {sorted(_CONFIG_KEYS)}"
        )
    for server in agent.mcp_servers:
        if not isinstance(server, MCPServer):
            raise UserError(
                f"Agent {agent.name!r}: mcp_servers holds {type(server).__name__}, not an "
                "MCPServer from agentoscope.runtime.mcp"
            )
    own_names = {getattr(tool, "name", None) for tool in agent.tools}
    return await MCPUtil.get_all_function_tools(
        agent.mcp_servers,
        bool(config.get("convert_schemas_to_strict", False)),
        run_context,
        agent,
        failure_error_function=config.get(
            "failure_error_function", default_mcp_tool_error_function
        ),
        include_server_in_tool_names=bool(config.get("include_server_in_tool_names", False)),
        reserved_tool_names={name for name in own_names if isinstance(name, str)},
    )
