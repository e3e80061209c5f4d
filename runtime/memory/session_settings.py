"""`SessionSettings` at the SDK's `agents.memory.session_settings` path."""

from __future__ import annotations

from .session import SessionSettings

__all__ = ["SessionSettings"]
