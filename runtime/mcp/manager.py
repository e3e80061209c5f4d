"""`MCPServerManager`: connect several servers, keep going with those that came up.

    async with MCPServerManager([files, search, clock]) as manager:
        agent = Agent(name="Assistant", mcp_servers=manager.active_servers)

Our servers hold their connection in a task of their own, so connecting and cleaning up from
different tasks (or in parallel) is safe; the manager adds the bookkeeping: timeouts, which
servers failed and why, reconnecting, and cleaning all up.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

from ..exceptions import UserError
from .interface import MCPServer

logger = logging.getLogger("agentoscope.runtime.mcp")


def _check_timeout(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"{name} must be a number of seconds or None")
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be positive and finite, or None for no limit")
    return float(value)


class MCPServerManager(AbstractAsyncContextManager["MCPServerManager"]):
    """Connects `servers` on enter and cleans them up on exit.

    - `active_servers`: the connected ones (all of them when `drop_failed_servers=False`);
      `failed_servers` and `errors` say which failed and why.
    - `strict=True`: the first failure is raised (after cleaning up what did connect).
    - `connect_in_parallel=True`: connect all at once instead of one after the other.
    - `suppress_cancelled_error`: a cancellation during cleanup is logged, not raised.
    """

    def __init__(
        self,
        servers: Iterable[MCPServer],
        *,
        connect_timeout_seconds: float | None = 10.0,
        cleanup_timeout_seconds: float | None = 10.0,
        drop_failed_servers: bool = True,
        strict: bool = False,
        suppress_cancelled_error: bool = True,
        connect_in_parallel: bool = False,
    ) -> None:
        unique: list[MCPServer] = []
        for server in servers:
            if not isinstance(server, MCPServer):
                raise UserError(f"MCPServerManager takes MCPServer objects, got {server!r}")
            if server not in unique:
                unique.append(server)
        self._all = unique
        self.connect_timeout_seconds = _check_timeout(
            "connect_timeout_seconds", connect_timeout_seconds
        )
        self.cleanup_timeout_seconds = _check_timeout(
            "cleanup_timeout_seconds", cleanup_timeout_seconds
        )
        self.drop_failed_servers = drop_failed_servers
        self.strict = strict
        self.suppress_cancelled_error = suppress_cancelled_error
        self.connect_in_parallel = connect_in_parallel
        self._errors: dict[MCPServer, BaseException] = {}
        self._connected: list[MCPServer] = []

    @property
    def all_servers(self) -> list[MCPServer]:
        return list(self._all)

    @property
    def active_servers(self) -> list[MCPServer]:
        if not self.drop_failed_servers:
            return list(self._all)
        return [s for s in self._all if s in self._connected]

    @property
    def failed_servers(self) -> list[MCPServer]:
        return [s for s in self._all if s in self._errors]

    @property
    def errors(self) -> dict[MCPServer, BaseException]:
        return dict(self._errors)

    async def __aenter__(self) -> MCPServerManager:
        await self.connect_all()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.cleanup_all()

    async def connect_all(self) -> list[MCPServer]:
        """Connect every server not connected yet; returns the active servers."""
        await self._connect([s for s in self._all if s not in self._connected])
        return self.active_servers

    async def reconnect(self, *, failed_only: bool = True) -> list[MCPServer]:
        """Try the failed servers again (or clean up and reconnect all)."""
        if failed_only:
            targets = self.failed_servers
        else:
            await self.cleanup_all()
            targets = list(self._all)
        await self._connect(targets)
        return self.active_servers

    async def _connect(self, servers: list[MCPServer]) -> None:
        if self.connect_in_parallel:
            outcomes = await asyncio.gather(
                *(self._connect_one(s) for s in servers), return_exceptions=True
            )
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
        else:
            failure = None
            for server in servers:
                try:
                    await self._connect_one(server)
                except Exception as error:
                    failure = error
                    break
        if failure is not None:
            await self.cleanup_all()
            raise failure

    async def _connect_one(self, server: MCPServer) -> None:
        try:
            await asyncio.wait_for(server.connect(), self.connect_timeout_seconds)
        except Exception as error:
            if isinstance(error, TimeoutError):
                error = UserError(
                    f"MCP server {server.name!r} did not connect within "
                    f"{self.connect_timeout_seconds:g} s"
                )
            self._errors[server] = error
            logger.warning("MCP server %r failed to connect: %s", server.name, error)
            await self._cleanup_one(server)
            if self.strict:
                raise error from None
            return
        self._errors.pop(server, None)
        self._connected.append(server)

    async def cleanup_all(self) -> None:
        """Clean up every connected server (in reverse order of connection)."""
        connected, self._connected = self._connected, []
        for server in reversed(connected):
            await self._cleanup_one(server)

    async def _cleanup_one(self, server: MCPServer) -> None:
        try:
            await asyncio.wait_for(server.cleanup(), self.cleanup_timeout_seconds)
        except asyncio.CancelledError:
            if not self.suppress_cancelled_error:
                raise
            logger.warning("Cleanup of MCP server %r was cancelled", server.name)
        except Exception as error:
            logger.warning("Cleanup of MCP server %r failed: %s", server.name, error)
