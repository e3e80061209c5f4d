"""What `StreamedAudioResult.stream()` yields: the official SDK's audio, lifecycle and error
events, plus the seed's transcription and agent-response events, which only
`VoicePipeline.process_audio_stream` (or `stream(include_text_events=True)`) delivers, so code
written for the SDK sees exactly the SDK's three kinds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy.typing as npt


@dataclass
class VoiceStreamEventAudio:
    """A chunk of the spoken answer (int16, or float32 per `TTSModelSettings.dtype`)."""

    data: npt.NDArray[Any] | None
    type: Literal["voice_stream_event_audio"] = "voice_stream_event_audio"


@dataclass
class VoiceStreamEventLifecycle:
    """`turn_started` before a turn's first audio, `turn_ended` after its last, `session_ended`
    once, at the end."""

    event: Literal["turn_started", "turn_ended", "session_ended"]
    type: Literal["voice_stream_event_lifecycle"] = "voice_stream_event_lifecycle"


@dataclass
class VoiceStreamEventError:
    """An error. In a streamed session an error of one turn (its transcription, workflow or
    speech) is reported here and the session goes on with the next turn."""

    error: Exception
    type: Literal["voice_stream_event_error"] = "voice_stream_event_error"


@dataclass
class VoiceStreamEventTranscription:
    """What the user said in one turn (the seed's event)."""

    text: str
    is_final: bool = True
    type: Literal["voice_stream_event_transcription"] = "voice_stream_event_transcription"


@dataclass
class VoiceStreamEventAgentResponse:
    """The whole text the workflow answered in one turn (the seed's event)."""

    text: str
    type: Literal["voice_stream_event_agent_response"] = "voice_stream_event_agent_response"


VoiceStreamEvent: TypeAlias = (
    VoiceStreamEventAudio
    | VoiceStreamEventLifecycle
    | VoiceStreamEventError
    | VoiceStreamEventTranscription
    | VoiceStreamEventAgentResponse
)
