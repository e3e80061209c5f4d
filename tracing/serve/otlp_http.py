"""The HTTP side of `agentoscope serve`: OTLP/HTTP traces, read-only SQL and health.

`POST /v1/traces`: an OTLP `ExportTraceServiceRequest`, `application/x-protobuf` or
`application/json`, optionally `Content-Encoding: gzip` or `deflate`. Answered once committed,
in the request's encoding; errors carry a `google.rpc.Status` as OTLP/HTTP specifies.
`POST /v1/query`: `{"sql": "...", "params": [...] | {...}}`; the answer is JSON
(`{"columns", "dtypes", "data"}`) or, with `Accept: application/vnd.apache.arrow.stream`, an
Arrow IPC stream (exact types; what `StoreClient` asks for).
`GET /health`: `{"status": "ok", ...}` with counts.
"""

from __future__ import annotations

import io
import logging
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import orjson
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from ..otel.decode import OTLPDecodeError
from ..store.client import ARROW_STREAM, decode_params
from ..store.limits import QueryLimitError

logger = logging.getLogger("agentoscope.serve")

RETRY_AFTER_SECONDS = 1

_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# A `/v1/query` body: SQL and its parameters, never a payload.
MAX_QUERY_BYTES = 1024 * 1024
# Decompressed a piece at a time, each piece counted before the next is made.
DECOMPRESS_PIECE = 1024 * 1024
BUSY_MESSAGE = "serve is busy (bytes in flight at their bound): send again shortly"


