"""Events a realtime model hands to its listeners (the session), with the SDK's names. A model
turns the server's protocol into these; the session and its tracing only ever see these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from ..usage import Usage
from .items import RealtimeItem

RealtimeConnectionStatus: TypeAlias = Literal["connecting", "connected", "disconnected"]


@dataclass
class RealtimeModelErrorEvent:
    """An error the server reported, or a server event we could not read."""

    error: Any
    type: Literal["error"] = "error"


@dataclass
class RealtimeModelToolCallEvent:
    name: str
    call_id: str
    arguments: str
    id: str | None = None
    previous_item_id: str | None = None
    response_id: str | None = None
    """Agentoscope: the response that made the call (for tracing)."""
    type: Literal["function_call"] = "function_call"


@dataclass
class RealtimeModelAudioEvent:
    data: bytes
    response_id: str
    item_id: str
    content_index: int
    type: Literal["audio"] = "audio"


@dataclass
class RealtimeModelAudioInterruptedEvent:
    item_id: str
    content_index: int
    type: Literal["audio_interrupted"] = "audio_interrupted"


@dataclass
class RealtimeModelAudioDoneEvent:
    item_id: str
    content_index: int
    type: Literal["audio_done"] = "audio_done"


@dataclass
class RealtimeModelInputAudioTranscriptionCompletedEvent:
    item_id: str
    transcript: str
    type: Literal["input_audio_transcription_completed"] = "input_audio_transcription_completed"


@dataclass
class RealtimeModelTranscriptDeltaEvent:
    item_id: str
    delta: str
    response_id: str
    type: Literal["transcript_delta"] = "transcript_delta"


@dataclass
class RealtimeModelOutputTextDeltaEvent:
    item_id: str
    delta: str
    response_id: str
    type: Literal["output_text_delta"] = "output_text_delta"


@dataclass
class RealtimeModelItemUpdatedEvent:
    item: RealtimeItem
    type: Literal["item_updated"] = "item_updated"


@dataclass
class RealtimeModelItemDeletedEvent:
    item_id: str
    type: Literal["item_deleted"] = "item_deleted"


@dataclass
class RealtimeModelConnectionStatusEvent:
    status: RealtimeConnectionStatus
    type: Literal["connection_status"] = "connection_status"


@dataclass
class RealtimeModelTurnStartedEvent:
    response_id: str | None = None
    type: Literal["turn_started"] = "turn_started"


@dataclass
class RealtimeModelCachedTokensDetails:
    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None


@dataclass
class RealtimeModelInputTokensDetails:
    """Input tokens by modality, as the server reports them."""

    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    cached_tokens: int | None = None
    cached_tokens_details: RealtimeModelCachedTokensDetails | None = None


@dataclass
class RealtimeModelOutputTokensDetails:
    text_tokens: int | None = None
    audio_tokens: int | None = None


@dataclass
class RealtimeModelUsageEvent:
    """A response's usage (from `response.done`)."""

    usage: Usage
    input_tokens_details: RealtimeModelInputTokensDetails | None = None
    output_tokens_details: RealtimeModelOutputTokensDetails | None = None
    response_id: str | None = None
    """Agentoscope: the response this usage belongs to."""
    raw_usage: dict[str, Any] | None = None
    """Agentoscope: the server's usage object, with its per-modality token details."""
    type: Literal["usage"] = "usage"


@dataclass
class RealtimeModelTurnEndedEvent:
    response_id: str | None = None
    status: str | None = None
    """Agentoscope: the response's final status (completed, cancelled, incomplete, failed)."""
    type: Literal["turn_ended"] = "turn_ended"


@dataclass
class RealtimeModelOtherEvent:
    """A server event of a type this model does not act on, kept as it came."""

    data: Any
    type: Literal["other"] = "other"


@dataclass
class RealtimeModelExceptionEvent:
    """The connection failed; the session raises `exception` to whoever iterates it."""

    exception: Exception
    context: str | None = None
    type: Literal["exception"] = "exception"


@dataclass
class RealtimeModelRawServerEvent:
    """Every server event, as received, before it is interpreted."""

    data: Any
    type: Literal["raw_server_event"] = "raw_server_event"


@dataclass
class RealtimeModelEndOfStreamEvent:
    """The connection ended normally; no more events will come."""

    type: Literal["end_of_stream"] = "end_of_stream"


RealtimeModelEvent: TypeAlias = (
    RealtimeModelErrorEvent
    | RealtimeModelToolCallEvent
    | RealtimeModelAudioEvent
    | RealtimeModelAudioInterruptedEvent
    | RealtimeModelAudioDoneEvent
    | RealtimeModelInputAudioTranscriptionCompletedEvent
    | RealtimeModelTranscriptDeltaEvent
    | RealtimeModelOutputTextDeltaEvent
    | RealtimeModelItemUpdatedEvent
    | RealtimeModelItemDeletedEvent
    | RealtimeModelConnectionStatusEvent
    | RealtimeModelTurnStartedEvent
    | RealtimeModelUsageEvent
    | RealtimeModelTurnEndedEvent
    | RealtimeModelOtherEvent
    | RealtimeModelExceptionEvent
    | RealtimeModelRawServerEvent
    | RealtimeModelEndOfStreamEvent
)
