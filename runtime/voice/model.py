"""The model interfaces of the voice pipeline (the official SDK's): speech-to-text, text-to-speech,
their settings, streamed transcription sessions and the provider that makes models by name."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt

from .input import AudioInput, StreamedAudioInput
from .utils import get_sentence_based_splitter

DEFAULT_TTS_INSTRUCTIONS = (
    "You will receive partial sentences. Do not complete the sentence, just read out the text."
)
DEFAULT_TTS_BUFFER_SIZE = 120


class TTSCustomVoice(TypedDict):
    """A custom voice by id."""

    id: str


TTSVoice = (
    Literal[
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "onyx",
        "nova",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    ]
    | TTSCustomVoice
    | str
)
"""OpenAI's voices, a custom voice, or a local synthesiser's voice (espeak-ng's "en-us")."""


@dataclass
class TTSModelSettings:
    voice: TTSVoice | None = None
    """None: the model's default voice."""
    buffer_size: int = DEFAULT_TTS_BUFFER_SIZE
    """How many chunks from the model make one audio event (bigger: fewer, longer events)."""
    dtype: npt.DTypeLike = np.int16
    """np.int16 or np.float32: the dtype of the audio events."""
    transform_data: Callable[[npt.NDArray[Any]], npt.NDArray[Any]] | None = None
    """Applied to every audio event's array (e.g. to reshape it for a sound device)."""
    instructions: str = DEFAULT_TTS_INSTRUCTIONS
    """Tone instructions for models that take them."""
    text_splitter: Callable[[str], tuple[str, str]] = field(
        default_factory=get_sentence_based_splitter
    )
    """Splits the streamed text into (text to speak now, text to keep)."""
    speed: float | None = None
    """0.25 to 4.0; None: the model's normal speed."""


class TTSModel(abc.ABC):
    """Text in, PCM16 audio bytes out, streamed."""

    sample_rate: int = 24_000
    """The rate of the PCM `run` yields: mono little-endian int16 at 24 kHz, as OpenAI's "pcm"."""

    @property
    @abc.abstractmethod
    def model_name(self) -> str: ...

    @abc.abstractmethod
    def run(self, text: str, settings: TTSModelSettings) -> AsyncIterator[bytes]:
        """The speech of `text` as PCM16 bytes, in chunks as they are made."""


TurnErrorHandler = Callable[[Exception], Awaitable[None]]


class StreamedTranscriptionSession(abc.ABC):
    """Transcribes a `StreamedAudioInput` turn by turn."""

    on_turn_error: TurnErrorHandler | None = None
    """Set by `VoicePipeline`: a session that can lose one turn and go on (a transcription that
    failed, a chunk it could not read) reports it here; None makes such a failure end it."""

    @abc.abstractmethod
    def transcribe_turns(self) -> AsyncIterator[str]:
        """One transcript per turn the user spoke; returns when the input ends or `close()`."""

    @abc.abstractmethod
    async def close(self) -> None: ...


@dataclass
class STTModelSettings:
    prompt: str | None = None
    language: str | None = None
    """The language spoken, e.g. "en"."""
    temperature: float | None = None
    turn_detection: dict[str, Any] | None = None
    """How turns are found in streamed audio (for OpenAI: server VAD settings)."""
    languages: list[str] | None = field(default=None, kw_only=True)
    keywords: list[str] | None = field(default=None, kw_only=True)
    """Words or phrases to expect."""


class STTModel(abc.ABC):
    """Audio in, text out: one utterance (`transcribe`) or a stream of turns (`create_session`)."""

    detects_turns: bool = True
    """True when `create_session` finds the turns itself (OpenAI's server VAD). False makes
    `VoicePipeline` split streamed audio into turns by silence (`VoicePipelineConfig`'s
    silence_threshold and silence_duration_ms) and call `transcribe` once per turn."""

    @property
    @abc.abstractmethod
    def model_name(self) -> str: ...

    @abc.abstractmethod
    async def transcribe(
        self,
        input: AudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> str:
        """The text of one utterance; opens a transcription span."""

    @abc.abstractmethod
    async def create_session(
        self,
        input: StreamedAudioInput,
        settings: STTModelSettings,
        trace_include_sensitive_data: bool,
        trace_include_sensitive_audio_data: bool,
    ) -> StreamedTranscriptionSession:
        """A session transcribing `input` turn by turn."""


class VoiceModelProvider(abc.ABC):
    """Makes speech models by name (None: the provider's default)."""

    @abc.abstractmethod
    def get_stt_model(self, model_name: str | None) -> STTModel: ...

    @abc.abstractmethod
    def get_tts_model(self, model_name: str | None) -> TTSModel: ...
