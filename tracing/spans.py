"""Spans: one unit of agent work, with start/end times, a parent and an optional error."""

from __future__ import annotations

import logging
from contextvars import Token
from time import time_ns
from typing import Any, Generic, TypedDict, TypeVar

from .clock import iso_from_ns
from .finished import freeze
from .ids import random_bits, span_id_from_bits
from .isolation import processor_failed
from .records import span_record
from .scope import current_span, reset_var
from .sensitive import get_data_policy
from .span_data import SpanData

logger = logging.getLogger("agentoscope.tracing")

TSpanData = TypeVar("TSpanData", bound=SpanData)


class SpanError(TypedDict):
    message: str
    data: dict[str, Any] | None


def error_from_exception(error: BaseException) -> SpanError:
    """The span error for an exception: its message, and its class name as `data.type`. With
    sensitive data off the message is the class name too: exception text often quotes the input
    that caused it."""
    name = type(error).__name__
    if not get_data_policy().include_sensitive_data:
        return {"message": name, "data": {"type": name}}
    return {"message": str(error) or name, "data": {"type": name}}


class Span(Generic[TSpanData]):
    """A span. Use the factories (`agent_span()`, `function_span()`, ...) to make one, then either
    `with span:` or `span.start()` ... `span.finish()`.

    Times are kept as integer nanoseconds; `started_at`/`ended_at` give the SDK's ISO strings.
    `agent_name` is the enclosing agent's name, known at creation from the parent span.
    """

    __slots__ = (
        "_end_ns",
        "_id_bits",
        "_processors",
        "_span_id",
        "_start_ns",
        "_start_processors",
        "_token",
        "_trace_metadata",
        "agent_name",
        "error",
        "parent_id",
        "span_data",
        "trace_id",
    )

    def __init__(
        self,
        trace_id: str,
        span_id: str | None,
        parent_id: str | None,
        span_data: TSpanData,
        processors: tuple[Any, ...],
        trace_metadata: dict[str, Any] | None = None,
        agent_name: str | None = None,
        start_processors: tuple[Any, ...] | None = None,
    ) -> None:
        self.trace_id = trace_id
        # A generated id is kept as its 96 random bits and spelled out on first read: most
        # spans are read by their processors' worker, off the agent's thread (and the bits
        # take half the memory of the string while the span waits in a queue).
        self._span_id = span_id
        self._id_bits = random_bits(96) if span_id is None else 0
        self.parent_id = parent_id
        self.span_data = span_data
        self.error: SpanError | None = None
        self.agent_name = agent_name
        self._processors = processors
        self._start_processors = processors if start_processors is None else start_processors
        self._trace_metadata = trace_metadata
        self._start_ns: int | None = None
        self._end_ns: int | None = None
        self._token: Token[Any] | None = None

    def start(self, mark_as_current: bool = False) -> None:
        if self._start_ns is not None:
            logger.warning("span %s already started", self.span_id)
            return
        self._start_ns = time_ns()
        for processor in self._start_processors:
            try:
                processor.on_span_start(self)
            except Exception as error:
                processor_failed(processor, "on_span_start", error)
        if mark_as_current:
            self._token = current_span.set(self)

    def finish(self, reset_current: bool = False) -> None:
        if self._end_ns is not None:
            logger.warning("span %s already finished", self.span_id)
            return
        self._end_ns = time_ns()
        for processor in self._processors:
            try:
                processor.on_span_end(self)
            except Exception as error:
                processor_failed(processor, "on_span_end", error)
        token = self._token
        if reset_current and token is not None:
            self._token = None
            try:
                current_span.reset(token)
            except ValueError:  # a token from another context (a generator closed elsewhere)
                reset_var(current_span, token)

    # `with span:` is the agent's hot path: __enter__ and the no-error __exit__ repeat the
    # bodies of start() and finish() inline (one Python call less each, ~10% of a span's cost).
    def __enter__(self) -> Span[TSpanData]:
        if self._start_ns is not None:
            logger.warning("span %s already started", self.span_id)
            return self
        self._start_ns = time_ns()
        for processor in self._start_processors:
            try:
                processor.on_span_start(self)
            except Exception as error:
                processor_failed(processor, "on_span_start", error)
        self._token = current_span.set(self)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None and self._end_ns is None:
            self._end_ns = time_ns()
            for processor in self._processors:
                try:
                    processor.on_span_end(self)
                except Exception as error:
                    processor_failed(processor, "on_span_end", error)
            token = self._token
            if token is not None:
                self._token = None
                try:
                    current_span.reset(token)
                except ValueError:  # a token from another context
                    reset_var(current_span, token)
            return
        if exc is None:
            self.finish(True)
            return
        # A generator closed from another context must not reset this context's span.
        closing_generator = exc_type is GeneratorExit
        if exc is not None and self.error is None and not closing_generator:
            self.error = error_from_exception(exc)
        self.finish(not closing_generator)

    def set_error(self, error: SpanError) -> None:
        self.error = error

    @property
    def span_id(self) -> str:
        span_id = self._span_id
        if span_id is None:
            span_id = self._span_id = span_id_from_bits(self._id_bits)
        return span_id

    @property
    def started_at(self) -> str | None:
        return iso_from_ns(self._start_ns)

    @property
    def ended_at(self) -> str | None:
        return iso_from_ns(self._end_ns)

    @property
    def started_at_ns(self) -> int | None:
        return self._start_ns

    @property
    def ended_at_ns(self) -> int | None:
        return self._end_ns

    def to_record(self) -> dict[str, Any]:
        """The finished span's record (`records.span_record`)."""
        return span_record(self)

    def queued_form(self) -> tuple[Any, ...] | Span[TSpanData]:
        """What a batching processor queues for this finished span: a tuple of plain values that
        the garbage collector stops tracking (`finished.freeze`); the span itself when its data
        is not one of our classes. Under our provider it is made once for all the batching
        processors (`SpanFanOut`)."""
        item = freeze(self)
        return self if item is None else item

    @property
    def trace_metadata(self) -> dict[str, Any] | None:
        return self._trace_metadata

    @property
    def tracing_api_key(self) -> str | None:
        return None

    def export(self) -> dict[str, Any] | None:
        exported: dict[str, Any] = {
            "object": "trace.span",
            "id": self.span_id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "span_data": self.span_data.export(),
            "error": self.error,
        }
        metadata = getattr(self.span_data, "metadata", None)
        if metadata:
            exported["metadata"] = dict(metadata)
        return exported

    def __repr__(self) -> str:
        return (
            f"<Span {self.span_data.type} id={self.span_id} parent={self.parent_id} "
            f"trace={self.trace_id}>"
        )


class NoOpSpan(Span[TSpanData]):
    """Returned when tracing is disabled or no trace is open: it keeps the context consistent (so
    children are no-ops too) and reaches no processor."""

    __slots__ = ()

    def __init__(self, span_data: TSpanData) -> None:
        super().__init__("no-op", "no-op", None, span_data, ())

    def export(self) -> dict[str, Any] | None:
        return None
