"""Audio as numpy arrays: checks, conversions between sample formats, rates and channel layouts,
and WAV in and out.

Models each want one format (OpenAI: 24 kHz mono PCM16; PocketSphinx: 16 kHz mono PCM16;
espeak-ng writes 22.05 kHz). Callers hand over whatever they have, int16 or float32, any rate, mono
or interleaved stereo, and these helpers convert, saying what was wrong when they cannot.
"""

from __future__ import annotations

import base64
import io
import struct
import wave
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from ..exceptions import UserError

AudioArray: TypeAlias = npt.NDArray[Any]
"""An int16 or float32 array: shape (frames,) for mono, (frames, channels) for several."""

PCM16_MAX = 32767


def check_audio(buffer: Any, where: str) -> AudioArray:
    """`buffer` itself when it is an int16 or float32 array of one or two dimensions."""
    if not isinstance(buffer, np.ndarray):
        raise UserError(f"{where}: audio must be a numpy array, got {type(buffer).__name__}")
    if buffer.dtype not in (np.int16, np.float32):
        raise UserError(
            f"{where}: audio must be int16 or float32 samples, got {buffer.dtype} "
            "(convert with .astype(np.int16) or scale to float32 in [-1, 1])"
        )
    if buffer.ndim not in (1, 2):
        raise UserError(f"{where}: audio must have shape (frames,) or (frames, channels)")
    return buffer


def to_mono_float32(buffer: AudioArray, channels: int = 1) -> Any:
    """Samples in [-1, 1], channels averaged. A 1-D buffer with `channels` > 1 is interleaved."""
    if channels < 1:
        raise UserError(f"channels must be at least 1, got {channels}")
    if buffer.ndim == 1 and channels > 1:
        if buffer.size % channels:
            raise UserError(
                f"{buffer.size} samples do not split into whole frames of {channels} channels"
            )
        buffer = buffer.reshape(-1, channels)
    elif buffer.ndim == 2 and buffer.shape[1] != channels:
        raise UserError(f"audio has {buffer.shape[1]} channels where {channels} were declared")
    if buffer.dtype == np.int16:
        samples = buffer.astype(np.float32) / PCM16_MAX
    else:
        samples = np.clip(buffer, -1.0, 1.0).astype(np.float32, copy=False)
    if samples.ndim == 2:
        samples = samples.mean(axis=1, dtype=np.float32)
    return samples


