"""A server reached through the `mcp` package's `Client`: the connection's lifetime, requests
with retries, the tools cache, and failures turned into errors that name the server.

The `Client` lives in a task of its own. Its transports hold anyio cancel scopes, which must be
left by the task that entered them, while `connect()` and `cleanup()` are often awaited from
different tasks (fixtures, `AsyncExitStack`s, servers shared across runs).
"""

from __future__ import annotations

import abc
import asyncio
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from ..exceptions import UserError
from ..run_context import RunContextWrapper
from .filters import ToolFilter, apply_tool_filter, check_tool_filter
from .interface import UNSET, MCPServer, RequireApprovalSetting

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import (
        CallToolResult,
        GetPromptResult,
        InitializeResult,
        ListPromptsResult,
        ListResourcesResult,
        ListResourceTemplatesResult,
        ReadResourceResult,
    )
    from mcp.types import Tool as MCPTool

    from ..tool import ToolErrorFunction

logger = logging.getLogger("agentoscope.runtime.mcp")
T = TypeVar("T")

# mcp's JSON-RPC error codes for a request that timed out and a connection that closed.
_REQUEST_TIMEOUT = -32001
_CONNECTION_CLOSED = -32000
_CLEANUP_DEADLINE_S = 15.0  # stdio shutdown is bounded by mcp (about 6 s); HTTP by its timeouts


class MCPRequestError(UserError):
    """A request to an MCP server failed. `summary` names the server, the operation and the
    reason, without the server's stderr that the full message may quote: it is what the model
    is told (stderr can hold anything the server printed)."""

    def __init__(self, message: str, summary: str) -> None:
        super().__init__(message)
        self.summary = summary


def check_timeout(timeout_seconds: float | None) -> float | None:
    """The read timeout for the `Client`: None and 0 mean none."""
    if timeout_seconds is None or timeout_seconds == 0:
        return None
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int | float):
        raise UserError("client_session_timeout_seconds must be a number of seconds or None")
    if not math.isfinite(timeout_seconds) or timeout_seconds < 0:
        raise UserError("client_session_timeout_seconds must be positive and finite (or 0/None)")
    return float(timeout_seconds)


