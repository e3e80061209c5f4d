"""`ScriptedModel`: a model that plays back a list of turns, for offline runs, demos and tests.

    model = ScriptedModel([
        ScriptedTurn([tool_call("get_weather", {"city": "Paris"})], usage=Usage(input_tokens=20,
                     output_tokens=5)),
        [text_message("It is sunny in Paris.")],
    ])

Like a real model it opens a generation span per call, with its usage (and, when the run allows
sensitive data, its input and output), and it streams Responses API events.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from agentoscope.tracing import Span, generation_span

from ..agent_output import AgentOutputSchemaBase
from ..handoffs import Handoff
from ..items import TResponseInputItem, TResponseOutputItem, TResponseStreamEvent
from ..model_settings import ModelSettings
from ..usage import Usage
from .interface import Model, ModelTracing


def _new_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(12).hex()}"


def text_message(text: str, *, item_id: str | None = None) -> ResponseOutputMessage:
    """An assistant message output item with one text part."""
    part = ResponseOutputText(text=text, type="output_text", annotations=[])
    return ResponseOutputMessage(
        id=item_id or _new_id("msg"),
        type="message",
        role="assistant",
        status="completed",
        content=[part],
    )


def tool_call(
    name: str,
    arguments: Mapping[str, Any] | str,
    call_id: str | None = None,
    *,
    item_id: str | None = None,
) -> ResponseFunctionToolCall:
    """A function call output item; `arguments` is a dict (serialised to JSON) or a JSON
    string (sent as-is, so a test can feed the runtime malformed arguments)."""
    call_id = call_id or _new_id("call")
    return ResponseFunctionToolCall(
        id=item_id or _new_id("fc"),
        call_id=call_id,
        type="function_call",
        name=name,
        arguments=arguments if isinstance(arguments, str) else json.dumps(arguments),
        status="completed",
    )


@dataclass
class ScriptedTurn:
    """One model call's answer: output items and the usage to report, or an error to raise."""

    output: Sequence[TResponseOutputItem] = ()
    usage: Usage | None = None
    """None: the model's default usage."""
    response_id: str | None = None
    error: BaseException | None = None
    delay: float = 0.0
    """Seconds to wait inside the model span, like a real model's latency (demos, timeouts)."""


TurnSpec: TypeAlias = ScriptedTurn | Sequence[TResponseOutputItem] | TResponseOutputItem | Exception


@dataclass
class ScriptedCall:
    """What the runtime sent in one call (kept for assertions)."""

    system_instructions: str | None
    input: str | list[TResponseInputItem]
    model_settings: ModelSettings
    tools: list[Any]
    output_schema: AgentOutputSchemaBase | None
    handoffs: list[Handoff]
    tracing: ModelTracing
    previous_response_id: str | None
    conversation_id: str | None
    streamed: bool = False
    tool_names: list[str] = field(default_factory=list)


def _coerce_turn(spec: TurnSpec) -> ScriptedTurn:
    if isinstance(spec, ScriptedTurn):
        return spec
    if isinstance(spec, BaseException):
        return ScriptedTurn(error=spec)
    if isinstance(spec, Sequence) and not isinstance(spec, str | bytes):
        return ScriptedTurn(output=list(spec))
    return ScriptedTurn(output=[spec])


def _per_call_usage(usage: Usage) -> Usage:
    """A fresh Usage for one request (requests=1, total filled in if left at 0)."""
    return Usage(
        requests=usage.requests or 1,
        input_tokens=usage.input_tokens,
        input_tokens_details=usage.input_tokens_details,
        output_tokens=usage.output_tokens,
        output_tokens_details=usage.output_tokens_details,
        total_tokens=usage.total_tokens or usage.input_tokens + usage.output_tokens,
    )


