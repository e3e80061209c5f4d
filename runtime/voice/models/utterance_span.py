"""How a speech-to-text model traces one utterance it transcribes, the same for every model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentoscope.tracing import Span, TranscriptionSpanData, transcription_span

from ..audio import duration_ms, trace_audio_base64
from ..input import AudioInput


def utterance_span(
    model: str,
    input: AudioInput,
    model_config: Mapping[str, Any],
    trace_include_sensitive_audio_data: bool,
) -> Span[TranscriptionSpanData]:
    """A transcription span holding the utterance's audio as PCM (only when the trace may keep
    audio) and the model's settings followed by the audio's length."""
    return transcription_span(
        model=model,
        input=trace_audio_base64(input.buffer, input.frame_rate, input.channels)
        if trace_include_sensitive_audio_data
        else "",
        input_format="pcm",
        model_config={
            **model_config,
            "audio_duration_ms": duration_ms(input.frames, input.frame_rate),
        },
    )
