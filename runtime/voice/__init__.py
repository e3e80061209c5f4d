"""Voice agents: the official SDK's `agents.voice` (`VoicePipeline`, its config, inputs, models,
workflows and streamed result), with the seed's additions: silence-based turn detection,
`language`, an `Agent` accepted as the workflow, `process_audio_stream` over raw audio bytes, and
offline models that need no key or network (PocketSphinx, espeak-ng).

SDK voice code ports by changing its imports:

    from agentoscope.runtime.voice import AudioInput, SingleAgentVoiceWorkflow, VoicePipeline

Names load on first use, so the OpenAI websocket and PocketSphinx load only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "AudioInput": ".input",
    "StreamedAudioInput": ".input",
    "STTModel": ".model",
    "STTModelSettings": ".model",
    "TTSModel": ".model",
    "TTSModelSettings": ".model",
    "TTSVoice": ".model",
    "TTSCustomVoice": ".model",
    "StreamedTranscriptionSession": ".model",
    "VoiceModelProvider": ".model",
    "VoicePipeline": ".pipeline",
    "VoicePipelineConfig": ".pipeline_config",
    "StreamedAudioResult": ".result",
    "VoiceStreamEvent": ".events",
    "VoiceStreamEventAudio": ".events",
    "VoiceStreamEventLifecycle": ".events",
    "VoiceStreamEventError": ".events",
    "VoiceStreamEventTranscription": ".events",
    "VoiceStreamEventAgentResponse": ".events",
    "VoiceWorkflowBase": ".workflow",
    "VoiceWorkflowHelper": ".workflow",
    "SingleAgentVoiceWorkflow": ".workflow",
    "SingleAgentWorkflowCallbacks": ".workflow",
    "get_sentence_based_splitter": ".utils",
    "STTWebsocketConnectionError": ".exceptions",
    "VoiceModelError": ".exceptions",
    "SilenceDetector": ".silence",
    "SilenceTurnSession": ".silence",
    "OpenAIVoiceModelProvider": ".models.openai_provider",
    "OpenAISTTModel": ".models.openai_stt",
    "OpenAISTTTranscriptionSession": ".models.openai_stt_session",
    "OpenAITTSModel": ".models.openai_tts",
    "OfflineVoiceModelProvider": ".models.offline_provider",
    "PocketSphinxSTTModel": ".models.pocketsphinx_stt",
    "EspeakTTSModel": ".models.espeak_tts",
    "read_wav": ".audio",
    "wav_bytes": ".audio",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value
