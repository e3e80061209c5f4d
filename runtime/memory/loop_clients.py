"""One redis.asyncio client per event loop.

A redis.asyncio connection belongs to the event loop that opened it: after `asyncio.run()`
returns, that loop is closed and every pooled connection with it. A session object that
outlives one `asyncio.run` / `Runner.run_sync` call (the common case in scripts and web
workers) therefore needs a client per loop. The client the session was given serves the first
loop that uses it; any other loop gets a sibling client with the same connection settings,
created on first use and owned (closed) by the session.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis


def sibling_client(client: Redis) -> Redis:
    """A new client with `client`'s connection settings and a pool of its own."""
    from redis.asyncio import ConnectionPool, Redis

    pool = client.connection_pool
    fresh = ConnectionPool(
        connection_class=pool.connection_class,
        max_connections=pool.max_connections,
        **pool.connection_kwargs,
    )
    return Redis.from_pool(fresh)


class LoopBoundClients:
    """`get()` returns the client for the running loop."""

    def __init__(self, client: Redis) -> None:
        self.home = client
        self._home_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._others: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._home_loop is None:
            self._home_loop = weakref.ref(loop)
            return self.home
        if self._home_loop() is loop:
            return self.home
        client = self._others.get(loop)
        if client is None:
            client = self._others[loop] = sibling_client(self.home)
        return client

    async def aclose(self, close_home: bool) -> None:
        """Close the clients this loop can close: the home client (if owned and this is its
        loop, or it was never used) and this loop's sibling. Siblings of loops that are gone
        died with their loop; they are dropped."""
        loop = asyncio.get_running_loop()
        home_loop = self._home_loop() if self._home_loop is not None else None
        if close_home and (home_loop is None or home_loop is loop):
            await self.home.aclose()
        sibling = self._others.pop(loop, None)
        if sibling is not None:
            await sibling.aclose()
        self._others.clear()
