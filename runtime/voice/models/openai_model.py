"""What OpenAI's speech-to-text and text-to-speech models share: a model name and the client."""

from __future__ import annotations

from openai import AsyncOpenAI


class OpenAIVoiceModel:
    """A named OpenAI model called through the provider's shared `AsyncOpenAI` client."""

    def __init__(self, model: str, openai_client: AsyncOpenAI) -> None:
        self.model = model
        self._client = openai_client

    @property
    def model_name(self) -> str:
        return self.model
