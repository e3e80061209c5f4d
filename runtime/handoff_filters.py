"""Ready-made handoff input filters (`handoff(agent, input_filter=remove_all_tools)`)."""

from __future__ import annotations

from typing import Any

from .handoffs import HandoffInputData
from .items import (
    HandoffCallItem,
    HandoffOutputItem,
    RunItem,
    ToolCallItem,
    ToolCallOutputItem,
)

_TOOL_ITEM_TYPES = frozenset(
    {
        "function_call",
        "function_call_output",
        "computer_call",
        "computer_call_output",
        "file_search_call",
        "web_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "local_shell_call",
        "local_shell_call_output",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
    }
)


def _is_tool_input(item: Any) -> bool:
    kind = item.get("type") if isinstance(item, dict) else getattr(item, "type", None)
    return kind in _TOOL_ITEM_TYPES


def _without_tool_items(items: tuple[RunItem, ...]) -> tuple[RunItem, ...]:
    tool_kinds = (HandoffCallItem, HandoffOutputItem, ToolCallItem, ToolCallOutputItem)
    return tuple(item for item in items if not isinstance(item, tool_kinds))


def remove_all_tools(handoff_input_data: HandoffInputData) -> HandoffInputData:
    """The next agent sees the conversation without any tool or handoff calls and outputs."""
    history = handoff_input_data.input_history
    if not isinstance(history, str):
        history = tuple(item for item in history if not _is_tool_input(item))
    return handoff_input_data.clone(
        input_history=history,
        pre_handoff_items=_without_tool_items(handoff_input_data.pre_handoff_items),
        new_items=_without_tool_items(handoff_input_data.new_items),
    )
