"""Conversation history in Redis, for agents that run on several machines.

Each session is one Redis stream at `{key_prefix}:{session_id}`, one entry per item (field
`item` = the item's JSON). A stream gives every item a stable id that carries its time, newest-N
reads in one command (XREVRANGE ... COUNT n), and a delete by id, so:

- `add_items` appends all items in one MULTI/EXEC: contiguous and in order, even with other
  writers; with `ttl` set, the same transaction renews the key's expiry;
- `pop_item` claims the newest readable entry with XDEL, whose reply says whether this caller
  got it, so two concurrent pops never return the same item;
- an entry that does not parse is reported (`corrupt_rows`, a log warning) with its stream id
  and skipped, never deleted;
- every Redis failure (server gone, timeout, wrong key type) raises `SessionBackendError`; a
  failed read never looks like an empty history.

The `redis` package is imported only when a client has to be created here.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable
from contextlib import aclosing
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .codec import decode_item, encode_item
from .errors import CorruptRow, CorruptRowLog, SessionBackendError, SessionClosedError
from .session import (
    SessionABC,
    SessionSettings,
    TResponseInputItem,
    coerce_session_settings,
    resolve_session_limit,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

_T = TypeVar("_T")
_ITEM_FIELD = b"item"
_DEFAULT_URL = "redis://127.0.0.1:6379/0"
# How many entries a read fetches per round trip when it has to walk past corrupt ones.
_PAGE = 64


def _redis_error_type() -> type[BaseException]:
    from redis.exceptions import RedisError

    return RedisError


class RedisSession(SessionABC):
    """Session history in a Redis stream. `ttl` (seconds) expires idle sessions."""

    def __init__(
        self,
        session_id: str,
        redis_client: Redis | None = None,
        *,
        key_prefix: str = "agentoscope:session",
        ttl: int | None = None,
        session_settings: SessionSettings | dict[str, Any] | None = None,
    ) -> None:
        if ttl is not None and (isinstance(ttl, bool) or ttl <= 0):
            raise ValueError(f"ttl must be a positive number of seconds or None, got {ttl!r}")
        self.session_id = session_id
        self.session_settings = coerce_session_settings(session_settings)
        self.key = f"{key_prefix}:{session_id}"
        self.ttl = ttl
        self._owns_client = redis_client is None
        if redis_client is None:
            url = os.environ.get("AGENTOSCOPE_REDIS_URL") or os.environ.get("REDIS_URL")
            redis_client = _client_from_url(url or _DEFAULT_URL, {})
        self._redis = redis_client
        self._corrupt = CorruptRowLog("RedisSession")
        self._closed = False

    @classmethod
    def from_url(
        cls,
        session_id: str,
        url: str = _DEFAULT_URL,
        *,
        redis_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> RedisSession:
        """A session with its own client for `url` (e.g. `redis://127.0.0.1:6379/0`); `close()`
        closes that client. `kwargs` go to the constructor (key_prefix, ttl, session_settings)."""
        session = cls(session_id, _client_from_url(url, redis_kwargs or {}), **kwargs)
        session._owns_client = True
        return session

    @property
    def redis_client(self) -> Redis:
        return self._redis

    # -- plumbing ----------------------------------------------------------------------------

    async def _call(self, operation: str, pending: Awaitable[_T]) -> _T:
        """Await a Redis reply, turning any Redis failure into a SessionBackendError."""
        try:
            return await pending
        except _redis_error_type() as exc:
            raise SessionBackendError(
                "Redis",
                operation,
                self.session_id,
                f"{type(exc).__name__}: {exc} ({self._where()})",
            ) from exc

    def _where(self) -> str:
        try:
            kwargs = self._redis.connection_pool.connection_kwargs
        except AttributeError:
            return f"key {self.key}"
        if "path" in kwargs:
            return f"server unix:{kwargs['path']}, key {self.key}"
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
        return f"server {where}, key {self.key}"

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosedError(f"RedisSession {self.session_id!r} is closed")

    def _decode_entry(self, entry_id: Any, fields: dict[Any, Any]) -> tuple[bool, Any]:
        raw = fields.get(_ITEM_FIELD, fields.get("item"))
        row_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        if raw is None:
            self._corrupt.report(self.session_id, row_id, "entry has no 'item' field", fields)
            return False, None
        try:
            return True, decode_item(raw)
        except ValueError as exc:
            self._corrupt.report(self.session_id, row_id, str(exc), raw)
            return False, None

    async def _newest_entries(self, operation: str, first_page: int = _PAGE) -> Any:
        """Stream entries newest first, a page per round trip, as (id, fields)."""
        upper: Any = "+"
        count = first_page
        while True:
            page = await self._call(
                operation, self._redis.xrevrange(self.key, max=upper, min="-", count=count)
            )
            for entry in page:
                yield entry
            if len(page) < count:
                return
            last_id = page[-1][0]
            upper = b"(" + last_id if isinstance(last_id, bytes) else f"({last_id}"
            count = _PAGE

    # -- Session -----------------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The newest `limit` items, oldest first; None uses `session_settings.limit` (all)."""
        self._check_open()
        session_limit = resolve_session_limit(limit, self.session_settings)
        if session_limit == 0:
            return []
        if session_limit is None:
            entries = await self._call("get_items", self._redis.xrange(self.key, "-", "+"))
            items = []
            for entry_id, fields in entries:
                ok, item = self._decode_entry(entry_id, fields)
                if ok:
                    items.append(item)
            return items
        newest_first: list[Any] = []
        # One round trip in the common case; further pages only to walk past corrupt entries.
        first_page = min(session_limit, 1000)
        async with aclosing(self._newest_entries("get_items", first_page)) as entries:
            async for entry_id, fields in entries:
                ok, item = self._decode_entry(entry_id, fields)
                if ok:
                    newest_first.append(item)
                    if len(newest_first) == session_limit:
                        break
        newest_first.reverse()
        return newest_first

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append `items` in one transaction; with `ttl`, renew the session's expiry."""
        self._check_open()
        encoded = [encode_item(item) for item in items]
        if not encoded:
            return
        pipe = self._redis.pipeline(transaction=True)
        for text in encoded:
            pipe.xadd(self.key, {_ITEM_FIELD: text})
        if self.ttl is not None:
            pipe.expire(self.key, self.ttl)
        await self._call("add_items", pipe.execute())

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the newest readable item; corrupt entries stay where they are."""
        self._check_open()
        while True:
            claimed_by_other = False
            async with aclosing(self._newest_entries("pop_item", first_page=1)) as entries:
                async for entry_id, fields in entries:
                    ok, item = self._decode_entry(entry_id, fields)
                    if not ok:
                        continue
                    if await self._call("pop_item", self._redis.xdel(self.key, entry_id)) == 1:
                        return item
                    claimed_by_other = True  # another client popped it first: look again
                    break
            if not claimed_by_other:
                return None

    async def clear_session(self) -> None:
        self._check_open()
        await self._call("clear_session", self._redis.delete(self.key))

    # -- beyond the protocol -----------------------------------------------------------------

    async def get_session_info(self) -> dict[str, Any]:
        """`{"session_id", "key", "item_count", "ttl_remaining", "first_item_time",
        "last_item_time"}`; `ttl_remaining` is seconds, or None when the key does not expire."""
        self._check_open()
        pipe = self._redis.pipeline(transaction=True)
        pipe.xlen(self.key)
        pipe.ttl(self.key)
        pipe.xrange(self.key, "-", "+", count=1)
        pipe.xrevrange(self.key, "+", "-", count=1)
        count, ttl, first, last = await self._call("get_session_info", pipe.execute())
        return {
            "session_id": self.session_id,
            "key": self.key,
            "item_count": count,
            "ttl_remaining": ttl if ttl >= 0 else None,
            "first_item_time": _entry_time(first),
            "last_item_time": _entry_time(last),
        }

    async def ping(self) -> bool:
        """True when the server answers; False (not an exception) when it does not."""
        try:
            return bool(await self._redis.ping())
        except _redis_error_type():
            return False

    @property
    def corrupt_rows(self) -> list[CorruptRow]:
        """Entries this session skipped because they did not parse (still in the stream)."""
        return self._corrupt.rows

    async def close(self) -> None:
        """Close the client if this session created it (`from_url` or no client given)."""
        if self._closed:
            return
        self._closed = True
        if self._owns_client:
            await self._redis.aclose()

    def __repr__(self) -> str:
        return f"RedisSession(session_id={self.session_id!r}, key={self.key!r}, ttl={self.ttl})"


def _client_from_url(url: str, redis_kwargs: dict[str, Any]) -> Redis:
    import redis.asyncio as redis_asyncio

    # Without timeouts a hung server would hang the agent; these can be overridden.
    options = {"socket_connect_timeout": 5.0, "socket_timeout": 30.0, **redis_kwargs}
    return redis_asyncio.from_url(url, **options)


def _entry_time(entries: list[Any]) -> datetime | None:
    """A stream id is `<unix ms>-<seq>`: the time the entry was added, by the server's clock."""
    if not entries:
        return None
    entry_id = entries[0][0]
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return datetime.fromtimestamp(int(text.split("-", 1)[0]) / 1000, tz=UTC)
