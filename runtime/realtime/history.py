"""The session's local copy of the conversation: items as the server reports them, merged so
that what we already knew (a transcript, a text) is not lost when a later report of the same
item leaves it out."""

from __future__ import annotations

from typing import Any

from .items import InputAudio, InputText, RealtimeItem, UserMessageItem

_KEEP = ("text", "transcript")


def _merge_part(old: Any, new: Any) -> Any:
    """The new part, with the old one's text/transcript where the new one has none."""
    if getattr(old, "type", None) != getattr(new, "type", None):
        return new
    update = {
        key: getattr(old, key)
        for key in _KEEP
        if getattr(new, key, None) in (None, "") and getattr(old, key, None)
    }
    return new.model_copy(update=update) if update else new


def merge_item(old: RealtimeItem, new: RealtimeItem) -> RealtimeItem:
    if old.type != "message" or new.type != "message" or old.role != new.role:
        return new
    if not new.content:
        status = getattr(new, "status", None)
        return old.model_copy(update={"status": status}) if status else old
    content = [
        _merge_part(old.content[index], part) if index < len(old.content) else part
        for index, part in enumerate(new.content)
    ]
    return new.model_copy(update={"content": content})


def with_item(history: list[RealtimeItem], item: RealtimeItem) -> tuple[list[RealtimeItem], bool]:
    """(the new history, whether the item is new). A new item goes after its previous item
    when the server named one we have, else at the end."""
    for index, existing in enumerate(history):
        if existing.item_id == item.item_id:
            result = list(history)
            result[index] = merge_item(existing, item)
            return result, False
    if item.previous_item_id:
        for index, existing in enumerate(history):
            if existing.item_id == item.previous_item_id:
                return [*history[: index + 1], item, *history[index + 1 :]], True
    return [*history, item], True


def with_transcript(
    history: list[RealtimeItem], item_id: str, transcript: str
) -> tuple[list[RealtimeItem], bool]:
    """The user's audio item with its transcript; an item we never saw is added as text."""
    for index, existing in enumerate(history):
        if existing.item_id == item_id and existing.type == "message" and existing.role == "user":
            content = [
                part.model_copy(update={"transcript": transcript})
                if isinstance(part, InputAudio)
                else part
                for part in existing.content
            ]
            result = list(history)
            result[index] = existing.model_copy(update={"content": content})
            return result, False
    item = UserMessageItem(item_id=item_id, content=[InputText(text=transcript)])
    return [*history, item], True


def with_assistant_transcript(
    history: list[RealtimeItem], item_id: str, transcript: str, audio: bool
) -> list[RealtimeItem]:
    """The assistant's item with the transcript streamed so far."""
    from .items import AssistantAudio, AssistantMessageItem, AssistantText

    part: Any = AssistantAudio(transcript=transcript) if audio else AssistantText(text=transcript)
    for index, existing in enumerate(history):
        if (
            existing.item_id == item_id
            and existing.type == "message"
            and existing.role == "assistant"
        ):
            content = list(existing.content)
            slot = next((i for i, p in enumerate(content) if p.type == part.type), None)
            if slot is None:
                content.append(part)
            else:
                key = "transcript" if audio else "text"
                content[slot] = content[slot].model_copy(update={key: transcript})
            result = list(history)
            result[index] = existing.model_copy(update={"content": content})
            return result
    return [*history, AssistantMessageItem(item_id=item_id, status="in_progress", content=[part])]
