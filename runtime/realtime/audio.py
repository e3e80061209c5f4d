"""Audio arithmetic for interruptions: how long a chunk plays, and how much of each assistant
audio item the listener has heard so far (assumed: played as it arrives, in real time)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PCM16_RATE_HZ = 24_000
G711_RATE_HZ = 8_000
_G711_NAMES = frozenset({"g711_ulaw", "g711_alaw", "audio/pcmu", "audio/pcma", "pcmu", "pcma"})


def format_name(audio_format: Any) -> str | None:
    """`pcm16`, `g711_ulaw`, ... from any of the format's spellings."""
    if audio_format is None:
        return None
    if isinstance(audio_format, Mapping):
        audio_format = audio_format.get("type")
    name = str(audio_format).lower()
    return {
        "audio/pcm": "pcm16",
        "pcm": "pcm16",
        "audio/pcmu": "g711_ulaw",
        "pcmu": "g711_ulaw",
        "audio/pcma": "g711_alaw",
        "pcma": "g711_alaw",
    }.get(name, name)


def wire_format(audio_format: Any) -> dict[str, Any] | None:
    """The GA protocol's format object for a format name or mapping."""
    if audio_format is None:
        return None
    if isinstance(audio_format, Mapping):
        return dict(audio_format)
    name = format_name(audio_format)
    if name == "pcm16":
        return {"type": "audio/pcm", "rate": PCM16_RATE_HZ}
    if name == "g711_ulaw":
        return {"type": "audio/pcmu"}
    if name == "g711_alaw":
        return {"type": "audio/pcma"}
    from ..exceptions import UserError

    raise UserError(f"unknown realtime audio format {audio_format!r}")


def audio_length_ms(audio_format: Any, data: bytes) -> float:
    """G.711 is one byte per sample at 8 kHz; PCM16 (and anything unknown) 2 bytes at 24 kHz."""
    if not data:
        return 0.0
    if format_name(audio_format) in _G711_NAMES:
        return len(data) / G711_RATE_HZ * 1000
    return len(data) / 2 / PCM16_RATE_HZ * 1000


@dataclass
class _ItemAudio:
    first_received: float
    length_ms: float


class AudioPlaybackClock:
    """Assistant audio received per (item_id, content_index), and which item played last."""

    def __init__(self) -> None:
        self.audio_format: Any = None
        self._items: dict[tuple[str, int], _ItemAudio] = {}
        self._last: tuple[str, int] | None = None

    def on_audio(self, item_id: str, content_index: int, data: bytes) -> None:
        key = (item_id, content_index)
        ms = audio_length_ms(self.audio_format, data)
        state = self._items.get(key)
        if state is None:
            self._items[key] = _ItemAudio(time.monotonic(), ms)
        else:
            state.length_ms += ms
        self._last = key

    def last_item(self) -> tuple[str, int] | None:
        return self._last

    def received_ms(self, item_id: str, content_index: int) -> float | None:
        state = self._items.get((item_id, content_index))
        return None if state is None else state.length_ms

    def played_ms(self, item_id: str, content_index: int) -> float | None:
        """Wall time since the item's first chunk, capped at the audio received: what a
        listener playing audio as it arrives has heard."""
        state = self._items.get((item_id, content_index))
        if state is None:
            return None
        return min((time.monotonic() - state.first_received) * 1000, state.length_ms)

    def on_interrupted(self) -> None:
        self._last = None
