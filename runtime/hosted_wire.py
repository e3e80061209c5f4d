"""The Responses API tool params of the hosted and local built-in tools (`hosted_tools.py`)."""

from __future__ import annotations

from typing import Any

from .computer import AsyncComputer, Computer
from .exceptions import UserError
from .hosted_tools import (
    CodeInterpreterTool,
    ComputerTool,
    HostedMCPTool,
    ImageGenerationTool,
    LocalShellTool,
    ShellTool,
)


def uses_preview_computer_tool(model: str | None) -> bool:
    """`computer-use-preview` models take the preview tool shape; others the GA `computer`."""
    return isinstance(model, str) and model.startswith("computer-use-preview")


def _preview_computer_param(tool: ComputerTool) -> dict[str, Any]:
    computer = tool.computer
    if not isinstance(computer, Computer | AsyncComputer):
        raise UserError(
            "The preview computer tool needs a Computer instance (not a factory) to read its "
            "environment and dimensions"
        )
    if computer.environment is None or computer.dimensions is None:
        raise UserError(
            "The preview computer tool (computer-use-preview models) needs `environment` and "
            "`dimensions` on the Computer"
        )
    width, height = computer.dimensions
    return {
        "type": "computer_use_preview",
        "environment": computer.environment,
        "display_width": width,
        "display_height": height,
    }


def hosted_tool_param(tool: Any, *, model: str | None = None) -> tuple[dict[str, Any], str | None]:
    """(the tool param, an `include` value it needs or None); UserError for anything else."""
    if isinstance(tool, CodeInterpreterTool | ImageGenerationTool | HostedMCPTool):
        return dict(tool.tool_config), None
    if isinstance(tool, ComputerTool):
        if uses_preview_computer_tool(model):
            return _preview_computer_param(tool), None
        return {"type": "computer"}, None
    if isinstance(tool, LocalShellTool):
        return {"type": "local_shell"}, None
    if isinstance(tool, ShellTool):
        param: dict[str, Any] = {"type": "shell", "environment": dict(tool.environment or {})}
        if tool.allowed_callers is not None:
            param["allowed_callers"] = list(tool.allowed_callers)
        return param, None
    raise UserError(f"Unsupported tool for the Responses API: {tool!r}")


def check_hosted_tools(tools: list[Any]) -> None:
    computers = [t for t in tools if isinstance(t, ComputerTool)]
    if len(computers) > 1:
        raise UserError(f"An agent can have one computer tool, got {len(computers)}")
