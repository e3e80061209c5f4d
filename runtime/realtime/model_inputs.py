"""What the session asks a realtime model to send, with the SDK's names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypeAlias

from typing_extensions import TypedDict

from .config import RealtimeSessionModelSettings
from .model_events import RealtimeModelToolCallEvent


class RealtimeModelRawClientMessage(TypedDict):
    type: str
    other_data: NotRequired[dict[str, Any]]


class RealtimeModelInputTextContent(TypedDict):
    type: Literal["input_text"]
    text: str


class RealtimeModelInputImageContent(TypedDict, total=False):
    type: Literal["input_image"]
    image_url: str
    detail: NotRequired[str]


class RealtimeModelUserInputMessage(TypedDict):
    type: Literal["message"]
    role: Literal["user"]
    content: list[RealtimeModelInputTextContent | RealtimeModelInputImageContent]


RealtimeModelUserInput: TypeAlias = str | RealtimeModelUserInputMessage


@dataclass
class RealtimeModelSendRawMessage:
    message: RealtimeModelRawClientMessage


@dataclass
class RealtimeModelSendUserInput:
    user_input: RealtimeModelUserInput


@dataclass
class RealtimeModelSendAudio:
    audio: bytes
    commit: bool = False


@dataclass
class RealtimeModelSendToolOutput:
    tool_call: RealtimeModelToolCallEvent
    output: str
    start_response: bool


@dataclass
class RealtimeModelSendInterrupt:
    force_response_cancel: bool = False
    """Send response.cancel even when the server cancels on speech by itself."""


@dataclass
class RealtimeModelSendSessionUpdate:
    session_settings: RealtimeSessionModelSettings


RealtimeModelSendEvent: TypeAlias = (
    RealtimeModelSendRawMessage
    | RealtimeModelSendUserInput
    | RealtimeModelSendAudio
    | RealtimeModelSendToolOutput
    | RealtimeModelSendInterrupt
    | RealtimeModelSendSessionUpdate
)
