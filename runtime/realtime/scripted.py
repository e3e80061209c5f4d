"""`ScriptedRealtimeModel`: an offline realtime model for tests and demos. An in-process
stand-in for the server plays scripted turns as OpenAI Realtime server events, which go through
the same protocol code as the WebSocket model's, so sessions, tools, handoffs, guardrails,
interruptions and traces behave as with a real server, with no network and no key.

    model = ScriptedRealtimeModel([
        ScriptedRealtimeTurn(tool_calls=[("get_weather", {"city": "Paris"})]),
        ScriptedRealtimeTurn(text="It is sunny in Paris."),
    ])

Each response the session asks for plays the next turn: a spoken (or text) message, then
function calls. Committed user audio is "transcribed" as the next of `user_transcripts` and,
as a server with voice detection would, answered with a response.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import FanOutRealtimeModel, RealtimeModelConfig
from .model_events import RealtimeModelConnectionStatusEvent
from .model_inputs import RealtimeModelSendEvent
from .openai_protocol import OpenAIRealtimeProtocol

_AUDIO_MS_PER_CHAR = 60  # roughly speaking speed


@dataclass
class ScriptedRealtimeTurn:
    text: str | None = None
    """What the model says (a transcript with audio output, else text)."""
    tool_calls: Sequence[tuple[str, Mapping[str, Any] | str]] = ()
    """(tool name, arguments) pairs the model calls after speaking."""
    audio: bytes | None = None
    """The audio spoken; default: silence as long as the text takes to say."""
    usage: Mapping[str, Any] | None = None
    """The response's usage, in the server's shape; default: counted from the text."""
    chunks: int = 3
    """How many deltas the text and audio stream in."""


@dataclass
class _Queued:
    event: dict[str, Any]
    response_id: str | None = None


@dataclass
class _Stand:
    """The stand-in server's state."""

    session: dict[str, Any] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    active: str | None = None


