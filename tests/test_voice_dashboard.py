"""A voice turn in the dashboard: a real offline pipeline run stored in DuckDB, then the trace
page (Streamlit's AppTest) shows what was heard and said, with audio players."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agentoscope.dashboard.voice_audio import PCM_RATE, span_audio
from agentoscope.runtime.voice import (
    AudioInput,
    EspeakTTSModel,
    OfflineVoiceModelProvider,
    PocketSphinxSTTModel,
    VoicePipeline,
    VoicePipelineConfig,
)
from agentoscope.tracing import DuckDBProcessor, SpanStore, set_trace_processors
from support.dashboard_data import open_app, page_text, release_dashboard_readers
from support.voice import PHRASES, RATE, collect, speak, weather_agent

ANSWER = "It is sunny in Paris."


def test_span_audio_plays_what_is_there_and_says_when_it_was_cut() -> None:
    pcm = (np.arange(4800) % 200 - 100).astype("<i2").tobytes()
    encoded = base64.b64encode(pcm).decode()
    audio = span_audio({"type": "speech", "output": {"data": encoded, "format": "pcm"}})
    assert audio is not None and not audio.truncated and audio.seconds == 0.2
    with wave.open(io.BytesIO(audio.wav)) as wav:
        assert wav.getframerate() == PCM_RATE and wav.readframes(4800) == pcm
    cut = encoded[:1001] + "…[truncated 5399 chars]"
    heard = span_audio({"type": "transcription", "input": {"data": cut, "format": "pcm"}})
    assert heard is not None and heard.truncated and 0 < heard.seconds < 0.2
    assert span_audio({"type": "speech", "output": {"data": "", "format": "pcm"}}) is None
    assert span_audio({"type": "speech_group", "input": "hello"}) is None


@pytest.fixture
def voice_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "traces.duckdb"
    monkeypatch.setenv("AGENTOSCOPE_STORE", str(path))
    monkeypatch.delenv("AGENTOSCOPE_SERVER", raising=False)
    monkeypatch.setenv("AGENTOSCOPE_PRICES", str(tmp_path / "no-saved-prices.json"))
    yield path
    release_dashboard_readers()


async def test_trace_page_plays_a_voice_turn(voice_store: Path) -> None:
    processor = DuckDBProcessor(voice_store)
    set_trace_processors([processor])
    pipeline = VoicePipeline(
        weather_agent([ANSWER]),
        VoicePipelineConfig(model_provider=OfflineVoiceModelProvider(), workflow_name="Call"),
        tts_model=EspeakTTSModel(),
        stt_model=PocketSphinxSTTModel(PHRASES),
    )
    await collect(await pipeline.run(AudioInput((await speak(PHRASES[1]))[:RATE], RATE)))
    processor.shutdown()
    set_trace_processors([])
    with SpanStore(voice_store, read_only=True) as store:
        spans = store.query("SELECT span_type, span_id, trace_id FROM spans ORDER BY started_at")
    trace_id = spans["trace_id"][0]
    speech_id = spans[spans["span_type"] == "speech"]["span_id"].iloc[0]
    heard_id = spans[spans["span_type"] == "transcription"]["span_id"].iloc[0]

    app = open_app("page_trace.py", trace_id=trace_id, span_id=speech_id)
    assert not app.exception, [e.message for e in app.exception]
    text = page_text(app)
    assert "**Said**" in text and ANSWER in text
    assert len(app.get("audio")) == 1
    app.query_params["span_id"] = heard_id
    app.run()
    text = page_text(app)
    assert "**Heard**" in text and "where is my order" in text
    assert len(app.get("audio")) == 1
