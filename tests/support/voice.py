"""Helpers for the voice tests: real speech from espeak-ng, agents on ScriptedModel, and the
events and spans a pipeline run produced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agentoscope.runtime import Agent, function_tool
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call
from agentoscope.runtime.voice import (
    EspeakTTSModel,
    StreamedAudioResult,
    TTSModelSettings,
    VoiceStreamEvent,
)

RATE = 24_000
PHRASES = [
    "what is the weather in paris today",
    "where is my order",
    "book a table for two",
    "thank you goodbye",
]


async def speak(text: str, model: EspeakTTSModel | None = None) -> np.ndarray:
    """`text` spoken by espeak-ng, as 24 kHz mono int16."""
    model = model or EspeakTTSModel()
    pcm = b"".join([chunk async for chunk in model.run(text, TTSModelSettings())])
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), dtype=np.int16)


def tone(seconds: float, frequency: float = 300.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city.
    """
    return f"sunny and 21 degrees in {city}"


def weather_agent(answers: Sequence[str]) -> Agent[Any]:
    """An agent that calls `get_weather` and then answers, once per answer."""
    turns: list[Any] = []
    for answer in answers:
        turns.append([tool_call("get_weather", {"city": "Paris"})])
        turns.append([text_message(answer)])
    return Agent(
        name="Weather",
        instructions="Answer questions about the weather.",
        tools=[get_weather],
        model=ScriptedModel(turns),
    )


async def collect(result: StreamedAudioResult, **options: Any) -> list[VoiceStreamEvent]:
    return [event async for event in result.stream(**options)]


def kinds(events: Sequence[Any]) -> list[str]:
    """Event names with runs of audio collapsed: ["turn_started", "audio", "turn_ended", ...]."""
    names: list[str] = []
    for event in events:
        if event.type == "voice_stream_event_lifecycle":
            name = event.event
        else:
            name = event.type.removeprefix("voice_stream_event_")
        if name != "audio" or not names or names[-1] != "audio":
            names.append(name)
    return names


def audio_of(events: Sequence[Any]) -> np.ndarray:
    chunks = [e.data.reshape(-1) for e in events if e.type == "voice_stream_event_audio"]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
