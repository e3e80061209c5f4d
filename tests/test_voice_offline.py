"""The voice pipeline fully offline: espeak-ng speaks, PocketSphinx listens, an agent with a
tool answers on ScriptedModel. Real subprocesses and the real recogniser, no mocks."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest

from agentoscope.runtime import Agent, UserError
from agentoscope.runtime.models import ScriptedModel, text_message
from agentoscope.runtime.voice import (
    AudioInput,
    EspeakTTSModel,
    OfflineVoiceModelProvider,
    PocketSphinxSTTModel,
    StreamedAudioInput,
    STTModelSettings,
    TTSModelSettings,
    VoiceModelError,
    VoicePipeline,
    VoicePipelineConfig,
    VoiceWorkflowBase,
    read_wav,
    wav_bytes,
)
from agentoscope.tracing import add_trace_processor
from support.collect import CollectingProcessor
from support.voice import (
    PHRASES,
    RATE,
    audio_of,
    collect,
    kinds,
    silence,
    speak,
    weather_agent,
)

ANSWER = "It is sunny in Paris today. Enjoy the walk by the river!"


@pytest.fixture(scope="module")
def stt() -> PocketSphinxSTTModel:
    return PocketSphinxSTTModel(PHRASES)  # one decoder for the module: loading it takes ~1 s


@pytest.fixture
def spans() -> Iterator[CollectingProcessor]:
    processor = CollectingProcessor()
    add_trace_processor(processor)
    yield processor


def pipeline(workflow: Any, stt: PocketSphinxSTTModel, **config: Any) -> VoicePipeline:
    return VoicePipeline(
        workflow,
        VoicePipelineConfig(model_provider=OfflineVoiceModelProvider(), **config),
        tts_model=EspeakTTSModel(),
        stt_model=stt,
    )


def by_type(spans: CollectingProcessor, kind: str) -> list[Any]:
    return [s for s in spans.ended_spans if s.span_data.type == kind]


async def test_pocketsphinx_hears_the_phrases_espeak_says(stt: PocketSphinxSTTModel) -> None:
    for phrase in PHRASES:
        audio = await speak(phrase)
        heard = await stt.transcribe(AudioInput(audio, RATE), STTModelSettings(), True, True)
        assert heard == phrase


async def test_any_rate_and_layout_through_a_wav_file(stt: PocketSphinxSTTModel) -> None:
    mono = (await speak(PHRASES[2])).astype(np.float32) / 32767
    stereo = np.stack([mono, mono * 0.8], axis=1)  # (frames, 2) float32
    data = wav_bytes(stereo, RATE, channels=2, sample_width=3)
    samples, rate, channels = read_wav(data)
    assert (rate, channels, samples.shape) == (RATE, 2, stereo.shape)
    heard = await stt.transcribe(AudioInput.from_wav(data), STTModelSettings(), True, True)
    assert heard == PHRASES[2]
    # int16 at 16 kHz, interleaved stereo in a 1-D buffer
    interleaved = np.repeat((await speak(PHRASES[3]))[::3], 2)  # 8 kHz
    audio = AudioInput(interleaved, frame_rate=8000, channels=2)
    assert await stt.transcribe(audio, STTModelSettings(), True, True) == PHRASES[3]


async def test_keywords_extend_the_phrases_and_bad_settings_are_refused() -> None:
    model = PocketSphinxSTTModel()
    audio = AudioInput(await speak("book a table for two"), RATE)
    settings = STTModelSettings(keywords=["book a table for two", "cancel my booking"])
    assert await model.transcribe(audio, settings, True, True) == "book a table for two"
    with pytest.raises(UserError, match="English"):
        await model.transcribe(audio, STTModelSettings(language="fr"), True, True)
    with pytest.raises(UserError, match="prompt"):
        await model.transcribe(audio, STTModelSettings(prompt="hi"), True, True)
    with pytest.raises(UserError, match="dictionary"):
        await PocketSphinxSTTModel(["flibbertigibbetzz now"]).transcribe(
            audio, STTModelSettings(), True, True
        )


async def test_one_turn_spoken_question_to_spoken_answer(
    stt: PocketSphinxSTTModel, spans: CollectingProcessor
) -> None:
    question = await speak(PHRASES[0])
    voice = pipeline(weather_agent([ANSWER]), stt, workflow_name="Weather line")
    events = await collect(await voice.run(AudioInput(question, RATE)), include_text_events=True)

    assert kinds(events) == [
        "transcription",
        "turn_started",
        "audio",
        "agent_response",
        "turn_ended",
        "session_ended",
    ]
    assert events[0].text == PHRASES[0]
    assert events[-3].text == ANSWER
    # The answer is spoken sentence by sentence; the audio is exactly espeak-ng's speech of them.
    sentences = ["It is sunny in Paris today.", "Enjoy the walk by the river!"]
    expected = np.concatenate([await speak(s) for s in sentences])
    spoken = audio_of(events)
    assert spoken.dtype == np.int16
    assert np.array_equal(spoken, expected)
    assert 2.0 < spoken.size / RATE < 8.0

    (trace,) = spans.ended_traces
    assert trace.name == "Weather line"
    (heard,) = by_type(spans, "transcription")
    assert heard.span_data.output == PHRASES[0]
    assert heard.span_data.model == "pocketsphinx-en-us"
    heard_pcm = base64.b64decode(heard.span_data.input)
    assert abs(len(heard_pcm) // 2 - question.size) <= 2  # 24 kHz PCM16 a dashboard can play
    (agent,) = by_type(spans, "agent")
    (tool,) = by_type(spans, "function")
    assert tool.parent_id == agent.span_id and agent.parent_id is None
    (group,) = by_type(spans, "speech_group")
    speech = by_type(spans, "speech")
    assert [s.span_data.input for s in speech] == sentences
    assert all(s.parent_id == group.span_id for s in speech)
    assert group.span_data.input == ANSWER
    assert all(s.trace_id == trace.trace_id for s in spans.ended_spans)
    first = speech[0]
    assert first.span_data.first_content_at >= first.started_at
    assert first.span_data.model_config["time_to_first_audio_ms"] >= 0
    played = b"".join(base64.b64decode(s.span_data.output) for s in speech)
    assert np.array_equal(np.frombuffer(played, dtype="<i2"), expected)
    # turn order in time: transcript, then agent, then speech
    assert heard.ended_at <= agent.started_at <= group.started_at


async def test_sensitive_audio_off_keeps_audio_out_of_spans(
    stt: PocketSphinxSTTModel, spans: CollectingProcessor
) -> None:
    voice = pipeline(weather_agent([ANSWER]), stt, trace_include_sensitive_audio_data=False)
    await collect(await voice.run(AudioInput(await speak(PHRASES[0]), RATE)))
    (heard,) = by_type(spans, "transcription")
    assert heard.span_data.export()["input"]["data"] == ""
    assert heard.span_data.output == PHRASES[0]
    assert all(s.span_data.export()["output"]["data"] == "" for s in by_type(spans, "speech"))
    assert by_type(spans, "speech")[0].span_data.input  # the text is still there


async def test_sensitive_data_off_keeps_text_out_too(
    stt: PocketSphinxSTTModel, spans: CollectingProcessor
) -> None:
    voice = pipeline(
        weather_agent([ANSWER]),
        stt,
        trace_include_sensitive_data=False,
        trace_include_sensitive_audio_data=False,
    )
    await collect(await voice.run(AudioInput(await speak(PHRASES[0]), RATE)))
    (heard,) = by_type(spans, "transcription")
    assert heard.span_data.output is None
    assert all(s.span_data.input == "" for s in by_type(spans, "speech"))
    assert by_type(spans, "speech_group")[0].span_data.input == ""


async def test_streamed_turns_found_by_silence(
    stt: PocketSphinxSTTModel, spans: CollectingProcessor
) -> None:
    answers = ["It is sunny in Paris.", "Your order ships today."]
    voice = pipeline(weather_agent(answers), stt, silence_duration_ms=400, language="en")
    stream = StreamedAudioInput(frame_rate=RATE)
    audio = np.concatenate(
        [silence(0.3), await speak(PHRASES[0]), silence(0.8), await speak(PHRASES[1]), silence(0.6)]
    )
    for start in range(0, audio.size, 2400):  # 100 ms chunks
        await stream.add_audio(audio[start : start + 2400])
    await stream.add_audio(None)
    events = await collect(await voice.run(stream), include_text_events=True)
    assert kinds(events) == [
        "transcription",
        "turn_started",
        "audio",
        "agent_response",
        "turn_ended",
        "transcription",
        "turn_started",
        "audio",
        "agent_response",
        "turn_ended",
        "session_ended",
    ]
    texts = [e.text for e in events if e.type == "voice_stream_event_transcription"]
    assert texts == PHRASES[:2]
    assert [e.text for e in events if e.type == "voice_stream_event_agent_response"] == answers
    assert len(spans.ended_traces) == 1
    assert len(by_type(spans, "transcription")) == 2
    assert len(by_type(spans, "speech_group")) == 2
    assert len(by_type(spans, "agent")) == 2


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await asyncio.sleep(0)


async def test_process_audio_stream_over_raw_bytes(stt: PocketSphinxSTTModel) -> None:
    # 16 kHz PCM16 bytes, in chunks that split samples in two
    speech = (await speak(PHRASES[2]))[::3]
    speech16 = np.interp(
        np.linspace(0, speech.size - 1, round(speech.size * 16000 / 8000)),
        np.arange(speech.size),
        speech,
    ).astype(np.int16)
    data = np.concatenate([speech16, np.zeros(12000, dtype=np.int16)]).tobytes()
    agent = Agent(name="Host", model=ScriptedModel([[text_message("A table for two, booked.")]]))
    voice = pipeline(agent, stt, input_sample_rate=16000, input_audio_format="pcm16")
    events = [e async for e in voice.process_audio_stream(_chunks(data, 1001))]
    assert kinds(events)[:2] == ["transcription", "turn_started"]
    assert events[0].text == PHRASES[2]
    assert kinds(events)[-1] == "session_ended"
    assert audio_of(events).size > RATE  # more than a second of answer


async def test_bad_input_is_refused_with_a_clear_error(stt: PocketSphinxSTTModel) -> None:
    voice = pipeline(weather_agent([ANSWER]), stt)
    with pytest.raises(UserError, match="empty"):
        await voice.run(AudioInput(np.zeros(0, dtype=np.int16), RATE))
    with pytest.raises(UserError, match="int16 or float32"):
        AudioInput(np.zeros(100, dtype=np.int32), RATE)
    with pytest.raises(UserError, match="sample_width"):
        AudioInput(np.zeros(100, dtype=np.int16), RATE, sample_width=5)
    with pytest.raises(UserError, match="silence_threshold"):
        VoicePipelineConfig(model_provider=OfflineVoiceModelProvider(), silence_threshold=2.0)
    with pytest.raises(UserError, match="contradicts"):
        VoicePipelineConfig(
            model_provider=OfflineVoiceModelProvider(),
            language="en",
            stt_settings=STTModelSettings(language="de"),
        )
    # A stream of PCM16 bytes that ends on half a sample: an error event naming the sample
    # width, and the speech before it is still answered.
    data = np.concatenate([await speak(PHRASES[1]), silence(0.6)]).tobytes() + b"\x01"
    events = [e async for e in voice.process_audio_stream(_chunks(data, 4096))]
    errors = [e.error for e in events if e.type == "voice_stream_event_error"]
    assert len(errors) == 1 and "sample width" in str(errors[0])
    assert [e.text for e in events if e.type == "voice_stream_event_transcription"] == [PHRASES[1]]
    assert kinds(events)[-1] == "session_ended"


class FlakyWorkflow(VoiceWorkflowBase):
    """Answers every turn but the second, whose run fails halfway."""

    def __init__(self) -> None:
        self.turn = 0

    async def run(self, transcription: str) -> AsyncIterator[str]:
        self.turn += 1
        yield f"Turn {self.turn}: you said {transcription}."
        if self.turn == 2:
            raise RuntimeError("the booking system is down")


async def test_a_failed_turn_leaves_the_others_alone(stt: PocketSphinxSTTModel) -> None:
    voice = pipeline(FlakyWorkflow(), stt)
    stream = StreamedAudioInput(frame_rate=RATE)
    for phrase in PHRASES[:3]:
        await stream.add_audio(np.concatenate([await speak(phrase), silence(0.7)]))
    await stream.add_audio(None)
    result = await voice.run(stream)
    events = await collect(result)
    errors = [e.error for e in events if e.type == "voice_stream_event_error"]
    assert [str(e) for e in errors] == ["the booking system is down"]
    assert kinds(events).count("turn_ended") == 3
    assert kinds(events)[-1] == "session_ended"
    assert "Turn 3: you said book a table for two." in result.total_output_text


async def test_a_speech_failure_is_an_error_event_and_a_span_error(
    stt: PocketSphinxSTTModel, spans: CollectingProcessor
) -> None:
    broken = EspeakTTSModel(voice="zz-unknown")
    voice = VoicePipeline(
        weather_agent([ANSWER]),
        VoicePipelineConfig(model_provider=OfflineVoiceModelProvider()),
        tts_model=broken,
        stt_model=stt,
    )
    result = await voice.run(AudioInput(await speak(PHRASES[0]), RATE))
    seen: list[Any] = []
    with pytest.raises(VoiceModelError, match="voice does not exist"):
        async for event in result.stream():
            seen.append(event)
    assert "error" in kinds(seen)
    failed = [s for s in by_type(spans, "speech") if s.error]
    assert failed and "exit 1" in failed[0].error["message"]


async def test_tts_settings_that_espeak_cannot_honour_are_refused() -> None:
    model = EspeakTTSModel()
    with pytest.raises(UserError, match="instructions"):
        await speak_with(model, TTSModelSettings(instructions="Whisper softly."))
    with pytest.raises(UserError, match="speed"):
        await speak_with(model, TTSModelSettings(speed=9.0))
    slow = await speak_with(model, TTSModelSettings(speed=0.6))
    normal = await speak_with(model, TTSModelSettings())
    assert slow.size > normal.size * 1.3


async def speak_with(model: EspeakTTSModel, settings: TTSModelSettings) -> np.ndarray:
    pcm = b"".join([c async for c in model.run("book a table for two", settings)])
    return np.frombuffer(pcm, dtype="<i2")


async def test_a_chunk_with_the_wrong_channels_is_skipped_with_an_error(
    stt: PocketSphinxSTTModel,
) -> None:
    voice = pipeline(weather_agent([ANSWER]), stt, silence_threshold=0.02)
    stream = StreamedAudioInput(frame_rate=RATE, channels=1)
    await stream.add_audio(np.zeros((2400, 2), dtype=np.int16))  # stereo into a mono stream
    await stream.add_audio(np.concatenate([await speak(PHRASES[0]), silence(0.7)]))
    await stream.add_audio(None)
    events = await collect(await voice.run(stream), include_text_events=True)
    errors = [str(e.error) for e in events if e.type == "voice_stream_event_error"]
    assert len(errors) == 1 and "2 channels where 1 were declared" in errors[0]
    assert [e.text for e in events if e.type == "voice_stream_event_transcription"] == [PHRASES[0]]
