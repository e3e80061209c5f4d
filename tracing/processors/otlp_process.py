"""OTLP export in a child process: `SenderProcess` (the agent's side) and `main` (the child).

Why a process: mapping records to OpenTelemetry spans (~5.5 µs a span), the exporter's
pure-Python protobuf encoding and the HTTP or gRPC work cost ~38 µs of CPU a span, by far the
costliest sink. On a thread of the agent's process that work competes with the agent for the GIL
(the agent waited 10-24 ms now and then in the busy run); in a child process it runs on the other
core. The agent's process only pickles each record as the shared worker makes it
(`OTLPExporter.encode`, ~1.2 µs: bytes, which the collector does not track) and writes each batch
to a pipe; the child maps the records to OTel spans (in the order they finished: `RunIO` keeps a
run's input and output from its agent spans to its root), encodes them straight into the OTLP
request (`otel.encode`: ~13 µs a span where `ReadableSpan`s and the SDK's encoder took ~33; the
child's CPU competes with the agent for the machine's cores), has the real opentelemetry exporter
send that request (its HTTP or gRPC client, retries and limits; `_take_encoded_batches`), and
answers each batch with its outcome, which settles the batch's `Future`.

The child is started with `subprocess` (`python -P -m` this module), not `multiprocessing`: a
spawned `multiprocessing` child imports the user's main module again, which an agent script
that is not guarded by `if __name__ == "__main__"` cannot survive. Messages are pickles framed by
`multiprocessing.connection.Connection` over the child's stdin and stdout (the child moves its
own stdout to stderr, so nothing else writes there). The child inherits the environment, so the
standard `OTEL_*` variables apply in it as they would here.

Lifetimes: the child exits when its stdin reaches end of file, that is when this process closes
it (`close`), exits, or is killed (`kill -9` included; no orphan). A forked copy of this process
closes its inherited ends (`forget_after_fork`) and starts its own child at its first batch. A
child that dies fails the batches it held; the next batch starts a new one.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

if sys.platform != "win32":  # loaded here, not by a worker's first batch
    import fcntl
    import termios

logger = logging.getLogger("agentoscope.tracing")

# Pipes hold 64 KiB by default; a batch of 512 spans pickles to ~100-300 KiB. A larger pipe
# (Linux allows 1 MiB unprivileged) lets the writer hand a batch over in one go while the child
# is busy encoding the previous one.
_PIPE_SIZE = 1 << 20
# How long `close` waits for the child to exit once its stdin is closed (it shuts its exporter
# down first, which ends retries), before it is killed.
_EXIT_TIMEOUT = 5.0


class OTLPExportError(RuntimeError):
    """A batch the exporter could not deliver, after its own retries."""


class PartlyExported(OTLPExportError):
    """A batch delivered but for `records_lost` records that could not be mapped to OTel
    spans (the processor counts those as failed and the rest as exported)."""

    def __init__(self, message: str, records_lost: int) -> None:
        super().__init__(message)
        self.records_lost = records_lost


class SenderProcessError(OTLPExportError):
    """A batch the child process could not take or answer (it died, or was shut down)."""


@dataclass(frozen=True)
class ExporterSettings:
    """What the child needs to build the exporter (`otlp.build_exporter`) and the resource."""

    endpoint: str | None
    protocol: str
    headers: dict[str, str] | str | None
    timeout: float | None
    compression: str | None
    insecure: bool | None
    capture_content: bool = False
    resource_attributes: dict[str, Any] = field(default_factory=dict)
    resource_schema_url: str | None = None


def _grow_pipe(fd: int) -> int:
    """Make the pipe larger; returns its size (0 where the size cannot be known)."""
    if sys.platform == "win32":
        return 0  # every batch goes through the writer thread
    try:
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        except OSError:
            pass  # over the system's limit: the default size works, more slowly
        return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    except (AttributeError, OSError):
        return 0  # not Linux: every batch goes through the writer thread


def _waiting_in(fd: int) -> int:
    """Bytes written to the pipe and not yet read (Linux: `_grow_pipe` gave a size)."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, bytes(4)), sys.byteorder)