class ScriptedRealtimeModel(FanOutRealtimeModel):
    def __init__(
        self,
        turns: Sequence[ScriptedRealtimeTurn | str],
        *,
        user_transcripts: Sequence[str] = (),
        model: str = "scripted-realtime",
    ) -> None:
        super().__init__()
        self.model = model
        self._turns = [
            t if isinstance(t, ScriptedRealtimeTurn) else ScriptedRealtimeTurn(text=t)
            for t in turns
        ]
        self._transcripts = list(user_transcripts)
        self._protocol: OpenAIRealtimeProtocol | None = None
        self._outbox: asyncio.Queue[_Queued | None] = asyncio.Queue()
        self._deliver_task: asyncio.Task[None] | None = None
        self._stand = _Stand()
        self._ids = itertools.count(1)
        self.sent: list[dict[str, Any]] = []
        """Every client event the session sent, in order (for tests)."""

    @property
    def turns_left(self) -> int:
        return len(self._turns)

    async def connect(self, options: RealtimeModelConfig) -> None:
        settings = options.get("initial_model_settings") or {}
        if settings.get("model_name"):
            self.model = settings["model_name"]
        self._protocol = OpenAIRealtimeProtocol(
            self._emit,
            self._receive,
            model_name=self.model,
            playback_tracker=options.get("playback_tracker"),
        )
        self._deliver_task = asyncio.create_task(self._deliver())
        await self._emit(RealtimeModelConnectionStatusEvent(status="connected"))
        self._queue(
            {"type": "session.created", "session": {"id": "sess_scripted", "type": "realtime"}}
        )
        await self._protocol.send_session_update(settings)

    async def send_event(self, event: RealtimeModelSendEvent) -> None:
        if self._protocol is None:
            from .errors import RealtimeConnectionError

            raise RealtimeConnectionError("the scripted realtime model is not connected")
        await self._protocol.send(event)

    async def close(self) -> None:
        task, self._deliver_task = self._deliver_task, None
        self._protocol = None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    # -- the stand-in server -----------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    def _queue(self, event: dict[str, Any], response_id: str | None = None) -> None:
        event.setdefault("event_id", self._id("event"))
        self._outbox.put_nowait(_Queued(event, response_id))

    async def _deliver(self) -> None:
        while True:
            queued = await self._outbox.get()
            if queued is None or self._protocol is None:
                return
            event, rid = queued.event, queued.response_id
            if rid is not None and rid in self._stand.cancelled:
                if event["type"] != "response.done":
                    continue
                event["response"]["status"] = "cancelled"
            if event["type"] == "response.done":
                self._stand.active = None
            # The real server's events arrive one network read at a time.
            await asyncio.sleep(0)
            await self._protocol.handle_message(json.dumps(event))

    async def _receive(self, event: dict[str, Any]) -> None:
        self.sent.append(event)
        kind = event["type"]
        if kind == "session.update":
            self._stand.session = event["session"]
            self._queue(
                {"type": "session.updated", "session": {**event["session"], "id": "sess_scripted"}}
            )
        elif kind == "conversation.item.create":
            item = {
                **event["item"],
                "id": event["item"].get("id") or self._id("item"),
                "status": "completed",
            }
            self._stand.items[item["id"]] = item
            self._queue({"type": "conversation.item.added", "previous_item_id": None, "item": item})
        elif kind == "input_audio_buffer.commit":
            self._commit_audio()
        elif kind == "response.create":
            self._respond(event.get("event_id"))
        elif kind == "response.cancel":
            if self._stand.active is not None:
                self._stand.cancelled.add(self._stand.active)
        elif kind == "conversation.item.truncate":
            self._queue(
                {
                    "type": "conversation.item.truncated",
                    "item_id": event["item_id"],
                    "content_index": event["content_index"],
                    "audio_end_ms": event["audio_end_ms"],
                }
            )
        elif kind == "conversation.item.retrieve":
            found = self._stand.items.get(event["item_id"])
            if found is not None:
                self._queue({"type": "conversation.item.retrieved", "item": found})

    def _commit_audio(self) -> None:
        item_id = self._id("item")
        transcript = self._transcripts.pop(0) if self._transcripts else ""
        item = {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self._stand.items[item_id] = item
        self._queue(
            {"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": None}
        )
        self._queue({"type": "conversation.item.added", "previous_item_id": None, "item": item})
        self._queue(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
                "usage": {"type": "duration", "seconds": 1},
            }
        )
        self._respond(None)

    def _respond(self, request_event_id: str | None) -> None:
        if not self._turns:
            self._queue(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "code": "script_exhausted",
                        "message": "ScriptedRealtimeModel: no scripted turn left to respond with",
                        "event_id": request_event_id,
                    },
                }
            )
            return
        turn = self._turns.pop(0)
        rid = self._id("resp")
        self._stand.active = rid
        audio_out = "audio" in (self._stand.session.get("output_modalities") or ["audio"])
        q = lambda event: self._queue(event, rid)  # noqa: E731
        q(
            {
                "type": "response.created",
                "response": {"id": rid, "object": "realtime.response", "status": "in_progress"},
            }
        )
        output: list[dict[str, Any]] = []
        index = 0
        if turn.text is not None:
            output.append(self._play_message(q, rid, index, turn, audio_out))
            index += 1
        for name, arguments in turn.tool_calls:
            args = arguments if isinstance(arguments, str) else json.dumps(dict(arguments))
            call = {
                "id": self._id("item"),
                "type": "function_call",
                "status": "completed",
                "name": name,
                "call_id": self._id("call"),
                "arguments": args,
            }
            self._stand.items[call["id"]] = call
            q(
                {
                    "type": "response.output_item.added",
                    "response_id": rid,
                    "output_index": index,
                    "item": {**call, "status": "in_progress", "arguments": ""},
                }
            )
            q(
                {
                    "type": "response.function_call_arguments.done",
                    "response_id": rid,
                    "item_id": call["id"],
                    "output_index": index,
                    "call_id": call["call_id"],
                    "name": name,
                    "arguments": args,
                }
            )
            q(
                {
                    "type": "response.output_item.done",
                    "response_id": rid,
                    "output_index": index,
                    "item": call,
                }
            )
            output.append(call)
            index += 1
        words = len(turn.text or "")
        usage: dict[str, Any] = (
            dict(turn.usage)
            if turn.usage is not None
            else {
                "input_tokens": 20 + 10 * len(self._stand.items),
                "output_tokens": max(1, words // 4) + 8 * len(turn.tool_calls),
                "input_token_details": {
                    "text_tokens": 20 + 10 * len(self._stand.items),
                    "audio_tokens": 0,
                    "cached_tokens": 0,
                },
                "output_token_details": {
                    "text_tokens": max(1, words // 4),
                    "audio_tokens": words // 2 if audio_out else 0,
                },
            }
        )
        usage.setdefault(
            "total_tokens", (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0)
        )
        q(
            {
                "type": "response.done",
                "response": {
                    "id": rid,
                    "object": "realtime.response",
                    "status": "completed",
                    "output": output,
                    "usage": usage,
                },
            }
        )

    def _play_message(
        self, q: Any, rid: str, index: int, turn: ScriptedRealtimeTurn, audio_out: bool
    ) -> dict[str, Any]:
        text = turn.text or ""
        item_id = self._id("item")
        q(
            {
                "type": "response.output_item.added",
                "response_id": rid,
                "output_index": index,
                "item": {
                    "id": item_id,
                    "type": "message",
                    "role": "assistant",
                    "status": "in_progress",
                    "content": [],
                },
            }
        )
        pieces = _split(text, turn.chunks)
        base = {"response_id": rid, "item_id": item_id, "output_index": index, "content_index": 0}
        if audio_out:
            audio = (
                turn.audio if turn.audio is not None else bytes(48 * _AUDIO_MS_PER_CHAR * len(text))
            )
            audio_pieces = _split_bytes(audio, turn.chunks)
            for piece, sound in itertools.zip_longest(pieces, audio_pieces):
                if piece:
                    q({"type": "response.output_audio_transcript.delta", **base, "delta": piece})
                if sound:
                    q(
                        {
                            "type": "response.output_audio.delta",
                            **base,
                            "delta": base64.b64encode(sound).decode("ascii"),
                        }
                    )
            q({"type": "response.output_audio.done", **base})
            q({"type": "response.output_audio_transcript.done", **base, "transcript": text})
            content = [{"type": "output_audio", "transcript": text}]
        else:
            for piece in pieces:
                q({"type": "response.output_text.delta", **base, "delta": piece})
            q({"type": "response.output_text.done", **base, "text": text})
            content = [{"type": "output_text", "text": text}]
        item = {
            "id": item_id,
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": content,
        }
        self._stand.items[item_id] = item
        q(
            {
                "type": "response.output_item.done",
                "response_id": rid,
                "output_index": index,
                "item": item,
            }
        )
        return item


def _split(text: str, parts: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _split_bytes(data: bytes, parts: int) -> list[bytes]:
    if not data:
        return []
    size = max(2, -(-len(data) // max(1, parts)))
    size += size % 2  # whole 16-bit samples
    return [data[i : i + size] for i in range(0, len(data), size)]


__all__ = ["ScriptedRealtimeModel", "ScriptedRealtimeTurn"]
