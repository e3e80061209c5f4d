"""Run items and model responses. Items are the OpenAI Responses API's input/output items, as in
the SDK: model output is `openai.types.responses` objects, input is their TypedDict params.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

from openai.types.responses import (
    Response,
    ResponseFunctionToolCall,
    ResponseInputItemParam,
    ResponseOutputItem,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseStreamEvent,
)
from openai.types.responses.response_input_item_param import FunctionCallOutput
from pydantic import BaseModel

from .exceptions import ModelBehaviorError
from .usage import Usage

if TYPE_CHECKING:
    from .agent import Agent

TResponse = Response
"""A model response, in OpenAI Responses format."""
TResponseInputItem: TypeAlias = ResponseInputItemParam
"""An item sent to the model (a TypedDict of the Responses API)."""
TResponseOutputItem: TypeAlias = ResponseOutputItem
"""An item the model produced (a pydantic model of the Responses API)."""
TResponseStreamEvent: TypeAlias = ResponseStreamEvent
"""A Responses API stream event."""


def output_item_to_input_item(raw_item: Any) -> TResponseInputItem:
    """An output item as input for the next call. Output-only fields are dropped."""
    if isinstance(raw_item, BaseModel):
        payload = raw_item.model_dump(exclude_unset=True)
    elif isinstance(raw_item, Mapping):
        payload = dict(raw_item)
    else:
        raise TypeError(f"Unexpected raw item type: {type(raw_item)!r}")
    # `created_by` is server-assigned and not part of the input schema.
    payload.pop("created_by", None)
    return cast(TResponseInputItem, payload)


@dataclass(eq=False)
class RunItemBase:
    """An item a run produced, with the agent whose turn produced it."""

    agent: Agent[Any] | None
    raw_item: Any

    def to_input_item(self) -> TResponseInputItem:
        return output_item_to_input_item(self.raw_item)

    def release_agent(self) -> None:
        """Drop the reference to the agent (long-lived results need not keep agents alive)."""
        self.agent = None


@dataclass(eq=False)
class MessageOutputItem(RunItemBase):
    """A message from the model."""

    raw_item: ResponseOutputMessage
    type: Literal["message_output_item"] = "message_output_item"


@dataclass(eq=False)
class HandoffCallItem(RunItemBase):
    """The model's tool call that asks for a handoff."""

    raw_item: ResponseFunctionToolCall
    type: Literal["handoff_call_item"] = "handoff_call_item"


@dataclass(eq=False)
class HandoffOutputItem(RunItemBase):
    """The function_call_output that records a handoff taking place."""

    raw_item: TResponseInputItem
    source_agent: Agent[Any] | None = None
    target_agent: Agent[Any] | None = None
    type: Literal["handoff_output_item"] = "handoff_output_item"

    def release_agent(self) -> None:
        self.agent = self.source_agent = self.target_agent = None


@dataclass(eq=False)
class ToolCallItem(RunItemBase):
    """A tool call (function or hosted tool) the model made."""

    raw_item: Any
    type: Literal["tool_call_item"] = "tool_call_item"
    description: str | None = None

    @property
    def tool_name(self) -> str | None:
        return _field(self.raw_item, "name")

    @property
    def call_id(self) -> str | None:
        return _field(self.raw_item, "call_id") or _field(self.raw_item, "id")


@dataclass(eq=False)
class ToolCallOutputItem(RunItemBase):
    """The output of a tool call; `output` is what the tool returned, `raw_item` its text form."""

    raw_item: Any
    output: Any = None
    type: Literal["tool_call_output_item"] = "tool_call_output_item"

    @property
    def call_id(self) -> str | None:
        return _field(self.raw_item, "call_id")


@dataclass(eq=False)
class ReasoningItem(RunItemBase):
    """A reasoning item from a reasoning model."""

    raw_item: ResponseReasoningItem
    type: Literal["reasoning_item"] = "reasoning_item"


@dataclass(eq=False)
class MCPListToolsItem(RunItemBase):
    """A hosted MCP server's tool listing (an `mcp_list_tools` output item)."""

    raw_item: Any
    type: Literal["mcp_list_tools_item"] = "mcp_list_tools_item"


@dataclass(eq=False)
class MCPApprovalRequestItem(RunItemBase):
    """A hosted MCP server asking to approve a tool call (`mcp_approval_request`)."""

    raw_item: Any
    type: Literal["mcp_approval_request_item"] = "mcp_approval_request_item"


@dataclass(eq=False)
class MCPApprovalResponseItem(RunItemBase):
    """The answer to an approval request (an `mcp_approval_response` input item)."""

    raw_item: Any
    type: Literal["mcp_approval_response_item"] = "mcp_approval_response_item"


