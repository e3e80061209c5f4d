"""`StreamedAudioResult`: the pipeline's output, streamed as events while it is produced.

The producer (the pipeline's task) hands over text, events and turn boundaries in order; one
speaker task takes them in that order, synthesises the text with the TTS model and puts audio and
lifecycle events on the queue `stream()` reads. Keeping one ordered line means audio never
interleaves across turns, and the speech of one turn overlaps the agent's work on the next.

Spans: a `speech_group` span per turn (its text in `input`), and inside it a `speech` span per
piece of text spoken, with the model, voice, `first_content_at`, the audio's duration and time
to first audio in `model_config`, and the audio itself only when
`trace_include_sensitive_audio_data` is on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agentoscope.tracing import Span, iso_from_ns, speech_group_span, speech_span

from ..exceptions import UserError
from .audio import TRACE_AUDIO_RATE, duration_ms, pcm16_bytes_to_array, trace_audio_base64
from .events import (
    VoiceStreamEvent,
    VoiceStreamEventAgentResponse,
    VoiceStreamEventAudio,
    VoiceStreamEventError,
    VoiceStreamEventLifecycle,
    VoiceStreamEventTranscription,
)
from .model import TTSModel, TTSModelSettings
from .pipeline_config import VoicePipelineConfig

logger = logging.getLogger("agentoscope.runtime.voice")

_SEED_EVENTS = (VoiceStreamEventTranscription, VoiceStreamEventAgentResponse)


@dataclass
class _StartTurn:
    pass


@dataclass
class _Speak:
    text: str


@dataclass
class _EndTurn:
    text: str


@dataclass
class _EndSession:
    pass


@dataclass
class _Fatal:
    error: BaseException


_Item = _StartTurn | _Speak | _EndTurn | _EndSession | _Fatal | VoiceStreamEvent


class StreamedAudioResult:
    """The output of `VoicePipeline.run`: `async for event in result.stream()`."""

    def __init__(
        self,
        tts_model: TTSModel,
        tts_settings: TTSModelSettings,
        voice_pipeline_config: VoicePipelineConfig,
    ) -> None:
        self.tts_model = tts_model
        self.tts_settings = tts_settings
        self.total_output_text = ""
        self.text_generation_task: asyncio.Task[Any] | None = None
        self._config = voice_pipeline_config
        self._dtype = _output_dtype(tts_settings.dtype)
        if tts_settings.buffer_size < 1:
            raise UserError(
                f"TTSModelSettings.buffer_size must be at least 1, got {tts_settings.buffer_size}"
            )
        self._items: asyncio.Queue[_Item] = asyncio.Queue()
        self._events: asyncio.Queue[VoiceStreamEvent | _Fatal | None] = asyncio.Queue()
        self._speaker: asyncio.Task[None] | None = None
        # producer side
        self._text_buffer = ""
        self._turn_text = ""
        self._turn_open = False
        # speaker side
        self._group: Span[Any] | None = None
        self._turn_failed = False
        self.errors: list[Exception] = []
        """Every error reported in this session, in order."""
        self._raise_turn_errors = False  # a single-turn run raises, as the official SDK does

    @property
    def sample_rate(self) -> int:
        """The rate of the audio events (the TTS model's: 24 kHz for OpenAI and espeak-ng)."""
        return self.tts_model.sample_rate

    # --- the producer's side (called by VoicePipeline) -------------------------------------

    def _set_task(self, task: asyncio.Task[Any]) -> None:
        self.text_generation_task = task

    def _put(self, item: _Item) -> None:
        if self._speaker is None:
            # Created from the producer's task so it inherits its trace context.
            self._speaker = asyncio.create_task(self._speak_all())
        self._items.put_nowait(item)

    async def _add_event(self, event: VoiceStreamEvent) -> None:
        self._put(event)

    async def _add_text(self, text: str) -> None:
        if not self._turn_open:
            self._turn_open = True
            self._put(_StartTurn())
        self._text_buffer += text
        self._turn_text += text
        self.total_output_text += text
        ready, self._text_buffer = self.tts_settings.text_splitter(self._text_buffer)
        if ready:
            self._put(_Speak(ready))

    async def _turn_done(self) -> None:
        """The workflow finished a turn: speak what is left and close the turn."""
        if not self._turn_open:
            return
        if self._text_buffer.strip():
            self._put(_Speak(self._text_buffer))
        self._put(VoiceStreamEventAgentResponse(self._turn_text))
        self._put(_EndTurn(self._turn_text))
        self._text_buffer = self._turn_text = ""
        self._turn_open = False

    async def _add_error(self, error: Exception, fatal: bool = True) -> None:
        """A fatal error ends the session; otherwise it is an event and the session goes on."""
        if fatal:
            self._put(_Fatal(error))
        else:
            self._put(VoiceStreamEventError(error))

    async def _done(self) -> None:
        self._put(_EndSession())
        if self._speaker is not None:
            await asyncio.gather(self._speaker, return_exceptions=True)

    async def _cancel(self) -> None:
        if self._speaker is not None and not self._speaker.done():
            self._speaker.cancel()
            await asyncio.gather(self._speaker, return_exceptions=True)
        self._close_group()
        self._events.put_nowait(None)

    # --- the speaker ---------------------------------------------------------------------------

    async def _speak_all(self) -> None:
        try:
            while True:
                item = await self._items.get()
                if isinstance(item, _StartTurn):
                    self._group = speech_group_span()
                    self._group.start()
                    self._turn_failed = False
                    self._emit(VoiceStreamEventLifecycle("turn_started"))
                elif isinstance(item, _Speak):
                    if not self._turn_failed:
                        await self._speak(item.text)
                elif isinstance(item, _EndTurn):
                    self._close_group(item.text)
                    self._emit(VoiceStreamEventLifecycle("turn_ended"))
                elif isinstance(item, _EndSession):
                    self._close_group()
                    self._emit(VoiceStreamEventLifecycle("session_ended"))
                    self._events.put_nowait(None)
                    return
                elif isinstance(item, _Fatal):
                    self._close_group()
                    if isinstance(item.error, Exception):
                        self.errors.append(item.error)
                    self._events.put_nowait(item)
                    return
                else:
                    if isinstance(item, VoiceStreamEventError):
                        self.errors.append(item.error)
                    self._emit(item)
        finally:
            self._close_group()

    def _emit(self, event: VoiceStreamEvent) -> None:
        self._events.put_nowait(event)

    def _close_group(self, text: str | None = None) -> None:
        group, self._group = self._group, None
        if group is None:
            return
        if text is not None:
            group.span_data.input = text if self._config.trace_include_sensitive_data else ""
        group.finish()

    async def _speak(self, text: str) -> None:
        sensitive = self._config.trace_include_sensitive_data
        keep_audio = self._config.trace_include_sensitive_audio_data
        settings = self.tts_settings
        config: dict[str, Any] = {
            "voice": settings.voice,
            "instructions": settings.instructions if sensitive else None,
            "speed": settings.speed,
            "sample_rate": self.sample_rate,
        }
        span = speech_span(
            model=self.tts_model.model_name,
            input=text if sensitive else "",
            output_format="pcm",
            model_config=config,
            parent=self._group,
        )
        span.start()
        started = time.monotonic_ns()
        first_ns: int | None = None
        pending: list[bytes] = []
        kept: list[bytes] = []
        carry = b""
        total_bytes = 0
        try:
            async for chunk in self.tts_model.run(text, settings):
                if not chunk:
                    continue
                if first_ns is None:
                    first_ns = time.monotonic_ns()
                    span.span_data.first_content_at = iso_from_ns(time.time_ns())
                pending.append(chunk)
                total_bytes += len(chunk)
                if keep_audio:
                    kept.append(chunk)
                if len(pending) >= settings.buffer_size:
                    carry = self._emit_audio(carry + b"".join(pending))
                    pending = []
            tail = carry + b"".join(pending)
            if len(tail) % 2:
                tail += b"\x00"  # a model that ended on half a sample
            self._emit_audio(tail)
        except Exception as error:
            message = str(error) if sensitive else type(error).__name__
            span.set_error({"message": message, "data": {"type": type(error).__name__}})
            self._turn_failed = True
            self.errors.append(error)
            self._emit(VoiceStreamEventError(error))
            logger.warning("speech failed: %s", type(error).__name__)
        finally:
            frames = total_bytes // 2
            config["audio_duration_ms"] = duration_ms(frames, self.sample_rate)
            if first_ns is not None:
                config["time_to_first_audio_ms"] = round((first_ns - started) / 1e6, 1)
            if keep_audio and kept:
                span.span_data.output = self._trace_audio(b"".join(kept))
            span.finish()

    def _trace_audio(self, pcm: bytes) -> str:
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        if self.sample_rate == TRACE_AUDIO_RATE:
            return base64.b64encode(pcm).decode("ascii")
        return trace_audio_base64(pcm16_bytes_to_array(pcm), self.sample_rate)

    def _emit_audio(self, data: bytes) -> bytes:
        """Emits the whole samples of `data`; returns the odd byte left over."""
        whole = len(data) - len(data) % 2
        if whole:
            samples: npt.NDArray[Any] = np.frombuffer(data[:whole], dtype="<i2").astype(np.int16)
            if self._dtype == np.float32:
                samples = (samples.astype(np.float32) / 32767.0).reshape(-1, 1)
            if self.tts_settings.transform_data is not None:
                samples = self.tts_settings.transform_data(samples)
            self._emit(VoiceStreamEventAudio(data=samples))
        return data[whole:]

    # --- the consumer's side ---------------------------------------------------------------

    async def stream(self, *, include_text_events: bool = False) -> AsyncIterator[VoiceStreamEvent]:
        """The events until the session ends. An error of a single-turn run, or one that ends
        a streamed session, is yielded as a `VoiceStreamEventError` and then raised;
        `include_text_events` adds the transcription and agent-response events."""
        fatal: BaseException | None = None
        try:
            while True:
                event = await self._events.get()
                if event is None:
                    break
                if isinstance(event, _Fatal):
                    fatal = event.error
                    if isinstance(fatal, Exception):
                        yield VoiceStreamEventError(fatal)
                    break
                if not include_text_events and isinstance(event, _SEED_EVENTS):
                    continue
                yield event
        finally:
            await self._finish_producer()
        if fatal is not None:
            raise fatal
        if self._raise_turn_errors and self.errors:
            raise self.errors[0]

    async def _finish_producer(self) -> None:
        task = self.text_generation_task
        if task is not None and not task.done():
            # The consumer stopped early: stop producing, which also closes the spans.
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._speaker is not None and not self._speaker.done():
            self._speaker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._speaker


def _output_dtype(dtype: Any) -> Any:
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError) as error:
        raise UserError(f"TTSModelSettings.dtype {dtype!r} is not a numpy dtype") from error
    if resolved not in (np.dtype(np.int16), np.dtype(np.float32)):
        raise UserError(f"TTSModelSettings.dtype must be int16 or float32, got {resolved}")
    return resolved
