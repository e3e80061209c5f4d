"""Model inputs and outputs in the shape of the GenAI conventions' `gen_ai.input.messages` and
`gen_ai.output.messages`: a list of `{role, parts: [...]}` with `text`, `tool_call` and
`tool_call_response` parts.

Both Chat Completions messages and Responses API items are understood. Anything else becomes a
generic part that keeps the original item, so nothing a backend might want is thrown away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TEXT_ITEM_TYPES = frozenset({"text", "input_text", "output_text", "refusal"})


def to_genai_messages(items: Any, default_role: str) -> list[dict[str, Any]]:
    """Messages in the conventions' schema from Chat Completions messages, Responses API items or
    a plain string."""
    if items is None:
        return []
    if isinstance(items, str):
        return [{"role": default_role, "parts": [_text(items)]}]
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list | tuple):
        return [{"role": default_role, "parts": [_text(str(items))]}]
    messages: list[dict[str, Any]] = []
    for item in items:
        message = _message(item, default_role)
        # Responses API tool calls and results are separate items; fold them into the message
        # before them when the role matches, as a chat transcript would show them.
        if messages and message["role"] == messages[-1]["role"] and _is_tool_item(item):
            messages[-1]["parts"].extend(message["parts"])
        else:
            messages.append(message)
    return messages


def _is_tool_item(item: Any) -> bool:
    return isinstance(item, Mapping) and item.get("type") in (
        "function_call",
        "function_call_output",
    )


def _text(content: str) -> dict[str, Any]:
    return {"type": "text", "content": content}


def _message(item: Any, default_role: str) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        return {"role": default_role, "parts": [_text(str(item))]}
    item_type = item.get("type")
    if item_type == "function_call":
        part = {
            "type": "tool_call",
            "id": item.get("call_id") or item.get("id"),
            "name": item.get("name"),
            "arguments": item.get("arguments"),
        }
        return {"role": "assistant", "parts": [part]}
    if item_type == "function_call_output":
        part = {
            "type": "tool_call_response",
            "id": item.get("call_id"),
            "response": item.get("output"),
        }
        return {"role": "tool", "parts": [part]}
    role = str(item.get("role") or default_role)
    parts = _content_parts(item.get("content"))
    for call in item.get("tool_calls") or ():
        if not isinstance(call, Mapping):
            continue
        function = call.get("function") or {}
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments"),
            }
        )
    if role == "tool" and item.get("tool_call_id"):
        response = parts[0].get("content") if len(parts) == 1 else parts
        parts = [{"type": "tool_call_response", "id": item["tool_call_id"], "response": response}]
    if not parts and item_type not in (None, "message"):
        parts = [{"type": str(item_type), "content": dict(item)}]
    message: dict[str, Any] = {"role": role, "parts": parts}
    if item.get("finish_reason"):
        message["finish_reason"] = item["finish_reason"]
    return message


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text(content)]
    if not isinstance(content, list | tuple):
        return [_text(str(content))]
    parts: list[dict[str, Any]] = []
    for piece in content:
        if isinstance(piece, str):
            parts.append(_text(piece))
        elif isinstance(piece, Mapping) and piece.get("type") in _TEXT_ITEM_TYPES:
            parts.append(_text(str(piece.get("text") or piece.get("refusal") or "")))
        elif isinstance(piece, Mapping):
            parts.append({"type": str(piece.get("type") or "unknown"), "content": dict(piece)})
        else:
            parts.append(_text(str(piece)))
    return parts