@dataclass(eq=False)
class ToolApprovalItem(RunItemBase):
    """A tool call that waits for a human decision (its tool has `needs_approval`). A run that
    reaches one stops with it in `result.interruptions`; approve or reject it on
    `result.to_state()` and run that state to continue."""

    raw_item: Any
    tool_name: str | None = None
    type: Literal["tool_approval_item"] = "tool_approval_item"

    def __post_init__(self) -> None:
        if self.tool_name is None:
            self.tool_name = _field(self.raw_item, "name")

    @property
    def name(self) -> str | None:
        """The tool's name (the SDK's examples print `interruption.name`)."""
        return self.tool_name

    @property
    def arguments(self) -> str | None:
        """The call's JSON arguments, as the model wrote them."""
        return _field(self.raw_item, "arguments")

    @property
    def call_id(self) -> str | None:
        return _field(self.raw_item, "call_id") or _field(self.raw_item, "id")

    @property
    def agent_name(self) -> str | None:
        return self.agent.name if self.agent is not None else self._agent_name

    _agent_name: str | None = field(default=None, repr=False)
    """The agent's name, kept when the item was restored from JSON or its agent released."""

    def release_agent(self) -> None:
        if self.agent is not None:
            self._agent_name = self.agent.name
        self.agent = None


RunItem: TypeAlias = (
    MessageOutputItem
    | HandoffCallItem
    | HandoffOutputItem
    | ToolCallItem
    | ToolCallOutputItem
    | ReasoningItem
    | MCPListToolsItem
    | MCPApprovalRequestItem
    | MCPApprovalResponseItem
    | ToolApprovalItem
)
"""An item generated by an agent during a run."""


def _field(raw: Any, key: str) -> Any:
    if isinstance(raw, Mapping):
        return raw.get(key)
    return getattr(raw, key, None)


@dataclass
class ModelResponse:
    """What one model call returned."""

    output: list[TResponseOutputItem]
    """Messages, tool calls, reasoning... in Responses format."""
    usage: Usage
    response_id: str | None
    """The provider's response id (for `previous_response_id`), if it has one."""
    request_id: str | None = None
    """The transport request id, if the client reported one."""
    raw_usage: dict[str, Any] | None = field(default=None, repr=False)

    def to_input_items(self) -> list[TResponseInputItem]:
        """The output as input items for the next model call."""
        return [output_item_to_input_item(item) for item in self.output]


class ItemHelpers:
    """Helpers to read text out of items and to build input lists."""

    @classmethod
    def extract_last_content(cls, message: Any) -> str:
        """The last text or refusal of a message; "" for anything else."""
        if not isinstance(message, ResponseOutputMessage) or not message.content:
            return ""
        last = message.content[-1]
        if isinstance(last, ResponseOutputText):
            return last.text or ""
        if isinstance(last, ResponseOutputRefusal):
            return last.refusal
        raise ModelBehaviorError(f"Unexpected content type: {type(last)!r}")

    @classmethod
    def extract_last_text(cls, message: Any) -> str | None:
        """The last text part of a message, ignoring refusals."""
        if isinstance(message, ResponseOutputMessage) and message.content:
            last = message.content[-1]
            if isinstance(last, ResponseOutputText):
                return last.text
        return None

    @classmethod
    def extract_text(cls, message: Any) -> str | None:
        """All text parts of a message joined, or None."""
        if not isinstance(message, ResponseOutputMessage):
            return None
        text = "".join(
            part.text or "" for part in message.content if isinstance(part, ResponseOutputText)
        )
        return text or None

    @classmethod
    def extract_refusal(cls, message: Any) -> str | None:
        if not isinstance(message, ResponseOutputMessage):
            return None
        refusal = "".join(
            part.refusal or ""
            for part in message.content
            if isinstance(part, ResponseOutputRefusal)
        )
        return refusal or None

    @classmethod
    def input_to_new_input_list(
        cls, input: str | Iterable[TResponseInputItem | BaseModel]
    ) -> list[TResponseInputItem]:
        """A string becomes one user message; a list is copied (items as plain dicts)."""
        if isinstance(input, str):
            return [cast(TResponseInputItem, {"content": input, "role": "user"})]
        return [
            output_item_to_input_item(item) if isinstance(item, BaseModel) else item
            for item in input
        ]

    @classmethod
    def text_message_outputs(cls, items: Iterable[Any]) -> str:
        """The text of every message item, concatenated."""
        return "".join(
            cls.text_message_output(item) for item in items if isinstance(item, MessageOutputItem)
        )

    @classmethod
    def text_message_output(cls, message: MessageOutputItem) -> str:
        return "".join(
            part.text or ""
            for part in message.raw_item.content
            if isinstance(part, ResponseOutputText)
        )

    @classmethod
    def tool_call_output_item(cls, tool_call: Any, output: Any) -> FunctionCallOutput:
        """The `function_call_output` input item answering `tool_call` with `output`."""
        return {
            "call_id": _field(tool_call, "call_id"),
            "output": tool_output_text(output),
            "type": "function_call_output",
        }


def tool_output_text(output: Any) -> str:
    """How a tool's return value is shown to the model: strings as-is, pydantic models and
    JSON-able containers as JSON, anything else through str()."""
    if isinstance(output, str):
        return output
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    if isinstance(output, dict | list):
        try:
            return json.dumps(output, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(output)
    return str(output)
