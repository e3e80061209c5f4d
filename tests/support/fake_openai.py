"""A local HTTP server that speaks the OpenAI API, for tests that use the real `openai` client.

It answers `POST /v1/responses` and `POST /v1/chat/completions`, as JSON or as SSE streams when the
request has `"stream": true`. Replies are scripted by the test and served in order, whichever of
the two endpoints asks; every request is captured so the test can check what the client sent.
Response bodies are built from the `openai` package's own pydantic types, so the client parses
exactly what the real API would send.

    from support.fake_openai import FakeOpenAIServer, rate_limited, text_reply, tool_call_reply

    with FakeOpenAIServer() as server:
        server.enqueue(rate_limited(), tool_call_reply("get_weather", {"city": "Paris"}))
        server.enqueue(text_reply("Sunny", usage=FakeUsage(cached_tokens=3)))
        client = server.client()          # AsyncOpenAI(base_url=server.base_url, ...)
        ...
        assert server.requests[-1].body["model"] == "gpt-4o"

Scripted items:
- `FakeReply(text=..., tool_calls=[FakeToolCall(...)], usage=FakeUsage(...), model=None)`: one
  model turn. Helpers: `text_reply(text)`, `json_reply(obj)` (structured output: the JSON text),
  `tool_call_reply(name, arguments)` and `tool_calls_reply(FakeToolCall, ...)`.
- `FakeError(status, message, headers)`: an HTTP error. `rate_limited(retry_after_s)` is a 429
  with `retry-after-ms`, which the `openai` client's own retry honours.
- Both take `delay_s`: the server waits that long before answering (latency, client timeouts).
  `FakeReply(truncated=True)` is a reply cut at the token limit (Responses status "incomplete",
  Chat Completions finish_reason "length").

With nothing queued, the server answers 500 with `x-should-retry: false` and a message naming
the request, so a test that forgot a reply fails at once instead of retrying.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openai import AsyncOpenAI
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
from pydantic import BaseModel

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


@dataclass
class CapturedRequest:
    """What the client sent: method, path (query included), headers (lower-case keys), JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def endpoint(self) -> str:
        return self.path.split("?", 1)[0]


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


def _new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def _pieces(text: str) -> list[str]:
    return [text[i : i + STREAM_CHUNK_CHARS] for i in range(0, len(text), STREAM_CHUNK_CHARS)]


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=False)


# --- Responses API bodies -------------------------------------------------------------------


