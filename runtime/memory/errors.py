"""Errors and reports shared by the session backends."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

logger = logging.getLogger("agentoscope.runtime.memory")


class SessionError(Exception):
    """Base class of every error a session raises on purpose."""


class SessionBackendError(SessionError):
    """The store behind a session failed (unreachable server, wrong key type, API error).

    Raised instead of returning an empty or partial history that would look valid. The original
    exception is chained as `__cause__`.
    """

    def __init__(self, backend: str, operation: str, session_id: str | None, detail: str) -> None:
        self.backend = backend
        self.operation = operation
        self.session_id = session_id
        self.detail = detail
        super().__init__(f"{backend} session {session_id!r}: {operation} failed: {detail}")


class SessionClosedError(SessionError, RuntimeError):
    """The session was closed; open a new one to keep using the store."""


class SessionNotStartedError(SessionError, ValueError, AttributeError):
    """The session's id is assigned by its backend on first use, which has not happened yet.

    Also an AttributeError, so `hasattr(session, "session_id")` answers False instead of raising.
    """


class InvalidIdentifierError(SessionError, ValueError):
    """A table name (or similar identifier) is not safe to put into SQL."""


class ItemEncodingError(SessionError, TypeError):
    """An item given to `add_items` cannot be stored as JSON."""


@dataclass(frozen=True)
class CorruptRow:
    """A stored row that could not be turned back into an item. It is skipped, never deleted."""

    session_id: str | None
    row_id: str | int | None
    reason: str
    preview: str

    def __str__(self) -> str:
        return (
            f"session {self.session_id!r} row {self.row_id!r}: {self.reason} "
            f"(stored text starts {self.preview!r})"
        )


class CorruptRowLog:
    """Remembers the corrupt rows a session has met, and warns once per row."""

    def __init__(self, backend: str) -> None:
        self._backend = backend
        self._rows: dict[tuple[str | None, str | int | None, str], CorruptRow] = {}
        self._lock = threading.Lock()  # SQLite reports from its worker thread

    def report(
        self, session_id: str | None, row_id: str | int | None, reason: str, raw: object
    ) -> None:
        key = (session_id, row_id, reason)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        row = CorruptRow(session_id, row_id, reason, text[:80])
        with self._lock:
            if key in self._rows:
                return
            self._rows[key] = row
        logger.warning("%s: skipping unreadable item, left in place: %s", self._backend, row)

    @property
    def rows(self) -> list[CorruptRow]:
        with self._lock:
            return list(self._rows.values())