def leaf_errors(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, as anyio task groups raise them."""
    if isinstance(error, BaseExceptionGroup):
        leaves: list[BaseException] = []
        for inner in error.exceptions:
            leaves.extend(leaf_errors(inner))
        return leaves
    return [error]


def describe_failure(error: BaseException) -> str:
    """Why a request or connection failed, in words that hold no request data or secrets."""
    from mcp.shared.exceptions import MCPError

    for leaf in leaf_errors(error):
        if isinstance(leaf, MCPError):
            if leaf.code == _REQUEST_TIMEOUT:
                return "no answer within client_session_timeout_seconds"
            if leaf.code == _CONNECTION_CLOSED:
                return "the connection closed (the server may have exited)"
            return f"MCP error {leaf.code}: {leaf.message}"
        if isinstance(leaf, TimeoutError):
            return "timed out"
        if isinstance(leaf, FileNotFoundError):
            return f"command not found ({leaf.strerror})"
        if isinstance(leaf, OSError):
            return f"{type(leaf).__name__}: {leaf.strerror or leaf}"
        kind = type(leaf).__name__
        if kind == "ConnectError":
            return "connection refused or unreachable"
        if kind == "HTTPStatusError":
            response = getattr(leaf, "response", None)
            return f"HTTP error {getattr(response, 'status_code', '?')}"
        if "Timeout" in kind:
            return f"timed out ({kind})"
    first = leaf_errors(error)[0]
    return f"{type(first).__name__}: {first}"


class MCPServerConnection(MCPServer, abc.ABC):
    """The transport-independent part of the stdio, SSE and streamable HTTP servers."""

    def __init__(
        self,
        cache_tools_list: bool,
        client_session_timeout_seconds: float | None,
        tool_filter: ToolFilter = None,
        use_structured_content: bool = False,
        max_retry_attempts: int = 0,
        retry_backoff_seconds_base: float = 1.0,
        message_handler: Callable[..., Any] | None = None,
        require_approval: RequireApprovalSetting = None,
        failure_error_function: ToolErrorFunction | Any | None = UNSET,
        tool_meta_resolver: Callable[..., Any] | None = None,
        custom_data_extractor: Callable[..., Any] | None = None,
        retry_backoff_seconds_max: float | None = None,
        *,
        tool_input_guardrails: list[Any] | None = None,
        tool_output_guardrails: list[Any] | None = None,
        max_list_pages: int | None = None,
    ) -> None:
        super().__init__(
            use_structured_content=use_structured_content,
            require_approval=require_approval,
            failure_error_function=failure_error_function,
            tool_meta_resolver=tool_meta_resolver,
            custom_data_extractor=custom_data_extractor,
            tool_input_guardrails=tool_input_guardrails,
            tool_output_guardrails=tool_output_guardrails,
        )
        check_timeout(client_session_timeout_seconds)
        check_tool_filter(tool_filter)
        if not isinstance(max_retry_attempts, int) or max_retry_attempts < -1:
            raise UserError("max_retry_attempts must be an int >= 0 (or -1 for no limit)")
        if retry_backoff_seconds_max is not None and retry_backoff_seconds_max < 0:
            raise UserError("retry_backoff_seconds_max must be >= 0 or None")
        if max_list_pages is not None and (
            isinstance(max_list_pages, bool)
            or not isinstance(max_list_pages, int)
            or max_list_pages < 1
        ):
            raise UserError("max_list_pages must be a positive integer or None")
        self.cache_tools_list = cache_tools_list
        self.client_session_timeout_seconds = client_session_timeout_seconds
        self.tool_filter = tool_filter
        self.max_retry_attempts = max_retry_attempts
        self.retry_backoff_seconds_base = retry_backoff_seconds_base
        self.retry_backoff_seconds_max = retry_backoff_seconds_max
        self.message_handler = message_handler
        self.max_list_pages = max_list_pages
        self.session: ClientSession | None = None
        self.server_initialize_result: InitializeResult | None = None
        self._tools_list: list[MCPTool] | None = None
        self._cache_dirty = True
        self._holder: asyncio.Task[None] | None = None
        self._closing: asyncio.Event | None = None
        self._lost: BaseException | None = None

    # -- what a transport provides -------------------------------------------------------------

    @abc.abstractmethod
    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        """The `mcp` transport (an async context manager yielding the read/write streams)."""

    def _where(self) -> str:
        """The command or URL, for error messages."""
        return ""

    def _diagnostics(self) -> str:
        """Extra words for an error (the stdio server's stderr)."""
        return ""

    # -- lifetime ------------------------------------------------------------------------------

    async def __aenter__(self) -> MCPServerConnection:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.cleanup()

    async def connect(self) -> None:
        if self._holder is not None and not self._holder.done():
            return  # already connected
        from mcp import Client

        read_timeout = check_timeout(self.client_session_timeout_seconds)
        ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        closing = asyncio.Event()
        self._closing, self._lost = closing, None

        async def hold() -> None:
            try:
                client = Client(
                    self.create_streams(),
                    mode="auto",
                    cache=None,
                    read_timeout_seconds=read_timeout,
                    message_handler=self.message_handler,
                )
                async with client:
                    ready.set_result(client)
                    await closing.wait()
            except BaseException as error:  # reported through `ready` or on the next request
                if not ready.done():
                    ready.set_exception(error)
                elif not isinstance(error, asyncio.CancelledError):
                    self._lost = error
                    logger.debug("MCP server %r: connection ended: %r", self.name, error)

        self._holder = asyncio.create_task(hold(), name=f"mcp server {self.name}")
        try:
            client = await asyncio.shield(ready)
        except BaseException as error:
            await self._stop_holder()
            if isinstance(error, asyncio.CancelledError | KeyboardInterrupt):
                raise
            raise UserError(
                f"Could not connect to MCP server {self.name!r}{self._where()}: "
                f"{describe_failure(error)}{self._diagnostics()}"
            ) from error
        self.session = client.session
        self.server_initialize_result = getattr(client.session, "initialize_result", None)

    async def cleanup(self) -> None:
        self.session = None
        await self._stop_holder()

    async def _stop_holder(self) -> None:
        holder, self._holder = self._holder, None
        if holder is None:
            return
        if self._closing is not None:
            self._closing.set()
        try:
            # Shielded: a cancelled caller must not leave the server process behind.
            await asyncio.shield(asyncio.wait_for(holder, _CLEANUP_DEADLINE_S))
        except (TimeoutError, asyncio.CancelledError):
            holder.cancel()
        except Exception:
            logger.warning("MCP server %r: error while closing", self.name, exc_info=True)

    # -- requests ------------------------------------------------------------------------------

    def _session(self, operation: str) -> ClientSession:
        if self.session is None:
            raise UserError(
                f"MCP server {self.name!r} is not connected: call `await server.connect()` "
                f"(or use `async with server:`) before {operation}"
            )
        return self.session

    def _backoff(self, retries_done: int) -> float:
        delay = self.retry_backoff_seconds_base * (2**retries_done)
        if self.retry_backoff_seconds_max is not None:
            delay = min(delay, self.retry_backoff_seconds_max)
        return float(delay)

    async def _request(self, what: str, send: Callable[[ClientSession], Awaitable[T]]) -> T:
        """One request, retried `max_retry_attempts` times; failures become a UserError that
        names the server and the operation."""
        session = self._session(what)
        failures = 0
        while True:
            try:
                return await send(session)
            except Exception as error:
                failures += 1
                limit = self.max_retry_attempts
                if (limit == -1 or failures <= limit) and self.session is not None:
                    await asyncio.sleep(self._backoff(failures - 1))
                    continue
                summary = f"Failed to {what} on MCP server {self.name!r}: {describe_failure(error)}"
                raise MCPRequestError(summary + self._diagnostics(), summary) from error

    async def list_tools(
        self, run_context: RunContextWrapper[Any] | None = None, agent: Any | None = None
    ) -> list[MCPTool]:
        if self.cache_tools_list and not self._cache_dirty and self._tools_list is not None:
            tools = self._tools_list
        else:
            tools = await self._paged("list tools", "list_tools", "tools")
            self._tools_list = tools
            self._cache_dirty = False
        filtered = await apply_tool_filter(tools, self.tool_filter, self.name, run_context, agent)
        # Copies: a caller changing a schema must not change the cache.
        return [tool.model_copy(deep=True) for tool in filtered]

    async def _paged(self, what: str, method: str, field: str) -> list[Any]:
        from mcp.types import PaginatedRequestParams

        items: list[Any] = []
        cursor: str | None = None
        seen: set[str | None] = set()
        while True:
            if self.max_list_pages is not None and len(seen) >= self.max_list_pages:
                raise UserError(
                    f"MCP server {self.name!r}: {what} needs more than max_list_pages="
                    f"{self.max_list_pages} pages"
                )
            params = None if cursor is None else PaginatedRequestParams(cursor=cursor)

            def send(session: ClientSession, params: Any = params) -> Awaitable[Any]:
                return getattr(session, method)(params=params)

            page = await self._request(what, send)
            seen.add(cursor)
            items.extend(getattr(page, field))
            cursor = page.next_cursor
            if cursor is None:
                return items
            if cursor in seen:
                raise UserError(f"MCP server {self.name!r} repeated a cursor during {what}")

    def invalidate_tools_cache(self) -> None:
        """The next `list_tools()` asks the server again."""
        self._cache_dirty = True

    @property
    def cached_tools(self) -> list[MCPTool] | None:
        if self._tools_list is None:
            return None
        return [tool.model_copy(deep=True) for tool in self._tools_list]

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        return await self._request(
            f"call tool {tool_name!r}",
            lambda session: session.call_tool(tool_name, arguments, meta=meta),  # type: ignore[arg-type]
        )

    async def list_prompts(self) -> ListPromptsResult:
        from mcp.types import ListPromptsResult

        prompts = await self._paged("list prompts", "list_prompts", "prompts")
        return ListPromptsResult(prompts=prompts)

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> GetPromptResult:
        return await self._request(
            f"get prompt {name!r}", lambda session: session.get_prompt(name, arguments)
        )

    async def list_resources(self, cursor: str | None = None) -> ListResourcesResult:
        from mcp.types import PaginatedRequestParams

        params = None if cursor is None else PaginatedRequestParams(cursor=cursor)
        return await self._request(
            "list resources", lambda session: session.list_resources(params=params)
        )

    async def list_resource_templates(
        self, cursor: str | None = None
    ) -> ListResourceTemplatesResult:
        from mcp.types import PaginatedRequestParams

        params = None if cursor is None else PaginatedRequestParams(cursor=cursor)
        return await self._request(
            "list resource templates",
            lambda session: session.list_resource_templates(params=params),
        )

    async def read_resource(self, uri: str) -> ReadResourceResult:
        return await self._request(
            f"read resource {uri!r}", lambda session: session.read_resource(uri)
        )


# The base's parameters, which every transport's constructor repeats: the transports spell out
# the SDK's full signatures (for IDEs, type checkers and ports), then hand these on as one.
_CONNECTION_OPTIONS = tuple(inspect.signature(MCPServerConnection.__init__).parameters)[1:]


def connection_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """The `MCPServerConnection.__init__` arguments out of a transport constructor's `locals()`."""
    return {name: values[name] for name in _CONNECTION_OPTIONS}
