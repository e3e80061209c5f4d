"""Factories with the official SDK's names and arguments. None of them start what they make."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .provider import get_trace_provider
from .span_data import (
    AgentSpanData,
    CustomSpanData,
    FunctionSpanData,
    GenerationSpanData,
    GuardrailSpanData,
    HandoffSpanData,
    MCPListToolsSpanData,
    ResponseSpanData,
    SpeechGroupSpanData,
    SpeechSpanData,
    TaskSpanData,
    TranscriptionSpanData,
    TurnSpanData,
)
from .spans import Span
from .traces import Trace

Parent = Trace | Span[Any] | None


def trace(
    workflow_name: str,
    trace_id: str | None = None,
    group_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    tracing: Any = None,
    disabled: bool = False,
) -> Trace:
    """A new trace. `with trace("My workflow"):` makes it current for everything inside."""
    return get_trace_provider().create_trace(
        workflow_name, trace_id=trace_id, group_id=group_id, metadata=metadata, disabled=disabled
    )


# The provider is a process-wide singleton: the factories call its bound method directly, one
# call less per span on the agent's hot path.
_create_span = get_trace_provider().create_span


def agent_span(
    name: str,
    handoffs: list[str] | None = None,
    tools: list[str] | None = None,
    output_type: str | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[AgentSpanData]:
    return _create_span(
        AgentSpanData(name, handoffs, tools, output_type), span_id, parent, disabled
    )


def task_span(
    name: str, span_id: str | None = None, parent: Parent = None, disabled: bool = False
) -> Span[TaskSpanData]:
    return _create_span(TaskSpanData(name), span_id, parent, disabled)


def turn_span(
    turn: int,
    agent_name: str,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[TurnSpanData]:
    return _create_span(TurnSpanData(turn, agent_name), span_id, parent, disabled)


def function_span(
    name: str,
    input: str | None = None,
    output: str | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
    call_id: str | None = None,
) -> Span[FunctionSpanData]:
    return _create_span(
        FunctionSpanData(name, input, output, call_id=call_id), span_id, parent, disabled
    )


def generation_span(
    input: Sequence[Mapping[str, Any]] | None = None,
    output: Sequence[Mapping[str, Any]] | None = None,
    model: str | None = None,
    model_config: Mapping[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[GenerationSpanData]:
    data = GenerationSpanData(input, output, model, model_config, usage)
    return _create_span(data, span_id, parent, disabled)


def response_span(
    response: Any | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[ResponseSpanData]:
    return _create_span(ResponseSpanData(response=response), span_id, parent, disabled)


def handoff_span(
    from_agent: str | None = None,
    to_agent: str | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[HandoffSpanData]:
    return _create_span(HandoffSpanData(from_agent, to_agent), span_id, parent, disabled)


def custom_span(
    name: str,
    data: dict[str, Any] | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[CustomSpanData]:
    return _create_span(CustomSpanData(name, data), span_id, parent, disabled)


def guardrail_span(
    name: str,
    triggered: bool = False,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
    source: str | None = None,
) -> Span[GuardrailSpanData]:
    return _create_span(GuardrailSpanData(name, triggered, source), span_id, parent, disabled)


def transcription_span(
    model: str | None = None,
    input: str | None = None,
    input_format: str | None = "pcm",
    output: str | None = None,
    model_config: Mapping[str, Any] | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[TranscriptionSpanData]:
    data = TranscriptionSpanData(input, input_format, output, model, model_config)
    return _create_span(data, span_id, parent, disabled)


def speech_span(
    model: str | None = None,
    input: str | None = None,
    output: str | None = None,
    output_format: str | None = "pcm",
    model_config: Mapping[str, Any] | None = None,
    first_content_at: str | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[SpeechSpanData]:
    data = SpeechSpanData(input, output, output_format, model, model_config, first_content_at)
    return _create_span(data, span_id, parent, disabled)


def speech_group_span(
    input: str | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[SpeechGroupSpanData]:
    return _create_span(SpeechGroupSpanData(input), span_id, parent, disabled)


def mcp_tools_span(
    server: str | None = None,
    result: list[str] | None = None,
    span_id: str | None = None,
    parent: Parent = None,
    disabled: bool = False,
) -> Span[MCPListToolsSpanData]:
    return _create_span(MCPListToolsSpanData(server, result), span_id, parent, disabled)
