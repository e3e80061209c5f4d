"""The OpenAI Realtime event protocol, apart from any transport: server events (JSON text) in,
model events out to the listeners; the session's send events in, client events (dicts) out.

The WebSocket model and the offline scripted model both run it, so what the session sees does
not depend on where the events came from. Server events are checked against the `openai`
package's own event models; one that is not JSON, or whose fields do not fit its type, becomes
an error event naming what is wrong, and the connection carries on. A type this module does not
know is passed on as it came (`RealtimeModelOtherEvent`).
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic

from ..exceptions import UserError
from .audio import AudioPlaybackClock
from .config import RealtimeSessionModelSettings
from .items import RealtimeToolCallItem
from .model import RealtimePlaybackTracker
from .model_events import (
    RealtimeModelAudioDoneEvent,
    RealtimeModelAudioEvent,
    RealtimeModelAudioInterruptedEvent,
    RealtimeModelErrorEvent,
    RealtimeModelEvent,
    RealtimeModelInputAudioTranscriptionCompletedEvent,
    RealtimeModelItemDeletedEvent,
    RealtimeModelItemUpdatedEvent,
    RealtimeModelOtherEvent,
    RealtimeModelOutputTextDeltaEvent,
    RealtimeModelRawServerEvent,
    RealtimeModelToolCallEvent,
    RealtimeModelTranscriptDeltaEvent,
    RealtimeModelTurnEndedEvent,
    RealtimeModelTurnStartedEvent,
)
from .model_inputs import (
    RealtimeModelSendAudio,
    RealtimeModelSendEvent,
    RealtimeModelSendInterrupt,
    RealtimeModelSendRawMessage,
    RealtimeModelSendSessionUpdate,
    RealtimeModelSendToolOutput,
    RealtimeModelSendUserInput,
)
from .openai_conversions import (
    SERVER_EVENT_CLASSES,
    describe_validation_error,
    message_item,
    usage_event,
    user_input_item,
)
from .openai_session_config import interrupts_by_itself, output_audio_format, session_config

Emit = Callable[[RealtimeModelEvent], Awaitable[None]]
SendJSON = Callable[[dict[str, Any]], Awaitable[None]]


class OpenAIRealtimeProtocol:
    """One connection's protocol state: the session the server confirmed, the response in
    progress, the assistant audio received (for truncation on interruptions)."""

    def __init__(
        self,
        emit: Emit,
        send_json: SendJSON,
        *,
        model_name: str,
        playback_tracker: RealtimePlaybackTracker | None = None,
    ) -> None:
        self._emit = emit
        self._send_json = send_json
        self.model_name = model_name
        self.server_session: dict[str, Any] | None = None
        self._playback_tracker = playback_tracker
        self._clock = AudioPlaybackClock()
        self._active_response_id: str | None = None
        self._create_event_id: str | None = None
        self._create_deferred = False
        self._ids = itertools.count(1)

    @property
    def response_active(self) -> bool:
        return self._active_response_id is not None

    # -- client side ---------------------------------------------------------------------------

    async def send(self, event: RealtimeModelSendEvent) -> None:
        if isinstance(event, RealtimeModelSendUserInput):
            item = user_input_item(event.user_input)
            await self._send_json({"type": "conversation.item.create", "item": item})
            await self.request_response()
        elif isinstance(event, RealtimeModelSendAudio):
            audio = base64.b64encode(event.audio).decode("ascii")
            await self._send_json({"type": "input_audio_buffer.append", "audio": audio})
            if event.commit:
                await self._send_json({"type": "input_audio_buffer.commit"})
        elif isinstance(event, RealtimeModelSendToolOutput):
            await self._send_tool_output(event)
        elif isinstance(event, RealtimeModelSendInterrupt):
            await self._interrupt(force_cancel=event.force_response_cancel)
        elif isinstance(event, RealtimeModelSendSessionUpdate):
            await self.send_session_update(event.session_settings)
        elif isinstance(event, RealtimeModelSendRawMessage):
            message = {"type": event.message["type"], **(event.message.get("other_data") or {})}
            if message["type"] == "response.create":
                await self.request_response(message)
            else:
                await self._send_json(message)
        else:
            raise UserError(f"unknown realtime send event {event!r}")

    async def send_session_update(self, settings: RealtimeSessionModelSettings) -> None:
        session = session_config(settings, self.model_name)
        await self._send_json({"type": "session.update", "session": session})

    async def request_response(self, message: dict[str, Any] | None = None) -> None:
        """Ask for a response, or, while one is running or asked for, for one after it: the
        server refuses a second response on a conversation that has one in progress."""
        if self.response_active or self._create_event_id is not None:
            self._create_deferred = True
            return
        event_id = f"agentoscope_response_create_{next(self._ids)}"
        self._create_event_id = event_id
        await self._send_json({**(message or {"type": "response.create"}), "event_id": event_id})

    async def _send_tool_output(self, event: RealtimeModelSendToolOutput) -> None:
        call = event.tool_call
        await self._send_json(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call.call_id,
                    "output": event.output,
                },
            }
        )
        item = RealtimeToolCallItem(
            item_id=call.id or "",
            previous_item_id=call.previous_item_id,
            call_id=call.call_id,
            status="completed",
            arguments=call.arguments,
            name=call.name,
            output=event.output,
        )
        await self._emit(RealtimeModelItemUpdatedEvent(item=item))
        if event.start_response:
            await self.request_response()

    def _playback(self) -> tuple[str, int, float] | None:
        """(item, content index, ms heard) of the assistant audio playing now, if any: from
        the playback tracker when there is one (it alone knows), else from arrival times."""
        if self._playback_tracker is not None:
            state = self._playback_tracker.get_state()
            if state["current_item_id"] is None or state["elapsed_ms"] is None:
                return None
            index = state["current_item_content_index"] or 0
            return state["current_item_id"], index, state["elapsed_ms"]
        last = self._clock.last_item()
        if last is None:
            return None
        played = self._clock.played_ms(*last)
        return None if played is None else (last[0], last[1], played)

    async def _interrupt(self, *, force_cancel: bool, from_server_vad: bool = False) -> None:
        """Stop playback and cut the assistant's item at what the user heard
        (conversation.item.truncate), so the model's memory matches; cancel the response
        unless the server does that by itself."""
        last = self._clock.last_item()
        playing = self._playback()
        if playing is None and last is None:
            if from_server_vad:
                return  # the user spoke over nothing
        else:
            target = (playing[0], playing[1]) if playing is not None else last
            assert target is not None
            item_id, index = target
            await self._emit(
                RealtimeModelAudioInterruptedEvent(item_id=item_id, content_index=index)
            )
            if playing is not None:
                received = self._clock.received_ms(item_id, index)
                heard_ms = playing[2] if received is None else min(playing[2], received)
                await self._send_json(
                    {
                        "type": "conversation.item.truncate",
                        "item_id": item_id,
                        "content_index": index,
                        "audio_end_ms": max(int(heard_ms), 0),
                    }
                )
            self._clock.on_interrupted()
            if self._playback_tracker is not None:
                self._playback_tracker.on_interrupted()
        server_cancels = interrupts_by_itself(self.server_session)
        if self.response_active and (force_cancel or not server_cancels):
            await self._send_json({"type": "response.cancel"})

    # -- server side ---------------------------------------------------------------------------

    async def handle_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except (ValueError, UnicodeDecodeError) as error:
            text = message if isinstance(message, str) else message[:200].decode("utf-8", "replace")
            await self._emit(RealtimeModelRawServerEvent(data=text))
            await self._emit(
                RealtimeModelErrorEvent(
                    error={"message": f"malformed server event: not JSON ({error}): {text[:200]!r}"}
                )
            )
            return
        await self.handle_server_event(data)

    async def handle_server_event(self, data: Any) -> None:
        await self._emit(RealtimeModelRawServerEvent(data=data))
        event_type = data.get("type") if isinstance(data, dict) else None
        if not isinstance(event_type, str):
            await self._emit(
                RealtimeModelErrorEvent(
                    error={"message": f"malformed server event: no 'type' in {str(data)[:200]}"}
                )
            )
            return
        cls = SERVER_EVENT_CLASSES.get(event_type)
        if cls is None:
            await self._emit(RealtimeModelOtherEvent(data=data))
            return
        try:
            cls.model_validate(data)
        except pydantic.ValidationError as error:
            message = describe_validation_error(event_type, error)
            await self._emit(RealtimeModelErrorEvent(error={"message": message, "event": data}))
            return
        handler = _HANDLERS.get(event_type)
        if handler is not None:
            await handler(self, data)

    async def _on_session(self, data: dict[str, Any]) -> None:
        self.server_session = data.get("session") or {}
        audio_format = output_audio_format(self.server_session)
        if audio_format is not None:
            self._clock.audio_format = audio_format
            if self._playback_tracker is not None:
                self._playback_tracker.set_audio_format(audio_format)

    async def _on_error(self, data: dict[str, Any]) -> None:
        error = data["error"]
        if self._create_event_id is not None and error.get("event_id") == self._create_event_id:
            self._create_event_id = None  # that response will not come: do not wait for it
        await self._emit(RealtimeModelErrorEvent(error=error))

    async def _on_response_created(self, data: dict[str, Any]) -> None:
        response_id = data["response"].get("id")
        self._active_response_id = response_id or "unknown"
        self._create_event_id = None
        await self._emit(RealtimeModelTurnStartedEvent(response_id=response_id))

    async def _on_response_done(self, data: dict[str, Any]) -> None:
        response = data["response"]
        response_id = response.get("id")
        self._active_response_id = None
        if response.get("usage") is not None:
            usage = response["usage"]
            await self._emit(usage_event(usage, response_id))
        await self._emit(
            RealtimeModelTurnEndedEvent(response_id=response_id, status=response.get("status"))
        )
        if self._create_deferred:
            self._create_deferred = False
            await self.request_response()

    async def _on_output_item(self, data: dict[str, Any]) -> None:
        item = data["item"]
        if item.get("type") == "message":
            status = "completed" if data["type"] == "response.output_item.done" else None
            await self._emit(
                RealtimeModelItemUpdatedEvent(item=message_item({"status": status, **item}))
            )
        elif (
            item.get("type") == "function_call"
            and data["type"] == "response.output_item.done"
            and item.get("status", "completed") == "completed"
        ):
            call_item = RealtimeToolCallItem(
                item_id=item.get("id") or "",
                call_id=item.get("call_id"),
                status="in_progress",
                arguments=item.get("arguments") or "",
                name=item.get("name") or "",
            )
            await self._emit(RealtimeModelItemUpdatedEvent(item=call_item))
            await self._emit(
                RealtimeModelToolCallEvent(
                    name=item.get("name") or "",
                    call_id=item.get("call_id") or "",
                    arguments=item.get("arguments") or "",
                    id=item.get("id"),
                    response_id=data.get("response_id"),
                )
            )

    async def _on_conversation_item(self, data: dict[str, Any]) -> None:
        item = data["item"]
        if item.get("type") == "message":
            await self._emit(
                RealtimeModelItemUpdatedEvent(item=message_item(item, data.get("previous_item_id")))
            )

    async def _on_audio_delta(self, data: dict[str, Any]) -> None:
        try:
            audio = base64.b64decode(data["delta"], validate=True)
        except ValueError:
            await self._emit(
                RealtimeModelErrorEvent(
                    error={
                        "message": "malformed server event 'response.output_audio.delta': "
                        "delta is not base64"
                    }
                )
            )
            return
        self._clock.on_audio(data["item_id"], data["content_index"], audio)
        await self._emit(
            RealtimeModelAudioEvent(
                data=audio,
                response_id=data["response_id"],
                item_id=data["item_id"],
                content_index=data["content_index"],
            )
        )

    async def _on_audio_done(self, data: dict[str, Any]) -> None:
        await self._emit(
            RealtimeModelAudioDoneEvent(
                item_id=data["item_id"], content_index=data["content_index"]
            )
        )

    async def _on_transcript_delta(self, data: dict[str, Any]) -> None:
        await self._emit(
            RealtimeModelTranscriptDeltaEvent(
                item_id=data["item_id"], delta=data["delta"], response_id=data["response_id"]
            )
        )

    async def _on_text_delta(self, data: dict[str, Any]) -> None:
        await self._emit(
            RealtimeModelOutputTextDeltaEvent(
                item_id=data["item_id"], delta=data["delta"], response_id=data["response_id"]
            )
        )

    async def _on_transcription_completed(self, data: dict[str, Any]) -> None:
        await self._emit(
            RealtimeModelInputAudioTranscriptionCompletedEvent(
                item_id=data["item_id"], transcript=data["transcript"]
            )
        )

    async def _on_transcription_failed(self, data: dict[str, Any]) -> None:
        error = data.get("error") or {}
        await self._emit(
            RealtimeModelErrorEvent(
                error={
                    "type": "transcription_failed",
                    "code": error.get("code"),
                    "item_id": data["item_id"],
                    "message": f"transcription of the user's audio failed: {error.get('message')}",
                }
            )
        )

    async def _on_truncated(self, data: dict[str, Any]) -> None:
        # The server dropped the unheard audio and its transcript: fetch the item as it now is.
        await self._send_json({"type": "conversation.item.retrieve", "item_id": data["item_id"]})

    async def _on_item_deleted(self, data: dict[str, Any]) -> None:
        await self._emit(RealtimeModelItemDeletedEvent(item_id=data["item_id"]))

    async def _on_speech_started(self, data: dict[str, Any]) -> None:
        await self._interrupt(force_cancel=False, from_server_vad=True)


_Handler = Callable[[OpenAIRealtimeProtocol, dict[str, Any]], Awaitable[None]]
_HANDLERS: dict[str, _Handler] = {
    "session.created": OpenAIRealtimeProtocol._on_session,
    "session.updated": OpenAIRealtimeProtocol._on_session,
    "error": OpenAIRealtimeProtocol._on_error,
    "response.created": OpenAIRealtimeProtocol._on_response_created,
    "response.done": OpenAIRealtimeProtocol._on_response_done,
    "response.output_item.added": OpenAIRealtimeProtocol._on_output_item,
    "response.output_item.done": OpenAIRealtimeProtocol._on_output_item,
    "conversation.item.added": OpenAIRealtimeProtocol._on_conversation_item,
    "conversation.item.created": OpenAIRealtimeProtocol._on_conversation_item,
    "conversation.item.retrieved": OpenAIRealtimeProtocol._on_conversation_item,
    "conversation.item.done": OpenAIRealtimeProtocol._on_conversation_item,
    "conversation.item.deleted": OpenAIRealtimeProtocol._on_item_deleted,
    "conversation.item.truncated": OpenAIRealtimeProtocol._on_truncated,
    "conversation.item.input_audio_transcription.failed": (
        OpenAIRealtimeProtocol._on_transcription_failed
    ),
    "conversation.item.input_audio_transcription.completed": (
        OpenAIRealtimeProtocol._on_transcription_completed
    ),
    "response.output_audio.delta": OpenAIRealtimeProtocol._on_audio_delta,
    "response.output_audio.done": OpenAIRealtimeProtocol._on_audio_done,
    "response.output_audio_transcript.delta": OpenAIRealtimeProtocol._on_transcript_delta,
    "response.output_text.delta": OpenAIRealtimeProtocol._on_text_delta,
    "input_audio_buffer.speech_started": OpenAIRealtimeProtocol._on_speech_started,
}
