"""Code written for the SDK's `agents.mcp` and built-in tools ports by changing imports: the same
names, parameters and parameter order as openai-agents 0.24."""

from __future__ import annotations

import inspect
from typing import Any

import agents
import agents.mcp
import pytest

import agentoscope.runtime as ours
import agentoscope.runtime.mcp as ours_mcp

MCP_NAMES = [
    "MCPServer",
    "MCPServerStdio",
    "MCPServerStdioParams",
    "MCPServerSse",
    "MCPServerSseParams",
    "MCPServerStreamableHttp",
    "MCPServerStreamableHttpParams",
    "MCPServerManager",
    "MCPUtil",
    "ToolFilter",
    "ToolFilterCallable",
    "ToolFilterContext",
    "ToolFilterStatic",
    "create_static_tool_filter",
]
TOOL_NAMES = [
    "WebSearchTool",
    "FileSearchTool",
    "CodeInterpreterTool",
    "ImageGenerationTool",
    "HostedMCPTool",
    "ComputerTool",
    "LocalShellTool",
    "ShellTool",
    "Computer",
    "AsyncComputer",
    "MCPToolApprovalRequest",
    "LocalShellCommandRequest",
    "ShellCommandRequest",
    "ShellResult",
    "ShellCommandOutput",
    "ShellCallOutcome",
]


def _parameters(thing: Any) -> list[str]:
    return [
        name
        for name, parameter in inspect.signature(thing).parameters.items()
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD
    ]


@pytest.mark.parametrize("name", MCP_NAMES)
def test_mcp_names_exist(name: str) -> None:
    assert hasattr(ours_mcp, name), name
    assert hasattr(agents.mcp, name)


@pytest.mark.parametrize(
    "name", ["MCPServerStdio", "MCPServerSse", "MCPServerStreamableHttp", "MCPServerManager"]
)
def test_server_constructors_take_the_sdks_parameters(name: str) -> None:
    assert _parameters(getattr(ours_mcp, name)) == _parameters(getattr(agents.mcp, name))


@pytest.mark.parametrize(
    "name", ["MCPServerStdioParams", "MCPServerSseParams", "MCPServerStreamableHttpParams"]
)
def test_params_have_the_sdks_keys(name: str) -> None:
    sdk_keys = set(getattr(agents.mcp, name).__annotations__)
    assert set(getattr(ours_mcp, name).__annotations__) == sdk_keys


def test_mcp_util_and_filters() -> None:
    for method in ("get_all_function_tools", "get_function_tools", "invoke_mcp_tool"):
        ours_params = _parameters(getattr(ours_mcp.MCPUtil, method))
        sdk_params = _parameters(getattr(agents.mcp.MCPUtil, method))
        assert ours_params == sdk_params[: len(ours_params)], method
    assert _parameters(ours_mcp.create_static_tool_filter) == _parameters(
        agents.mcp.create_static_tool_filter
    )


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_built_in_tools_take_the_sdks_parameters(name: str) -> None:
    ours_params = _parameters(getattr(ours, name))
    sdk_params = _parameters(getattr(agents, name))
    assert ours_params == sdk_params, name
