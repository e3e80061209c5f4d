"""`OpenAIVoiceModelProvider`: OpenAI speech models by name, sharing one `AsyncOpenAI` client."""

from __future__ import annotations

import os

from openai import AsyncOpenAI

from ...exceptions import UserError
from ..model import STTModel, TTSModel, VoiceModelProvider
from .openai_stt import OpenAISTTModel
from .openai_tts import OpenAITTSModel

DEFAULT_STT_MODEL = "gpt-transcribe"
DEFAULT_TTS_MODEL = "gpt-4o-mini-tts"


class OpenAIVoiceModelProvider(VoiceModelProvider):
    """The client is made on first use, so building a provider (or a pipeline config) needs no
    key; the process-wide default client or key, OPENAI_API_KEY and OPENAI_BASE_URL are read
    then."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        openai_client: AsyncOpenAI | None = None,
        organization: str | None = None,
        project: str | None = None,
    ) -> None:
        if openai_client is not None and any(
            value is not None for value in (api_key, base_url, organization, project)
        ):
            raise UserError(
                "Pass either openai_client or api_key/base_url/organization/project, not both"
            )
        self._client = openai_client
        self._api_key = api_key
        self._base_url = base_url
        self._organization = organization
        self._project = project

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            from ...openai_defaults import default_openai_client, default_openai_key

            # As the agents' OpenAIProvider: set_default_openai_client/key() serve a provider
            # given no key, address, organization or project of its own.
            own = (self._api_key, self._base_url, self._organization, self._project)
            shared = default_openai_client()
            if shared is not None and not any(value is not None for value in own):
                self._client = shared
                return shared
            api_key = self._api_key or default_openai_key() or os.environ.get("OPENAI_API_KEY")
            if not api_key:
                raise UserError(
                    "No OpenAI API key for the voice models: pass "
                    "OpenAIVoiceModelProvider(api_key=...) or openai_client=..., call "
                    "set_default_openai_client/key(), set OPENAI_API_KEY, or use "
                    "OfflineVoiceModelProvider (no key, no network)."
                )
            self._client = AsyncOpenAI(
                api_key=api_key,
                base_url=self._base_url or os.environ.get("OPENAI_BASE_URL") or None,
                organization=self._organization,
                project=self._project,
            )
        return self._client

    def get_stt_model(self, model_name: str | None) -> STTModel:
        return OpenAISTTModel(model_name or DEFAULT_STT_MODEL, self._get_client())

    def get_tts_model(self, model_name: str | None) -> TTSModel:
        return OpenAITTSModel(model_name or DEFAULT_TTS_MODEL, self._get_client())
