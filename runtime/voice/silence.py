"""Turns in streamed audio found by silence (the seed's `silence_threshold` and
`silence_duration_ms`), for speech models that have no turn detection of their own.

A 20 ms frame is speech when its RMS level (samples in [-1, 1]) reaches the threshold. A turn
starts at the first speech frame, with 200 ms of what came before it (so a soft first syllable is
not cut), and ends once `silence_duration_ms` of silence follows; the end of the input ends the
turn in progress. Each turn is transcribed with the model's `transcribe`, one transcription span
per turn.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ..exceptions import UserError
from .audio import float32_to_pcm16, to_mono_float32
from .input import AudioInput, StreamedAudioInput
from .model import StreamedTranscriptionSession, STTModel, STTModelSettings, TurnErrorHandler

FRAME_MS = 20
PREROLL_MS = 200
DEFAULT_SILENCE_THRESHOLD = 0.01
DEFAULT_SILENCE_DURATION_MS = 500


class SilenceDetector:
    """Feeds on mono float32 audio; `feed` returns the turns that ended, `flush` the one in
    progress."""

    def __init__(self, threshold: float, silence_duration_ms: int, sample_rate: int) -> None:
        if not 0.0 < threshold < 1.0:
            raise UserError(f"silence_threshold must be between 0 and 1 (RMS), got {threshold}")
        if silence_duration_ms < FRAME_MS:
            raise UserError(
                f"silence_duration_ms must be at least {FRAME_MS}, got {silence_duration_ms}"
            )
        self.threshold = threshold
        self.frame = max(1, sample_rate * FRAME_MS // 1000)
        self._silent_frames_to_end = -(-silence_duration_ms // FRAME_MS)
        self._preroll: deque[npt.NDArray[np.float32]] = deque(maxlen=PREROLL_MS // FRAME_MS)
        self._partial = np.zeros(0, dtype=np.float32)
        self._turn: list[npt.NDArray[np.float32]] = []
        self._silent_run = 0

    @property
    def in_turn(self) -> bool:
        return bool(self._turn)

    def feed(self, samples: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        data = np.concatenate([self._partial, samples]) if self._partial.size else samples
        whole = data.size - data.size % self.frame
        self._partial = data[whole:]
        ended: list[npt.NDArray[np.float32]] = []
        for start in range(0, whole, self.frame):
            frame = data[start : start + self.frame]
            loud = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64)))) >= self.threshold
            if self._turn:
                self._turn.append(frame)
                self._silent_run = 0 if loud else self._silent_run + 1
                if self._silent_run >= self._silent_frames_to_end:
                    ended.append(np.concatenate(self._turn))
                    self._turn = []
                    self._silent_run = 0
            elif loud:
                self._turn = [*self._preroll, frame]
                self._preroll.clear()
            else:
                self._preroll.append(frame)
        return ended

    def flush(self) -> npt.NDArray[np.float32] | None:
        """The turn in progress, if any, at the end of the input."""
        if not self._turn:
            return None
        turn = np.concatenate([*self._turn, self._partial])
        self._turn, self._partial, self._silent_run = [], np.zeros(0, dtype=np.float32), 0
        return turn


def silence_settings(turn_detection: dict[str, Any] | None) -> tuple[float, int]:
    """(threshold, duration) from `STTModelSettings.turn_detection` for a silence-turned model:
    None, or {"type": "silence", "threshold": ..., "silence_duration_ms": ...}."""
    if turn_detection is None:
        return DEFAULT_SILENCE_THRESHOLD, DEFAULT_SILENCE_DURATION_MS
    unknown = set(turn_detection) - {"type", "threshold", "silence_duration_ms"}
    if turn_detection.get("type", "silence") != "silence" or unknown:
        raise UserError(
            "STTModelSettings.turn_detection for a model without its own turn detection must be "
            '{"type": "silence", "threshold": float, "silence_duration_ms": int}, '
            f"got {turn_detection!r}"
        )
    return (
        float(turn_detection.get("threshold", DEFAULT_SILENCE_THRESHOLD)),
        int(turn_detection.get("silence_duration_ms", DEFAULT_SILENCE_DURATION_MS)),
    )


class SilenceTurnSession(StreamedTranscriptionSession):
    """Splits a `StreamedAudioInput` into turns by silence and transcribes each with `model`.

    With `on_turn_error`, a turn whose transcription fails (or a chunk that cannot be read) is
    reported there and the session goes on; without it the error ends the session."""

    def __init__(
        self,
        model: STTModel,
        input: StreamedAudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
        *,
        threshold: float = DEFAULT_SILENCE_THRESHOLD,
        silence_duration_ms: int = DEFAULT_SILENCE_DURATION_MS,
        on_turn_error: TurnErrorHandler | None = None,
    ) -> None:
        self._model = model
        self._input = input
        self._settings = settings
        self._sensitive = trace_include_sensitive_data
        self._sensitive_audio = trace_include_sensitive_audio_data
        self._detector = SilenceDetector(threshold, silence_duration_ms, input.frame_rate)
        self.on_turn_error = on_turn_error
        self._closed = asyncio.Event()

    async def _next_chunk(self) -> tuple[bool, Any]:
        """(False, None) once closed; else (True, the next chunk or None at the end)."""
        if self._closed.is_set():
            return False, None
        getter = asyncio.ensure_future(self._input.queue.get())
        closer = asyncio.ensure_future(self._closed.wait())
        done, _ = await asyncio.wait({getter, closer}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            closer.cancel()
            return True, getter.result()
        getter.cancel()
        return False, None

    async def _report(self, error: Exception) -> None:
        if self.on_turn_error is None:
            raise error
        await self.on_turn_error(error)

    async def _transcribe(self, turn: npt.NDArray[np.float32]) -> str:
        audio = AudioInput(buffer=float32_to_pcm16(turn), frame_rate=self._input.frame_rate)
        try:
            text = await self._model.transcribe(
                audio, self._settings, self._sensitive, self._sensitive_audio
            )
        except Exception as error:
            await self._report(error)
            return ""
        return text.strip()

    async def transcribe_turns(self) -> AsyncIterator[str]:
        while True:
            alive, chunk = await self._next_chunk()
            if not alive:
                return
            if chunk is None:
                last = self._detector.flush()
                if last is not None and (text := await self._transcribe(last)):
                    yield text
                return
            try:
                samples = to_mono_float32(chunk, self._input.channels)
            except UserError as error:
                await self._report(UserError(f"StreamedAudioInput chunk skipped: {error.message}"))
                continue
            for turn in self._detector.feed(samples):
                if text := await self._transcribe(turn):
                    yield text

    async def close(self) -> None:
        self._closed.set()
