"""Chat Completions stream chunks -> Responses API stream events.

The runtime consumes one stream format, the Responses API's. `ChatStreamConverter` turns the
chunks of a streamed chat completion into that format with the `openai` package's own event
types, in the order the Responses API uses: `response.created`; per output item
`output_item.added`, its deltas, and the matching `.done` events; then `response.completed`
carrying the assembled `Response` (output items and usage).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from openai.types.chat import ChatCompletionChunk
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
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from ..usage import Usage
from .chatcmpl_converter import FAKE_RESPONSES_ID, new_call_id


@dataclass
class _ToolCallState:
    output_index: int | None = None
    call_id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class _MessageState:
    output_index: int
    text: str | None = None
    refusal: str | None = None
    parts: list[str] = field(default_factory=list)  # "text" / "refusal", in content order


class ChatStreamConverter:
    """Feed it the chunk stream with `events(chunks)`; read `usage`, `message` (the assembled
    assistant message, for traces) and `response` (the final Response) once it is exhausted."""

    def __init__(self, model: str, tool_choice: Any = "auto") -> None:
        self.model = model
        self.usage: Usage | None = None
        self.response: Response | None = None
        self._base = Response(
            id=FAKE_RESPONSES_ID,
            object="response",
            created_at=time.time(),
            model=model,
            output=[],
            parallel_tool_calls=False,
            tool_choice=tool_choice if tool_choice in ("auto", "none", "required") else "auto",
            tools=[],
            status="in_progress",
        )
        self._sequence = 0
        self._next_index = 0
        self._message: _MessageState | None = None
        self._calls: dict[int, _ToolCallState] = {}
        self._call_ids: set[str] = set()
        self._finish_reason: str | None = None

    def _seq(self) -> int:
        number = self._sequence
        self._sequence += 1
        return number

    def _claim_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    async def events(
        self, chunks: AsyncIterator[ChatCompletionChunk]
    ) -> AsyncIterator[ResponseStreamEvent]:
        yield ResponseCreatedEvent(
            type="response.created", response=self._base, sequence_number=self._seq()
        )
        async for chunk in chunks:
            for event in self._on_chunk(chunk):
                yield event
        for event in self._finish():
            yield event

    # --- chunks ---------------------------------------------------------------------------

    def _on_chunk(self, chunk: ChatCompletionChunk) -> Iterator[ResponseStreamEvent]:
        if chunk.usage is not None:
            self.usage = Usage.from_openai(chunk.usage, requests=1)
        if not chunk.choices:
            return
        choice = chunk.choices[0]
        if choice.finish_reason:
            self._finish_reason = choice.finish_reason
        delta = choice.delta
        if delta.content:
            yield from self._on_text(delta.content)
        if delta.refusal:
            yield from self._on_refusal(delta.refusal)
        for call_delta in delta.tool_calls or ():
            yield from self._on_tool_call(call_delta)

    def _open_message(self) -> Iterator[ResponseStreamEvent]:
        if self._message is not None:
            return
        self._message = _MessageState(output_index=self._claim_index())
        item = ResponseOutputMessage(
            id=FAKE_RESPONSES_ID,
            type="message",
            role="assistant",
            status="in_progress",
            content=[],
        )
        yield ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            item=item,
            output_index=self._message.output_index,
            sequence_number=self._seq(),
        )

    def _on_text(self, text: str) -> Iterator[ResponseStreamEvent]:
        yield from self._open_message()
        message = self._message
        assert message is not None
        if message.text is None:
            message.text = ""
            message.parts.append("text")
            yield ResponseContentPartAddedEvent(
                type="response.content_part.added",
                item_id=FAKE_RESPONSES_ID,
                output_index=message.output_index,
                content_index=message.parts.index("text"),
                part=ResponseOutputText(type="output_text", text="", annotations=[]),
                sequence_number=self._seq(),
            )
        message.text += text
        yield ResponseTextDeltaEvent(
            type="response.output_text.delta",
            item_id=FAKE_RESPONSES_ID,
            output_index=message.output_index,
            content_index=message.parts.index("text"),
            delta=text,
            logprobs=[],
            sequence_number=self._seq(),
        )

    def _on_refusal(self, refusal: str) -> Iterator[ResponseStreamEvent]:
        yield from self._open_message()
        message = self._message
        assert message is not None
        if message.refusal is None:
            message.refusal = ""
            message.parts.append("refusal")
            yield ResponseContentPartAddedEvent(
                type="response.content_part.added",
                item_id=FAKE_RESPONSES_ID,
                output_index=message.output_index,
                content_index=message.parts.index("refusal"),
                part=ResponseOutputRefusal(type="refusal", refusal=""),
                sequence_number=self._seq(),
            )
        message.refusal += refusal
        yield ResponseRefusalDeltaEvent(
            type="response.refusal.delta",
            item_id=FAKE_RESPONSES_ID,
            output_index=message.output_index,
            content_index=message.parts.index("refusal"),
            delta=refusal,
            sequence_number=self._seq(),
        )

    def _on_tool_call(self, call_delta: Any) -> Iterator[ResponseStreamEvent]:
        state = self._calls.setdefault(call_delta.index, _ToolCallState())
        function = call_delta.function
        if call_delta.id:
            state.call_id = call_delta.id
        if function is not None and function.name:
            state.name += function.name
        piece = function.arguments if function is not None and function.arguments else ""
        if state.output_index is None and state.name:
            # Announced once its name is known; arguments received so far follow as one delta.
            yield self._announce(state)
            piece = state.arguments + piece
            state.arguments = ""
        state.arguments += piece
        if piece and state.output_index is not None:
            yield ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                item_id=FAKE_RESPONSES_ID,
                output_index=state.output_index,
                delta=piece,
                sequence_number=self._seq(),
            )

    # --- end of stream --------------------------------------------------------------------

    def _finish(self) -> Iterator[ResponseStreamEvent]:
        output: list[tuple[int, Any]] = []
        message = self._message
        if message is not None:
            content: list[ResponseOutputText | ResponseOutputRefusal] = []
            for index, part in enumerate(message.parts):
                if part == "text":
                    done_part: Any = ResponseOutputText(
                        type="output_text", text=message.text or "", annotations=[]
                    )
                    yield ResponseTextDoneEvent(
                        type="response.output_text.done",
                        item_id=FAKE_RESPONSES_ID,
                        output_index=message.output_index,
                        content_index=index,
                        text=message.text or "",
                        logprobs=[],
                        sequence_number=self._seq(),
                    )
                else:
                    done_part = ResponseOutputRefusal(type="refusal", refusal=message.refusal or "")
                    yield ResponseRefusalDoneEvent(
                        type="response.refusal.done",
                        item_id=FAKE_RESPONSES_ID,
                        output_index=message.output_index,
                        content_index=index,
                        refusal=message.refusal or "",
                        sequence_number=self._seq(),
                    )
                content.append(done_part)
                yield ResponseContentPartDoneEvent(
                    type="response.content_part.done",
                    item_id=FAKE_RESPONSES_ID,
                    output_index=message.output_index,
                    content_index=index,
                    part=done_part,
                    sequence_number=self._seq(),
                )
            item = ResponseOutputMessage(
                id=FAKE_RESPONSES_ID,
                type="message",
                role="assistant",
                status="completed",
                content=content,
            )
            yield ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=item,
                output_index=message.output_index,
                sequence_number=self._seq(),
            )
            output.append((message.output_index, item))
        for _, state in sorted(self._calls.items()):
            if state.output_index is None:  # never named: announce it now
                yield self._announce(state)
            assert state.output_index is not None
            arguments = state.arguments or "{}"
            yield ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done",
                item_id=FAKE_RESPONSES_ID,
                output_index=state.output_index,
                arguments=arguments,
                sequence_number=self._seq(),
            )
            item_done = self._call_item(state, arguments=arguments, status="completed")
            yield ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=item_done,
                output_index=state.output_index,
                sequence_number=self._seq(),
            )
            output.append((state.output_index, item_done))
        output.sort(key=lambda pair: pair[0])
        self.response = self._base.model_copy(
            update={
                "status": "completed",
                "output": [item for _, item in output],
                "usage": _response_usage(self.usage),
            }
        )
        yield ResponseCompletedEvent(
            type="response.completed", response=self.response, sequence_number=self._seq()
        )

    def _announce(self, state: _ToolCallState) -> ResponseStreamEvent:
        """The `output_item.added` event of a tool call, which fixes its output index and its
        call id (a fresh one when the provider sent none or repeated one)."""
        state.output_index = self._claim_index()
        if not state.call_id or state.call_id in self._call_ids:
            state.call_id = new_call_id()
        self._call_ids.add(state.call_id)
        return ResponseOutputItemAddedEvent(
            type="response.output_item.added",
            item=self._call_item(state, arguments="", status="in_progress"),
            output_index=state.output_index,
            sequence_number=self._seq(),
        )

    def _call_item(
        self, state: _ToolCallState, arguments: str, status: Any
    ) -> ResponseFunctionToolCall:
        return ResponseFunctionToolCall(
            id=FAKE_RESPONSES_ID,
            type="function_call",
            call_id=state.call_id,
            name=state.name,
            arguments=arguments,
            status=status,
        )

    @property
    def finish_reason(self) -> str | None:
        return self._finish_reason

    def message_for_trace(self) -> dict[str, Any]:
        """The streamed assistant message in chat shape, for a generation span's `output`."""
        message: dict[str, Any] = {"role": "assistant"}
        if self._message is not None and self._message.text is not None:
            message["content"] = self._message.text
        if self._message is not None and self._message.refusal is not None:
            message["refusal"] = self._message.refusal
        calls = [
            {
                "id": state.call_id,
                "type": "function",
                "function": {"name": state.name, "arguments": state.arguments or "{}"},
            }
            for _, state in sorted(self._calls.items())
        ]
        if calls:
            message["tool_calls"] = calls
        return message


def _response_usage(usage: Usage | None) -> ResponseUsage | None:
    if usage is None:
        return None
    return ResponseUsage(
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
