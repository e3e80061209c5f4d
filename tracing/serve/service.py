"""`agentoscope serve`: the long-lived single owner of a store file.

It takes spans from OTLP/HTTP (`POST /v1/traces`, protobuf or JSON, gzip or deflate), OTLP/gRPC
(the TraceService) and a spool directory of JSONL files, and answers read-only SQL
(`POST /v1/query`) for the dashboard and the CLI. `GET /health` says it is up and what it did.

Binds 127.0.0.1 unless told otherwise; beyond loopback it needs a token or `insecure=True`. No
web page can reach it (serve/access.py): foreign `Host` and `Origin` headers are refused. With a
token, ingest and query need `Authorization: Bearer <token>` (HTTP header or gRPC metadata, the
scheme in any case); health does not. A payload that
does not decode gets 400 with the reason and nothing from it is stored. An export is answered
once its spans are committed. With `decode_workers` (the CLI's default is 2), OTLP requests
are decoded in worker processes (serve/workers.py), so serve uses more than one core. SIGTERM (or
Ctrl-C) stops the receivers, lets requests in flight finish, reads the spool one last time, commits
everything queued and closes the store.
"""

from __future__ import annotations

import _thread
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..otel.decode import decode_request, records_from_request
from ..store.limits import (
    DEFAULT_MAX_RESULT_BYTES,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_QUERY_TIMEOUT,
    QueryLimits,
)
from .access import AccessPolicy, ServeConfigError
from .otlp_http import RETRY_AFTER_SECONDS, OTLPHTTPHandler
from .process import serving_process
from .spool import SpoolIngester
from .writer import StoreWriter, WriterStopped

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from .workers import DecodePool

logger = logging.getLogger("agentoscope.serve")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 4318
DEFAULT_GRPC_PORT = 4317
MAX_BODY_BYTES = 64 * 1024 * 1024
COMMIT_TIMEOUT = 60.0
# DuckDB threads while the writer is busy (see StoreWriter.write_threads).
WRITE_THREADS = 1


# Connections the kernel queues before serve accepts them (socketserver's default is 5: a burst
# of exporters then waits for SYN retries, 1 s, 3 s, 7 s..., and times out). Linux caps it at
# net.core.somaxconn (4096 by default).
LISTEN_BACKLOG = 1024
# A connection that sends nothing for this long (idle keep-alive, or a client trickling its
# request) is closed, and its thread ends.
IDLE_TIMEOUT = 30.0
# Open HTTP connections, each with its thread: past this many, a new connection is answered 503
# with Retry-After and closed at once (no thread), so a flood of connections cannot take the
# process's threads and memory. Above a burst of 1,000 exporters and 100 health checks.
MAX_CONNECTIONS = 2048
# The answer to a connection over the bound, written before its request is read.
_BUSY_BODY = b'{"error": "serve is busy (too many open connections): connect again shortly"}'
_TOO_MANY_CONNECTIONS = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: %d\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
    % (RETRY_AFTER_SECONDS, len(_BUSY_BODY), _BUSY_BODY)
)
# Bytes of OTLP request bodies being read, decoded or written at once; a request beyond it is
# answered 503 with Retry-After (the OTLP exporters wait and send it again).
MAX_BYTES_IN_FLIGHT = 128 * 1024 * 1024


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG
    daemon_threads = True

    service: StoreService

    def process_request(self, request: Any, client_address: Any) -> None:
        # Counted here, in the accepting thread, so the bound holds however fast they come.
        if not self.service.connection_opened():
            try:
                request.sendall(_TOO_MANY_CONNECTIONS)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        # A thread per connection, as ThreadingHTTPServer does, but started bare:
        # `threading.Thread.start()` waits until the new thread has run, so with hundreds of
        # connections arriving at once each accept waited for a turn on the GIL, and a health
        # check queued behind a burst of 1,000 exporters waited seconds to be accepted.
        try:
            _thread.start_new_thread(self.process_request_thread, (request, client_address))
        except BaseException:
            self.service.connection_closed()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.service.connection_closed()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went quiet past the idle timeout, or went away: its connection is
        # closed, which is all there is to do (socketserver would print a traceback).
        if isinstance(sys.exception(), OSError):
            logger.debug("connection from %s closed: %s", client_address, sys.exception())
            return
        super().handle_error(request, client_address)


class _HTTPServerV6(_HTTPServer):
    address_family = socket.AF_INET6


class ServiceUnavailable(RuntimeError):
    """The store could not take the records now (shutting down, or the store failed)."""


