"""OpenAI's speech models on the real `openai` client and `websockets`, against local servers that
speak the API: /v1/audio/transcriptions, streamed /v1/audio/speech, and the realtime
transcription websocket."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from agentoscope.runtime.voice import (
    AudioInput,
    OpenAISTTModel,
    OpenAIVoiceModelProvider,
    StreamedAudioInput,
    STTModelSettings,
    STTWebsocketConnectionError,
    TTSModelSettings,
    VoicePipeline,
    VoicePipelineConfig,
)
from agentoscope.tracing import add_trace_processor, trace
from support.collect import CollectingProcessor
from support.fake_openai import FakeOpenAIServer, FakeSpeech, FakeTranscription
from support.fake_openai_bodies import TEST_API_KEY
from support.fake_realtime_transcription import FakeTranscriptionServer
from support.voice import RATE, audio_of, collect, kinds, silence, tone, weather_agent


@pytest.fixture
def spans() -> Iterator[CollectingProcessor]:
    processor = CollectingProcessor()
    add_trace_processor(processor)
    yield processor


def by_type(spans: CollectingProcessor, kind: str) -> list[Any]:
    return [s for s in spans.ended_spans if s.span_data.type == kind]


async def test_file_transcription_uploads_a_wav(
    server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(FakeTranscription("where is my order"))
    model = OpenAISTTModel("gpt-4o-transcribe", server.client())
    audio = tone(0.5)
    settings = STTModelSettings(language="en", temperature=0.2, prompt="orders")
    with trace("file transcription"):
        text = await model.transcribe(AudioInput(audio, RATE), settings, True, False)
    assert text == "where is my order"
    body = server.last_request.body
    assert server.last_request.endpoint == "/v1/audio/transcriptions"
    assert (body["model"], body["language"], body["prompt"]) == (
        "gpt-4o-transcribe",
        "en",
        "orders",
    )
    assert float(body["temperature"]) == 0.2
    with wave.open(io.BytesIO(body["file"])) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
        sent = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert np.array_equal(sent, audio)
    (span,) = by_type(spans, "transcription")
    assert span.span_data.output == "where is my order"
    assert span.span_data.input in (None, "")  # sensitive audio off
    assert span.span_data.model_config["language"] == "en"


async def test_language_goes_as_a_list_to_models_that_take_languages(
    server: FakeOpenAIServer,
) -> None:
    server.enqueue(FakeTranscription("bonjour"))
    model = OpenAISTTModel("gpt-transcribe", server.client())
    await model.transcribe(AudioInput(tone(0.2), RATE), STTModelSettings(language="fr"), True, True)
    body = server.last_request.body
    # the openai client sends a list form field as `languages[]`
    assert "language" not in body and body["languages[]"] == "fr"


async def test_speech_is_streamed_into_audio_events(
    server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(FakeTranscription("what is the weather"))
    server.enqueue(FakeSpeech(duration_s=0.75))
    client = server.client()
    voice = VoicePipeline(
        weather_agent(["Sunny."]),
        VoicePipelineConfig(
            model_provider=OpenAIVoiceModelProvider(openai_client=client),
            tts_settings=TTSModelSettings(voice="coral", speed=1.25, buffer_size=2),
        ),
    )
    events = await collect(await voice.run(AudioInput(tone(0.4), RATE)))
    assert kinds(events) == ["turn_started", "audio", "turn_ended", "session_ended"]
    spoken = audio_of(events)
    assert spoken.size == round(0.75 * RATE)
    assert np.array_equal(spoken[:100], np.frombuffer(FakeSpeech(0.75).pcm()[:200], "<i2"))
    speech_request = server.requests_to("/v1/audio/speech")[0].body
    assert speech_request["voice"] == "coral" and speech_request["speed"] == 1.25
    assert speech_request["response_format"] == "pcm" and speech_request["input"] == "Sunny."
    assert speech_request["model"] == "gpt-4o-mini-tts"
    assert "instructions" in speech_request
    (speech,) = by_type(spans, "speech")
    assert speech.span_data.model == "gpt-4o-mini-tts"
    assert speech.span_data.model_config["audio_duration_ms"] == 750.0
    assert speech.span_data.first_content_at is not None


async def test_speech_failing_mid_stream_is_an_error_event(
    server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    server.enqueue(FakeTranscription("what is the weather"))
    server.enqueue(FakeSpeech(duration_s=1.0, fail_after_bytes=8192))
    voice = VoicePipeline(
        weather_agent(["Sunny."]),
        VoicePipelineConfig(model_provider=OpenAIVoiceModelProvider(openai_client=server.client())),
    )
    result = await voice.run(AudioInput(tone(0.4), RATE))
    seen: list[Any] = []
    with pytest.raises(Exception) as raised:
        async for event in result.stream():
            seen.append(event)
    assert "error" in kinds(seen)
    assert [e.error for e in seen if e.type == "voice_stream_event_error"] == [raised.value]
    (speech,) = by_type(spans, "speech")
    assert speech.error is not None


async def test_streamed_transcription_over_the_realtime_websocket(
    server: FakeOpenAIServer, spans: CollectingProcessor
) -> None:
    async with FakeTranscriptionServer(["what is the weather", "thank you"]) as ws_server:
        client = server.client(websocket_base_url=ws_server.websocket_base_url)
        voice = VoicePipeline(
            weather_agent(["Sunny.", "You are welcome."]),
            VoicePipelineConfig(
                model_provider=OpenAIVoiceModelProvider(openai_client=client),
                language="en",
            ),
        )
        server.enqueue(FakeSpeech(duration_s=0.2), FakeSpeech(duration_s=0.3))
        stream = StreamedAudioInput(frame_rate=48_000, channels=2)  # converted to 24 kHz mono
        for part in (tone(0.5), silence(0.5), tone(0.4), silence(0.5)):
            stereo = np.repeat(part, 4).reshape(-1, 2)  # 48 kHz stereo
            await stream.add_audio(stereo)
        await stream.add_audio(None)
        events = await collect(await voice.run(stream), include_text_events=True)

    assert [e.text for e in events if e.type == "voice_stream_event_transcription"] == [
        "what is the weather",
        "thank you",
    ]
    assert kinds(events).count("turn_ended") == 2 and kinds(events)[-1] == "session_ended"
    assert ws_server.paths == ["/v1/realtime?intent=transcription"]
    assert ws_server.headers[0]["authorization"] == f"Bearer {TEST_API_KEY}"
    (session,) = ws_server.sessions
    assert session["type"] == "transcription"
    audio_in = session["audio"]["input"]
    assert audio_in["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio_in["transcription"] == {"model": "gpt-transcribe", "languages": ["en"]}
    assert audio_in["turn_detection"] == {"type": "semantic_vad"}
    assert abs(ws_server.appended_samples - round(1.9 * RATE)) < 10
    assert ws_server.received[-2:] == ["input_audio_buffer.commit", "input_audio_buffer.clear"]
    heard = by_type(spans, "transcription")
    assert [s.span_data.output for s in heard] == ["what is the weather", "thank you"]
    assert all(s.span_data.input for s in heard)  # the turns' audio, sensitive audio on
    first_turn_ms = heard[0].span_data.model_config["audio_duration_ms"]
    assert 500 <= first_turn_ms <= 1000  # the tone and the silence that ended it


async def test_a_failed_streamed_turn_does_not_end_the_session(server: FakeOpenAIServer) -> None:
    async with FakeTranscriptionServer(["", "thank you"], fail_turns=frozenset({0})) as ws:
        voice = VoicePipeline(
            weather_agent(["You are welcome."]),
            VoicePipelineConfig(
                model_provider=OpenAIVoiceModelProvider(
                    openai_client=server.client(websocket_base_url=ws.websocket_base_url)
                )
            ),
            tts_model="tts-1",
        )
        server.enqueue(FakeSpeech(duration_s=0.2))
        stream = StreamedAudioInput()
        for part in (tone(0.4), silence(0.5), tone(0.4), silence(0.5)):
            await stream.add_audio(part)
        await stream.add_audio(None)
        events = await collect(await voice.run(stream), include_text_events=True)
    errors = [e.error for e in events if e.type == "voice_stream_event_error"]
    assert len(errors) == 1 and "audio unintelligible" in str(errors[0])
    assert [e.text for e in events if e.type == "voice_stream_event_transcription"] == ["thank you"]
    assert kinds(events)[-1] == "session_ended"


async def test_a_refused_session_raises_a_websocket_error(server: FakeOpenAIServer) -> None:
    async with FakeTranscriptionServer([], refuse_session=True) as ws:
        voice = VoicePipeline(
            weather_agent([]),
            VoicePipelineConfig(
                model_provider=OpenAIVoiceModelProvider(
                    openai_client=server.client(websocket_base_url=ws.websocket_base_url)
                )
            ),
        )
        stream = StreamedAudioInput()
        await stream.add_audio(None)
        with pytest.raises(STTWebsocketConnectionError, match="bad session"):
            await collect(await voice.run(stream))


async def test_no_server_at_all_is_a_connection_error(server: FakeOpenAIServer) -> None:
    client = server.client(websocket_base_url="ws://127.0.0.1:9/v1")
    voice = VoicePipeline(
        weather_agent([]),
        VoicePipelineConfig(model_provider=OpenAIVoiceModelProvider(openai_client=client)),
    )
    stream = StreamedAudioInput()
    await stream.add_audio(None)
    with pytest.raises(STTWebsocketConnectionError, match="could not open"):
        await collect(await voice.run(stream))
