"""The voice package's surface: the official SDK's names, its keyword style, config dicts."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import agentoscope.runtime.voice as voice
from agentoscope.runtime import UserError
from agentoscope.runtime.voice import (
    AudioInput,
    EspeakTTSModel,
    OfflineVoiceModelProvider,
    PocketSphinxSTTModel,
    SingleAgentVoiceWorkflow,
    STTModelSettings,
    VoicePipeline,
    VoicePipelineConfig,
    get_sentence_based_splitter,
)
from support.voice import RATE, collect, kinds, speak, weather_agent


def test_every_name_of_the_sdk_voice_package_is_here() -> None:
    import agents.voice as sdk_voice

    missing = [name for name in sdk_voice.__all__ if not hasattr(voice, name)]
    assert missing == []
    assert set(sdk_voice.__all__) <= set(voice.__all__)


async def test_sdk_style_code_runs_unchanged_but_for_imports() -> None:
    workflow = SingleAgentVoiceWorkflow(weather_agent(["Sunny all day in Paris."]))
    pipeline = VoicePipeline(
        workflow=workflow,
        stt_model=PocketSphinxSTTModel(["what is the weather in paris today"]),
        tts_model=EspeakTTSModel(),
        config=VoicePipelineConfig(model_provider=OfflineVoiceModelProvider()),
    )
    audio = AudioInput(buffer=await speak("what is the weather in paris today"), frame_rate=RATE)
    result = await pipeline.run(audio)
    events = await collect(result)
    assert kinds(events) == ["turn_started", "audio", "turn_ended", "session_ended"]
    assert result.total_output_text == "Sunny all day in Paris."


def test_config_takes_dicts_and_names_unknown_settings() -> None:
    config = VoicePipelineConfig(
        model_provider=OfflineVoiceModelProvider(),
        stt_settings={"language": "en"},
        tts_settings={"speed": 1.5},
    )
    assert config.stt_settings.language == "en" and config.tts_settings.speed == 1.5
    with pytest.raises(UserError, match="unknown settings"):
        VoicePipelineConfig(model_provider=OfflineVoiceModelProvider(), stt_settings={"lang": 1})
    pipeline = VoicePipeline(weather_agent([]), {"model_provider": OfflineVoiceModelProvider()})
    assert pipeline.config.workflow_name == "Voice Agent"
    with pytest.raises(UserError, match="workflow"):
        VoicePipeline("not a workflow")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="model name"):
        VoicePipeline(weather_agent([]), tts_model=42)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="no speech-to-text model"):
        OfflineVoiceModelProvider().get_stt_model("whisper-1")
    assert STTModelSettings().turn_detection is None


def test_sentence_splitter_waits_for_a_long_enough_sentence() -> None:
    split = get_sentence_based_splitter(min_sentence_length=10)
    assert split("Hi. How") == ("", "Hi. How")
    assert split("Hello there. How are ") == ("Hello there.", "How are ")


def test_audio_input_base64_is_pcm16_of_the_mono_mix() -> None:
    stereo = np.array([[0.5, -0.5], [1.0, 1.0]], dtype=np.float32)
    data = np.frombuffer(base64.b64decode(AudioInput(stereo).to_base64()), "<i2")
    assert list(data) == [0, 32767]