def float32_to_pcm16(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    return np.round(np.clip(samples, -1.0, 1.0) * PCM16_MAX).astype(np.int16)


def resample(samples: npt.NDArray[np.float32], src_rate: int, dst_rate: int) -> Any:
    """Linear-interpolation resampling; speech models are tolerant of it, and it keeps numpy the
    only dependency. Downsampling first averages neighbours so high tones do not alias."""
    if src_rate <= 0 or dst_rate <= 0:
        raise UserError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    if src_rate == dst_rate or samples.size == 0:
        return samples
    if dst_rate < src_rate:
        width = max(1, round(src_rate / dst_rate))
        if width > 1:
            kernel = np.full(width, 1.0 / width, dtype=np.float32)
            samples = np.convolve(samples, kernel, mode="same").astype(np.float32)
    count = max(1, round(samples.size * dst_rate / src_rate))
    positions = np.linspace(0, samples.size - 1, count)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def to_pcm16_mono(buffer: AudioArray, rate: int, channels: int, target_rate: int) -> Any:
    """The int16 mono samples at `target_rate` that most models take."""
    return float32_to_pcm16(resample(to_mono_float32(buffer, channels), rate, target_rate))


def pcm16_bytes_to_array(data: bytes) -> npt.NDArray[np.int16]:
    if len(data) % 2:
        raise UserError(f"PCM16 audio must have an even number of bytes, got {len(data)}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def bytes_to_audio(data: bytes, audio_format: str, where: str) -> AudioArray:
    """Raw bytes in `audio_format` ("pcm16": little-endian int16; "float32") as an array."""
    width = {"pcm16": 2, "float32": 4}.get(audio_format)
    if width is None:
        raise UserError(f"{where}: unsupported audio format {audio_format!r} (pcm16 or float32)")
    if len(data) % width:
        raise UserError(
            f"{where}: {len(data)} bytes is not a whole number of {width}-byte {audio_format} "
            "samples (wrong sample width?)"
        )
    if width == 2:
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def duration_ms(frames: int, rate: int) -> float:
    return round(frames * 1000.0 / rate, 1)


# --- WAV --------------------------------------------------------------------------------------


def wav_bytes(buffer: AudioArray, rate: int, channels: int = 1, sample_width: int = 2) -> bytes:
    """A WAV file of `buffer` (int16 or float32), written as 8/16/24/32-bit integer PCM."""
    check_audio(buffer, "wav_bytes")
    if sample_width not in (1, 2, 3, 4):
        raise UserError(f"sample_width must be 1, 2, 3 or 4 bytes, got {sample_width}")
    if rate <= 0:
        raise UserError(f"frame rate must be positive, got {rate}")
    if buffer.ndim == 2:
        if buffer.shape[1] != channels:
            raise UserError(f"buffer has {buffer.shape[1]} channels but channels={channels}")
        buffer = buffer.reshape(-1)
    if buffer.size % channels:
        raise UserError(f"{buffer.size} samples do not split into frames of {channels} channels")
    scaled = (
        buffer.astype(np.float64) / PCM16_MAX
        if buffer.dtype == np.int16
        else np.clip(buffer.astype(np.float64), -1.0, 1.0)
    )
    if sample_width == 1:
        frames = np.round((scaled + 1.0) * 127.5).astype(np.uint8).tobytes()
    elif sample_width == 2 and buffer.dtype == np.int16:
        frames = buffer.astype("<i2").tobytes()
    else:
        peak = (1 << (8 * sample_width - 1)) - 1
        ints = np.round(scaled * peak).astype("<i4")
        if sample_width == 2:
            frames = ints.astype("<i2").tobytes()
        elif sample_width == 3:
            frames = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        else:
            frames = ints.tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(sample_width)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def read_wav(data: bytes) -> tuple[AudioArray, int, int]:
    """(samples, rate, channels) of a PCM WAV file; int16 for 16-bit files, float32 otherwise.

    Tolerates the header of a WAV written to a pipe (espeak-ng --stdout), whose sizes are
    placeholders: the data chunk then runs to the end of the bytes."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise UserError("not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int] | None = None
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        size = struct.unpack_from("<I", data, offset + 4)[0]
        body_start = offset + 8
        if chunk_id == b"fmt ":
            tag, channels, rate = struct.unpack_from("<HHI", data, body_start)
            bits = struct.unpack_from("<H", data, body_start + 14)[0]
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise UserError("WAV data chunk comes before its fmt chunk")
            body = data[body_start : min(len(data), body_start + size)]
            return _decode_frames(body, *fmt)
        offset = body_start + size + (size & 1)
    raise UserError("WAV file has no data chunk")


def _decode_frames(body: bytes, tag: int, channels: int, rate: int, bits: int) -> Any:
    width = bits // 8
    if tag not in (1, 3, 0xFFFE) or width not in (1, 2, 3, 4) or channels < 1:
        raise UserError(f"unsupported WAV encoding (format {tag}, {bits} bits)")
    body = body[: len(body) - len(body) % (width * channels)]
    if tag == 3 and width == 4:
        samples: AudioArray = np.frombuffer(body, dtype="<f4").astype(np.float32)
    elif width == 2:
        samples = np.frombuffer(body, dtype="<i2").astype(np.int16)
    elif width == 1:
        samples = ((np.frombuffer(body, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0).astype(
            np.float32
        )
    elif width == 3:
        raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
        ints = (raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8) | (
            raw[:, 2].astype(np.int8).astype(np.int32) << 16
        )
        samples = (ints / float(1 << 23)).astype(np.float32)
    else:
        samples = (np.frombuffer(body, dtype="<i4") / float(1 << 31)).astype(np.float32)
    if channels > 1:
        samples = samples.reshape(-1, channels)
    return samples, rate, channels


# --- what a trace keeps -------------------------------------------------------------------------

TRACE_AUDIO_RATE = 24_000
"""Audio in spans is base64 of 24 kHz mono little-endian PCM16, the official SDK's "pcm", so a
dashboard can play any voice span, ours or the SDK's, without knowing the model."""


def trace_audio_base64(buffer: AudioArray, rate: int, channels: int = 1) -> str:
    pcm = to_pcm16_mono(buffer, rate, channels, TRACE_AUDIO_RATE)
    return base64.b64encode(pcm.astype("<i2").tobytes()).decode("ascii")


class StreamResampler:
    """Resamples a stream chunk by chunk with linear interpolation, keeping the exact position
    between chunks, so the output has the same length and no seams as resampling it whole."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise UserError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
        self._step = src_rate / dst_rate
        self._pending = np.zeros(0, dtype=np.float32)
        self._base = 0  # input index of _pending[0]
        self._next = 0  # index of the next output sample
        self._same = src_rate == dst_rate

    def feed(self, samples: npt.NDArray[np.float32], final: bool = False) -> Any:
        if self._same:
            return samples
        self._pending = np.concatenate([self._pending, samples])
        last = self._base + self._pending.size - 1  # the last input index we hold
        if last < 0:
            return np.zeros(0, dtype=np.float32)
        # Output k sits at input position k*step; interpolation needs the sample after it,
        # except at the very end of the stream.
        limit = last if final else last - 1
        count = max(0, int(np.floor(limit / self._step)) + 1 - self._next) if limit >= 0 else 0
        if count == 0:
            return np.zeros(0, dtype=np.float32)
        positions = (np.arange(self._next, self._next + count) * self._step) - self._base
        out = np.interp(positions, np.arange(self._pending.size), self._pending)
        self._next += count
        keep_from = max(0, int(np.floor(self._next * self._step)) - self._base)
        self._pending = self._pending[keep_from:]
        self._base += keep_from
        return out.astype(np.float32)
