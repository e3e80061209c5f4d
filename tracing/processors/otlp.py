"""`OTLPProcessor`: finished spans and traces as OpenTelemetry spans over OTLP (gRPC or
HTTP/protobuf), sent with opentelemetry-exporter-otlp.

The agent's thread only enqueues (see `BatchingProcessor`). Our own OTLP exporters run in a
child process (`otlp_process`): the worker thread pickles each record, and the child maps the
records to OTel spans (real start/end times and parent links), encodes and sends them, so that
work (~38 µs of CPU a span) never competes with the agent for the GIL. A user-supplied
`exporter=` (or `in_process=True`) runs in this process: the worker turns each record into a
flat span tuple and a sender thread builds the OTel spans and sends them. The
exporter's own retry with backoff and timeout applies. A dead endpoint costs the agent
nothing: the queue is bounded (a full queue drops and counts), a batch that still fails after the
exporter's retries is counted in `stats()` (`failed_batches`, `failed_records`), and export
resumes by itself when the endpoint is back.

Configuration follows OpenTelemetry's standard variables wherever an argument is left unset:
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`, `..._HEADERS`,
`..._TIMEOUT`, `..._COMPRESSION`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` and the batch
processor's `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_SCHEDULE_DELAY`
(ms). Message
content (model inputs/outputs, tool arguments/results) is sent only when content capture is on:
`capture_content=True` or `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY` (or
`SPAN_AND_EVENT`, `true`).
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, overload
from urllib.parse import urlsplit, urlunsplit

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.re import parse_env_headers

from ..env import env_text, is_true
from ..otel.mapping import SPAN_KIND_NAMES, OtelSpan, otel_spans_from_records
from ..otel.run_io import RunIO
from .batching import BatchingProcessor, Exporter, sample_records
from .otlp_process import ExporterSettings, OTLPExportError, SenderProcess

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
PROTOCOLS = ("grpc", "http/protobuf")
DEFAULT_PROTOCOL = "http/protobuf"
SCOPE = InstrumentationScope("agentoscope", "0.1.0")

# The SDK has no "unspecified" kind: such a span goes as internal.
_KINDS = {name: SpanKind[name.upper()] for name in SPAN_KIND_NAMES[1:]}
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSET_STATUS = Status(StatusCode.UNSET)
# The GenAI instrumentations' modes; any mode that puts content on the span counts.
_CAPTURE_MODES = {"span_only", "span_and_event"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not an integer") from None
    if number < 0:
        raise ValueError(f"{name}={value!r} must not be negative")
    return number


def capture_content_from_env() -> bool:
    """Whether `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` asks for content on spans."""
    value = (env_text(CAPTURE_CONTENT_ENV) or "").lower()
    return value in _CAPTURE_MODES or is_true(value)


def resolve_protocol(protocol: str | None) -> str:
    value = (
        protocol
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or DEFAULT_PROTOCOL
    ).strip()
    if value not in PROTOCOLS:
        raise ValueError(
            f"OTLP protocol {value!r} is not supported: use one of {', '.join(PROTOCOLS)}"
        )
    return value


def _http_traces_url(endpoint: str) -> str:
    """A base URL (`http://host:4318`) gets the standard `/v1/traces` path; a URL with a path is
    used as given, as OTel does for the signal-specific variable."""
    parts = urlsplit(endpoint)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path="/v1/traces"))
    return endpoint


def _headers(headers: Mapping[str, str] | str | None) -> dict[str, str] | None:
    if headers is None:
        return None
    if isinstance(headers, str):
        return dict(parse_env_headers(headers, liberal=True))
    return dict(headers)


def build_exporter(
    endpoint: str | None,
    protocol: str,
    headers: Mapping[str, str] | str | None,
    timeout: float | None,
    compression: str | None,
    insecure: bool | None,
) -> SpanExporter:
    """The OTLP span exporter for `protocol`; unset arguments fall back to the standard
    variables, read by the exporter itself."""
    header_map = _headers(headers)
    if protocol == "grpc":
        import grpc
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        grpc_compression = None
        if compression is not None:
            grpc_compression = {
                "gzip": grpc.Compression.Gzip,
                "deflate": grpc.Compression.Deflate,
                "none": grpc.Compression.NoCompression,
            }[compression.lower()]
        return GrpcExporter(
            endpoint=endpoint,
            insecure=insecure,
            headers=header_map,
            timeout=timeout,
            compression=grpc_compression,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter(
        endpoint=_http_traces_url(endpoint) if endpoint else None,
        headers=header_map,
        timeout=timeout,
        compression=Compression(compression.lower()) if compression else None,
    )


def readable_span(span: OtelSpan, resource: Resource) -> ReadableSpan:
    """An OpenTelemetry SDK span, finished, with the given ids and times: what exporters take."""
    return _readable(queued_span(span), resource)


# An `OtelSpan` as the exporter keeps it until its batch is sent: one flat tuple of plain values
# (these fields, then the attributes as key, value, key, value...). The collector stops tracking
# such a tuple at its first young collection, so a batch waiting for its HTTP call costs the
# full collections nothing; `OtelSpan`s, `ReadableSpan`s and their dicts and `SpanContext`s (a
# tuple subclass, always tracked) were ~90k objects promoted to the old generation in a busy
# 200k-span run, several full collections' worth. Lists in attribute values become tuples
# (OpenTelemetry takes any sequence) for the same reason.
_TRACE, _SPAN, _PARENT, _NAME, _KIND, _START, _END, _STATUS, _MESSAGE, _EVENTS = range(10)
_ATTRIBUTES = 10


def _plain(value: Any) -> Any:
    return tuple(value) if value.__class__ is list else value


def queued_span(span: OtelSpan) -> tuple[Any, ...]:
    """`span` as the flat tuple the exporter queues (see `_readable`)."""
    events = (
        tuple((name, time, tuple(_pairs(attributes))) for name, time, attributes in span.events)
        if span.events
        else None
    )
    return (
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.name,
        span.kind,
        span.start_ns,
        span.end_ns,
        span.status,
        span.status_message,
        events,
        *_pairs(span.attributes),
    )


def _pairs(attributes: Mapping[str, Any]) -> list[Any]:
    flat: list[Any] = []
    for key, value in attributes.items():
        flat.append(key)
        flat.append(_plain(value))
    return flat


def _attributes(flat: Sequence[Any]) -> dict[str, Any]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


def _readable(item: tuple[Any, ...], resource: Resource) -> ReadableSpan:
    trace_id = item[_TRACE]
    context = SpanContext(trace_id, item[_SPAN], False, _SAMPLED)
    parent_id = item[_PARENT]
    parent = SpanContext(trace_id, parent_id, False, _SAMPLED) if parent_id else None
    status = _UNSET_STATUS
    if item[_STATUS] == "error":
        status = Status(StatusCode.ERROR, item[_MESSAGE])
    elif item[_STATUS] == "ok":
        status = Status(StatusCode.OK)
    events: Sequence[Event] = ()
    if item[_EVENTS]:
        events = [Event(name, _attributes(flat), time) for name, time, flat in item[_EVENTS]]
    return ReadableSpan(
        name=item[_NAME],
        context=context,
        parent=parent,
        resource=resource,
        attributes=_attributes(item[_ATTRIBUTES:]),
        events=events,
        kind=_KINDS.get(item[_KIND], SpanKind.INTERNAL),
        status=status,
        start_time=item[_START],
        end_time=item[_END],
        instrumentation_scope=SCOPE,
    )


class ReadableBatch(Sequence[ReadableSpan]):
    """A batch as the span exporter reads it: each `ReadableSpan` is made when the exporter
    reaches it (the OTLP encoders read a batch once, in order) and dropped once encoded, so none
    stays alive through the HTTP or gRPC call, only the untracked tuples."""

    __slots__ = ("_items", "_resource", "_turns")

    def __init__(self, items: list[tuple[Any, ...]], resource: Resource, turns: Any = None) -> None:
        self._items = items
        self._resource = resource
        self._turns = turns

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> ReadableSpan: ...

    @overload
    def __getitem__(self, index: slice) -> list[ReadableSpan]: ...

    def __getitem__(self, index: int | slice) -> ReadableSpan | list[ReadableSpan]:
        if isinstance(index, slice):
            return [_readable(item, self._resource) for item in self._items[index]]
        return _readable(self._items[index], self._resource)

    def __iter__(self) -> Iterator[ReadableSpan]:
        if self._turns is None:
            yield from self._spans()
            return
        # Reading the batch is the encoder's CPU-bound part (the sending comes after): it
        # takes its turn with the shared worker's rounds (see `shared.Turns`).
        with self._turns.turn():
            yield from self._spans()

    def _spans(self) -> Iterator[ReadableSpan]:
        resource = self._resource
        for item in self._items:
            yield _readable(item, resource)


class OTLPExporter(Exporter):
    """Turns records into OpenTelemetry spans and hands them to an OpenTelemetry `SpanExporter`
    (OTLP over HTTP or gRPC, or any other), raising when a batch fails after its retries.

    With `settings` (our own OTLP exporters) each record is pickled as the worker makes it
    (`encode`) and the batch goes to a child process that maps the records and runs the
    exporter there (`SenderProcess`). With a `span_exporter` each record becomes its OTel span
    at once, kept as an untracked tuple (see `queued_span`) until a thread of this process
    sends its batch."""

    encodes = True
    # `export` hands the batch to a sender (a child process, or a thread) and returns a
    # `Future`: an HTTP or gRPC call (and a dead endpoint's retries) never holds the worker,
    # which may serve other sinks too.
    shares_worker = True

    def __init__(
        self,
        span_exporter: SpanExporter | None = None,
        *,
        settings: ExporterSettings | None = None,
        endpoint: str = "",
        protocol: str = DEFAULT_PROTOCOL,
        capture_content: bool = False,
        resource: Resource | None = None,
        takes_turns: bool = False,
    ) -> None:
        if (span_exporter is None) == (settings is None):
            raise ValueError("give either a span exporter or the settings of one")
        self.span_exporter = span_exporter
        # Our own OTLP exporters read a batch once, then send it: their reading may take turns
        # with a shared worker (`turns`, set by it). Another exporter might send as it reads.
        self.takes_turns = takes_turns
        self.turns: Any = None
        self.endpoint = endpoint
        self.protocol = protocol
        self.capture_content = capture_content
        self.resource = resource or Resource.create({})
        self.process = SenderProcess(settings) if settings is not None else None
        self.failed_batches = 0
        self._closed = False
        self._lock = threading.Lock()
        # A workflow's input and output, from its agent spans to its root span (content on).
        self._run_io = RunIO()
        self._convert_lock = threading.Lock()
        self._sender: ThreadPoolExecutor | None = None

    @property
    def in_process(self) -> bool:
        """Whether batches are encoded and sent in this process (not in a child process)."""
        return self.process is None

    def warm_up(self) -> None:
        """Start the child process now, at set-up (its imports take ~0.2 s of its own CPU,
        not the agent's, while the agent starts; a fork made after this starts its own at its
        first batch). In process: convert a sample batch (and drop it); `requests`, under the
        HTTP exporter, imports `netrc` (and `shlex`) at its first request: import them here."""
        if self.process is not None:
            self.process.start()
            return
        for record in sample_records():
            _readable(self._span_tuple(record), self.resource)
        if self.protocol == "http/protobuf":
            import netrc  # noqa: F401

    def encode(self, record: dict[str, Any]) -> tuple[Any, ...] | bytes:
        """For the child process: the record, pickled (the child maps it). In process: the
        record's OTel span as a queued tuple. Records come in the order they finished (a
        trace's spans before its record), which `RunIO` relies on."""
        if self.process is not None:
            return pickle.dumps(record, pickle.HIGHEST_PROTOCOL)
        return self._span_tuple(record)

    def _span_tuple(self, record: dict[str, Any]) -> tuple[Any, ...]:
        with self._convert_lock:
            (span,) = otel_spans_from_records([record], self.capture_content, self._run_io)
        return queued_span(span)

    def export(self, records: list[Any]) -> Future[None]:
        """Send a batch on the sender (child process or thread): what `encode` made (the
        processor's worker encodes as it converts), or records. The future fails if the batch
        does."""
        if self.process is not None:
            return self._send_to_process(
                [item if item.__class__ is bytes else self.encode(item) for item in records]
            )
        items = [item if item.__class__ is tuple else self._span_tuple(item) for item in records]
        try:
            if self._sender is None:
                self._sender = ThreadPoolExecutor(1, thread_name_prefix="agentoscope-OTLP-send")
            return self._sender.submit(self._send, items)
        except RuntimeError:
            # The interpreter is exiting (its executors take no new work): send from here.
            sent: Future[None] = Future()
            try:
                self._send(items)
            except Exception as error:
                sent.set_exception(error)
            else:
                sent.set_result(None)
            return sent

    def _failure(self, count: int) -> str:
        return (
            f"OTLP export of {count} spans to {self.endpoint or 'the endpoint'} "
            f"({self.protocol}) failed after the exporter's retries"
        )

    def _send_to_process(self, items: list[Any]) -> Future[None]:
        assert self.process is not None
        try:
            # Pickled records (~1.2 µs a span on the worker); the child does the rest.
            sent = self.process.submit(items, self._failure(len(items)))
        except Exception as error:  # the child could not be started, or we are shut down
            sent = Future()
            sent.set_exception(error)
        sent.add_done_callback(self._count_failed)
        return sent

    def _count_failed(self, sent: Future[None]) -> None:
        if sent.exception() is not None:
            with self._lock:
                self.failed_batches += 1

    def _send(self, items: list[tuple[Any, ...]]) -> None:
        assert self.span_exporter is not None
        result = self.span_exporter.export(ReadableBatch(items, self.resource, self.turns))
        if result is not SpanExportResult.SUCCESS:
            with self._lock:
                self.failed_batches += 1
            raise OTLPExportError(self._failure(len(items)))

    def after_fork_in_child(self) -> None:
        self._sender = None  # the parent's thread does not exist here
        if self.process is not None:
            self.process.forget_after_fork()  # the parent's child: this process starts its own
        # (with a `RunIO` of its own: a run in flight at the fork may miss its input/output)

    def close(self) -> None:
        """Shut the span exporter down once (that also ends retries still running), then the
        sender thread (batches still queued for it fail at once); or close the child process's
        pipe (it shuts its exporter down and exits; batches it still held fail)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.process is not None:
            self.process.close()
            return
        assert self.span_exporter is not None
        self.span_exporter.shutdown()
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.shutdown(wait=True)


class OTLPProcessor(BatchingProcessor):
    """Exports finished spans and traces as OpenTelemetry spans over OTLP.

    `endpoint`: for HTTP a base URL (`http://host:4318`, `/v1/traces` is added) or a full URL;
    for gRPC `host:port` or `http(s)://host:port`. `protocol`: `http/protobuf` (default) or
    `grpc`. `headers`: a dict or `"k=v,k2=v2"`. `timeout`: seconds the exporter may spend on one
    batch, retries included. `capture_content`: send model and tool inputs/outputs (off by
    default). `service_name` and `resource_attributes` add to the OTel resource (the standard
    variables apply too). `exporter`: any OpenTelemetry `SpanExporter` instead of OTLP, run on
    a sender thread of this process.

    Our OTLP exporter runs in a child process (`otlp_process`), started here, at set-up: the
    OTel spans are built, encoded and sent there, off the agent's GIL. `in_process=True` runs it
    on a sender thread of this process instead, as a user-supplied `exporter` always does: for
    a frozen app whose `sys.executable` cannot run Python modules, or where starting processes
    is not allowed. `in_process` (the attribute) says which.
    """

    exporter: OTLPExporter

    def __init__(
        self,
        endpoint: str | None = None,
        protocol: str | None = None,
        headers: Mapping[str, str] | str | None = None,
        *,
        timeout: float | None = None,
        compression: str | None = None,
        insecure: bool | None = None,
        capture_content: bool | None = None,
        service_name: str | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        exporter: SpanExporter | None = None,
        flush_timeout: float = 30.0,
        max_queue_size: int | None = None,
        max_batch_size: int | None = None,
        schedule_delay: float | None = None,
        in_process: bool = False,
    ) -> None:
        resolved = resolve_protocol(protocol)
        # Built here even when it runs in the child: a bad setting fails now, and the endpoint
        # it resolved (arguments, then the standard variables) is the one `endpoint` shows.
        span_exporter = exporter or build_exporter(
            endpoint, resolved, headers, timeout, compression, insecure
        )
        attributes = dict(resource_attributes or {})
        if service_name:
            attributes["service.name"] = service_name
        resource = Resource.create(attributes)
        settings = None
        if exporter is None and not in_process:
            span_exporter.shutdown()  # the child builds its own from the same settings
            settings = ExporterSettings(
                endpoint,
                resolved,
                _headers(headers),
                timeout,
                compression,
                insecure,
                capture_content_from_env() if capture_content is None else capture_content,
                dict(resource.attributes),
                resource.schema_url or None,
            )
        # Unset: the batch span processor's standard variables, else these defaults.
        super().__init__(
            OTLPExporter(
                span_exporter if settings is None else None,
                settings=settings,
                endpoint=str(getattr(span_exporter, "_endpoint", endpoint) or endpoint or ""),
                protocol=resolved,
                capture_content=capture_content_from_env()
                if capture_content is None
                else capture_content,
                resource=resource,
                takes_turns=exporter is None,
            ),
            max_queue_size=max_queue_size or _env_int("OTEL_BSP_MAX_QUEUE_SIZE", 262_144),
            max_batch_size=max_batch_size or _env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512),
            schedule_delay=schedule_delay
            if schedule_delay is not None
            else _env_int("OTEL_BSP_SCHEDULE_DELAY", 500) / 1000,
        )
        self.flush_timeout = flush_timeout

    @property
    def protocol(self) -> str:
        return self.exporter.protocol

    @property
    def in_process(self) -> bool:
        """Whether the exporter runs in this process (a user-supplied one, or `in_process=True`)
        rather than in the child process."""
        return self.exporter.in_process

    @property
    def endpoint(self) -> str:
        return self.exporter.endpoint

    @property
    def capture_content(self) -> bool:
        return self.exporter.capture_content

    @property
    def resource(self) -> Resource:
        return self.exporter.resource

    # -- lifecycle -----------------------------------------------------------------------------

    # A dead endpoint must not hold the caller: this flush can give up, and says so.
    def force_flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Export everything queued so far; wait at most `timeout` seconds (default
        `flush_timeout`), so a dead endpoint cannot hold the caller for long. Returns whether
        everything was handed to the exporter in time; what is left goes out in the background."""
        done = threading.Event()

        def drain() -> None:
            try:
                BatchingProcessor.force_flush(self)
            finally:
                done.set()

        threading.Thread(target=drain, name=f"agentoscope-{self.name}-flush", daemon=True).start()
        return done.wait(self.flush_timeout if timeout is None else timeout)

    def shutdown(self, timeout: float | None = None) -> None:
        """Drain and close. If the deadline passes while the exporter is still retrying, the
        exporter is shut down, which ends its retries; what is left is counted as dropped."""
        super().shutdown(timeout)
        self.exporter.close()

    def stats(self) -> dict[str, int]:
        stats = super().stats()
        stats["failed_batches"] = self.exporter.failed_batches
        process = self.exporter.process
        if process is not None:  # child processes started (more than one: one died)
            stats["sender_processes"] = process.started
        return stats