class _Child:
    """One child process and the batches it holds."""

    def __init__(self, settings: ExporterSettings) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self._pipe_size = _grow_pipe(to_child_w)
        env = dict(os.environ)
        # The child imports what this process imports (a checkout on `sys.path`, say).
        env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-m", __name__],
                stdin=to_child_r,
                stdout=from_child_w,
                env=env,
                close_fds=True,
            )
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.pid = self.process.pid
        self._out = Connection(to_child_w, readable=False)
        self._in = Connection(from_child_r, writable=False)
        self._lock = threading.Lock()
        # Each batch's future, and what it fails with if the exporter cannot deliver it.
        self._pending: dict[int, tuple[Future[None], str]] = {}
        self._next_id = 0
        self.alive = True
        # A batch is written at once by the worker that pickled it when the pipe has room for
        # it (the usual case: the child reads eagerly, and the pipe holds the 3 batches a
        # processor may have unsettled); otherwise by a thread of its own, so that a child slow
        # to read (busy, or stopped) never holds the worker. Writing at once spares the agent's
        # process two thread wake-ups (two GIL hand-offs) a batch.
        self._writes: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._write_lock = threading.Lock()
        self._queued_writes = 1  # handed to the writer thread, not yet written: the settings
        self._writes.put(pickle.dumps(settings, pickle.HIGHEST_PROTOCOL))
        self._writer = threading.Thread(
            target=self._write, name=f"agentoscope-OTLP-write-{self.pid}", daemon=True
        )
        self._reader = threading.Thread(
            target=self._read, name=f"agentoscope-OTLP-read-{self.pid}", daemon=True
        )
        self._writer.start()
        self._reader.start()

    def submit(self, items: list[bytes], failure: str) -> Future[None]:
        future: Future[None] = Future()
        with self._lock:
            if not self.alive:
                future.set_exception(SenderProcessError("the OTLP sender process has exited"))
                return future
            batch_id = self._next_id
            self._next_id += 1
            self._pending[batch_id] = (future, failure)
        self._hand_over(pickle.dumps((batch_id, items), pickle.HIGHEST_PROTOCOL))
        return future

    def _hand_over(self, blob: bytes) -> None:
        with self._write_lock:
            if not self.alive:
                return  # its future failed with the child; the pipe may be closed
            # In order: only when nothing waits for the writer thread.
            if not self._queued_writes and self._has_room(len(blob)):
                try:
                    self._out.send_bytes(blob)  # fits: does not block
                except (OSError, ValueError):
                    self._end("could not hand a batch to the OTLP sender process")
                return
            self._queued_writes += 1
        self._writes.put(blob)

    def _has_room(self, size: int) -> bool:
        if not self._pipe_size:
            return False
        try:
            # The length prefix: 4 bytes, or 12 past 2 GiB.
            return _waiting_in(self._out.fileno()) + size + 12 <= self._pipe_size
        except OSError:
            return False

    def _write(self) -> None:
        try:
            while True:
                blob = self._writes.get()
                if blob is None:
                    return
                try:
                    self._out.send_bytes(blob)
                except (OSError, ValueError):  # the child is gone
                    self._end("could not hand a batch to the OTLP sender process")
                    return
                with self._write_lock:
                    self._queued_writes -= 1
        finally:
            # This thread ends only once the child is marked dead (`_end`, `close`), after
            # which the worker no longer writes: the pipe is closed by its last user, and the
            # child sees end of file.
            with self._write_lock:
                self._out.close()

    def _read(self) -> None:
        # Blocked in `recv_bytes` (no GIL held) until the child answers a batch.
        while True:
            try:
                batch_id, error, unmapped = pickle.loads(self._in.recv_bytes())
            except (EOFError, OSError, ValueError):
                self._end("the OTLP sender process exited", wait=1)
                self._in.close()  # this thread is its only user
                return
            with self._lock:
                pending = self._pending.pop(batch_id, None)
            if pending is None:
                continue
            future, failure = pending
            if error is None and not unmapped:
                future.set_result(None)
            elif error is None:
                future.set_exception(PartlyExported(unmapped[1], unmapped[0]))
            else:
                future.set_exception(OTLPExportError(f"{failure}: {error}" if error else failure))

    def _end(self, why: str, wait: float = 0) -> None:
        """Fail every batch the child held; the next batch starts a new child. `wait`: how
        long to wait for the exit code (the reader thread only: never on a worker)."""
        with self._lock:
            was_alive, self.alive = self.alive, False
            pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            future.set_exception(SenderProcessError(f"{why} (pid {self.pid})"))
        if was_alive:
            self._writes.put(None)
            try:
                code: int | None = self.process.wait(wait) if wait else self.process.poll()
            except subprocess.TimeoutExpired:
                code = None
            logger.warning(
                "%s (pid %d, exit code %s); %d batches in flight failed; "
                "the next batch starts a new one",
                why,
                self.pid,
                code,
                len(pending),
            )

    def close(self, timeout: float) -> None:
        """End of file on the child's stdin: it shuts its exporter down and exits."""
        with self._lock:
            self.alive = False
            pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            future.set_exception(SenderProcessError("the OTLP sender process was shut down"))
        self._writes.put(None)
        self._writer.join(timeout)  # it writes what it holds, then closes the pipe
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:  # stuck (its pipe full, say): no waiting for it
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout)  # end of file: it closes its end

    def forget(self) -> None:
        """In a forked copy of the process: close the inherited pipe ends (the child must see
        end of file when its real parent goes) and leave the process to its parent."""
        for connection in (self._out, self._in):
            try:
                connection.close()
            except OSError:
                pass
        self.alive = False
        self.process.returncode = 0  # not this process's child: never wait for it


