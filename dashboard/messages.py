"""Model inputs and outputs as a readable conversation.

Spans carry messages in two shapes: Chat Completions messages (`{"role", "content", "tool_calls"}`)
in generation spans, and Responses API items (`{"type": "message" | "function_call" |
"function_call_output" | "reasoning", ...}`) in response spans. Both become `Turn`s: who spoke
and what, with tool calls and their results shown as such.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Turn:
    role: str  # user, assistant, system, developer, tool, reasoning, ...
    text: str
    kind: str = "text"  # text | tool_call | tool_result | json


def _parts_text(content: Any) -> str:
    """Text of a content field: a string, or a list of parts ({type, text}, images, files)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, Mapping):
                if isinstance(part.get("text"), str):
                    pieces.append(part["text"])
                elif part.get("type") in ("input_image", "image_url"):
                    pieces.append("[image]")
                elif part.get("type") in ("input_file", "file"):
                    pieces.append(f"[file {part.get('filename') or ''}]".replace(" ]", "]"))
                elif isinstance(part.get("refusal"), str):
                    pieces.append(f"[refusal] {part['refusal']}")
                else:
                    pieces.append(json.dumps(part, ensure_ascii=False))
            else:
                pieces.append(str(part))
        return "\n".join(pieces)
    return json.dumps(content, ensure_ascii=False)


def _arguments(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
        except ValueError:
            return arguments
    return json.dumps(arguments, indent=2, ensure_ascii=False)


def _item_turns(item: Mapping[str, Any]) -> list[Turn]:
    item_type = item.get("type")
    if item_type == "function_call":
        call = f"{item.get('name')}({_arguments(item.get('arguments'))})"
        return [Turn("assistant", call, "tool_call")]
    if item_type == "function_call_output":
        return [Turn("tool", _parts_text(item.get("output")), "tool_result")]
    if item_type == "reasoning":
        summary = item.get("summary") or []
        return [Turn("reasoning", _parts_text(summary) or "(reasoning)")]
    if "role" in item:
        role = str(item["role"])
        text = _parts_text(item.get("content"))
        if role == "tool":
            return [Turn("tool", text, "tool_result")]
        turns = [Turn(role, text)] if text else []
        for call in item.get("tool_calls") or []:
            function = (call.get("function") if isinstance(call, Mapping) else None) or {}
            name = function.get("name") or "tool"
            turns.append(
                Turn("assistant", f"{name}({_arguments(function.get('arguments'))})", "tool_call")
            )
        return turns or [Turn(role, "")]
    return [Turn(str(item_type or "item"), json.dumps(item, indent=2, ensure_ascii=False), "json")]


def conversation(value: Any) -> list[Turn]:
    """Turns from a span's input or output field (text, one message, or a list of items)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [Turn("user", value)]
    if isinstance(value, Mapping):
        return _item_turns(value)
    if isinstance(value, list):
        turns: list[Turn] = []
        for item in value:
            if isinstance(item, Mapping):
                turns += _item_turns(item)
            else:
                turns.append(Turn("user", str(item)))
        return turns
    return [Turn("value", str(value), "json")]


def last_user_text(value: Any) -> str | None:
    """What the user last said in a model input: the question a conversation turn answers."""
    for turn in reversed(conversation(value)):
        if turn.role == "user" and turn.kind == "text" and turn.text:
            return turn.text
    return None


def last_assistant_text(value: Any) -> str | None:
    """The assistant's text in a model output (its answer, not its tool calls)."""
    for turn in reversed(conversation(value)):
        if turn.role == "assistant" and turn.kind == "text" and turn.text:
            return turn.text
    return None
