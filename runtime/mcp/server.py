"""The three MCP transports with the SDK's constructors: `MCPServerStdio` (a subprocess),
`MCPServerSse` and `MCPServerStreamableHttp` (an HTTP endpoint)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Literal, NotRequired
from urllib.parse import urlsplit, urlunsplit

from typing_extensions import TypedDict

from ..exceptions import UserError
from .connection import MCPServerConnection, connection_options
from .filters import ToolFilter
from .interface import UNSET, MCPServer, RequireApprovalSetting

__all__ = [
    "MCPServer",
    "MCPServerSse",
    "MCPServerSseParams",
    "MCPServerStdio",
    "MCPServerStdioParams",
    "MCPServerStreamableHttp",
    "MCPServerStreamableHttpParams",
]

_STDERR_TAIL_CHARS = 1500


def redact_url(url: str) -> str:
    """The URL without user:password and query string, fit for names, spans and errors."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class MCPServerStdioParams(TypedDict):
    """How to start the server process (`mcp.StdioServerParameters`' fields)."""

    command: str
    args: NotRequired[list[str]]
    env: NotRequired[dict[str, str]]
    """Added to a minimal default environment (PATH, HOME, ...), not to ours."""
    cwd: NotRequired[str | Path]
    encoding: NotRequired[str]
    encoding_error_handler: NotRequired[Literal["strict", "ignore", "replace"]]


class MCPServerStdio(MCPServerConnection):
    """A server started as a subprocess, spoken to over its stdin/stdout. `cleanup()` closes
    its stdin, then terminates and reaps it (and its children) if it does not exit. Its stderr
    is kept, and its last lines are quoted in errors about it."""

    def __init__(
        self,
        params: MCPServerStdioParams,
        cache_tools_list: bool = False,
        name: str | None = None,
        client_session_timeout_seconds: float | None = 5,
        tool_filter: ToolFilter = None,
        use_structured_content: bool = False,
        max_retry_attempts: int = 0,
        retry_backoff_seconds_base: float = 1.0,
        message_handler: Callable[..., Any] | None = None,
        require_approval: RequireApprovalSetting = None,
        failure_error_function: Any = UNSET,
        tool_meta_resolver: Callable[..., Any] | None = None,
        custom_data_extractor: Callable[..., Any] | None = None,
        retry_backoff_seconds_max: float | None = None,
        *,
        tool_input_guardrails: list[Any] | None = None,
        tool_output_guardrails: list[Any] | None = None,
        max_list_pages: int | None = None,
    ) -> None:
        super().__init__(**connection_options(locals()))
        from mcp import StdioServerParameters

        if not isinstance(params, dict) or not params.get("command"):
            raise UserError("MCPServerStdio params need a 'command'")
        self.params = StdioServerParameters(
            command=params["command"],
            args=list(params.get("args", [])),
            env=params.get("env"),
            cwd=params.get("cwd"),
            encoding=params.get("encoding", "utf-8"),
            encoding_error_handler=params.get("encoding_error_handler", "strict"),
        )
        self._name = name or f"stdio: {self.params.command}"
        self._stderr: IO[str] | None = None

    @property
    def name(self) -> str:
        return self._name

    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        from mcp.client.stdio import stdio_client

        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        return stdio_client(self.params, errlog=self._stderr)

    def _where(self) -> str:
        command = " ".join([self.params.command, *self.params.args])
        return f" (command: {command})"

    def _diagnostics(self) -> str:
        stderr = self._stderr
        if stderr is None or stderr.closed:
            return ""
        try:
            stderr.flush()
            stderr.seek(0, 2)
            size = stderr.tell()
            stderr.seek(max(0, size - _STDERR_TAIL_CHARS))
            tail = stderr.read().strip()
        except (OSError, ValueError):
            return ""
        return f"\nThe server's stderr ends with:\n{tail}" if tail else ""

    async def cleanup(self) -> None:
        await super().cleanup()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


class MCPServerSseParams(TypedDict):
    url: str
    headers: NotRequired[dict[str, str]]
    timeout: NotRequired[float]
    """Seconds for each HTTP request (default 5)."""
    sse_read_timeout: NotRequired[float]
    """Seconds to wait for the next event on the stream (default 300)."""
    auth: NotRequired[Any]
    """An `httpx2.Auth` (the HTTP client of mcp 2.x)."""
    httpx_client_factory: NotRequired[Callable[..., Any]]
    """(headers=, timeout=, auth=) -> an `httpx2.AsyncClient`."""


def _default_http_client(
    headers: dict[str, str] | None = None, timeout: Any = None, auth: Any = None
) -> Any:
    import httpx2

    return httpx2.AsyncClient(headers=headers, timeout=timeout, auth=auth)


class _MCPServerHttp(MCPServerConnection):
    """What the SSE and streamable HTTP servers share: a URL, named without its secrets."""

    params: MCPServerSseParams | MCPServerStreamableHttpParams
    _name: str

    @staticmethod
    def _http_name(params: Any, name: str | None, transport: str, cls_name: str) -> str:
        """Checks the params' URL; the server's name (`name`, else the transport and URL)."""
        url = params.get("url") if isinstance(params, dict) else None
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise UserError(f"{cls_name} params need an http(s) 'url', got {url!r}")
        return name or f"{transport}: {redact_url(url)}"

    @property
    def name(self) -> str:
        return self._name

    def _where(self) -> str:
        return f" (url: {redact_url(self.params['url'])})"


