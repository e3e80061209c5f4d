"""`OfflineVoiceModelProvider`: PocketSphinx and espeak-ng, for voice agents with no key and no
network (laptops, CI, the demo)."""

from __future__ import annotations

from collections.abc import Sequence

from ...exceptions import UserError
from ..model import STTModel, TTSModel, VoiceModelProvider
from .espeak_tts import EspeakTTSModel
from .pocketsphinx_stt import PocketSphinxSTTModel


class OfflineVoiceModelProvider(VoiceModelProvider):
    """Model names: "pocketsphinx" (speech-to-text) and "espeak-ng" (text-to-speech), or None."""

    def __init__(self, *, phrases: Sequence[str] | None = None, voice: str = "en-us") -> None:
        self._phrases = phrases
        self._voice = voice

    def get_stt_model(self, model_name: str | None) -> STTModel:
        if model_name not in (None, "pocketsphinx", "pocketsphinx-en-us"):
            raise UserError(f"OfflineVoiceModelProvider has no speech-to-text model {model_name!r}")
        return PocketSphinxSTTModel(self._phrases)

    def get_tts_model(self, model_name: str | None) -> TTSModel:
        if model_name not in (None, "espeak-ng"):
            raise UserError(f"OfflineVoiceModelProvider has no text-to-speech model {model_name!r}")
        return EspeakTTSModel(self._voice)
