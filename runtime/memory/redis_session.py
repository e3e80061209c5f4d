"""Conversation history in Redis, for agents that run on several machines.

The keys are the official SDK's, so either runtime reads what the other wrote:
`{key_prefix}:{session_id}:messages` is a list of items as JSON (oldest first) and
`{key_prefix}:{session_id}` a hash with `session_id`, `created_at` and `updated_at` (unix seconds).

- `add_items` appends all items and updates the hash in one MULTI/EXEC: contiguous and in order,
  even with other writers; with `ttl` set, the same transaction renews both keys' expiry;
- `get_items(n)` is one LRANGE of the list's tail (the Runner reads history every run, so this
  is the path kept short);
- `pop_item` claims the newest readable item inside WATCH/MULTI (redis-py's `transaction`
  retries when another client changed the list meanwhile), so two concurrent pops never return
  the same item and a corrupt item at the tail is stepped over rather than removed;
- an item that does not parse is reported (`corrupt_rows`, a log warning; the row id is its
  position in the list, 0 = oldest) and skipped, never deleted;
- every Redis failure (server gone, timeout, wrong key type) raises `SessionBackendError`; a
  failed read never looks like an empty history.

The `redis` package is imported only when a client has to be created here.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .codec import decode_item, encode_item
from .errors import CorruptRow, CorruptRowLog, SessionBackendError, SessionClosedError
from .loop_clients import LoopBoundClients
from .session import (
    SessionABC,
    SessionSettings,
    TResponseInputItem,
    coerce_session_settings,
    resolve_session_limit,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline

_T = TypeVar("_T")
_DEFAULT_URL = "redis://127.0.0.1:6379/0"
# How many items pop_item reads per round trip while stepping over corrupt ones at the tail.
_POP_PAGE = 16


def _redis_error_type() -> type[BaseException]:
    from redis.exceptions import RedisError

    return RedisError


class RedisSession(SessionABC):
    """Session history in Redis. `ttl` (seconds) expires sessions left idle that long."""

    def __init__(
        self,
        session_id: str,
        redis_client: Redis | None = None,
        *,
        key_prefix: str = "agents:session",
        ttl: int | None = None,
        session_settings: SessionSettings | dict[str, Any] | None = None,
    ) -> None:
        if ttl is not None and (isinstance(ttl, bool) or ttl <= 0):
            raise ValueError(f"ttl must be a positive number of seconds or None, got {ttl!r}")
        self.session_id = session_id
        self.session_settings = coerce_session_settings(session_settings)
        self.session_key = f"{key_prefix}:{session_id}"
        self.messages_key = f"{self.session_key}:messages"
        self.ttl = ttl
        self._owns_client = redis_client is None
        if redis_client is None:
            url = os.environ.get("AGENTOSCOPE_REDIS_URL") or os.environ.get("REDIS_URL")
            redis_client = _client_from_url(url or _DEFAULT_URL, {})
        self._redis = redis_client
        # The session may be used from several event loops (run_sync / asyncio.run repeated):
        # each loop gets a client of its own, see loop_clients.py.
        self._clients = LoopBoundClients(redis_client)
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
        if self._closed:
            raise SessionClosedError(f"RedisSession {self.session_id!r} is closed")
        try:
            return await pending
        except _redis_error_type() as exc:
            where = f"{type(exc).__name__}: {exc} ({self._where()})"
            raise SessionBackendError("Redis", operation, self.session_id, where) from exc

    def _where(self) -> str:
        try:
            kwargs = self._redis.connection_pool.connection_kwargs
        except AttributeError:
            return f"key {self.messages_key}"
        if "path" in kwargs:
            server = f"unix:{kwargs['path']}"
        else:
            server = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
        return f"server {server}, key {self.messages_key}"

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosedError(f"RedisSession {self.session_id!r} is closed")

    def _decode(self, position: int, raw: bytes | str) -> tuple[bool, Any]:
        try:
            return True, decode_item(raw)
        except ValueError as exc:
            self._corrupt.report(self.session_id, position, str(exc), raw)
            return False, None

    # -- Session -----------------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The newest `limit` items, oldest first; None uses `session_settings.limit` (all)."""
        self._check_open()
        session_limit = resolve_session_limit(limit, self.session_settings)
        if session_limit == 0:
            return []
        if session_limit is None:
            raw = await self._call(
                "get_items", self._clients.get().lrange(self.messages_key, 0, -1)
            )
            return self._readable(raw, first_position=0)
        window = session_limit
        while True:
            raw = await self._call(
                "get_items", self._clients.get().lrange(self.messages_key, -window, -1)
            )
            items = _decode_all(raw)
            if items is None:
                # Some rows are corrupt: read again with the list's length, atomically, so the
                # report can say which rows (positions from the oldest).
                pipe = self._clients.get().pipeline(transaction=True)
                pipe.llen(self.messages_key)
                pipe.lrange(self.messages_key, -window, -1)
                length, raw = await self._call("get_items", pipe.execute())
                items = self._readable(raw, first_position=length - len(raw))
            # Corrupt rows do not count towards the limit: widen the window past them.
            if len(items) >= session_limit or len(raw) < window:
                return items[-session_limit:]
            window *= 2

    def _readable(self, raw: list[Any], first_position: int) -> list[Any]:
        items = []
        for offset, text in enumerate(raw):
            ok, item = self._decode(first_position + offset, text)
            if ok:
                items.append(item)
        return items

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append `items` in one transaction; with `ttl`, renew the session's expiry."""
        self._check_open()
        encoded = [encode_item(item) for item in items]
        if not encoded:
            return
        now = str(int(time.time()))
        pipe = self._clients.get().pipeline(transaction=True)
        pipe.hset(self.session_key, "session_id", self.session_id)
        pipe.hsetnx(self.session_key, "created_at", now)
        pipe.rpush(self.messages_key, *encoded)
        pipe.hset(self.session_key, "updated_at", now)
        if self.ttl is not None:
            pipe.expire(self.session_key, self.ttl)
            pipe.expire(self.messages_key, self.ttl)
        await self._call("add_items", pipe.execute())

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the newest readable item; corrupt items stay where they are."""
        self._check_open()
        return await self._call(
            "pop_item",
            self._clients.get().transaction(
                self._claim_newest, self.messages_key, value_from_callable=True
            ),
        )

    async def _claim_newest(self, pipe: Pipeline) -> Any:
        # Runs after WATCH: reads are immediate; whatever is queued after multi() runs only if
        # nobody touched the list in between (otherwise redis-py runs this function again).
        key = self.messages_key
        length = await pipe.llen(key)
        end = length - 1
        while end >= 0:
            start = max(0, end - _POP_PAGE + 1)
            page = await pipe.lrange(key, start, end)
            for offset in range(len(page) - 1, -1, -1):
                ok, item = self._decode(start + offset, page[offset])
                if not ok:
                    continue
                pipe.multi()
                if start + offset == length - 1:
                    pipe.rpop(key)
                else:  # remove one element in the middle: mark it, then delete the mark
                    mark = f"agentoscope:popped:{uuid.uuid4().hex}"
                    pipe.lset(key, start + offset, mark)
                    pipe.lrem(key, -1, mark)
                return item
            end = start - 1
        return None

    async def clear_session(self) -> None:
        """Delete the session's keys (the SDK's counter key too, if it wrote one)."""
        self._check_open()
        counter_key = f"{self.session_key}:counter"
        await self._call(
            "clear_session",
            self._clients.get().delete(self.session_key, self.messages_key, counter_key),
        )

    # -- beyond the protocol -----------------------------------------------------------------

    async def get_session_info(self) -> dict[str, Any]:
        """`{"session_id", "item_count", "ttl_remaining", "created_at", "updated_at"}`;
        `ttl_remaining` is seconds, or None when the key does not expire; times are UTC."""
        self._check_open()
        pipe = self._clients.get().pipeline(transaction=True)
        pipe.llen(self.messages_key)
        pipe.ttl(self.messages_key)
        pipe.hmget(self.session_key, ["created_at", "updated_at"])
        count, ttl, (created, updated) = await self._call("get_session_info", pipe.execute())
        return {
            "session_id": self.session_id,
            "item_count": count,
            "ttl_remaining": ttl if ttl >= 0 else None,
            "created_at": _unix_time(created),
            "updated_at": _unix_time(updated),
        }

    async def ping(self) -> bool:
        """True when the server answers; False (not an exception) when it does not."""
        try:
            return bool(await self._clients.get().ping())
        except _redis_error_type():
            return False

    @property
    def corrupt_rows(self) -> list[CorruptRow]:
        """Items this session skipped because they did not parse (still in the list)."""
        return self._corrupt.rows

    async def close(self) -> None:
        """Close the client if this session created it (`from_url` or no client given)."""
        if self._closed:
            return
        self._closed = True
        await self._clients.aclose(close_home=self._owns_client)

    def __repr__(self) -> str:
        return f"RedisSession(session_id={self.session_id!r}, key={self.messages_key!r})"


def _client_from_url(url: str, redis_kwargs: dict[str, Any]) -> Redis:
    import redis.asyncio as redis_asyncio

    # Without timeouts a hung server would hang the agent; these can be overridden.
    options = {"socket_connect_timeout": 5.0, "socket_timeout": 30.0, **redis_kwargs}
    return redis_asyncio.from_url(url, **options)


def _unix_time(value: bytes | str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _decode_all(raw: list[Any]) -> list[Any] | None:
    """Every item of `raw`, or None if any of them does not parse."""
    try:
        return [decode_item(text) for text in raw]
    except ValueError:
        return None
