"""A WebSocket server on 127.0.0.1 that speaks the OpenAI Realtime event protocol (GA) from a
script, for tests that drive `OpenAIRealtimeWebSocketModel` over a real connection.

    async with FakeRealtimeServer() as server:
        server.script(
            Step("response.create", response("resp_1", text="Hi there")),
        )
        model_config = {"url": server.url, "api_key": "sk-test"}
        ...
        assert server.received_types() == [...]

On connecting, a client gets `session.created`. Some client events are answered the way the
real server answers them, whatever the script says: `session.update` with `session.updated`
(echoing the session), `conversation.item.create` with `conversation.item.added`,
`conversation.item.truncate` with `conversation.item.truncated`, `conversation.item.retrieve`
with `conversation.item.retrieved` (the item as last sent, or as changed by a truncation).

A `Step` waits for the next client event of its type (`when=None`: runs right after the
previous step), then sends its events in order: dicts as JSON, strings as they are (for
malformed messages). `close=(code, reason)` then closes the connection; `abort=True` drops the
TCP connection without a close frame. Every client event is kept in `received`, the handshake
in `request_path` and `request_headers`, the close code the client sent in `client_close_code`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

ServerEvent = dict[str, Any] | str


@dataclass
class Step:
    when: str | None
    send: Sequence[ServerEvent] = ()
    close: tuple[int, str] | None = None
    abort: bool = False


@dataclass
class FakeRealtimeServer:
    steps: list[Step] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    request_path: str | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    client_close_code: int | None = None
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    _server: Server | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> FakeRealtimeServer:
        self._server = await serve(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime"

    def script(self, *steps: Step) -> None:
        self.steps.extend(steps)

    def received_types(self) -> list[str]:
        return [event["type"] for event in self.received]

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [event for event in self.received if event["type"] == event_type]

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.request_path = ws.request.path
        self.request_headers = {k.lower(): v for k, v in ws.request.headers.raw_items()}
        await ws.send(json.dumps(session_created()))
        try:
            if await self._run_ready_steps(ws):
                return
            async for message in ws:
                event = json.loads(message)
                self.received.append(event)
                await self._answer(ws, event)
                if self.steps and self.steps[0].when == event["type"]:
                    if await self._run_step(ws, self.steps.pop(0)) or await self._run_ready_steps(
                        ws
                    ):
                        return
        except ConnectionClosed:
            pass
        finally:
            if ws.protocol.close_rcvd is not None:
                self.client_close_code = ws.protocol.close_rcvd.code
            self._closed.set()

    async def _run_ready_steps(self, ws: ServerConnection) -> bool:
        while self.steps and self.steps[0].when is None:
            if await self._run_step(ws, self.steps.pop(0)):
                return True
        return False

    async def _run_step(self, ws: ServerConnection, step: Step) -> bool:
        """Send the step's events; True when it ended the connection."""
        for event in step.send:
            if isinstance(event, dict):
                self._remember(event)
                await ws.send(json.dumps({"event_id": f"event_{next(self._ids)}", **event}))
            else:
                await ws.send(event)
        if step.abort:
            ws.transport.abort()
            return True
        if step.close is not None:
            await ws.close(*step.close)
            return True
        return False

    def _remember(self, event: dict[str, Any]) -> None:
        if event.get("type") in ("response.output_item.added", "response.output_item.done"):
            self.items[event["item"]["id"]] = event["item"]

    async def _answer(self, ws: ServerConnection, event: dict[str, Any]) -> None:
        kind = event["type"]
        reply: dict[str, Any]
        if kind == "session.update":
            reply = {"type": "session.updated", "session": {**event["session"], "id": "sess_1"}}
        elif kind == "conversation.item.create":
            item = {**event["item"], "id": f"item_user_{next(self._ids)}", "status": "completed"}
            self.items[item["id"]] = item
            reply = {"type": "conversation.item.added", "previous_item_id": None, "item": item}
        elif kind == "conversation.item.truncate":
            cut = self.items.get(event["item_id"])
            if cut is not None:  # the server forgets the transcript of what was cut
                cut["content"] = [{"type": "output_audio", "transcript": None}]
            reply = {
                "type": "conversation.item.truncated",
                "item_id": event["item_id"],
                "content_index": event["content_index"],
                "audio_end_ms": event["audio_end_ms"],
            }
        elif kind == "conversation.item.retrieve" and event["item_id"] in self.items:
            reply = {"type": "conversation.item.retrieved", "item": self.items[event["item_id"]]}
        else:
            return
        try:
            await ws.send(json.dumps({"event_id": f"event_{next(self._ids)}", **reply}))
        except ConnectionClosed:
            pass  # the client is closing: keep reading what it sent before it did


