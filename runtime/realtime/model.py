"""The realtime model interface (the SDK's `RealtimeModel`): a live connection that takes send
events and hands model events to its listeners. Plus the playback tracker, which tells the
model how much assistant audio the user has actually heard, so interruptions truncate right."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, NotRequired

from typing_extensions import TypedDict

from .audio import audio_length_ms
from .config import RealtimeAudioFormat, RealtimeSessionModelSettings
from .model_events import RealtimeModelEvent
from .model_inputs import RealtimeModelSendEvent


class RealtimePlaybackState(TypedDict):
    current_item_id: str | None
    current_item_content_index: int | None
    elapsed_ms: float | None


class RealtimePlaybackTracker:
    """Give one to the session (`model_config["playback_tracker"]`) when audio plays later or
    slower than it arrives (phone calls, buffering players), and report what was played."""

    def __init__(self) -> None:
        self._format: RealtimeAudioFormat | None = None
        self._current: tuple[str, int] | None = None
        self._elapsed_ms: float = 0.0

    def on_play_bytes(self, item_id: str, item_content_index: int, bytes: bytes) -> None:
        self.on_play_ms(item_id, item_content_index, audio_length_ms(self._format, bytes))

    def on_play_ms(self, item_id: str, item_content_index: int, ms: float) -> None:
        if self._current != (item_id, item_content_index):
            self._current = (item_id, item_content_index)
            self._elapsed_ms = 0.0
        self._elapsed_ms += ms

    def on_interrupted(self) -> None:
        self._current = None
        self._elapsed_ms = 0.0

    def set_audio_format(self, format: RealtimeAudioFormat) -> None:
        self._format = format

    def get_state(self) -> RealtimePlaybackState:
        if self._current is None:
            return {"current_item_id": None, "current_item_content_index": None, "elapsed_ms": None}
        return {
            "current_item_id": self._current[0],
            "current_item_content_index": self._current[1],
            "elapsed_ms": self._elapsed_ms,
        }


class RealtimeModelListener(abc.ABC):
    @abc.abstractmethod
    async def on_event(self, event: RealtimeModelEvent) -> None: ...


class RealtimeModelConfig(TypedDict):
    """How to connect. For the OpenAI model: the API key or a client secret (or a function
    returning one), the URL, or headers that replace the Authorization header."""

    api_key: NotRequired[str | Callable[[], Any]]
    url: NotRequired[str]
    headers: NotRequired[dict[str, str]]
    initial_model_settings: NotRequired[RealtimeSessionModelSettings]
    playback_tracker: NotRequired[RealtimePlaybackTracker]
    call_id: NotRequired[str]


class RealtimeModel(abc.ABC):
    @abc.abstractmethod
    async def connect(self, options: RealtimeModelConfig) -> None:
        """Open the connection and send the initial session settings."""

    @abc.abstractmethod
    def add_listener(self, listener: RealtimeModelListener) -> None: ...

    @abc.abstractmethod
    def remove_listener(self, listener: RealtimeModelListener) -> None: ...

    @abc.abstractmethod
    async def send_event(self, event: RealtimeModelSendEvent) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...


class FanOutRealtimeModel(RealtimeModel):
    """A model that hands each of its events to every listener, in the order they were added
    (what the OpenAI WebSocket model and the scripted model both do)."""

    def __init__(self) -> None:
        self._listeners: list[RealtimeModelListener] = []

    def add_listener(self, listener: RealtimeModelListener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: RealtimeModelListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def _emit(self, event: RealtimeModelEvent) -> None:
        # A copy: a listener may remove itself while handling the event.
        for listener in list(self._listeners):
            await listener.on_event(event)