class ScriptedModel(Model):
    """Plays back `turns` in order, one per model call; running out is an error that names the
    call. Each turn is a ScriptedTurn, a list of output items, one output item, or an exception
    to raise."""

    def __init__(
        self,
        turns: Iterable[TurnSpec] = (),
        *,
        model: str = "scripted-model",
        default_usage: Usage | None = None,
    ) -> None:
        self.model = model
        self.default_usage = default_usage or Usage()
        self._turns = [_coerce_turn(t) for t in turns]
        self._next = 0
        self.calls: list[ScriptedCall] = []

    @property
    def remaining_turns(self) -> int:
        return len(self._turns) - self._next

    def add_turns(self, *turns: TurnSpec) -> None:
        self._turns.extend(_coerce_turn(t) for t in turns)

    def _take_turn(self, call: ScriptedCall) -> ScriptedTurn:
        self.calls.append(call)
        if self._next >= len(self._turns):
            raise RuntimeError(
                f"ScriptedModel {self.model!r} has no turn left for call #{len(self.calls)} "
                f"(it was given {len(self._turns)})"
            )
        turn = self._turns[self._next]
        self._next += 1
        return turn

    def _open_span(
        self,
        instructions: str | None,
        input: str | list[TResponseInputItem],
        settings: ModelSettings,
        tracing: ModelTracing,
    ) -> Span[Any]:
        span_input = None
        if tracing.include_data():
            messages: list[Any] = (
                [{"role": "system", "content": instructions}] if instructions else []
            )
            if isinstance(input, str):
                messages.append({"role": "user", "content": input})
            else:
                messages.extend(input)
            span_input = messages
        return generation_span(
            input=span_input,
            model=self.model,
            model_config=settings.to_traceable_dict(),
            disabled=tracing.is_disabled(),
        )

    @staticmethod
    def _close_span(
        span: Span[Any], turn: ScriptedTurn | None, usage: Usage | None, tracing: ModelTracing
    ) -> None:
        if usage is not None:
            span.span_data.usage = usage.to_span_usage()
        if turn is not None and tracing.include_data():
            span.span_data.output = [item.model_dump(exclude_unset=True) for item in turn.output]

    @staticmethod
    def _record_error(span: Span[Any], error: BaseException, tracing: ModelTracing) -> None:
        data: dict[str, Any] = {"type": type(error).__name__}
        if tracing.include_data():
            data["message"] = str(error)
        span.set_error({"message": "Error getting response from the model", "data": data})

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Any],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any | None,
    ) -> Any:
        from ..items import ModelResponse

        call = ScriptedCall(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            previous_response_id,
            conversation_id,
        )
        span = self._open_span(system_instructions, input, model_settings, tracing)
        span.start(mark_as_current=True)
        turn: ScriptedTurn | None = None
        usage: Usage | None = None
        try:
            turn = self._take_turn(call)
            if turn.delay:
                await asyncio.sleep(turn.delay)
            if turn.error is not None:
                raise turn.error
            usage = _per_call_usage(turn.usage or self.default_usage)
            return ModelResponse(
                output=list(turn.output),
                usage=usage,
                response_id=turn.response_id or _new_id("resp"),
            )
        except BaseException as error:
            self._record_error(span, error, tracing)
            raise
        finally:
            self._close_span(span, turn, usage, tracing)
            span.finish(reset_current=True)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Any],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: Any | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        call = ScriptedCall(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            previous_response_id,
            conversation_id,
            streamed=True,
        )
        # Not marked current: an async generator runs in its consumer's context, so making the
        # span current here would leak it into the runner between events.
        span = self._open_span(system_instructions, input, model_settings, tracing)
        span.start()
        turn: ScriptedTurn | None = None
        usage: Usage | None = None
        try:
            turn = self._take_turn(call)
            if turn.delay:
                await asyncio.sleep(turn.delay)
            if turn.error is not None:
                raise turn.error
            usage = _per_call_usage(turn.usage or self.default_usage)
            for event in _stream_events(self.model, turn, usage):
                yield event
        except BaseException as error:
            if not isinstance(error, GeneratorExit):
                self._record_error(span, error, tracing)
            raise
        finally:
            self._close_span(span, turn, usage, tracing)
            span.finish()


