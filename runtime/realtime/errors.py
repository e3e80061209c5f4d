"""Errors of realtime sessions."""

from __future__ import annotations

from ..exceptions import AgentsException


class RealtimeConnectionError(AgentsException):
    """The connection to the realtime server could not be opened, or it broke: refused,
    rejected at the handshake, dropped, or closed by the server in the middle of a response."""