class MCPServerSse(_MCPServerHttp):
    """A server behind the (older) HTTP with Server-Sent Events transport."""

    params: MCPServerSseParams

    def __init__(
        self,
        params: MCPServerSseParams,
        cache_tools_list: bool = False,
        name: str | None = None,
        client_session_timeout_seconds: float | None = 5,
        tool_filter: ToolFilter = None,
        use_structured_content: bool = False,
        max_retry_attempts: int = 0,
        retry_backoff_seconds_base: float = 1.0,
        message_handler: Callable[..., Any] | None = None,
        require_approval: RequireApprovalSetting = None,
        failure_error_function: Any = UNSET,
        tool_meta_resolver: Callable[..., Any] | None = None,
        custom_data_extractor: Callable[..., Any] | None = None,
        retry_backoff_seconds_max: float | None = None,
        *,
        tool_input_guardrails: list[Any] | None = None,
        tool_output_guardrails: list[Any] | None = None,
        max_list_pages: int | None = None,
    ) -> None:
        super().__init__(**connection_options(locals()))
        self.params = params
        self._name = self._http_name(params, name, "sse", "MCPServerSse")

    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        from mcp.client.sse import sse_client

        kwargs: dict[str, Any] = {
            "url": self.params["url"],
            "headers": self.params.get("headers"),
            "timeout": _seconds(self.params.get("timeout", 5)),
            "sse_read_timeout": _seconds(self.params.get("sse_read_timeout", 300)),
            "httpx_client_factory": self.params.get("httpx_client_factory", _default_http_client),
        }
        if self.params.get("auth") is not None:
            kwargs["auth"] = self.params["auth"]
        return sse_client(**kwargs)


class MCPServerStreamableHttpParams(TypedDict):
    url: str
    headers: NotRequired[dict[str, str]]
    timeout: NotRequired[timedelta | float]
    """Seconds for each HTTP request (default 5)."""
    sse_read_timeout: NotRequired[timedelta | float]
    """Seconds to wait for the next event on a response stream (default 300)."""
    terminate_on_close: NotRequired[bool]
    """End the server-side session (HTTP DELETE) on cleanup (default True)."""
    httpx_client_factory: NotRequired[Callable[..., Any]]
    """(headers=, timeout=, auth=) -> an `httpx2.AsyncClient`."""
    auth: NotRequired[Any]
    """An `httpx2.Auth` (the HTTP client of mcp 2.x)."""
    ignore_initialized_notification_failure: NotRequired[bool]
    """mcp 1.x only; True raises UserError, as with the SDK on mcp 2.x."""


class MCPServerStreamableHttp(_MCPServerHttp):
    """A server behind the Streamable HTTP transport (one endpoint, e.g. `.../mcp`)."""

    params: MCPServerStreamableHttpParams

    def __init__(
        self,
        params: MCPServerStreamableHttpParams,
        cache_tools_list: bool = False,
        name: str | None = None,
        client_session_timeout_seconds: float | None = 5,
        tool_filter: ToolFilter = None,
        use_structured_content: bool = False,
        max_retry_attempts: int = 0,
        retry_backoff_seconds_base: float = 1.0,
        message_handler: Callable[..., Any] | None = None,
        require_approval: RequireApprovalSetting = None,
        failure_error_function: Any = UNSET,
        tool_meta_resolver: Callable[..., Any] | None = None,
        custom_data_extractor: Callable[..., Any] | None = None,
        retry_backoff_seconds_max: float | None = None,
        *,
        tool_input_guardrails: list[Any] | None = None,
        tool_output_guardrails: list[Any] | None = None,
        max_list_pages: int | None = None,
    ) -> None:
        super().__init__(**connection_options(locals()))
        http_name = self._http_name(params, name, "streamable_http", "MCPServerStreamableHttp")
        if params.get("ignore_initialized_notification_failure"):
            raise UserError(
                "ignore_initialized_notification_failure is not supported with mcp 2.x: its "
                "transport does not report initialized-notification failures"
            )
        self.params = params
        self._name = http_name

    def create_streams(self) -> AbstractAsyncContextManager[Any]:
        return self._streams()

    @asynccontextmanager
    async def _streams(self) -> AsyncIterator[Any]:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        params = self.params
        factory = params.get("httpx_client_factory", _default_http_client)
        timeout = httpx2.Timeout(
            _seconds(params.get("timeout", 5)), read=_seconds(params.get("sse_read_timeout", 300))
        )
        http_client = factory(
            headers=params.get("headers"), timeout=timeout, auth=params.get("auth")
        )
        async with http_client:
            async with streamable_http_client(
                params["url"],
                http_client=http_client,
                terminate_on_close=params.get("terminate_on_close", True),
            ) as streams:
                yield streams
