"""MCP servers for agents, on the official `mcp` package, with the SDK's names (`agents.mcp`):

    from agentoscope.runtime.mcp import MCPServerStdio

    async with MCPServerStdio({"command": "mcp-server-time"}) as server:
        agent = Agent(name="Clock", mcp_servers=[server])

Each listing is an `mcp_tools` span and each call a `function` span whose `mcp_data` names the
server.
"""

from __future__ import annotations

try:
    import mcp as _mcp  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "agentoscope.runtime.mcp needs the `mcp` package: pip install 'agentoscope[mcp]'"
    ) from error

from .connection import MCPRequestError, MCPServerConnection
from .filters import (
    ToolFilter,
    ToolFilterCallable,
    ToolFilterContext,
    ToolFilterStatic,
    create_static_tool_filter,
)
from .interface import MCPServer
from .manager import MCPServerManager
from .server import (
    MCPServerSse,
    MCPServerSseParams,
    MCPServerStdio,
    MCPServerStdioParams,
    MCPServerStreamableHttp,
    MCPServerStreamableHttpParams,
)
from .util import MCPFunctionTool, MCPToolMetaContext, MCPUtil, default_mcp_tool_error_function

__all__ = [
    "MCPFunctionTool",
    "MCPRequestError",
    "MCPServer",
    "MCPServerConnection",
    "MCPServerManager",
    "MCPServerSse",
    "MCPServerSseParams",
    "MCPServerStdio",
    "MCPServerStdioParams",
    "MCPServerStreamableHttp",
    "MCPServerStreamableHttpParams",
    "MCPToolMetaContext",
    "MCPUtil",
    "ToolFilter",
    "ToolFilterCallable",
    "ToolFilterContext",
    "ToolFilterStatic",
    "create_static_tool_filter",
    "default_mcp_tool_error_function",
]
