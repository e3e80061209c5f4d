"""Conversions between the OpenAI Realtime protocol's JSON and our types: which server event
types exist (from the `openai` package's own event models), user input as a conversation item,
server items as history items, `response.done` usage as a usage event."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import pydantic
from openai.types.realtime import RealtimeServerEvent

from ..exceptions import UserError
from ..usage import Usage
from .items import AssistantMessageItem, RealtimeItem, SystemMessageItem, UserMessageItem
from .model_events import (
    RealtimeModelCachedTokensDetails,
    RealtimeModelInputTokensDetails,
    RealtimeModelOutputTokensDetails,
    RealtimeModelUsageEvent,
)
from .model_inputs import RealtimeModelUserInput


def _event_classes() -> dict[str, type[pydantic.BaseModel]]:
    union = typing.get_args(RealtimeServerEvent)[0]
    classes: dict[str, type[pydantic.BaseModel]] = {}
    for cls in typing.get_args(union):
        for name in typing.get_args(cls.model_fields["type"].annotation):
            classes[name] = cls
    return classes


SERVER_EVENT_CLASSES = _event_classes()


def describe_validation_error(event_type: str, error: pydantic.ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in problem['loc']) or '(event)'}: {problem['msg']}"
        for problem in error.errors()[:5]
    )
    return f"malformed server event {event_type!r}: {problems}"


def user_input_item(user_input: RealtimeModelUserInput) -> dict[str, Any]:
    """A user message item; a part that is not text or an image is an error, not dropped."""
    if isinstance(user_input, str):
        return {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": user_input}],
        }
    if not isinstance(user_input, Mapping) or user_input.get("type") != "message":
        raise UserError(f"send_message: expected a string or a user message, got {user_input!r}")
    content: list[dict[str, Any]] = []
    parts: list[Any] = list(user_input.get("content") or [])
    for index, part in enumerate(parts):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "input_text" and isinstance(part.get("text"), str):
            content.append({"type": "input_text", "text": part["text"]})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image = {"type": "input_image", "image_url": part["image_url"]}
            if part.get("detail"):
                image["detail"] = part["detail"]
            content.append(image)
        else:
            raise UserError(
                f"send_message: content[{index}] must be input_text with a text or input_image "
                f"with an image_url, got {part!r}"
            )
    return {"type": "message", "role": "user", "content": content}


def message_item(item: Mapping[str, Any], previous_item_id: str | None = None) -> RealtimeItem:
    """A server conversation item as a history item (GA `output_text`/`output_audio` parts
    become the SDK's `text`/`audio`)."""
    content: list[dict[str, Any]] = []
    for part in item.get("content") or []:
        if not isinstance(part, Mapping):
            continue
        part = dict(part)
        if part.get("type") == "output_text":
            part["type"] = "text"
        elif part.get("type") == "output_audio":
            part["type"] = "audio"
        content.append(part)
    role = item.get("role", "assistant")
    status = (
        item.get("status")
        if item.get("status") in ("in_progress", "completed", "incomplete")
        else None
    )
    data = {
        "item_id": item.get("id") or "",
        "previous_item_id": previous_item_id,
        "role": role,
        "content": content,
    }
    if role == "assistant":
        return AssistantMessageItem.model_validate({**data, "status": status or "in_progress"})
    if role == "user":
        return UserMessageItem.model_validate(data)
    return SystemMessageItem.model_validate(data)


def usage_of(usage: Mapping[str, Any]) -> Usage:
    input_tokens = usage.get("input_tokens") or 0
    output_tokens = usage.get("output_tokens") or 0
    result = Usage(
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=usage.get("total_tokens") or input_tokens + output_tokens,
    )
    details = usage.get("input_token_details") or {}
    result.input_tokens_details.cached_tokens = details.get("cached_tokens") or 0
    return result


def usage_event(usage: Mapping[str, Any], response_id: str | None) -> RealtimeModelUsageEvent:
    inputs = usage.get("input_token_details")
    outputs = usage.get("output_token_details")
    cached = (inputs or {}).get("cached_tokens_details")
    return RealtimeModelUsageEvent(
        usage=usage_of(usage),
        input_tokens_details=None
        if inputs is None
        else RealtimeModelInputTokensDetails(
            text_tokens=inputs.get("text_tokens"),
            audio_tokens=inputs.get("audio_tokens"),
            image_tokens=inputs.get("image_tokens"),
            cached_tokens=inputs.get("cached_tokens"),
            cached_tokens_details=None
            if cached is None
            else RealtimeModelCachedTokensDetails(
                text_tokens=cached.get("text_tokens"),
                audio_tokens=cached.get("audio_tokens"),
                image_tokens=cached.get("image_tokens"),
            ),
        ),
        output_tokens_details=None
        if outputs is None
        else RealtimeModelOutputTokensDetails(
            text_tokens=outputs.get("text_tokens"), audio_tokens=outputs.get("audio_tokens")
        ),
        response_id=response_id,
        raw_usage=dict(usage),
    )