def _response(model: str, response_id: str, output: list[Any], usage: Usage | None) -> Response:
    return Response(
        id=response_id,
        created_at=time.time(),
        model=model,
        object="response",
        output=output,
        parallel_tool_calls=True,
        tool_choice="auto",
        tools=[],
        status="completed" if usage is not None else "in_progress",
        usage=ResponseUsage(
            input_tokens=usage.input_tokens,
            input_tokens_details=InputTokensDetails(
                cached_tokens=usage.input_tokens_details.cached_tokens,
                cache_write_tokens=usage.input_tokens_details.cache_write_tokens,
            ),
            output_tokens=usage.output_tokens,
            output_tokens_details=OutputTokensDetails(
                reasoning_tokens=usage.output_tokens_details.reasoning_tokens
            ),
            total_tokens=usage.total_tokens,
        )
        if usage is not None
        else None,
    )


def _stream_events(model: str, turn: ScriptedTurn, usage: Usage) -> Iterable[Any]:
    """The Responses API event sequence of a response made of `turn.output`."""
    response_id = turn.response_id or _new_id("resp")
    seq = iter(range(1_000_000))
    yield ResponseCreatedEvent(
        type="response.created",
        sequence_number=next(seq),
        response=_response(model, response_id, [], None),
    )
    for index, item in enumerate(turn.output):
        pending: TResponseOutputItem
        if isinstance(item, ResponseOutputMessage):
            pending = item.model_copy(update={"status": "in_progress", "content": []})
        elif isinstance(item, ResponseFunctionToolCall):
            pending = item.model_copy(update={"status": "in_progress", "arguments": ""})
        else:
            pending = item
        yield ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            sequence_number=next(seq),
            output_index=index,
            item=pending,
        )
        if isinstance(item, ResponseOutputMessage):
            for part_index, part in enumerate(item.content):
                empty = part.model_copy(update={"text": ""}) if part.type == "output_text" else part
                yield ResponseContentPartAddedEvent(
                    type="response.content_part.added",
                    sequence_number=next(seq),
                    item_id=item.id,
                    output_index=index,
                    content_index=part_index,
                    part=empty,
                )
                if part.type == "output_text":
                    # Word-sized deltas, as a real model streams.
                    words = part.text.split(" ")
                    for i, word in enumerate(words):
                        yield ResponseTextDeltaEvent(
                            type="response.output_text.delta",
                            sequence_number=next(seq),
                            item_id=item.id,
                            output_index=index,
                            content_index=part_index,
                            delta=word if i == 0 else " " + word,
                            logprobs=[],
                        )
                    yield ResponseTextDoneEvent(
                        type="response.output_text.done",
                        sequence_number=next(seq),
                        item_id=item.id,
                        output_index=index,
                        content_index=part_index,
                        text=part.text,
                        logprobs=[],
                    )
                yield ResponseContentPartDoneEvent(
                    type="response.content_part.done",
                    sequence_number=next(seq),
                    item_id=item.id,
                    output_index=index,
                    content_index=part_index,
                    part=part,
                )
        elif isinstance(item, ResponseFunctionToolCall):
            yield ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                sequence_number=next(seq),
                item_id=item.id or "",
                output_index=index,
                delta=item.arguments,
            )
            yield ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done",
                sequence_number=next(seq),
                item_id=item.id or "",
                output_index=index,
                arguments=item.arguments,
                # Not in openai's event model, which keeps unknown fields as extras.
                name=item.name,  # type: ignore[call-arg]
            )
        yield ResponseOutputItemDoneEvent(
            type="response.output_item.done",
            sequence_number=next(seq),
            output_index=index,
            item=item,
        )
    yield ResponseCompletedEvent(
        type="response.completed",
        sequence_number=next(seq),
        response=_response(model, response_id, list(turn.output), usage),
    )
