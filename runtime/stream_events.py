"""Events of a streamed run (`RunResultStreaming.stream_events()`), with the SDK's names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    from .agent import Agent
    from .items import RunItem, TResponseStreamEvent


@dataclass
class RawResponsesStreamEvent:
    """A raw Responses API stream event, passed on from the model as it arrives."""

    data: TResponseStreamEvent
    type: Literal["raw_response_event"] = "raw_response_event"


RunItemEventName: TypeAlias = Literal[
    "message_output_created",
    "handoff_requested",
    # The SDK's misspelling, kept so code written for it matches.
    "handoff_occured",
    "tool_called",
    "tool_output",
    "reasoning_item_created",
    "mcp_approval_requested",
    "mcp_approval_response",
    "mcp_list_tools",
]


@dataclass
class RunItemStreamEvent:
    """A run item was created: a message, a tool call or its output, a handoff..."""

    name: RunItemEventName
    item: RunItem
    type: Literal["run_item_stream_event"] = "run_item_stream_event"


@dataclass
class AgentUpdatedStreamEvent:
    """A new agent is now running (the first one, or the target of a handoff)."""

    new_agent: Agent[Any]
    type: Literal["agent_updated_stream_event"] = "agent_updated_stream_event"


StreamEvent: TypeAlias = RawResponsesStreamEvent | RunItemStreamEvent | AgentUpdatedStreamEvent
