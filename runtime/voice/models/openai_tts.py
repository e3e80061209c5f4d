"""`OpenAITTSModel`: text-to-speech on OpenAI's speech API, streamed as 24 kHz PCM16."""

from __future__ import annotations

from collections.abc import AsyncIterator

from openai import omit

from ...exceptions import UserError
from ..model import TTSModel, TTSModelSettings
from .openai_model import OpenAIVoiceModel

DEFAULT_VOICE = "ash"
STREAM_CHUNK_BYTES = 1024


class OpenAITTSModel(OpenAIVoiceModel, TTSModel):
    sample_rate = 24_000

    async def run(self, text: str, settings: TTSModelSettings) -> AsyncIterator[bytes]:
        if settings.speed is not None and not 0.25 <= settings.speed <= 4.0:
            raise UserError(f"TTSModelSettings.speed must be 0.25 to 4.0, got {settings.speed}")
        response = self._client.audio.speech.with_streaming_response.create(
            model=self.model,
            voice=settings.voice or DEFAULT_VOICE,
            input=text,
            response_format="pcm",
            speed=settings.speed if settings.speed is not None else omit,
            extra_body={"instructions": settings.instructions},
        )
        async with response as stream:
            async for chunk in stream.iter_bytes(chunk_size=STREAM_CHUNK_BYTES):
                yield chunk
