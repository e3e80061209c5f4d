"""`VoicePipelineConfig`: the official SDK's fields, plus the seed's language, silence-based turn
detection and the format of raw input bytes for `VoicePipeline.process_audio_stream`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from agentoscope.tracing import gen_group_id

from ..exceptions import UserError
from .model import STTModelSettings, TTSModelSettings, VoiceModelProvider
from .silence import DEFAULT_SILENCE_DURATION_MS, DEFAULT_SILENCE_THRESHOLD, SilenceDetector


def _default_provider() -> VoiceModelProvider:
    from .models.openai_provider import OpenAIVoiceModelProvider

    return OpenAIVoiceModelProvider()


def _settings(value: Any, cls: type[Any], name: str) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, dict):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise UserError(f"VoicePipelineConfig.{name}: unknown settings {unknown}")
        return cls(**value)
    raise UserError(f"VoicePipelineConfig.{name} must be a {cls.__name__} or a dict")


@dataclass
class VoicePipelineConfig:
    model_provider: VoiceModelProvider = field(default_factory=_default_provider)
    """Makes the models named in `VoicePipeline` (or its defaults). Defaults to OpenAI."""
    tracing_disabled: bool = False
    trace_include_sensitive_data: bool = True
    """Transcripts and spoken text in the voice spans (the workflow's own spans follow its run
    config). The process-wide switch (`agentoscope.tracing.set_data_policy`) overrides it."""
    trace_include_sensitive_audio_data: bool = True
    """Audio in the voice spans, as base64 24 kHz mono PCM16 a dashboard can play."""
    workflow_name: str = "Voice Agent"
    group_id: str = field(default_factory=gen_group_id)
    trace_metadata: dict[str, Any] | None = None
    stt_settings: STTModelSettings = field(default_factory=STTModelSettings)
    tts_settings: TTSModelSettings = field(default_factory=TTSModelSettings)
    # the seed's additions
    language: str | None = None
    """The language spoken (e.g. "en"): sets `stt_settings.language`."""
    silence_threshold: float = DEFAULT_SILENCE_THRESHOLD
    """RMS level (samples in [-1, 1]) below which a 20 ms frame counts as silence, for STT
    models without their own turn detection."""
    silence_duration_ms: int = DEFAULT_SILENCE_DURATION_MS
    """How much silence ends a turn."""
    input_sample_rate: int = 24_000
    """Rate of the raw bytes given to `process_audio_stream`."""
    input_audio_format: Literal["pcm16", "float32"] = "pcm16"
    """Sample format of those bytes (little-endian)."""
    input_channels: int = 1
    """Channels of those bytes (interleaved)."""

    def __post_init__(self) -> None:
        self.stt_settings = _settings(self.stt_settings, STTModelSettings, "stt_settings")
        self.tts_settings = _settings(self.tts_settings, TTSModelSettings, "tts_settings")
        if self.language is not None:
            if self.stt_settings.language not in (None, self.language):
                raise UserError(
                    f"VoicePipelineConfig.language={self.language!r} contradicts "
                    f"stt_settings.language={self.stt_settings.language!r}"
                )
            self.stt_settings = dataclasses.replace(self.stt_settings, language=self.language)
        SilenceDetector(self.silence_threshold, self.silence_duration_ms, 16_000)  # validates
        if self.input_audio_format not in ("pcm16", "float32"):
            raise UserError(
                "VoicePipelineConfig.input_audio_format must be 'pcm16' or 'float32', "
                f"got {self.input_audio_format!r}"
            )
        if self.input_sample_rate <= 0 or self.input_channels < 1:
            raise UserError(
                "VoicePipelineConfig.input_sample_rate must be positive and input_channels at "
                f"least 1, got {self.input_sample_rate} and {self.input_channels}"
            )
