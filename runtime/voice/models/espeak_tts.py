"""`EspeakTTSModel`: offline text-to-speech with eSpeak NG (Debian's `espeak-ng`), run as a
subprocess that writes WAV to its stdout; the audio is streamed as it comes, resampled to the
pipeline's 24 kHz. Robotic, but instant, small and without a key or network."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import struct
from collections.abc import AsyncIterator

import numpy as np
import numpy.typing as npt

from ...exceptions import UserError
from ..audio import StreamResampler, float32_to_pcm16
from ..exceptions import VoiceModelError
from ..model import DEFAULT_TTS_INSTRUCTIONS, TTSModel, TTSModelSettings

DEFAULT_VOICE = "en-us"
DEFAULT_WORDS_PER_MINUTE = 150
READ_BYTES = 4096
_HEADER_MAX = 4096


class EspeakTTSModel(TTSModel):
    def __init__(
        self,
        voice: str = DEFAULT_VOICE,
        *,
        words_per_minute: int = DEFAULT_WORDS_PER_MINUTE,
        executable: str = "espeak-ng",
        sample_rate: int = 24_000,
        model_name: str = "espeak-ng",
    ) -> None:
        """`voice`: an espeak-ng voice (`espeak-ng --voices` lists them), used when
        `TTSModelSettings.voice` is None. `sample_rate`: the rate of the PCM yielded."""
        if not 80 <= words_per_minute <= 450:
            raise UserError(
                f"EspeakTTSModel.words_per_minute must be 80 to 450, got {words_per_minute}"
            )
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.executable = executable
        self.sample_rate = sample_rate
        self._model_name = model_name

    @property
    def model_name(self) -> str:
        return self._model_name

    def _command(self, settings: TTSModelSettings) -> list[str]:
        voice = settings.voice if settings.voice is not None else self.voice
        if not isinstance(voice, str):
            raise UserError(f"EspeakTTSModel takes an espeak-ng voice name, got {voice!r}")
        if settings.instructions not in (DEFAULT_TTS_INSTRUCTIONS, "", None):
            raise UserError(
                "EspeakTTSModel cannot follow TTSModelSettings.instructions; leave them at the "
                "default"
            )
        speed = 1.0 if settings.speed is None else settings.speed
        if not 0.25 <= speed <= 4.0:
            raise UserError(f"TTSModelSettings.speed must be 0.25 to 4.0, got {speed}")
        rate = max(80, min(450, round(self.words_per_minute * speed)))
        path = shutil.which(self.executable)
        if path is None:
            raise VoiceModelError(
                f"{self.executable} is not installed (Debian: apt-get install espeak-ng)"
            )
        return [path, "-v", voice, "-s", str(rate), "--stdout", "--stdin"]

    async def run(self, text: str, settings: TTSModelSettings) -> AsyncIterator[bytes]:
        command = self._command(settings)
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(text.encode("utf-8"))
            await process.stdin.drain()
            process.stdin.close()
            resampler: StreamResampler | None = None
            head = b""
            carry = b""
            while True:
                block = await process.stdout.read(READ_BYTES)
                if resampler is None:
                    head += block
                    if not head and not block:
                        await self._raise_failure(process)
                    parsed = _parse_header(head, final=not block)
                    if parsed is None:
                        continue
                    source_rate, offset = parsed
                    resampler = StreamResampler(source_rate, self.sample_rate)
                    block = head[offset:]
                data = carry + block
                whole = len(data) - len(data) % 2
                carry = data[whole:]
                out = resampler.feed(_pcm_to_float(data[:whole]), final=not block)
                if out.size:
                    yield float32_to_pcm16(out).astype("<i2").tobytes()
                if not block:
                    break
            if await process.wait() != 0:
                await self._raise_failure(process)
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()

    @staticmethod
    async def _raise_failure(process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        assert process.stderr is not None
        message = (await process.stderr.read()).decode("utf-8", "replace").strip()
        raise VoiceModelError(f"espeak-ng failed (exit {code}): {message or 'no audio'}")


def _pcm_to_float(data: bytes) -> npt.NDArray[np.float32]:
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767.0).astype(np.float32)


def _parse_header(head: bytes, final: bool) -> tuple[int, int] | None:
    """(sample rate, offset of the PCM) once the WAV header is complete; None to read more.
    The sizes in a piped WAV header are placeholders, so the data chunk is taken to the end."""
    if len(head) >= 12 and (head[:4] != b"RIFF" or head[8:12] != b"WAVE"):
        raise VoiceModelError("espeak-ng did not write a WAV stream")
    offset, rate = 12, None
    while offset + 8 <= len(head):
        chunk_id = head[offset : offset + 4]
        size = struct.unpack_from("<I", head, offset + 4)[0]
        if chunk_id == b"fmt ":
            if offset + 24 > len(head):
                break
            tag, channels, rate = struct.unpack_from("<HHI", head, offset + 8)
            bits = struct.unpack_from("<H", head, offset + 22)[0]
            if tag != 1 or channels != 1 or bits != 16:
                raise VoiceModelError(f"espeak-ng wrote {bits}-bit, {channels}-channel audio")
        elif chunk_id == b"data":
            if rate is None:
                raise VoiceModelError("espeak-ng's WAV has no fmt chunk before its data")
            return rate, offset + 8
        offset += 8 + size + (size & 1)
    if final or len(head) > _HEADER_MAX:
        if not head:
            raise VoiceModelError("espeak-ng wrote no audio")
        raise VoiceModelError("espeak-ng's WAV header could not be read")
    return None