class SenderProcess:
    """The agent's side: a child process to send batches with, started when needed."""

    def __init__(self, settings: ExporterSettings) -> None:
        self.settings = settings
        self.started = 0  # children started so far (a restart after a death adds one)
        self._child: _Child | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.alive else None

    def start(self) -> _Child:
        with self._lock:
            if self._closed:
                raise SenderProcessError("the OTLP sender process was shut down")
            child = self._child
            if child is None or not child.alive:
                child = self._child = _Child(self.settings)
                self.started += 1
                if self.started > 1:
                    logger.warning("started a new OTLP sender process (pid %d)", child.pid)
            return child

    def submit(self, items: list[bytes], failure: str) -> Future[None]:
        """Send a batch of pickled records; the future fails if the batch does (with
        `failure` as the message when the exporter could not deliver it)."""
        return self.start().submit(items, failure)

    def close(self, timeout: float = _EXIT_TIMEOUT) -> None:
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is not None:
            child.close(timeout)

    def forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        child, self._child = self._child, None
        if child is not None:
            child.forget()


# -- the child -----------------------------------------------------------------------------------


class EncodedBatch(Sequence[Any]):
    """A batch already encoded as its OTLP request (`otel.encode`), handed to the real
    exporter's `export` in place of its `ReadableSpan`s: `len` is its span count (the exporter
    counts spans for its metrics), `request` what the exporter's `encode_spans` returns for it
    in this process (see `_take_encoded_batches`)."""

    def __init__(self, request: Any, count: int) -> None:
        self.request = request
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        raise TypeError("an encoded batch holds an OTLP request, not SDK spans")


# The modules of the span exporters `otlp.build_exporter` makes.
_OTLP_EXPORTER_MODULES = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
)


def _take_encoded_batches(exporter: Any) -> bool:
    """Let one of our OTLP exporters send `EncodedBatch`es: its module's `encode_spans` (the
    HTTP and the gRPC span exporters both call it on the batch, from opentelemetry 1.30 to
    today) returns their request and encodes anything else as before. Only this process, which
    runs nothing but this exporter, sees the change. False for any other exporter, or where
    the module has no such function (a future release): batches then go as `ReadableSpan`s,
    as any span exporter takes them."""
    name = type(exporter).__module__
    module = sys.modules.get(name) if name in _OTLP_EXPORTER_MODULES else None
    original = getattr(module, "encode_spans", None)
    if original is None:
        logger.warning(
            "%s.%s has no encode_spans to hand encoded requests to: spans are encoded the "
            "OpenTelemetry SDK's way, at ~3x the CPU",
            name,
            type(exporter).__qualname__,
        )
        return False

    def encode_spans(spans: Any) -> Any:
        if spans.__class__ is EncodedBatch:
            return spans.request
        return original(spans)

    module.encode_spans = encode_spans  # type: ignore[union-attr]
    return True


