"""Responses API items <-> Chat Completions messages, tools and formats.

The runtime speaks Responses items everywhere; a Chat Completions model converts at its edge:
input items become chat messages (assistant text and tool calls merged into one assistant
message, tool outputs become `tool` messages), and the returned chat message becomes output
items. Output items get a placeholder id (`FAKE_RESPONSES_ID`, the SDK's value) because Chat
Completions has none; the Responses model drops it again when such items are sent there.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from openai import omit
from openai.types.chat import ChatCompletionMessage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputItem,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
)

from ..exceptions import UserError
from ..model_settings import MCPToolChoice
from ..tool import FunctionTool

if TYPE_CHECKING:
    from ..agent_output import AgentOutputSchemaBase
    from ..handoffs import Handoff
    from ..tool import Tool

FAKE_RESPONSES_ID = "__fake_id__"
"""The id of output items that came from an API without item ids (the SDK's placeholder)."""

_MESSAGE_ROLES = ("user", "system", "developer", "assistant")


def new_call_id() -> str:
    """A fresh tool call id, for providers that send a tool call without one."""
    return f"call_{secrets.token_hex(12)}"


# --- input items -> chat messages -----------------------------------------------------------


def _field(item: Any, key: str, default: Any = None) -> Any:
    if isinstance(item, Mapping):
        return item.get(key, default)
    return getattr(item, key, default)


def _content_parts(content: Any) -> str | list[dict[str, Any]]:
    """Responses content (a string or input parts) as chat content."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in content or ():
        kind = _field(part, "type")
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": _field(part, "text", "")})
        elif kind == "input_image":
            url = _field(part, "image_url")
            if not url:
                raise UserError(f"Only image URLs are supported for input_image: {part!r}")
            detail = _field(part, "detail") or "auto"
            image = {"url": url, "detail": "high" if detail == "original" else detail}
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            file: dict[str, Any] = {}
            for key in ("file_data", "file_id", "filename"):
                if value := _field(part, key):
                    file[key] = value
            if not ("file_data" in file or "file_id" in file):
                raise UserError(f"input_file needs file_data or file_id: {part!r}")
            parts.append({"type": "file", "file": file})
        elif kind == "input_audio":
            parts.append({"type": "input_audio", "input_audio": _field(part, "input_audio")})
        elif kind == "refusal":
            parts.append({"type": "text", "text": _field(part, "refusal", "")})
        else:
            raise UserError(f"Unsupported content part for Chat Completions: {part!r}")
    return parts


def _text_only(content: Any) -> str:
    """Content for roles that take text only (system, developer, assistant, tool)."""
    converted = _content_parts(content)
    if isinstance(converted, str):
        return converted
    return "\n".join(part["text"] for part in converted if part.get("type") == "text")


def items_to_messages(items: str | Iterable[Any]) -> list[dict[str, Any]]:
    """Responses input items as Chat Completions messages.

    Consecutive assistant output (text, refusal, function calls) is merged into one assistant
    message, as Chat Completions expects a tool-calling turn to be a single message.
    """
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    messages: list[dict[str, Any]] = []
    assistant: dict[str, Any] | None = None

    def flush() -> None:
        nonlocal assistant
        if assistant is not None:
            if not assistant["tool_calls"]:
                del assistant["tool_calls"]
            messages.append(assistant)
            assistant = None

    def open_assistant() -> dict[str, Any]:
        nonlocal assistant
        if assistant is None:
            assistant = {"role": "assistant", "content": None, "tool_calls": []}
        return assistant

    for item in items:
        kind = _field(item, "type")
        role = _field(item, "role")
        if kind in (None, "message") and role == "assistant":
            # Output message (or an easy assistant message): text joins the open assistant turn
            # unless that turn already made tool calls (text after tool calls starts anew).
            if assistant is not None and assistant["tool_calls"]:
                flush()
            message = open_assistant()
            content = _field(item, "content")
            if isinstance(content, str):
                texts = [content]
            else:
                texts = [_field(p, "text") for p in content or () if _field(p, "type") != "refusal"]
                refusals = [
                    _field(p, "refusal") for p in content or () if _field(p, "type") == "refusal"
                ]
                if refusals:
                    message["refusal"] = "\n".join(r for r in refusals if r)
            joined = "\n".join(t for t in texts if t)
            if joined:
                previous = message["content"]
                message["content"] = f"{previous}\n{joined}" if previous else joined
        elif kind in (None, "message") and role in _MESSAGE_ROLES:
            flush()
            content = _field(item, "content")
            if role == "user":
                messages.append({"role": "user", "content": _content_parts(content)})
            else:
                messages.append({"role": role, "content": _text_only(content)})
        elif kind == "function_call":
            message = open_assistant()
            message["tool_calls"].append(
                {
                    "id": _field(item, "call_id"),
                    "type": "function",
                    "function": {
                        "name": _field(item, "name"),
                        "arguments": _field(item, "arguments") or "{}",
                    },
                }
            )
        elif kind == "function_call_output":
            flush()
            output = _field(item, "output")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": _field(item, "call_id"),
                    "content": output if isinstance(output, str) else _text_only(output),
                }
            )
        elif kind == "reasoning":
            # Chat Completions has no place for reasoning items; they are not replayed.
            continue
        else:
            raise UserError(
                f"Cannot send this item to a Chat Completions model: {item!r}. "
                "Use a Responses model for hosted tools and item references."
            )
    flush()
    return messages


# --- tools, tool choice, output format ------------------------------------------------------


def tool_to_chat(tool: Tool) -> dict[str, Any]:
    if not isinstance(tool, FunctionTool):
        raise UserError(
            f"Hosted tools need the Responses API (OpenAIResponsesModel); got {tool!r} for a "
            "Chat Completions model."
        )
    return _function_param(
        tool.name, tool.description, tool.params_json_schema, tool.strict_json_schema
    )


def handoff_to_chat(handoff: Handoff) -> dict[str, Any]:
    return _function_param(
        handoff.tool_name,
        handoff.tool_description,
        handoff.input_json_schema,
        handoff.strict_json_schema,
    )


def tools_to_chat(tools: Sequence[Tool], handoffs: Sequence[Handoff]) -> list[dict[str, Any]]:
    return [tool_to_chat(tool) for tool in tools] + [handoff_to_chat(h) for h in handoffs]


def _function_param(
    name: str, description: str | None, parameters: dict[str, Any], strict: bool
) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description or "",
            "parameters": parameters,
            "strict": strict,
        },
    }


def convert_tool_choice(tool_choice: Any) -> Any:
    """ModelSettings.tool_choice as the Chat Completions `tool_choice`."""
    if tool_choice is None:
        return omit
    if isinstance(tool_choice, MCPToolChoice):
        raise UserError("MCPToolChoice needs the Responses API, not Chat Completions")
    if tool_choice in ("auto", "required", "none"):
        return tool_choice
    if isinstance(tool_choice, str):
        return {"type": "function", "function": {"name": tool_choice}}
    raise UserError(f"Unsupported tool_choice: {tool_choice!r}")


def convert_response_format(output_schema: AgentOutputSchemaBase | None) -> Any:
    """Structured output as a `json_schema` response format (omitted for plain text)."""
    if output_schema is None or output_schema.is_plain_text():
        return omit
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "final_output",
            "strict": output_schema.is_strict_json_schema(),
            "schema": output_schema.json_schema(),
        },
    }


# --- chat message -> output items -----------------------------------------------------------


def message_to_output_items(message: ChatCompletionMessage) -> list[ResponseOutputItem]:
    """A chat completion's message as Responses output items: one assistant message (text and
    refusal) and one `function_call` per tool call, each with a unique call id."""
    items: list[ResponseOutputItem] = []
    content: list[ResponseOutputText | ResponseOutputRefusal] = []
    if message.content:
        content.append(ResponseOutputText(type="output_text", text=message.content, annotations=[]))
    if message.refusal:
        content.append(ResponseOutputRefusal(type="refusal", refusal=message.refusal))
    if content:
        items.append(
            ResponseOutputMessage(
                id=FAKE_RESPONSES_ID,
                type="message",
                role="assistant",
                status="completed",
                content=content,
            )
        )
    seen: set[str] = set()
    for call in message.tool_calls or ():
        function = getattr(call, "function", None)
        if function is None:  # a custom (non-function) tool call: not representable here
            raise UserError(f"Unsupported tool call type from Chat Completions: {call.type!r}")
        call_id = call.id if call.id and call.id not in seen else new_call_id()
        seen.add(call_id)
        items.append(
            ResponseFunctionToolCall(
                id=FAKE_RESPONSES_ID,
                type="function_call",
                call_id=call_id,
                name=function.name,
                arguments=function.arguments or "{}",
                status="completed",
            )
        )
    return items


def message_for_trace(message: ChatCompletionMessage) -> dict[str, Any]:
    """The assistant message as a plain dict for a generation span's `output`."""
    return message.model_dump(mode="json", exclude_none=True)