def session_created() -> dict[str, Any]:
    return {
        "type": "session.created",
        "event_id": "event_created",
        "session": {"id": "sess_1", "type": "realtime", "model": "gpt-realtime"},
    }


def usage(input_tokens: int = 30, output_tokens: int = 12, audio_out: int = 8) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_token_details": {"text_tokens": input_tokens, "audio_tokens": 0, "cached_tokens": 4},
        "output_token_details": {
            "text_tokens": output_tokens - audio_out,
            "audio_tokens": audio_out,
        },
    }


def response_created(response_id: str) -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}}


def response_done(
    response_id: str, output: Sequence[dict[str, Any]] = (), status: str = "completed", **kw: Any
) -> dict[str, Any]:
    return {
        "type": "response.done",
        "response": {
            "id": response_id,
            "status": status,
            "output": list(output),
            "usage": kw.get("usage", usage()),
        },
    }


def spoken_message(
    response_id: str,
    item_id: str,
    transcript_deltas: Sequence[str],
    audio_chunks: Sequence[bytes],
    *,
    done: bool = True,
) -> list[dict[str, Any]]:
    """An assistant audio message: transcript and audio deltas interleaved, then the dones."""
    base = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "response_id": response_id,
            "output_index": 0,
            "item": {"id": item_id, "type": "message", "role": "assistant", "content": []},
        }
    ]
    for index in range(max(len(transcript_deltas), len(audio_chunks))):
        if index < len(transcript_deltas):
            events.append(
                {
                    "type": "response.output_audio_transcript.delta",
                    **base,
                    "delta": transcript_deltas[index],
                }
            )
        if index < len(audio_chunks):
            chunk = base64.b64encode(audio_chunks[index]).decode("ascii")
            events.append({"type": "response.output_audio.delta", **base, "delta": chunk})
    if done:
        transcript = "".join(transcript_deltas)
        events += [
            {"type": "response.output_audio.done", **base},
            {"type": "response.output_audio_transcript.done", **base, "transcript": transcript},
            {
                "type": "response.output_item.done",
                "response_id": response_id,
                "output_index": 0,
                "item": message_item(item_id, transcript),
            },
        ]
    return events


def message_item(item_id: str, transcript: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_audio", "transcript": transcript}],
    }


def function_call(
    response_id: str, item_id: str, call_id: str, name: str, arguments: dict[str, Any]
) -> list[dict[str, Any]]:
    args = json.dumps(arguments)
    item = {
        "id": item_id,
        "type": "function_call",
        "status": "completed",
        "name": name,
        "call_id": call_id,
        "arguments": args,
    }
    return [
        {
            "type": "response.output_item.added",
            "response_id": response_id,
            "output_index": 0,
            "item": {**item, "status": "in_progress", "arguments": ""},
        },
        {
            "type": "response.function_call_arguments.delta",
            "response_id": response_id,
            "item_id": item_id,
            "output_index": 0,
            "call_id": call_id,
            "delta": args,
        },
        {
            "type": "response.output_item.done",
            "response_id": response_id,
            "output_index": 0,
            "item": item,
        },
    ]


def spoken_response(
    response_id: str, item_id: str, text: str, pcm: bytes = b""
) -> list[dict[str, Any]]:
    """A whole response that says `text` (in three transcript deltas) with `pcm` audio."""
    third = max(1, len(text) // 3)
    deltas = [text[:third], text[third : 2 * third], text[2 * third :]]
    chunks = [pcm[: len(pcm) // 2], pcm[len(pcm) // 2 :]] if pcm else []
    return [
        response_created(response_id),
        *spoken_message(response_id, item_id, deltas, chunks),
        response_done(response_id, [message_item(item_id, text)]),
    ]


def tool_response(
    response_id: str, item_id: str, call_id: str, name: str, arguments: dict[str, Any]
) -> list[dict[str, Any]]:
    call = function_call(response_id, item_id, call_id, name, arguments)
    return [response_created(response_id), *call, response_done(response_id, [call[-1]["item"]])]
