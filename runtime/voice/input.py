"""Audio handed to the pipeline: one buffer (`AudioInput`) or a stream (`StreamedAudioInput`)."""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import UserError
from .audio import (
    AudioArray,
    check_audio,
    float32_to_pcm16,
    read_wav,
    to_mono_float32,
    wav_bytes,
)

DEFAULT_SAMPLE_RATE = 24_000


@dataclass
class AudioInput:
    """One recorded utterance: int16 or float32 samples, any rate, mono or several channels
    (shape (frames, channels), or interleaved with `channels` set)."""

    buffer: AudioArray
    frame_rate: int = DEFAULT_SAMPLE_RATE
    sample_width: int = 2
    """Bytes per sample of the WAV file made by `to_audio_file()` (1 to 4)."""
    channels: int = 1

    def __post_init__(self) -> None:
        check_audio(self.buffer, "AudioInput.buffer")
        if self.frame_rate <= 0:
            raise UserError(f"AudioInput.frame_rate must be positive, got {self.frame_rate}")
        if self.sample_width not in (1, 2, 3, 4):
            raise UserError(
                f"AudioInput.sample_width must be 1 to 4 bytes, got {self.sample_width}"
            )
        if self.channels < 1:
            raise UserError(f"AudioInput.channels must be at least 1, got {self.channels}")
        if self.buffer.ndim == 2 and self.buffer.shape[1] != self.channels:
            if self.channels != 1:
                raise UserError(
                    f"AudioInput.buffer has {self.buffer.shape[1]} channels, "
                    f"channels={self.channels}"
                )
            self.channels = int(self.buffer.shape[1])

    @classmethod
    def from_wav(cls, data: bytes) -> AudioInput:
        """The audio of a WAV file's bytes, at its own rate and channels."""
        samples, rate, channels = read_wav(data)
        return cls(buffer=samples, frame_rate=rate, channels=channels)

    @property
    def frames(self) -> int:
        return self.buffer.shape[0] if self.buffer.ndim == 2 else self.buffer.size // self.channels

    def to_audio_file(self) -> tuple[str, io.BytesIO, str]:
        """(filename, WAV bytes, content type), the file tuple that upload APIs take."""
        data = wav_bytes(self.buffer, self.frame_rate, self.channels, self.sample_width)
        return ("audio.wav", io.BytesIO(data), "audio/wav")

    def to_base64(self) -> str:
        """Base64 of the samples as little-endian PCM16, channels averaged (the SDK's form)."""
        if self.channels == 1 and self.buffer.ndim == 1 and self.buffer.dtype == np.int16:
            pcm = self.buffer
        else:
            pcm = float32_to_pcm16(to_mono_float32(self.buffer, self.channels))
        data = pcm.astype("<i2").tobytes()
        return base64.b64encode(data).decode("ascii")


class StreamedAudioInput:
    """Audio that arrives over time: `await add_audio(chunk)` as it comes, `add_audio(None)` at
    the end. All chunks share one rate and channel count (the SDK's default: 24 kHz mono)."""

    def __init__(self, frame_rate: int = DEFAULT_SAMPLE_RATE, channels: int = 1) -> None:
        if frame_rate <= 0:
            raise UserError(f"StreamedAudioInput.frame_rate must be positive, got {frame_rate}")
        if channels < 1:
            raise UserError(f"StreamedAudioInput.channels must be at least 1, got {channels}")
        self.frame_rate = frame_rate
        self.channels = channels
        self.queue: asyncio.Queue[AudioArray | None] = asyncio.Queue()

    async def add_audio(self, audio: Any) -> None:
        """Queue a chunk (int16 or float32 array), or None to end the stream."""
        if audio is not None:
            check_audio(audio, "StreamedAudioInput.add_audio")
        await self.queue.put(audio)
