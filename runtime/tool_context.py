"""`ToolContext` at the SDK's `agents.tool_context` path."""

from __future__ import annotations

from .run_context import ToolContext

__all__ = ["ToolContext"]