def decompress(
    body: bytes, encoding: str | None, limit: int, take: Callable[[int], bool] | None = None
) -> bytes:
    """The body without its content encoding, refusing more than `limit` bytes unpacked.
    `take(n)` is asked for each piece of `n` bytes before the next is made (serve's bound on
    bytes in flight: a small gzip body can unpack to `limit`); False refuses the body (503)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding == "gzip":
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        decompressor = zlib.decompressobj()
    else:
        raise BodyError(415, f"unsupported Content-Encoding {encoding!r}: use gzip or deflate")
    pieces: list[bytes] = []
    size, pending = 0, body
    try:
        while True:
            piece = decompressor.decompress(pending, DECOMPRESS_PIECE)
            pending = decompressor.unconsumed_tail
            if not piece:
                break
            size += len(piece)
            if size > limit:
                raise BodyError(413, f"body larger than {limit} bytes once decompressed")
            if take is not None and not take(len(piece)):
                raise BodyError(503, BUSY_MESSAGE)
            pieces.append(piece)
            if decompressor.eof:
                break
    except zlib.error as error:
        raise BodyError(400, f"invalid {encoding} body: {error}") from None
    if not decompressor.eof:
        raise BodyError(400, f"invalid {encoding} body: truncated")
    return b"".join(pieces)


def dataframe_json(frame: Any) -> bytes:
    """A DataFrame as `{"columns", "dtypes", "data"}` (times as ISO strings, NaN as null)."""
    split = orjson.loads(
        frame.to_json(
            orient="split", index=False, date_format="iso", date_unit="us", default_handler=str
        )
    )
    return orjson.dumps(
        {
            "columns": split["columns"],
            "dtypes": [str(dtype) for dtype in frame.dtypes],
            "data": split["data"],
        }
    )


def dataframe_arrow(frame: Any) -> bytes:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


class OTLPHTTPHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: exporters send many requests per connection
    server_version = "agentoscope-serve"

    @property
    def service(self) -> Any:
        return self.server.service  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # -- routing -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self._refused():
            return
        if urlsplit(self.path).path == "/health":
            self._send(200, _JSON, orjson.dumps(self.service.health()))
        else:
            self._send_text_error(404, "not found: GET /health, POST /v1/traces, POST /v1/query")

    def do_POST(self) -> None:
        if self._refused():
            return
        path = urlsplit(self.path).path
        if path == "/v1/traces":
            self._traces()
        elif path == "/v1/query":
            self._query()
        else:
            self._discard_body()
            self._send_text_error(404, "not found: POST /v1/traces or /v1/query")

    def _refused(self) -> bool:
        """Refuse (403) a request a web page made: a foreign Host (DNS rebinding) or Origin."""
        access = self.service.access
        host = self.headers.get("Host")
        if not access.host_allowed(host):
            reason = (
                f"Host {host!r} is not served: serve answers loopback names only, and hosts "
                "given with --allow-host"
            )
        elif not access.origin_allowed(self.headers.get("Origin"), host):
            reason = f"requests from web pages (Origin {self.headers.get('Origin')!r}) are refused"
        else:
            return False
        self.service.count("refused")
        self.close_connection = True  # the body, if any, is not read
        self._send_json_error(403, reason)
        return True

    # -- OTLP ----------------------------------------------------------------------------------

    def _traces(self) -> None:
        media = (self.headers.get("Content-Type") or _PROTOBUF).split(";")[0].strip().lower()
        as_json = media == _JSON
        service = self.service
        service.count("otlp_requests")
        if not service.authorized(self.headers.get("Authorization")):
            self._discard_body()
            self._otlp_error(
                401, code_pb2.UNAUTHENTICATED, "missing or wrong bearer token", as_json
            )
            return
        headers = self.headers
        counted: list[int] = []  # how many records the request decoded to, for the log

        try:
            length = self._content_length()
        except BodyError as error:
            service.count("otlp_rejected")
            self._otlp_error(error.status, code_pb2.INVALID_ARGUMENT, str(error), as_json)
            return
        if not service.reserve(length):
            # Over the bound on bytes in flight: the body is read and dropped a little at a
            # time (so the connection stays usable), and the exporter told when to send again.
            self._drain(length)
            self._otlp_error(503, code_pb2.UNAVAILABLE, BUSY_MESSAGE, as_json)
            return
        taken = [length]  # bytes of the budget this request holds: the body, then unpacked

        def take(size: int) -> bool:
            if not service.reserve(size):
                return False
            taken[0] += size
            return True

        try:
            body = self.rfile.read(length)
        except OSError:  # the idle timeout, mid-body, or the client went away
            service.release(length)
            self.close_connection = True
            return
        try:
            # Decompressed while the writer knows this request is coming (StoreWriter.incoming).
            service.ingest_otlp(
                lambda: decompress(
                    body, headers.get("Content-Encoding"), service.max_body_bytes, take
                ),
                headers.get("Content-Type"),
                counted,
            )
        except BodyError as error:
            if error.status == 503:  # unpacked, it would pass the bound: send again later
                self._otlp_error(503, code_pb2.UNAVAILABLE, str(error), as_json)
                return
            service.count("otlp_rejected")
            self._otlp_error(error.status, code_pb2.INVALID_ARGUMENT, str(error), as_json)
            return
        except OTLPDecodeError as error:
            service.count("otlp_rejected")
            self._otlp_error(400, code_pb2.INVALID_ARGUMENT, str(error), as_json)
            return
        except (ValueError, TypeError, KeyError) as error:  # the data itself: retrying won't help
            service.count("otlp_rejected")
            logger.error("OTLP/HTTP: the store refused %d records: %s", sum(counted), error)
            message = f"the store refused the spans: {error}"
            self._otlp_error(400, code_pb2.INVALID_ARGUMENT, message, as_json)
            return
        except Exception as error:  # the store, not the data: the exporter retries
            logger.error("OTLP/HTTP: could not store %d records: %s", sum(counted), error)
            message = f"could not store the spans: {error}"
            self._otlp_error(503, code_pb2.UNAVAILABLE, message, as_json)
            return
        finally:
            service.release(taken[0])
        response = ExportTraceServiceResponse()
        if as_json:
            self._send(200, _JSON, json_format.MessageToJson(response).encode())
        else:
            self._send(200, _PROTOBUF, response.SerializeToString())

    def _otlp_error(self, status: int, code: int, message: str, as_json: bool) -> None:
        rpc_status = status_pb2.Status(code=code, message=message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        if status in (429, 503):
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        if as_json:
            body = json_format.MessageToJson(rpc_status).encode()
            self._send(status, _JSON, body, headers)
        else:
            self._send(status, _PROTOBUF, rpc_status.SerializeToString(), headers)

    # -- SQL -----------------------------------------------------------------------------------

    def _query(self) -> None:
        service = self.service
        if not service.authorized(self.headers.get("Authorization")):
            self._discard_body()
            self._send_json_error(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
            )
            return
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media != _JSON:
            self._discard_body()
            self._send_json_error(
                415, f"POST /v1/query needs Content-Type: {_JSON} (got {media or 'none'!r})"
            )
            return
        try:
            request = orjson.loads(self._read_body(MAX_QUERY_BYTES))
        except BodyError as error:
            self._send_json_error(error.status, str(error))
            return
        except orjson.JSONDecodeError as error:
            self._send_json_error(
                400, f"the body must be JSON {{'sql': ..., 'params': ...}}: {error}"
            )
            return
        sql = request.get("sql") if isinstance(request, dict) else None
        params = request.get("params") if isinstance(request, dict) else None
        if not isinstance(sql, str) or not sql.strip():
            self._send_json_error(400, "missing 'sql' (a string)")
            return
        if params is not None and not isinstance(params, list | dict):
            self._send_json_error(400, "'params' must be a list or an object")
            return
        service.count("queries")
        try:
            frame = service.query(sql, decode_params(params))
        except QueryLimitError as error:
            body = {"error": f"QueryLimitError: {error}", "limit": error.limit}
            self._send(400, _JSON, orjson.dumps(body))
            return
        except Exception as error:
            self._send_json_error(400, f"{type(error).__name__}: {error}")
            return
        if ARROW_STREAM in (self.headers.get("Accept") or ""):
            self._send(200, ARROW_STREAM, dataframe_arrow(frame))
        else:
            self._send(200, _JSON, dataframe_json(frame))

    # -- plumbing ------------------------------------------------------------------------------

    def _read_body(self, limit: int | None = None) -> bytes:
        return self.rfile.read(self._content_length(limit))

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 64 * 1024))
            if not chunk:
                self.close_connection = True
                return
            length -= len(chunk)

    def _content_length(self, limit: int | None = None) -> int:
        limit = self.service.max_body_bytes if limit is None else limit
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            raise BodyError(411, "Content-Length required")
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise BodyError(400, f"invalid Content-Length {length_header!r}") from None
        if length < 0 or length > limit:
            self.close_connection = True  # do not read it
            raise BodyError(413, f"body larger than {limit} bytes")
        return length

    def _discard_body(self) -> None:
        """Read a body that will not be used and drop it a piece at a time: a refused request
        (a wrong token) holds no memory for it, whatever its size."""
        try:
            self._drain(self._content_length())
        except BodyError:
            pass
        except OSError:  # the idle timeout, mid-body, or the client went away
            self.close_connection = True

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            # Said, not only done: a client that would reuse the connection (a body left
            # unread, a bad length) opens a new one instead of finding this one closed.
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_json_error(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, _JSON, orjson.dumps({"error": message}), headers)

    def _send_text_error(self, status: int, message: str) -> None:
        self._send(status, "text/plain; charset=utf-8", message.encode())
