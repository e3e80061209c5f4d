"""`OpenAISTTModel`: speech-to-text on OpenAI's transcription API (one file) and its realtime
transcription websocket (streamed turns, found by the server's VAD)."""

from __future__ import annotations

from typing import Any

from openai import omit

from ..input import AudioInput, StreamedAudioInput
from ..model import StreamedTranscriptionSession, STTModel, STTModelSettings
from .openai_model import OpenAIVoiceModel
from .openai_stt_session import OpenAISTTTranscriptionSession
from .utterance_span import utterance_span

# Models that take a list of `languages` rather than one `language`.
_LANGUAGE_LIST_MODELS = frozenset({"gpt-transcribe", "gpt-live-transcribe"})


class OpenAISTTModel(OpenAIVoiceModel, STTModel):
    detects_turns = True

    def _language_fields(self, settings: STTModelSettings) -> dict[str, Any]:
        if settings.languages is not None:
            return {"languages": list(settings.languages)}
        if settings.language is None:
            return {}
        if self.model in _LANGUAGE_LIST_MODELS:
            return {"languages": [settings.language]}
        return {"language": settings.language}

    async def transcribe(
        self,
        input: AudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> str:
        languages = self._language_fields(settings)
        extra_body: dict[str, Any] = {}
        if "languages" in languages:
            extra_body["languages"] = languages["languages"]
        if settings.keywords is not None:
            extra_body["keywords"] = list(settings.keywords)
        with utterance_span(
            self.model,
            input,
            {
                "temperature": settings.temperature,
                **languages,
                "prompt": settings.prompt if trace_include_sensitive_data else None,
            },
            trace_include_sensitive_audio_data,
        ) as span:
            response = await self._client.audio.transcriptions.create(
                model=self.model,
                file=input.to_audio_file(),
                prompt=settings.prompt if settings.prompt is not None else omit,
                language=languages.get("language", omit),
                temperature=settings.temperature if settings.temperature is not None else omit,
                extra_body=extra_body or None,
            )
            if trace_include_sensitive_data:
                span.span_data.output = response.text
            return response.text

    async def create_session(
        self,
        input: StreamedAudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> StreamedTranscriptionSession:
        return OpenAISTTTranscriptionSession(
            input,
            self._client,
            self.model,
            settings,
            trace_include_sensitive_data,
            trace_include_sensitive_audio_data,
            transcription_config={"model": self.model, **self._language_fields(settings)},
        )
