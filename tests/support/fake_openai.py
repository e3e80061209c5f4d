"""A local HTTP server that speaks the OpenAI API, for tests that use the real `openai` client.

It answers `POST /v1/responses` and `POST /v1/chat/completions`, as JSON or as SSE streams when the
request has `"stream": true`, and the audio endpoints (`support.fake_openai_audio`). Replies are
scripted by the test and served in order, whichever endpoint asks; every request is captured so
the test can check what the client sent.
Response bodies are built from the `openai` package's own pydantic types, so the client parses
exactly what the real API would send.

    from support.fake_openai import FakeOpenAIServer, rate_limited, text_reply, tool_call_reply

    with FakeOpenAIServer() as server:
        server.enqueue(rate_limited(), tool_call_reply("get_weather", {"city": "Paris"}))
        server.enqueue(text_reply("Sunny", usage=FakeUsage(cached_tokens=3)))
        client = server.client()          # AsyncOpenAI(base_url=server.base_url, ...)
        ...
        assert server.requests[-1].body["model"] == "gpt-4o"
        await server.aclose_clients()

As a pytest fixture (async, so the clients close on the test's event loop):

    @pytest.fixture
    async def server() -> AsyncIterator[FakeOpenAIServer]:
        with FakeOpenAIServer() as fake:
            yield fake
            await fake.aclose_clients()

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

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openai import AsyncOpenAI
from pydantic import BaseModel

from .fake_openai_audio import (
    AUDIO_ENDPOINTS,
    FakeSpeech,
    FakeTranscription,
    answer_audio,
    parse_multipart,
)
from .fake_openai_bodies import (
    STREAM_CHUNK_CHARS,
    TEST_API_KEY,
    FakeError,
    FakeReply,
    FakeToolCall,
    FakeUsage,
    ScriptedItem,
    build_chat_chunks,
    build_chat_completion,
    build_response,
    build_response_events,
    json_reply,
    new_id,
    rate_limited,
    text_reply,
    tool_call_reply,
    tool_calls_reply,
)


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


def _dump(model: BaseModel) -> dict[str, Any]:
    # By alias, as the API sends it: `async_` goes out as `async` (else the client keeps both).
    return model.model_dump(mode="json", by_alias=True)


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
        headers = {key.lower(): value for key, value in self.headers.items()}
        body: Any
        if headers.get("content-type", "").startswith("multipart/form-data"):
            body = parse_multipart(headers["content-type"], raw)
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        fake = self.server.fake
        fake._capture(CapturedRequest("POST", self.path, headers, body))
        endpoint = self.path.split("?", 1)[0]
        if endpoint in AUDIO_ENDPOINTS:
            audio_item = fake._next_item()
            if audio_item is None:
                message = f"fake_openai: no scripted reply queued for POST {endpoint}"
                self._send_error(FakeError(500, message, {"x-should-retry": "false"}, "server"))
            elif isinstance(audio_item, FakeError):
                self._send_error(audio_item)
            else:
                answer_audio(self, endpoint, audio_item)
            return
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
        self.send_header("x-request-id", new_id("req_"))
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
        self.send_header("x-request-id", new_id("req_"))
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
        self._queue: deque[ScriptedItem | FakeTranscription | FakeSpeech] = deque()
        self._requests: list[CapturedRequest] = []
        self._httpd: _OpenAIHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._clients: list[AsyncOpenAI] = []

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
        """An `AsyncOpenAI` pointed at this server (api_key "test-key"); options pass through.
        `await server.aclose_clients()` closes every client made here."""
        options.setdefault("api_key", TEST_API_KEY)
        client = AsyncOpenAI(base_url=self.base_url, **options)
        self._clients.append(client)
        return client

    async def aclose_clients(self) -> None:
        """Close the clients made by `client()` (their connection pools), e.g. in an async
        fixture's teardown, before the event loop goes away."""
        clients, self._clients = self._clients, []
        for client in clients:
            await client.close()

    # scripting
    def enqueue(self, *items: ScriptedItem | FakeTranscription | FakeSpeech) -> None:
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

    def _next_item(self) -> Any:
        with self._lock:
            return self._queue.popleft() if self._queue else None


__all__ = [
    "STREAM_CHUNK_CHARS",
    "TEST_API_KEY",
    "CapturedRequest",
    "FakeError",
    "FakeOpenAIServer",
    "FakeReply",
    "FakeToolCall",
    "FakeUsage",
    "ScriptedItem",
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
