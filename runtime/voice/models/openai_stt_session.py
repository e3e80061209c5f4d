"""Streamed transcription over OpenAI's realtime transcription websocket, as the official SDK does:
`<base_url>/realtime?intent=transcription`, a `session.update` of type "transcription", audio
appended as base64 24 kHz PCM16, the server's VAD committing turns, one
`conversation.item.input_audio_transcription.completed` per turn. At the end of the input the
last audio is committed and the buffer cleared; the session ends once every committed turn has its
transcript.

One transcription span per turn, from the server's `speech_started` (or commit) to its transcript,
holding that turn's audio (cut at the server's `audio_end_ms`) when sensitive audio is on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt
import websockets
from openai import AsyncOpenAI

from agentoscope.tracing import Span, transcription_span

from ..audio import TRACE_AUDIO_RATE, duration_ms, to_pcm16_mono
from ..exceptions import STTWebsocketConnectionError
from ..input import StreamedAudioInput
from ..model import StreamedTranscriptionSession, STTModelSettings

SESSION_TIMEOUT_S = 10.0
FINAL_TRANSCRIPT_TIMEOUT_S = 30.0
DEFAULT_TURN_DETECTION: dict[str, Any] = {"type": "semantic_vad"}
_EVENTS_CREATED = ("session.created", "transcription_session.created")
_EVENTS_UPDATED = ("session.updated", "transcription_session.updated")
_COMPLETED = (
    "conversation.item.input_audio_transcription.completed",
    "input_audio_transcription_completed",  # older servers
)


def websocket_url(client: AsyncOpenAI) -> str:
    """The transcription websocket's URL from the client's `websocket_base_url` or `base_url`."""
    base = str(client.websocket_base_url or client.base_url)
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/") + "/realtime"
    return urlunsplit((scheme, parts.netloc, path, urlencode({"intent": "transcription"}), ""))


def _headers(client: AsyncOpenAI) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {client.api_key}"}
    if client.organization:
        headers["OpenAI-Organization"] = client.organization
    if client.project:
        headers["OpenAI-Project"] = client.project
    return headers


class OpenAISTTTranscriptionSession(StreamedTranscriptionSession):
    def __init__(
        self,
        input: StreamedAudioInput,
        client: AsyncOpenAI,
        model: str,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
        *,
        transcription_config: dict[str, Any] | None = None,
    ) -> None:
        self._input = input
        self._client = client
        self._model = model
        self._settings = settings
        self._sensitive = trace_include_sensitive_data
        self._sensitive_audio = trace_include_sensitive_audio_data
        self._turn_detection = settings.turn_detection or DEFAULT_TURN_DETECTION
        config = dict(transcription_config or {"model": model})
        if settings.prompt is not None:
            config["prompt"] = settings.prompt
        if settings.keywords is not None:
            config["keywords"] = list(settings.keywords)
        self._transcription_config = config
        self._ws: Any = None
        self._span: Span[Any] | None = None
        # Audio sent and not yet given to a turn's span (kept only with sensitive audio on),
        # counted in 24 kHz frames from the start of the session.
        self._sent: list[npt.NDArray[np.int16]] = []
        self._sent_base = 0
        self._sent_frames = 0
        self._turn_start = 0
        self._turn_ends: dict[str, int] = {}  # item id -> frame where its speech stopped
        self._final_commit_id: str | None = None
        self._input_ended = False
        self._closing = False

    # --- spans ---------------------------------------------------------------------------------

    def _open_span(self) -> None:
        if self._span is not None:
            return
        config = self._transcription_config
        self._span = transcription_span(
            model=self._model,
            input_format="pcm",
            model_config={
                "temperature": self._settings.temperature,
                "language": config.get("language"),
                "languages": config.get("languages"),
                "prompt": config.get("prompt") if self._sensitive else None,
                "keywords": config.get("keywords") if self._sensitive else None,
                "turn_detection": self._turn_detection,
                "sample_rate": TRACE_AUDIO_RATE,
            },
        )
        self._span.start()

    def _take_turn_audio(self, end: int | None) -> tuple[int, npt.NDArray[np.int16] | None]:
        """(frames, audio) of the turn ending at frame `end` (None: everything sent so far)."""
        end = (
            self._sent_frames if end is None else max(self._turn_start, min(end, self._sent_frames))
        )
        frames = end - self._turn_start
        audio = None
        if self._sent:
            sent = np.concatenate(self._sent)
            audio = sent[self._turn_start - self._sent_base : end - self._sent_base]
            self._sent = [sent[end - self._sent_base :]]
            self._sent_base = end
        self._turn_start = end
        return frames, audio

    def _close_span(
        self, transcript: str | None, error: str | None = None, item_id: str | None = None
    ) -> None:
        span, self._span = self._span, None
        if span is None:
            return
        frames, audio = self._take_turn_audio(self._turn_ends.pop(str(item_id), None))
        if isinstance(span.span_data.model_config, dict):
            span.span_data.model_config["audio_duration_ms"] = duration_ms(frames, TRACE_AUDIO_RATE)
        if self._sensitive_audio and audio is not None and audio.size:
            span.span_data.input = base64.b64encode(audio.astype("<i2").tobytes()).decode("ascii")
        if transcript is not None and self._sensitive:
            span.span_data.output = transcript
        if error is not None:
            span.set_error({"message": error, "data": {"type": "TranscriptionFailed"}})
        span.finish()

    # --- the connection ------------------------------------------------------------------------

    async def _expect(self, ws: Any, types: tuple[str, ...]) -> dict[str, Any]:
        async with asyncio.timeout(SESSION_TIMEOUT_S):
            while True:
                event = json.loads(await ws.recv())
                if event.get("type") in types:
                    return dict(event)
                if event.get("type") == "error":
                    raise STTWebsocketConnectionError(
                        f"transcription session refused: {event.get('error')}"
                    )

    async def _connect(self) -> Any:
        url = websocket_url(self._client)
        try:
            ws = await websockets.connect(
                url, additional_headers=_headers(self._client), open_timeout=SESSION_TIMEOUT_S
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
            raise STTWebsocketConnectionError(
                f"could not open the transcription websocket {url.split('?')[0]}: {error}"
            ) from error
        try:
            await self._expect(ws, _EVENTS_CREATED)
            update = {
                "type": "session.update",
                "session": {
                    "type": "transcription",
                    "audio": {
                        "input": {
                            "format": {"type": "audio/pcm", "rate": TRACE_AUDIO_RATE},
                            "transcription": self._transcription_config,
                            "turn_detection": self._turn_detection,
                        }
                    },
                },
            }
            await ws.send(json.dumps(update))
            await self._expect(ws, _EVENTS_UPDATED)
        except TimeoutError as error:
            await ws.close()
            raise STTWebsocketConnectionError(
                "the transcription session was not created and configured in "
                f"{SESSION_TIMEOUT_S:g} s"
            ) from error
        except BaseException:
            await ws.close()
            raise
        return ws

    async def _send_audio(self, ws: Any) -> None:
        while True:
            chunk = await self._input.queue.get()
            if chunk is None:
                break
            pcm = to_pcm16_mono(
                chunk, self._input.frame_rate, self._input.channels, TRACE_AUDIO_RATE
            )
            self._sent_frames += pcm.size
            if self._sensitive_audio:
                self._sent.append(pcm)
            await ws.send(
                json.dumps(
                    {
                        "type": "input_audio_buffer.append",
                        "audio": base64.b64encode(pcm.astype("<i2").tobytes()).decode("ascii"),
                    }
                )
            )
        self._final_commit_id = f"event_{uuid.uuid4().hex}"
        self._input_ended = True
        await ws.send(
            json.dumps({"type": "input_audio_buffer.commit", "event_id": self._final_commit_id})
        )
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))

    async def transcribe_turns(self) -> AsyncIterator[str]:
        ws = self._ws = await self._connect()
        sender = asyncio.create_task(self._send_audio(ws))
        pending: set[str] = set()
        cleared = False
        try:
            while not (cleared and not pending):
                receive = asyncio.ensure_future(ws.recv())
                waiting = {receive} if sender.done() else {receive, sender}
                timeout = FINAL_TRANSCRIPT_TIMEOUT_S if self._input_ended else None
                done, _ = await asyncio.wait(
                    waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if sender in done and sender.exception() is not None:
                    receive.cancel()
                    raise sender.exception()  # type: ignore[misc]
                if not done:
                    receive.cancel()
                    raise STTWebsocketConnectionError(
                        f"no final transcript within {FINAL_TRANSCRIPT_TIMEOUT_S:g} s of the end "
                        "of the input"
                    )
                if receive not in done:
                    await asyncio.wait({receive})
                try:
                    message = receive.result()
                except websockets.ConnectionClosed as closed:
                    if self._closing:
                        return
                    raise STTWebsocketConnectionError(
                        f"the transcription websocket closed before the last transcript ({closed})"
                    ) from closed
                event = json.loads(message)
                kind = event.get("type", "")
                if kind == "error":
                    error = event.get("error") or {}
                    if error.get("code") == "input_audio_buffer_commit_empty":
                        continue  # the server's VAD had already committed the last audio
                    raise STTWebsocketConnectionError(f"transcription error: {error}")
                if kind in ("input_audio_buffer.speech_started", "input_audio_buffer.committed"):
                    self._open_span()  # a turn from its first speech to its transcript
                if kind == "input_audio_buffer.speech_stopped" and "audio_end_ms" in event:
                    end = int(event["audio_end_ms"]) * TRACE_AUDIO_RATE // 1000
                    self._turn_ends[str(event.get("item_id"))] = end
                elif kind == "input_audio_buffer.committed":
                    pending.add(str(event.get("item_id")))
                elif kind == "input_audio_buffer.cleared":
                    cleared = self._input_ended
                elif kind == "conversation.item.input_audio_transcription.failed":
                    pending.discard(str(event.get("item_id")))
                    detail = (event.get("error") or {}).get("message", "unknown error")
                    self._open_span()
                    self._close_span(None, f"transcription failed: {detail}", event.get("item_id"))
                    failure = STTWebsocketConnectionError(
                        f"input audio transcription failed: {detail}"
                    )
                    if self.on_turn_error is None:
                        raise failure
                    await self.on_turn_error(failure)
                elif kind in _COMPLETED:
                    pending.discard(str(event.get("item_id")))
                    transcript = str(event.get("transcript") or "")
                    self._open_span()
                    self._close_span(transcript, item_id=event.get("item_id"))
                    if transcript.strip():
                        yield transcript
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            if self._span is not None:  # speech that never got its transcript
                self._close_span(None, "the session ended before this turn's transcript")
            await ws.close()

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
