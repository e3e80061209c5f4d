"""Scripted replies for the fake OpenAI server, and the API bodies built from them.

A `FakeReply` is API-neutral: the same reply becomes a Responses API `Response` (or its stream
events) or a Chat Completions `ChatCompletion` (or its chunks), depending on the endpoint that
asks. Every body is built from the `openai` package's own pydantic types.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import (
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
)
from openai.types.chat.chat_completion_message_function_tool_call import (
    ChatCompletionMessageFunctionToolCall,
    Function,
)
from openai.types.completion_usage import (
    CompletionTokensDetails,
    CompletionUsage,
    PromptTokensDetails,
)
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

TEST_API_KEY = "test-key"
STREAM_CHUNK_CHARS = 4  # text and arguments are streamed in pieces this long


@dataclass
class FakeUsage:
    """Token counts reported with a reply (both APIs' usage shapes are built from it)."""

    input_tokens: int = 11
    output_tokens: int = 7
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class FakeToolCall:
    """A function call the model makes. `call_id` defaults to a fresh unique id."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass
class FakeReply:
    """One scripted model turn: optional text, then any tool calls."""

    text: str | None = None
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    usage: FakeUsage = field(default_factory=FakeUsage)
    model: str | None = None  # None: echo the requested model
    delay_s: float = 0.0  # wait this long before answering (latency, timeouts)
    truncated: bool = False  # cut at the token limit: status "incomplete" / finish "length"
    output_items: list[dict[str, Any]] = field(default_factory=list)
    """Responses API output items as JSON (hosted tool calls, ...), sent before the text."""


@dataclass
class FakeError:
    """An HTTP error reply, in the OpenAI error body shape."""

    status: int = 429
    message: str = "Rate limit reached for requests"
    headers: dict[str, str] = field(default_factory=dict)
    error_type: str = "rate_limit_error"
    code: str | None = "rate_limit_exceeded"
    delay_s: float = 0.0


ScriptedItem = FakeReply | FakeError


def text_reply(text: str, usage: FakeUsage | None = None, model: str | None = None) -> FakeReply:
    return FakeReply(text=text, usage=usage or FakeUsage(), model=model)


def json_reply(value: Any, usage: FakeUsage | None = None) -> FakeReply:
    """A structured-output turn: the model answers with `value` as JSON text."""
    return FakeReply(text=json.dumps(value), usage=usage or FakeUsage())


def tool_call_reply(
    name: str,
    arguments: dict[str, Any] | str | None = None,
    call_id: str | None = None,
    usage: FakeUsage | None = None,
) -> FakeReply:
    call = FakeToolCall(name, arguments if arguments is not None else {}, call_id)
    return FakeReply(tool_calls=[call], usage=usage or FakeUsage())


def tool_calls_reply(*calls: FakeToolCall, usage: FakeUsage | None = None) -> FakeReply:
    return FakeReply(tool_calls=list(calls), usage=usage or FakeUsage())


def rate_limited(retry_after_s: float = 0.01) -> FakeError:
    """A 429 asking the client to wait `retry_after_s` seconds (sent as `retry-after-ms`)."""
    return FakeError(headers={"retry-after-ms": str(max(1, round(retry_after_s * 1000)))})


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def _pieces(text: str) -> list[str]:
    return [text[i : i + STREAM_CHUNK_CHARS] for i in range(0, len(text), STREAM_CHUNK_CHARS)]


# --- Responses API bodies -------------------------------------------------------------------


def _responses_output(reply: FakeReply) -> list[Any]:
    output: list[Any] = list(reply.output_items)
    if reply.text is not None:
        output.append(
            ResponseOutputMessage(
                id=new_id("msg_"),
                type="message",
                role="assistant",
                status="completed",
                content=[ResponseOutputText(type="output_text", text=reply.text, annotations=[])],
            )
        )
    for call in reply.tool_calls:
        output.append(
            ResponseFunctionToolCall(
                id=new_id("fc_"),
                type="function_call",
                call_id=call.call_id or new_id("call_"),
                name=call.name,
                arguments=call.arguments_json,
                status="completed",
            )
        )
    return output


def _responses_usage(usage: FakeUsage) -> ResponseUsage:
    return ResponseUsage(
        input_tokens=usage.input_tokens,
        input_tokens_details=InputTokensDetails(
            cached_tokens=usage.cached_tokens, cache_write_tokens=0
        ),
        output_tokens=usage.output_tokens,
        output_tokens_details=OutputTokensDetails(reasoning_tokens=usage.reasoning_tokens),
        total_tokens=usage.total_tokens,
    )


def build_response(reply: FakeReply, request: dict[str, Any]) -> Response:
    """The `Response` object the Responses API returns for `reply`."""
    return Response(
        id=new_id("resp_"),
        object="response",
        created_at=time.time(),
        model=reply.model or str(request.get("model") or "fake-model"),
        status="incomplete" if reply.truncated else "completed",
        incomplete_details={"reason": "max_output_tokens"} if reply.truncated else None,
        output=_responses_output(reply),
        parallel_tool_calls=bool(request.get("parallel_tool_calls", True)),
        tool_choice=request.get("tool_choice") or "auto",
        tools=request.get("tools") or [],
        instructions=request.get("instructions"),
        usage=_responses_usage(reply.usage),
    )


def build_response_events(reply: FakeReply, request: dict[str, Any]) -> list[ResponseStreamEvent]:
    """The stream events the Responses API sends for `reply`, ending in `response.completed`."""
    final = build_response(reply, request)
    pending = final.model_copy(update={"status": "in_progress", "output": [], "usage": None})
    seq = itertools.count().__next__
    events: list[ResponseStreamEvent] = [
        ResponseCreatedEvent(type="response.created", response=pending, sequence_number=seq()),
        ResponseInProgressEvent(
            type="response.in_progress", response=pending, sequence_number=seq()
        ),
    ]

    for index, item in enumerate(final.output):
        if isinstance(item, ResponseOutputMessage):
            text = item.content[0].text if item.content else ""  # type: ignore[union-attr]
            started = item.model_copy(update={"status": "in_progress", "content": []})
            empty_part = ResponseOutputText(type="output_text", text="", annotations=[])
            done_part = ResponseOutputText(type="output_text", text=text, annotations=[])
            events.append(
                ResponseOutputItemAddedEvent(
                    type="response.output_item.added",
                    item=started,
                    output_index=index,
                    sequence_number=seq(),
                )
            )
            events.append(
                ResponseContentPartAddedEvent(
                    type="response.content_part.added",
                    item_id=item.id,
                    output_index=index,
                    content_index=0,
                    part=empty_part,
                    sequence_number=seq(),
                )
            )
            for piece in _pieces(text):
                events.append(
                    ResponseTextDeltaEvent(
                        type="response.output_text.delta",
                        item_id=item.id,
                        output_index=index,
                        content_index=0,
                        delta=piece,
                        logprobs=[],
                        sequence_number=seq(),
                    )
                )
            events.append(
                ResponseTextDoneEvent(
                    type="response.output_text.done",
                    item_id=item.id,
                    output_index=index,
                    content_index=0,
                    text=text,
                    logprobs=[],
                    sequence_number=seq(),
                )
            )
            events.append(
                ResponseContentPartDoneEvent(
                    type="response.content_part.done",
                    item_id=item.id,
                    output_index=index,
                    content_index=0,
                    part=done_part,
                    sequence_number=seq(),
                )
            )
        elif not isinstance(item, ResponseFunctionToolCall):
            events.append(
                ResponseOutputItemAddedEvent(
                    type="response.output_item.added",
                    item=item,
                    output_index=index,
                    sequence_number=seq(),
                )
            )
        else:
            started_call = item.model_copy(update={"status": "in_progress", "arguments": ""})
            events.append(
                ResponseOutputItemAddedEvent(
                    type="response.output_item.added",
                    item=started_call,
                    output_index=index,
                    sequence_number=seq(),
                )
            )
            for piece in _pieces(item.arguments):
                events.append(
                    ResponseFunctionCallArgumentsDeltaEvent(
                        type="response.function_call_arguments.delta",
                        item_id=item.id or "",
                        output_index=index,
                        delta=piece,
                        sequence_number=seq(),
                    )
                )
            events.append(
                ResponseFunctionCallArgumentsDoneEvent(
                    type="response.function_call_arguments.done",
                    item_id=item.id or "",
                    output_index=index,
                    arguments=item.arguments,
                    sequence_number=seq(),
                )
            )
        events.append(
            ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=item,
                output_index=index,
                sequence_number=seq(),
            )
        )
    if reply.truncated:
        events.append(
            ResponseIncompleteEvent(
                type="response.incomplete", response=final, sequence_number=seq()
            )
        )
    else:
        events.append(
            ResponseCompletedEvent(type="response.completed", response=final, sequence_number=seq())
        )
    return events


# --- Chat Completions bodies ----------------------------------------------------------------


def _chat_usage(usage: FakeUsage) -> CompletionUsage:
    return CompletionUsage(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cached_tokens),
        completion_tokens_details=CompletionTokensDetails(reasoning_tokens=usage.reasoning_tokens),
    )


def _finish_reason(reply: FakeReply) -> Any:
    if reply.truncated:
        return "length"
    return "tool_calls" if reply.tool_calls else "stop"


def _call_ids(reply: FakeReply) -> list[str]:
    return [call.call_id or new_id("call_") for call in reply.tool_calls]


def build_chat_completion(reply: FakeReply, request: dict[str, Any]) -> ChatCompletion:
    """The `ChatCompletion` the Chat Completions API returns for `reply`."""
    tool_calls = [
        ChatCompletionMessageFunctionToolCall(
            id=call_id,
            type="function",
            function=Function(name=call.name, arguments=call.arguments_json),
        )
        for call, call_id in zip(reply.tool_calls, _call_ids(reply), strict=True)
    ]
    message = ChatCompletionMessage(
        role="assistant", content=reply.text, tool_calls=tool_calls or None
    )
    return ChatCompletion(
        id=new_id("chatcmpl-"),
        object="chat.completion",
        created=int(time.time()),
        model=reply.model or str(request.get("model") or "fake-model"),
        choices=[Choice(index=0, message=message, finish_reason=_finish_reason(reply))],
        usage=_chat_usage(reply.usage),
    )


def build_chat_chunks(reply: FakeReply, request: dict[str, Any]) -> list[ChatCompletionChunk]:
    """The chunks a streamed Chat Completion sends for `reply` (a usage chunk last when the
    request asked for it with `stream_options.include_usage`)."""
    chunk_id = new_id("chatcmpl-")
    created = int(time.time())
    model = reply.model or str(request.get("model") or "fake-model")

    def chunk(delta: ChoiceDelta, finish_reason: Any = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=chunk_id,
            object="chat.completion.chunk",
            created=created,
            model=model,
            choices=[ChunkChoice(index=0, delta=delta, finish_reason=finish_reason)],
        )

    chunks = [chunk(ChoiceDelta(role="assistant", content=""))]
    for piece in _pieces(reply.text or ""):
        chunks.append(chunk(ChoiceDelta(content=piece)))
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, _call_ids(reply), strict=True)):
        chunks.append(
            chunk(
                ChoiceDelta(
                    tool_calls=[
                        ChoiceDeltaToolCall(
                            index=index,
                            id=call_id,
                            type="function",
                            function=ChoiceDeltaToolCallFunction(name=call.name, arguments=""),
                        )
                    ]
                )
            )
        )
        for piece in _pieces(call.arguments_json):
            chunks.append(
                chunk(
                    ChoiceDelta(
                        tool_calls=[
                            ChoiceDeltaToolCall(
                                index=index, function=ChoiceDeltaToolCallFunction(arguments=piece)
                            )
                        ]
                    )
                )
            )
    chunks.append(chunk(ChoiceDelta(), _finish_reason(reply)))
    if (request.get("stream_options") or {}).get("include_usage"):
        chunks.append(
            ChatCompletionChunk(
                id=chunk_id,
                object="chat.completion.chunk",
                created=created,
                model=model,
                choices=[],
                usage=_chat_usage(reply.usage),
            )
        )
    return chunks


__all__ = [
    "STREAM_CHUNK_CHARS",
    "TEST_API_KEY",
    "FakeError",
    "FakeReply",
    "FakeToolCall",
    "FakeUsage",
    "ScriptedItem",
    "build_chat_chunks",
    "build_chat_completion",
    "build_response",
    "build_response_events",
    "json_reply",
    "new_id",
    "rate_limited",
    "text_reply",
    "tool_call_reply",
    "tool_calls_reply",
]
