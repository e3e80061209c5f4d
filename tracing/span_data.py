"""Span data: one class per span type, with the official SDK's `type` strings and `export()` shapes.

Additions that the SDK does not export are emitted only when set, so SDK-shaped consumers see the
same dicts: `FunctionSpanData.call_id` (the model's tool call id), `GuardrailSpanData.source`
(input, output, tool_input or tool_output), and `AgentSpanData.input`/`output` (the run's input on
the first agent, the final output on the agent that gave it; set by the runtime only with
sensitive data on, and removed from records when it is off).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any


class SpanData(abc.ABC):
    """What a span is about. Subclasses define `type` and an `export()` dict."""

    __slots__ = ()

    @property
    @abc.abstractmethod
    def type(self) -> str: ...

    @abc.abstractmethod
    def export(self) -> dict[str, Any]: ...


class AgentSpanData(SpanData):
    __slots__ = ("handoffs", "input", "metadata", "name", "output", "output_type", "tools")

    def __init__(
        self,
        name: str,
        handoffs: list[str] | None = None,
        tools: list[str] | None = None,
        output_type: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.handoffs = handoffs
        self.tools = tools
        self.output_type = output_type
        self.metadata = metadata
        self.input: Any = None
        self.output: Any = None

    @property
    def type(self) -> str:
        return "agent"

    def export(self) -> dict[str, Any]:
        exported: dict[str, Any] = {
            "type": "agent",
            "name": self.name,
            "handoffs": self.handoffs,
            "tools": self.tools,
            "output_type": self.output_type,
        }
        if self.input is not None:
            exported["input"] = self.input
        if self.output is not None:
            exported["output"] = self.output
        return exported


class TaskSpanData(SpanData):
    """One top-level run (the SDK 0.24 `task` span); exported as `custom` like the SDK does."""

    __slots__ = ("metadata", "name", "usage")

    def __init__(
        self,
        name: str,
        usage: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.usage = usage
        self.metadata = metadata

    @property
    def type(self) -> str:
        return "task"

    def export(self) -> dict[str, Any]:
        data: dict[str, Any] = {"sdk_span_type": "task", "name": self.name}
        if self.usage is not None:
            data["usage"] = self.usage
        return {"type": "custom", "name": "task", "data": data}


class TurnSpanData(SpanData):
    """One model turn of one agent (the SDK 0.24 `turn` span); exported as `custom`."""

    __slots__ = ("agent_name", "metadata", "turn", "usage")

    def __init__(
        self,
        turn: int,
        agent_name: str,
        usage: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.turn = turn
        self.agent_name = agent_name
        self.usage = usage
        self.metadata = metadata

    @property
    def type(self) -> str:
        return "turn"

    def export(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sdk_span_type": "turn",
            "turn": self.turn,
            "agent_name": self.agent_name,
        }
        if self.usage is not None:
            data["usage"] = self.usage
        return {"type": "custom", "name": "turn", "data": data}


class FunctionSpanData(SpanData):
    __slots__ = ("call_id", "input", "mcp_data", "name", "output")

    def __init__(
        self,
        name: str,
        input: str | None,
        output: Any | None,
        mcp_data: dict[str, Any] | None = None,
        call_id: str | None = None,
    ) -> None:
        self.name = name
        self.input = input
        self.output = output
        self.mcp_data = mcp_data
        self.call_id = call_id

    @property
    def type(self) -> str:
        return "function"

    def export(self) -> dict[str, Any]:
        exported = {
            "type": "function",
            "name": self.name,
            "input": self.input,
            "output": str(self.output) if self.output is not None else None,
            "mcp_data": self.mcp_data,
        }
        if self.call_id is not None:
            exported["call_id"] = self.call_id
        return exported


class GenerationSpanData(SpanData):
    __slots__ = ("input", "model", "model_config", "output", "usage")

    def __init__(
        self,
        input: Sequence[Mapping[str, Any]] | None = None,
        output: Sequence[Mapping[str, Any]] | None = None,
        model: str | None = None,
        model_config: Mapping[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        self.input = input
        self.output = output
        self.model = model
        self.model_config = model_config
        self.usage = usage

    @property
    def type(self) -> str:
        return "generation"

    def export(self) -> dict[str, Any]:
        return {
            "type": "generation",
            "input": self.input,
            "output": self.output,
            "model": self.model,
            "model_config": self.model_config,
            "usage": self.usage,
        }


class ResponseSpanData(SpanData):
    """A Responses API call. As in the SDK, `response` and `input` are not part of `export()`."""

    __slots__ = ("input", "response", "usage")

    def __init__(
        self,
        response: Any | None = None,
        input: str | list[Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        self.response = response
        self.input = input
        self.usage = usage

    @property
    def type(self) -> str:
        return "response"

    def export(self) -> dict[str, Any]:
        return {
            "type": "response",
            "response_id": _field(self.response, "id"),
            "usage": self.usage,
        }


class HandoffSpanData(SpanData):
    __slots__ = ("from_agent", "to_agent")

    def __init__(self, from_agent: str | None, to_agent: str | None) -> None:
        self.from_agent = from_agent
        self.to_agent = to_agent

    @property
    def type(self) -> str:
        return "handoff"

    def export(self) -> dict[str, Any]:
        return {"type": "handoff", "from_agent": self.from_agent, "to_agent": self.to_agent}


class CustomSpanData(SpanData):
    __slots__ = ("_data", "name")

    def __init__(self, name: str, data: dict[str, Any] | None = None) -> None:
        self.name = name
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        # Made on first use: most custom spans never get data, and an empty dict per span
        # is memory a queued span would hold.
        data = self._data
        if data is None:
            data = self._data = {}
        return data

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data = value

    @property
    def type(self) -> str:
        return "custom"

    def export(self) -> dict[str, Any]:
        return {"type": "custom", "name": self.name, "data": self.data}


class GuardrailSpanData(SpanData):
    __slots__ = ("name", "source", "triggered")

    def __init__(self, name: str, triggered: bool = False, source: str | None = None) -> None:
        self.name = name
        self.triggered = triggered
        self.source = source

    @property
    def type(self) -> str:
        return "guardrail"

    def export(self) -> dict[str, Any]:
        exported: dict[str, Any] = {
            "type": "guardrail",
            "name": self.name,
            "triggered": self.triggered,
        }
        if self.source is not None:
            exported["source"] = self.source
        return exported


class TranscriptionSpanData(SpanData):
    __slots__ = ("input", "input_format", "model", "model_config", "output")

    def __init__(
        self,
        input: str | None = None,
        input_format: str | None = "pcm",
        output: str | None = None,
        model: str | None = None,
        model_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.input = input
        self.input_format = input_format
        self.output = output
        self.model = model
        self.model_config = model_config

    @property
    def type(self) -> str:
        return "transcription"

    def export(self) -> dict[str, Any]:
        return {
            "type": "transcription",
            "input": {"data": self.input or "", "format": self.input_format},
            "output": self.output,
            "model": self.model,
            "model_config": self.model_config,
        }


class SpeechSpanData(SpanData):
    __slots__ = ("first_content_at", "input", "model", "model_config", "output", "output_format")

    def __init__(
        self,
        input: str | None = None,
        output: str | None = None,
        output_format: str | None = "pcm",
        model: str | None = None,
        model_config: Mapping[str, Any] | None = None,
        first_content_at: str | None = None,
    ) -> None:
        self.input = input
        self.output = output
        self.output_format = output_format
        self.model = model
        self.model_config = model_config
        self.first_content_at = first_content_at

    @property
    def type(self) -> str:
        return "speech"

    def export(self) -> dict[str, Any]:
        return {
            "type": "speech",
            "input": self.input,
            "output": {"data": self.output or "", "format": self.output_format},
            "model": self.model,
            "model_config": self.model_config,
            "first_content_at": self.first_content_at,
        }


class SpeechGroupSpanData(SpanData):
    __slots__ = ("input",)

    def __init__(self, input: str | None = None) -> None:
        self.input = input

    @property
    def type(self) -> str:
        return "speech_group"

    def export(self) -> dict[str, Any]:
        return {"type": "speech_group", "input": self.input}


class MCPListToolsSpanData(SpanData):
    __slots__ = ("result", "server")

    def __init__(self, server: str | None = None, result: list[str] | None = None) -> None:
        self.server = server
        self.result = result

    @property
    def type(self) -> str:
        return "mcp_tools"

    def export(self) -> dict[str, Any]:
        return {"type": "mcp_tools", "server": self.server, "result": self.result}


def _field(obj: Any, name: str) -> Any:
    """Read `name` from a pydantic/openai object or a plain dict."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)