class _Mapper:
    """The child's records to what its exporter takes, each record mapped on its own: one
    that cannot be is left out and the rest go."""

    def __init__(self, settings: ExporterSettings, encoded: bool) -> None:
        # Imported here: only the child needs the encoder (the agent process never loads it).
        from opentelemetry.sdk.resources import Resource

        from ..otel.encode import RequestEncoder, span_message
        from ..otel.mapping import otel_spans_from_records
        from ..otel.run_io import RunIO
        from .otlp import SCOPE, readable_span

        self._span_message = span_message
        self._readable_span = readable_span
        self._otel_spans = otel_spans_from_records
        self.capture_content = settings.capture_content
        self.run_io = RunIO()  # batches come in order: a trace's spans before its record
        self.resource = Resource(settings.resource_attributes, settings.resource_schema_url)
        self.encoder: RequestEncoder | None = None
        if encoded:
            self.encoder = RequestEncoder(
                self.resource.attributes, self.resource.schema_url, SCOPE.name, SCOPE.version
            )

    def map(self, items: list[bytes]) -> tuple[Sequence[Any], tuple[int, str] | None]:
        """The batch for the exporter, and None or how many records were left out and what
        the first one was."""
        encoder, resource = self.encoder, self.resource
        span_message, readable_span = self._span_message, self._readable_span
        spans: list[Any] = []
        failures: list[str] = []
        for index, item in enumerate(items):
            try:
                record = pickle.loads(item)
                mapped = self._otel_spans([record], self.capture_content, self.run_io)
                if encoder is not None:
                    spans.extend([span_message(span) for span in mapped])
                else:
                    spans.extend([readable_span(span, resource) for span in mapped])
            except Exception as exc:
                failures.append(f"record {index} of the batch: {type(exc).__name__}: {exc}")
        batch: Sequence[Any] = spans
        if encoder is not None and spans:
            batch = EncodedBatch(encoder.request(spans), len(spans))
        if not failures:
            return batch, None
        why = (
            f"{len(failures)} of {len(items)} records could not be mapped to OTel spans "
            f"(the first: {failures[0]})"
        )
        return batch, (len(failures), why)


def _export_loop(
    batches: queue.SimpleQueue[bytes | None], out: Connection, exporter: Any, mapper: _Mapper
) -> None:
    from opentelemetry.sdk.trace.export import SpanExportResult

    while True:
        blob = batches.get()
        if blob is None:
            return
        batch_id, items = pickle.loads(blob)
        spans, unmapped = mapper.map(items)
        try:
            result = exporter.export(spans) if spans else SpanExportResult.SUCCESS
            # "": the exporter reported failure (after its retries), it logged why.
            error = None if result is SpanExportResult.SUCCESS else ""
        except Exception as exc:  # answered, not fatal: the next batch may go through
            error = f"{type(exc).__name__}: {exc}"
        try:
            out.send_bytes(pickle.dumps((batch_id, error, unmapped), pickle.HIGHEST_PROTOCOL))
        except OSError:
            return  # the parent is gone


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when this ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The pipes move off fds 0 and 1, so a stray print (or a C library) cannot corrupt them.
    inbound = Connection(os.dup(0), writable=False)
    outbound = Connection(os.dup(1), readable=False)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)

    from .otlp import build_exporter

    try:
        settings: ExporterSettings = pickle.loads(inbound.recv_bytes())
    except EOFError:
        return
    exporter = build_exporter(
        settings.endpoint,
        settings.protocol,
        settings.headers,
        settings.timeout,
        settings.compression,
        settings.insecure,
    )
    mapper = _Mapper(settings, encoded=_take_encoded_batches(exporter))
    batches: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    # Batches are read as soon as they come (the parent's writes never wait for an export).
    sender = threading.Thread(
        target=_export_loop,
        args=(batches, outbound, exporter, mapper),
    )
    sender.start()
    while True:
        try:
            blob = inbound.recv_bytes()
        except (EOFError, OSError):
            break
        batches.put(blob)
    # The parent closed the pipe or is gone: end retries still running, then exit.
    exporter.shutdown()
    batches.put(None)
    sender.join(_EXIT_TIMEOUT)
    os._exit(0)  # a thread stuck in a send must not keep the process alive


if __name__ == "__main__":
    main()