def _responses_output(reply: FakeReply) -> list[ResponseOutputMessage | ResponseFunctionToolCall]:
    output: list[ResponseOutputMessage | ResponseFunctionToolCall] = []
    if reply.text is not None:
        output.append(
            ResponseOutputMessage(
                id=_new_id("msg_"),
                type="message",
                role="assistant",
                status="completed",
                content=[ResponseOutputText(type="output_text", text=reply.text, annotations=[])],
            )
        )
    for call in reply.tool_calls:
        output.append(
            ResponseFunctionToolCall(
                id=_new_id("fc_"),
                type="function_call",
                call_id=call.call_id or _new_id("call_"),
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
        id=_new_id("resp_"),
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
    return [call.call_id or _new_id("call_") for call in reply.tool_calls]


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
        id=_new_id("chatcmpl-"),
        object="chat.completion",
        created=int(time.time()),
        model=reply.model or str(request.get("model") or "fake-model"),
        choices=[Choice(index=0, message=message, finish_reason=_finish_reason(reply))],
        usage=_chat_usage(reply.usage),
    )


def build_chat_chunks(reply: FakeReply, request: dict[str, Any]) -> list[ChatCompletionChunk]:
    """The chunks a streamed Chat Completion sends for `reply` (a usage chunk last when the
    request asked for it with `stream_options.include_usage`)."""
    chunk_id = _new_id("chatcmpl-")
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


# --- The server -----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _OpenAIHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    def do_POST(self) -> None:
        try:
            self._answer_post()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout, a closed stream): nothing left to answer.
            self.close_connection = True

    def _answer_post(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {key.lower(): value for key, value in self.headers.items()}
        fake = self.server.fake
        fake._capture(CapturedRequest("POST", self.path, headers, body))
        endpoint = self.path.split("?", 1)[0]
        if endpoint not in ("/v1/responses", "/v1/chat/completions"):
            self._send_error(FakeError(404, f"Unknown endpoint {endpoint}", {}, "not_found", None))
            return
        if not isinstance(body, dict):
            self._send_error(FakeError(400, "Request body is not a JSON object", {}, "invalid"))
            return
        item = fake._next_item()
        if item is None:
            message = f"fake_openai: no scripted reply queued for POST {endpoint}"
            self._send_error(FakeError(500, message, {"x-should-retry": "false"}, "server_error"))
            return
        if item.delay_s > 0:
            time.sleep(item.delay_s)
        if isinstance(item, FakeError):
            self._send_error(item)
            return
        responses_api = endpoint == "/v1/responses"
        if body.get("stream"):
            if responses_api:
                events = build_response_events(item, body)
                self._send_sse([(event.type, _dump(event)) for event in events], done=False)
            else:
                chunks = build_chat_chunks(item, body)
                self._send_sse([(None, _dump(chunk)) for chunk in chunks], done=True)
        elif responses_api:
            self._send_json(200, _dump(build_response(item, body)))
        else:
            self._send_json(200, _dump(build_chat_completion(item, body)))

    def do_GET(self) -> None:
        self._send_error(FakeError(404, f"Unknown endpoint {self.path}", {}, "not_found", None))

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", _new_id("req_"))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: FakeError) -> None:
        body = {
            "error": {
                "message": error.message,
                "type": error.error_type,
                "param": None,
                "code": error.code,
            }
        }
        self._send_json(error.status, body, error.headers)

    def _send_sse(self, events: list[tuple[str | None, dict[str, Any]]], done: bool) -> None:
        # The body is written event by event; the connection closes to end it.
        self.send_response(HTTPStatus.OK)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.send_header("x-request-id", _new_id("req_"))
        self.end_headers()
        self.close_connection = True
        for name, payload in events:
            prefix = f"event: {name}\n" if name else ""
            self.wfile.write(f"{prefix}data: {json.dumps(payload)}\n\n".encode())
            self.wfile.flush()
        if done:
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()


class _OpenAIHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAIServer


class FakeOpenAIServer:
    """A real HTTP server on 127.0.0.1 (a free port) speaking the OpenAI API; see the module doc.

    Use it as a context manager, or call `start()` and `stop()`. Thread-safe: the server answers
    on its own threads while the test enqueues and reads captured requests.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._queue: deque[ScriptedItem] = deque()
        self._requests: list[CapturedRequest] = []
        self._httpd: _OpenAIHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> FakeOpenAIServer:
        if self._httpd is not None:
            return self
        httpd = _OpenAIHTTPServer((self._host, self._port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # addresses
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The `base_url` for an OpenAI client: `http://127.0.0.1:<port>/v1`."""
        return f"http://{self._host}:{self.port}/v1"

    def client(self, **options: Any) -> AsyncOpenAI:
        """An `AsyncOpenAI` pointed at this server (api_key "test-key"); options pass through."""
        options.setdefault("api_key", TEST_API_KEY)
        return AsyncOpenAI(base_url=self.base_url, **options)

    # scripting
    def enqueue(self, *items: ScriptedItem) -> None:
        """Queue replies and errors; each request takes the next one, whatever its endpoint."""
        with self._lock:
            self._queue.extend(items)

    @property
    def pending(self) -> int:
        """How many scripted items have not been served yet."""
        with self._lock:
            return len(self._queue)

    # inspection
    @property
    def requests(self) -> list[CapturedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> CapturedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("FakeOpenAIServer has received no request")
            return self._requests[-1]

    def requests_to(self, endpoint: str) -> list[CapturedRequest]:
        """Requests to one endpoint, e.g. "/v1/responses"."""
        return [request for request in self.requests if request.endpoint == endpoint]

    # called by the handler threads
    def _capture(self, request: CapturedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_item(self) -> ScriptedItem | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None


__all__ = [
    "TEST_API_KEY",
    "CapturedRequest",
    "FakeError",
    "FakeOpenAIServer",
    "FakeReply",
    "FakeToolCall",
    "FakeUsage",
    "build_chat_chunks",
    "build_chat_completion",
    "build_response",
    "build_response_events",
    "json_reply",
    "rate_limited",
    "text_reply",
    "tool_call_reply",
    "tool_calls_reply",
]