class StoreService:
    """One store, its writer thread and the receivers. `start()`, then `stop()` (or
    `serve_forever()`, which stops on SIGTERM/SIGINT). Port 0 picks a free port; `None`
    disables that receiver."""

    def __init__(
        self,
        store_path: str | os.PathLike[str] | None = None,
        *,
        host: str = DEFAULT_HOST,
        http_port: int | None = DEFAULT_HTTP_PORT,
        grpc_port: int | None = DEFAULT_GRPC_PORT,
        spool: str | os.PathLike[str] | None = None,
        token: str | None = None,
        spool_interval: float = 0.5,
        max_body_bytes: int = MAX_BODY_BYTES,
        decode_workers: int = 0,
        allowed_hosts: Sequence[str] = (),
        insecure: bool = False,
        query_timeout: float | None = DEFAULT_QUERY_TIMEOUT,
        max_result_bytes: int | None = DEFAULT_MAX_RESULT_BYTES,
        memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
        idle_timeout: float = IDLE_TIMEOUT,
        max_bytes_in_flight: int = MAX_BYTES_IN_FLIGHT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        # Checked first: a setting that cannot work fails before anything is opened.
        self.access = AccessPolicy(host, token, allowed_hosts, insecure)
        try:
            self.query_limits = QueryLimits(
                query_timeout,
                max_result_bytes,
                memory_limit,
                timeout_name="--query-timeout",
                max_result_bytes_name="--max-result-bytes",
                memory_limit_name="--memory-limit",
            )
        except ValueError as error:
            raise ServeConfigError(str(error)) from None
        if not idle_timeout > 0:
            raise ServeConfigError(f"--idle-timeout must be positive, got {idle_timeout}")
        if max_bytes_in_flight < max_body_bytes:
            raise ServeConfigError(
                f"--max-bytes-in-flight ({max_bytes_in_flight}) must be at least the largest "
                f"body taken ({max_body_bytes}), or that body could never be taken"
            )
        if max_connections < 1:
            raise ServeConfigError(f"--max-connections must be at least 1, got {max_connections}")
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.max_bytes_in_flight = max_bytes_in_flight
        self._bytes_in_flight = 0
        self.connections = 0  # open HTTP connections (each has its thread)
        self._budget_lock = threading.Lock()
        self.store_path = store_path
        self.host = host
        self.requested_http_port = http_port
        self.requested_grpc_port = grpc_port
        self.spool_dir = Path(spool) if spool else None
        self.token = token or None
        self.spool_interval = spool_interval
        self.max_body_bytes = max_body_bytes
        self.decode_workers = decode_workers
        # With workers, OTLP requests are decoded and prepared in other processes (see
        # serve/workers.py); without, in the receiving thread. As with any multiprocessing pool, a
        # script that starts workers needs `if __name__ == "__main__":` (workers re-import it).
        self.decode_pool: DecodePool | None = None
        self.store: Any = None
        self.writer: StoreWriter | None = None
        self.spool: SpoolIngester | None = None
        self.http_port: int | None = None
        self.grpc_port: int | None = None
        self.started_at = time.time()
        self.request_counts = {
            "otlp_requests": 0,
            "otlp_rejected": 0,
            "queries": 0,
            "refused": 0,
            "otlp_throttled": 0,
            "connections_refused": 0,
        }
        self._counts_lock = threading.Lock()
        self._in_flight = 0
        # One request decodes at a time. Decoding is pure Python: concurrent decodes only take
        # turns on the GIL, each finishing later, and the switching between them cost CPU
        # (4 senders: ~33 -> ~29 µs/span). Requests waiting here are already announced to the
        # writer, so they still share one commit.
        self._decoding = threading.Lock()
        self._idle = threading.Condition()
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: Any = None
        self._stopping = threading.Event()
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> StoreService:
        """Open the store (raises `StoreLockedError` if another process owns it) and start the
        writer and the receivers."""
        from ..store.url import open_store

        # A DuckDB file (owned by this process) or a ClickHouse store (then this service is
        # stateless: several may write to the same one).
        self.store = open_store(self.store_path)
        if self.access.exposed:
            logger.warning(
                "serve listens on %s, beyond loopback: %s",
                self.host,
                "a bearer token is required"
                if self.token
                else "WITHOUT a token (--insecure): anyone who reaches it can read every span",
            )
        try:
            if self.query_limits.memory_limit is not None:
                try:
                    self.store.memory_limit(self.query_limits.memory_limit)
                except ValueError as error:
                    raise ServeConfigError(f"--memory-limit: {error}") from None
            if self.decode_workers > 0:
                from .workers import DecodePool  # pyarrow: only for a service that decodes

                self.decode_pool = DecodePool(self.decode_workers).start()
                # Requests are announced as they arrive, before the workers decode them, so the
                # writer need not linger for more after a shared commit.
                self.writer = StoreWriter(self.store, linger=0, write_threads=WRITE_THREADS)
            else:
                self.writer = StoreWriter(self.store, write_threads=WRITE_THREADS)
            if self.requested_http_port is not None:
                self._start_http(self.requested_http_port)
            if self.requested_grpc_port is not None:
                self._start_grpc(self.requested_grpc_port)
            if self.spool_dir is not None:
                self.spool_dir.mkdir(parents=True, exist_ok=True)
                self.spool = SpoolIngester(
                    self.spool_dir, self.ingest, self._spool_state_path(), self.spool_interval
                )
                self.spool.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _spool_state_path(self) -> Path:
        store_file = getattr(self.store, "path", None) or self.store_path
        is_file = getattr(self.store, "dialect", "duckdb") == "duckdb"
        if is_file and store_file and str(store_file) != ":memory:":
            return Path(f"{store_file}.spool-progress.json")
        assert self.spool_dir is not None
        return self.spool_dir / ".agentoscope-spool-progress.json"

    def _start_http(self, port: int) -> None:
        server_class = _HTTPServerV6 if ":" in self.host else _HTTPServer
        # The handler class carries this service's idle timeout (socket timeout per read).
        handler = type("Handler", (OTLPHTTPHandler,), {"timeout": self.idle_timeout})
        server = server_class((self.host, port), handler)
        server.service = self
        self._http = server
        self.http_port = server.server_address[1]
        self._http_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="agentoscope-http"
        )
        self._http_thread.start()

    def _start_grpc(self, port: int) -> None:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        from .otlp_grpc import TraceServicer

        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="agentoscope-grpc"),
            options=[
                ("grpc.max_receive_message_length", self.max_body_bytes),
                # As over HTTP: a connection with no call for the idle timeout is closed, and so
                # is one that has not finished its handshake (a client that sends nothing).
                ("grpc.max_connection_idle_ms", int(self.idle_timeout * 1000)),
                ("grpc.server_handshake_timeout_ms", int(self.idle_timeout * 1000)),
            ],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceServicer(self), server)
        address = f"[{self.host}]:{port}" if ":" in self.host else f"{self.host}:{port}"
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError as error:  # newer grpcio raises instead of returning 0
            raise OSError(f"cannot listen for OTLP/gRPC on {address}: {error}") from None
        if not bound:
            raise OSError(f"cannot listen for OTLP/gRPC on {address}")
        server.start()
        self._grpc = server
        self.grpc_port = bound

    @property
    def http_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.http_port}"

    def stop(self, grace: float = 10.0) -> None:
        """Stop taking new data, finish what is in flight, commit everything, close the store."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._grpc is not None:
            self._grpc.stop(grace).wait(grace)
        self._wait_idle(grace)
        if self.decode_pool is not None:
            self.decode_pool.stop()
        if self.spool is not None:
            self.spool.stop()
        if self.writer is not None:
            self.writer.stop()
        if self.store is not None:
            self.store.close()
        logger.debug("store service stopped: %s", self.health()["ingest"])

    def _wait_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight and time.monotonic() < deadline:
                self._idle.wait(0.05)

    def serve_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then stop cleanly. Call from the main thread."""
        previous = {
            sig: signal.signal(sig, lambda *_: self._stopping.set())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            with serving_process():
                while not self._stopping.wait(0.5):
                    pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- what the receivers call ---------------------------------------------------------------

    def authorized(self, header: str | None) -> bool:
        return self.access.authorized(header)

    def reserve(self, size: int) -> bool:
        """Take `size` bytes of the in-flight budget for a request body; False (the request is
        to be answered 503, Retry-After) when they do not fit. `release()` gives them back."""
        with self._budget_lock:
            fits = self._bytes_in_flight + size <= self.max_bytes_in_flight
            if fits:
                self._bytes_in_flight += size
        if not fits:
            self.count("otlp_throttled")
        return fits

    def release(self, size: int) -> None:
        with self._budget_lock:
            self._bytes_in_flight -= size

    def connection_opened(self) -> bool:
        """Count a new HTTP connection; False (and counted as refused) past the bound."""
        with self._counts_lock:
            if self.connections >= self.max_connections:
                self.request_counts["connections_refused"] += 1
                return False
            self.connections += 1
            return True

    def connection_closed(self) -> None:
        with self._counts_lock:
            self.connections -= 1

    def count(self, key: str) -> None:
        with self._counts_lock:
            self.request_counts[key] += 1

    def ingest(self, records: list[dict[str, Any]], *, validate: bool = True) -> Any:
        """Store `records` and return once they are committed."""
        if not records:
            return None
        return self.ingest_decoded(lambda: records, validate=validate)

    def ingest_decoded(
        self, decode: Callable[[], list[dict[str, Any]]], *, validate: bool = True
    ) -> Any:
        """Call `decode` for a request's records, store them and return once they are committed.
        The writer knows a request is being decoded and waits for it rather than committing
        without it. What `decode` raises propagates and nothing of that request is stored.
        `validate=False` for records known to be well formed (the OTLP decoder's)."""
        with self._request() as writer:
            with writer.incoming():
                with self._decoding:
                    records = decode()
                if not records:
                    return None
                future = writer.submit(records, validate=validate)
            return future.result(COMMIT_TIMEOUT)

    def ingest_otlp(
        self,
        read: Callable[[], bytes],
        content_type: str | None,
        counted: list[int],
        parsed: ExportTraceServiceRequest | None = None,
    ) -> Any:
        """Store the OTLP request whose body (decompressed) `read` returns; return once it is
        committed. Decoded by a worker process if there are any, else here (from `parsed`, the
        request already parsed, when the caller has it: gRPC). `OTLPDecodeError` (the payload
        does not decode) propagates and nothing of that request is stored; the number of
        records it decoded to is appended to `counted` (for the log)."""
        if self.decode_pool is None:

            def decode() -> list[dict[str, Any]]:
                request = parsed if parsed is not None else decode_request(read(), content_type)
                records = records_from_request(request)
                counted.append(len(records))
                return records

            # The decoder's records are well formed by construction: the store skips its checks.
            return self.ingest_decoded(decode, validate=False)
        pool = self.decode_pool
        with self._request() as writer:
            # No `_decoding` lock: the workers take requests from their queue, and several
            # requests waiting there keep them busy while this process writes.
            with writer.incoming():
                prepared = pool.decode(read(), content_type)
                if prepared is None:
                    return None
                counted.append(prepared.span_count + prepared.trace_count + prepared.repeated)
                future = writer.submit_prepared(prepared)
            return future.result(COMMIT_TIMEOUT)

    @contextmanager
    def _request(self) -> Iterator[StoreWriter]:
        """One ingest request: counted in flight (stop() waits for it) and its writer, decoder
        and timeout failures answered as ServiceUnavailable."""
        writer = self.writer
        if writer is None:
            raise ServiceUnavailable("the store is not open")
        with self._idle:
            self._in_flight += 1
        try:
            yield writer
        except WriterStopped as error:
            raise ServiceUnavailable(str(error)) from None
        except BrokenProcessPool as error:
            raise ServiceUnavailable(f"the decoding worker stopped: {error}") from None
        except futures.TimeoutError:
            raise ServiceUnavailable("the store did not commit in time") from None
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def query(self, sql: str, params: Any = None) -> Any:
        """A read-only query, answered beside the writer (the store gives each query its own
        DuckDB cursor, and DuckDB isolates it from the commits going on), within the service's
        limits: time, result size and the store's memory (QueryLimitError past one)."""
        if self.store is None or self._stopped:
            raise ServiceUnavailable("the store is not open")
        return self.store.query(sql, params, limits=self.query_limits)

    def health(self) -> dict[str, Any]:
        with self._counts_lock:
            requests = dict(self.request_counts)
        return {
            "status": "stopping" if self._stopping.is_set() else "ok",
            # The SQL dialect /v1/query answers in ("duckdb" or "clickhouse"): a client sends the
            # store's own queries in it (StoreClient.dialect).
            "dialect": getattr(self.store, "dialect", "duckdb"),
            "uptime_s": round(time.time() - self.started_at, 3),
            "otlp_http": self.http_port,
            "otlp_grpc": self.grpc_port,
            "requests": requests,
            "bytes_in_flight": self._bytes_in_flight,
            "connections": self.connections,
            "ingest": dict(self.writer.counts) if self.writer else {},
            "spool": dict(self.spool.counts) if self.spool else None,
        }
