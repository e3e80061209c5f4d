"""The session's history items (pydantic, the SDK's shapes): messages of the user, the assistant
and the system, and function calls with their output. Extra fields the server sends are kept."""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

_EXTRA = ConfigDict(extra="allow")


class InputText(BaseModel):
    model_config = _EXTRA
    type: Literal["input_text"] = "input_text"
    text: str | None = None


class InputAudio(BaseModel):
    model_config = _EXTRA
    type: Literal["input_audio"] = "input_audio"
    audio: str | None = None
    """Base64 audio, when the server sends it back (it usually does not)."""
    transcript: str | None = None


class InputImage(BaseModel):
    model_config = _EXTRA
    type: Literal["input_image"] = "input_image"
    image_url: str | None = None
    detail: str | None = None


class AssistantText(BaseModel):
    model_config = _EXTRA
    type: Literal["text"] = "text"
    text: str | None = None


class AssistantAudio(BaseModel):
    model_config = _EXTRA
    type: Literal["audio"] = "audio"
    audio: str | None = None
    transcript: str | None = None


class SystemMessageItem(BaseModel):
    model_config = _EXTRA
    item_id: str
    previous_item_id: str | None = None
    type: Literal["message"] = "message"
    role: Literal["system"] = "system"
    content: list[InputText]


class UserMessageItem(BaseModel):
    model_config = _EXTRA
    item_id: str
    previous_item_id: str | None = None
    type: Literal["message"] = "message"
    role: Literal["user"] = "user"
    content: list[Annotated[InputText | InputAudio | InputImage, Field(discriminator="type")]]


class AssistantMessageItem(BaseModel):
    model_config = _EXTRA
    item_id: str
    previous_item_id: str | None = None
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    content: list[Annotated[AssistantText | AssistantAudio, Field(discriminator="type")]]


RealtimeMessageItem: TypeAlias = Annotated[
    SystemMessageItem | UserMessageItem | AssistantMessageItem, Field(discriminator="role")
]


class RealtimeToolCallItem(BaseModel):
    """A function call and, once it ran, its output (one item, as in the SDK)."""

    model_config = _EXTRA
    item_id: str
    previous_item_id: str | None = None
    call_id: str | None
    type: Literal["function_call"] = "function_call"
    status: Literal["in_progress", "completed"]
    arguments: str
    name: str
    output: str | None = None


RealtimeItem: TypeAlias = RealtimeMessageItem | RealtimeToolCallItem


class RealtimeResponse(BaseModel):
    id: str
    output: list[RealtimeMessageItem]


def item_text(item: RealtimeItem) -> str:
    """The words of a message item (text, or audio transcripts), joined."""
    if item.type != "message":
        return ""
    parts: list[str] = []
    for part in item.content:
        value = getattr(part, "text", None) or getattr(part, "transcript", None)
        if value:
            parts.append(value)
    return " ".join(parts)
