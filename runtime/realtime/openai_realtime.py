"""`OpenAIRealtimeWebSocketModel`: the OpenAI Realtime API over a WebSocket, through the `openai`
package's realtime client (`AsyncOpenAI.realtime.connect`), which owns the handshake, the
authentication headers and the URL. We never let it reconnect: a dropped connection ends the
session with a `RealtimeConnectionError`, since a new connection would be a new, empty
conversation on the server.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections.abc import Callable
from typing import Any, NotRequired
from urllib.parse import parse_qs, urlsplit, urlunsplit

from openai import AsyncOpenAI, Omit, OpenAIError
from typing_extensions import TypedDict

from ..exceptions import UserError
from ..left_out import left_out
from .config import RealtimeSessionModelSettings
from .errors import RealtimeConnectionError
from .model import FanOutRealtimeModel, RealtimeModelConfig
from .model_events import (
    RealtimeModelConnectionStatusEvent,
    RealtimeModelEndOfStreamEvent,
    RealtimeModelErrorEvent,
    RealtimeModelExceptionEvent,
)
from .model_inputs import RealtimeModelSendEvent
from .openai_protocol import OpenAIRealtimeProtocol
from .openai_session_config import DEFAULT_MODEL_SETTINGS, DEFAULT_REALTIME_MODEL

DEFAULT_URL = "wss://api.openai.com/v1/realtime"

__all__ = [
    "DEFAULT_MODEL_SETTINGS",
    "DEFAULT_REALTIME_MODEL",
    "OpenAIRealtimeSIPModel",
    "OpenAIRealtimeWebSocketModel",
    "TransportConfig",
    "get_api_key",
]


OpenAIRealtimeSIPModel: Any = left_out("OpenAIRealtimeSIPModel")
"""Left out on purpose (docs/sdk_parity.md): using it raises a UserError naming the alternative."""


class TransportConfig(TypedDict):
    """WebSocket options: keepalive pings, the handshake timeout, the largest message."""

    ping_interval: NotRequired[float | None]
    ping_timeout: NotRequired[float | None]
    handshake_timeout: NotRequired[float]
    max_size: NotRequired[int | None]


_TRANSPORT_KEYS = {
    "ping_interval": "ping_interval",
    "ping_timeout": "ping_timeout",
    "handshake_timeout": "open_timeout",
    "max_size": "max_size",
}


async def get_api_key(key: str | Callable[[], Any] | None) -> str | None:
    """The key (or client secret) given, the result of a function returning one, or
    `OPENAI_API_KEY`."""
    if isinstance(key, str):
        return key
    if callable(key):
        result = key()
        if inspect.isawaitable(result):
            result = await result
        return result
    return os.environ.get("OPENAI_API_KEY")


def _split_url(url: str) -> tuple[str, dict[str, list[str]]]:
    """The `openai` client takes a base URL and adds `/realtime` itself: give it the URL
    without that last segment. Query parameters stay on the base."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss", "http", "https"):
        raise UserError(f"realtime url must be ws://, wss://, http:// or https://, got {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/realtime"):
        raise UserError(f"realtime url must end in /realtime, got {_safe_url(url)!r}")
    base = urlunsplit((parts.scheme, parts.netloc, path[: -len("/realtime")], parts.query, ""))
    return base, parse_qs(parts.query)


def _websockets() -> Any:
    """`websockets` (the `openai` client's realtime transport), with a clear error if absent."""
    try:
        import websockets
    except ImportError as error:
        raise UserError(
            "OpenAIRealtimeWebSocketModel needs the websockets package: "
            "pip install 'agentoscope[realtime]'"
        ) from error
    return websockets


