"""The session contract: what the Runner needs from any conversation memory.

Semantics follow the official Agents SDK so that sessions are interchangeable between the two
runtimes: `get_items(limit)` returns the newest `limit` items in chronological order (oldest
first), `None` means all, `0` means none; `pop_item()` removes and returns the most recent item.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable

from openai.types.responses import ResponseInputItemParam

TResponseInputItem: TypeAlias = ResponseInputItemParam
"""One item of conversation history: an OpenAI Responses API input item (a plain dict)."""

SessionInputCallback: TypeAlias = Callable[
    [list[TResponseInputItem], list[TResponseInputItem]],
    list[TResponseInputItem] | Awaitable[list[TResponseInputItem]],
]
"""`(history_items, new_items) -> items the model sees`; may be sync or async."""


@dataclass
class SessionSettings:
    """Per-session defaults. `limit` caps how many history items `get_items()` returns."""

    limit: int | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and (isinstance(self.limit, bool) or self.limit < 0):
            raise ValueError(f"SessionSettings.limit must be None or >= 0, got {self.limit!r}")

    def resolve(self, override: SessionSettings | dict[str, Any] | None) -> SessionSettings:
        """A copy with every non-None field of `override` laid over this one."""
        if override is None:
            return self
        override = coerce_session_settings(override)
        changes = {
            field.name: getattr(override, field.name)
            for field in dataclasses.fields(self)
            if getattr(override, field.name) is not None
        }
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def coerce_session_settings(value: SessionSettings | dict[str, Any] | None) -> SessionSettings:
    """Accept a SessionSettings, a dict of its fields, or None (defaults)."""
    if value is None:
        return SessionSettings()
    if isinstance(value, SessionSettings):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {field.name for field in dataclasses.fields(SessionSettings)}
        if unknown:
            raise TypeError(f"unknown session settings: {sorted(unknown)}")
        return SessionSettings(**value)
    raise TypeError(f"session_settings must be SessionSettings or dict, got {type(value).__name__}")


def resolve_session_limit(
    explicit_limit: int | None, settings: SessionSettings | dict[str, Any] | None
) -> int | None:
    """The limit a read uses: the caller's if given, else the session's default, else None."""
    if explicit_limit is not None:
        if isinstance(explicit_limit, bool) or explicit_limit < 0:
            raise ValueError(f"limit must be None or >= 0, got {explicit_limit!r}")
        return explicit_limit
    if settings is None:
        return None
    return coerce_session_settings(settings).limit


@runtime_checkable
class Session(Protocol):
    """Anything with these members can be passed as `Runner.run(..., session=...)`."""

    session_id: str
    session_settings: SessionSettings | None = None

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The newest `limit` items, oldest first; None = all."""
        ...

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append `items` in order."""
        ...

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the most recent item, or None when the session is empty."""
        ...

    async def clear_session(self) -> None:
        """Remove every item of this session."""
        ...


class SessionABC(ABC):
    """Base class for the sessions shipped here; third parties may follow `Session` instead."""

    session_id: str
    session_settings: SessionSettings | None = None

    @abstractmethod
    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The newest `limit` items, oldest first; None = all."""

    @abstractmethod
    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append `items` in order."""

    @abstractmethod
    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the most recent item, or None when the session is empty."""

    @abstractmethod
    async def clear_session(self) -> None:
        """Remove every item of this session."""


# Every SessionABC is a Session, also while an attribute such as a lazily assigned session_id
# cannot be read yet (the structural check alone would then answer False).
Session.register(SessionABC)  # type: ignore[type-abstract]  # register() takes abstract classes
