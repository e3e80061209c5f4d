"""Errors of the voice pipeline."""

from __future__ import annotations

from ..exceptions import AgentsException


class STTWebsocketConnectionError(AgentsException):
    """The streamed transcription websocket failed: could not connect, was not configured in
    time, reported an error or closed before the last transcript."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class VoiceModelError(AgentsException):
    """A speech model failed on one piece of audio or text (the offline engines' errors)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