def _safe_url(url: str) -> str:
    """The URL without its query, which may carry a key (Azure's `api-key=`)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class OpenAIRealtimeWebSocketModel(FanOutRealtimeModel):
    """A realtime model reached over a WebSocket that speaks the OpenAI Realtime protocol."""

    def __init__(self, *, transport_config: TransportConfig | None = None) -> None:
        super().__init__()
        self.model = DEFAULT_REALTIME_MODEL
        unknown = sorted(set(transport_config or {}) - set(_TRANSPORT_KEYS))
        if unknown:
            raise UserError(f"transport_config: unsupported key(s) {', '.join(unknown)}")
        self._transport_config = transport_config or {}
        self._connection: Any = None
        self._protocol: OpenAIRealtimeProtocol | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._closing = False
        self._url = DEFAULT_URL

    # -- connection -----------------------------------------------------------------------------

    async def connect(self, options: RealtimeModelConfig) -> None:
        if self._connection is not None:
            raise UserError("OpenAIRealtimeWebSocketModel is already connected")
        settings: RealtimeSessionModelSettings = options.get("initial_model_settings") or {}
        call_id = options.get("call_id")
        if call_id and settings.get("model_name"):
            raise UserError("model_config: give either call_id or model_name, not both")
        if settings.get("model_name"):
            self.model = settings["model_name"]
        api_key = await get_api_key(options.get("api_key"))
        headers = options.get("headers")
        if headers is None and not api_key:
            raise UserError(
                "No API key for the realtime model: set model_config['api_key'] (a key or a "
                "client secret) or OPENAI_API_KEY, or pass model_config['headers']"
            )
        self._url = options.get("url") or DEFAULT_URL
        base_url, query = _split_url(self._url)
        extra_headers: dict[str, Any] = {}
        if headers is not None:
            # As in the SDK: with your own headers (e.g. Azure's api-key) no Authorization.
            if not any(name.lower() == "authorization" for name in headers):
                extra_headers["Authorization"] = Omit()
            extra_headers.update(headers)
        connect_args: dict[str, Any] = {}
        if call_id:
            connect_args["call_id"] = call_id
        elif "model" not in query:
            connect_args["model"] = self.model
        websockets = _websockets()
        client = AsyncOpenAI(api_key=api_key or "unused", websocket_base_url=base_url)
        ws_options = {_TRANSPORT_KEYS[key]: value for key, value in self._transport_config.items()}
        manager = client.realtime.connect(
            extra_headers=extra_headers,
            websocket_connection_options=ws_options,  # type: ignore[arg-type]
            **connect_args,
        )
        await self._emit(RealtimeModelConnectionStatusEvent(status="connecting"))
        try:
            self._connection = await manager.enter()
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException, OpenAIError) as e:
            raise RealtimeConnectionError(
                f"could not connect to the realtime server at {_safe_url(self._url)}: {e}"
            ) from e
        self._closing = False
        self._protocol = OpenAIRealtimeProtocol(
            self._emit,
            self._send_json,
            model_name=self.model,
            playback_tracker=options.get("playback_tracker"),
        )
        self._listen_task = asyncio.create_task(
            self._listen(self._connection, self._protocol), name="agentoscope-realtime-listen"
        )
        await self._emit(RealtimeModelConnectionStatusEvent(status="connected"))
        await self._protocol.send_session_update(settings)

    async def _listen(self, connection: Any, protocol: OpenAIRealtimeProtocol) -> None:
        websockets = _websockets()
        try:
            while True:
                message = await connection.recv_bytes()
                try:
                    await protocol.handle_message(message)
                except Exception as error:  # one bad event must not end the session
                    await self._emit(
                        RealtimeModelErrorEvent(
                            error={"message": f"error handling a server event: {error!r}"}
                        )
                    )
        except websockets.exceptions.ConnectionClosed as closed:
            if self._closing:
                return
            await self._emit(RealtimeModelConnectionStatusEvent(status="disconnected"))
            clean = isinstance(closed, websockets.exceptions.ConnectionClosedOK)
            if clean and not protocol.response_active:
                await self._emit(RealtimeModelEndOfStreamEvent())
                return
            where = " in the middle of a response" if protocol.response_active else ""
            code = closed.rcvd.code if closed.rcvd is not None else 1006
            reason = (
                f": {closed.rcvd.reason}" if closed.rcvd is not None and closed.rcvd.reason else ""
            )
            dropped = RealtimeConnectionError(
                f"the realtime server at {_safe_url(self._url)} closed the connection{where} "
                f"(code {code}{reason})"
            )
            dropped.__cause__ = closed
            await self._emit(RealtimeModelExceptionEvent(exception=dropped, context="connection"))
        except asyncio.CancelledError:
            raise
        except Exception as failure:
            if not self._closing:
                broken = RealtimeConnectionError(f"realtime connection failed: {failure!r}")
                broken.__cause__ = failure
                await self._emit(
                    RealtimeModelExceptionEvent(exception=broken, context="connection")
                )

    async def _send_json(self, payload: dict[str, Any]) -> None:
        websockets = _websockets()
        if self._connection is None:
            raise RealtimeConnectionError("the realtime model is not connected")
        try:
            await self._connection.send_raw(json.dumps(payload))
        except websockets.exceptions.ConnectionClosed as closed:
            raise RealtimeConnectionError(
                f"cannot send {payload.get('type')!r}: the realtime connection is closed"
            ) from closed

    async def send_event(self, event: RealtimeModelSendEvent) -> None:
        if self._protocol is None:
            raise RealtimeConnectionError("the realtime model is not connected")
        await self._protocol.send(event)

    async def close(self) -> None:
        """Close the connection (code 1000) and stop listening; safe to call twice."""
        self._closing = True
        connection, self._connection = self._connection, None
        task, self._listen_task = self._listen_task, None
        try:
            if connection is not None:
                await connection.close()
        finally:
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
            self._protocol = None
