"""The trace provider: the registered processors, the global on/off switch, and the factories'
back end. One process-wide instance; its shutdown is registered at exit with a deadline."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Any, cast

from . import span_data as span_data_module
from .env import env_flag
from .ids import gen_trace_id
from .isolation import processor_failed
from .processor import TracingProcessor
from .scope import current_span, current_trace
from .span_data import AgentSpanData, SpanData
from .spans import NoOpSpan, Span
from .traces import NoOpTrace, Trace

logger = logging.getLogger("agentoscope.tracing")
# Our span data classes other than AgentSpanData: create_span need not ask them their type.
_NOT_AGENT = frozenset(
    cls
    for cls in vars(span_data_module).values()
    if isinstance(cls, type) and issubclass(cls, SpanData) and cls not in (SpanData, AgentSpanData)
)

SHUTDOWN_TIMEOUT_ENV = "AGENTOSCOPE_SHUTDOWN_TIMEOUT"


class TraceProvider:
    def __init__(self) -> None:
        self._processors: tuple[TracingProcessor, ...] = ()
        # Processors that want `on_span_start` for our own spans (batching ones do not).
        self._start_processors: tuple[TracingProcessor, ...] = ()
        # What a span calls when it ends: the processors, with the batching ones joined into
        # one fan-out (see `_joined`).
        self._end_processors: tuple[Any, ...] = ()
        self._lock = threading.Lock()
        self._disabled = env_flag("AGENTOSCOPE_TRACING_DISABLED")
        self._exit_registered = False

    # -- processors -------------------------------------------------------------------------

    @property
    def processors(self) -> tuple[TracingProcessor, ...]:
        return self._processors

    def register_processor(self, processor: TracingProcessor) -> None:
        with self._lock:
            self._set((*self._processors, processor))
        self._register_exit()

    def set_processors(self, processors: list[TracingProcessor]) -> None:
        with self._lock:
            self._set(tuple(processors))
        self._register_exit()

    def _set(self, processors: tuple[TracingProcessor, ...]) -> None:
        self._start_processors = tuple(
            p for p in processors if not getattr(p, "skip_own_span_starts", False)
        )
        previous = self._end_processors
        self._end_processors = _joined(processors)
        self._processors = processors
        for replaced in previous:  # a span fan-out hands on the spans it has staged
            if replaced not in self._end_processors and hasattr(replaced, "retire"):
                replaced.retire()

    def set_disabled(self, disabled: bool) -> None:
        self._disabled = disabled

    @property
    def disabled(self) -> bool:
        return self._disabled

    # -- factories ----------------------------------------------------------------------------

    def create_trace(
        self,
        name: str,
        trace_id: str | None = None,
        group_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        disabled: bool = False,
    ) -> Trace:
        if disabled or self._disabled:
            return NoOpTrace(name)
        return Trace(name, trace_id or gen_trace_id(), group_id, metadata, self._processors)

    def create_span(
        self,
        span_data: SpanData,
        span_id: str | None = None,
        parent: Trace | Span[Any] | None = None,
        disabled: bool = False,
    ) -> Span[Any]:
        if disabled or self._disabled:
            return NoOpSpan(span_data)
        # Hot path: exact type checks (the span data classes are ABCs, whose isinstance is slow).
        parent_span: Span[Any] | None
        if parent is None:
            trace = current_trace.get()
            if trace is None or type(trace) is NoOpTrace:
                logger.debug("no active trace: span %s is not recorded", span_data.type)
                return NoOpSpan(span_data)
            parent_span = current_span.get()
            if parent_span is not None:
                if type(parent_span) is NoOpSpan:
                    return NoOpSpan(span_data)
                if parent_span.trace_id != trace.trace_id:
                    parent_span = None
            trace_id = trace.trace_id
            metadata = trace.metadata
        elif isinstance(parent, Trace):
            if isinstance(parent, NoOpTrace):
                return NoOpSpan(span_data)
            parent_span = None
            trace_id = parent.trace_id
            metadata = parent.metadata
        else:
            if isinstance(parent, NoOpSpan):
                return NoOpSpan(span_data)
            parent_span = parent
            trace_id = parent.trace_id
            metadata = parent.trace_metadata

        # Our own classes are told apart by class (cheaper than the `type` property); another
        # SpanData is asked for its type.
        kind = type(span_data)
        if kind is AgentSpanData or (kind not in _NOT_AGENT and span_data.type == "agent"):
            agent_name: str | None = getattr(span_data, "name", None)
        elif parent_span is not None:
            agent_name = getattr(parent_span, "agent_name", None)
        else:
            agent_name = None
        return Span(
            trace_id,
            span_id or None,  # None: the span draws its own id
            parent_span.span_id if parent_span is not None else None,
            span_data,
            self._end_processors,
            metadata,
            agent_name,
            self._start_processors,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def force_flush(self) -> None:
        for processor in self._processors:
            try:
                processor.force_flush()
            except Exception as error:
                processor_failed(processor, "force_flush", error)

    def shutdown(self, timeout: float | None = None) -> None:
        """Flush and stop every processor, sharing one deadline between them."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for processor in self._processors:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                if _accepts_timeout(processor):
                    # Ours take a deadline; the SDK's interface (and so the ABC) has none.
                    cast(Any, processor).shutdown(timeout=remaining)
                else:
                    processor.shutdown()
            except Exception as error:
                processor_failed(processor, "shutdown", error)

    def _register_exit(self) -> None:
        if self._exit_registered:
            return
        self._exit_registered = True
        atexit.register(self._shutdown_at_exit)

    def _shutdown_at_exit(self) -> None:
        try:
            timeout = float(os.environ.get(SHUTDOWN_TIMEOUT_ENV, "5"))
        except ValueError:
            timeout = 5.0
        self.shutdown(timeout=timeout)


def _joined(processors: tuple[TracingProcessor, ...]) -> tuple[Any, ...]:
    """`processors`, with those that offer a `span_fan_out` (our batching processors) replaced,
    at the first one's place, by one object that ends a span in all of them with one call."""
    joinable = [p for p in processors if getattr(p, "span_fan_out", None) is not None]
    if not joinable:
        return processors
    first = joinable[0]
    fan_out = cast(Any, first).span_fan_out(joinable)
    joined_ids = {id(p) for p in joinable}
    return tuple(
        fan_out if p is first else p for p in processors if id(p) not in joined_ids or p is first
    )


def _accepts_timeout(processor: TracingProcessor) -> bool:
    import inspect

    try:
        parameters = inspect.signature(processor.shutdown).parameters
    except (TypeError, ValueError):
        return False
    return "timeout" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


_provider = TraceProvider()


def get_trace_provider() -> TraceProvider:
    return _provider


def add_trace_processor(processor: TracingProcessor) -> None:
    """Add a processor; the ones already registered stay."""
    _provider.register_processor(processor)


def set_trace_processors(processors: list[TracingProcessor]) -> None:
    """Replace every registered processor."""
    _provider.set_processors(processors)


def set_tracing_disabled(disabled: bool) -> None:
    """Turn all tracing off (or on). Disabled traces and spans reach no processor."""
    _provider.set_disabled(disabled)


def flush_traces() -> None:
    """Drain every processor now: everything finished so far is written when this returns."""
    _provider.force_flush()


def shutdown_tracing(timeout: float | None = None) -> None:
    """Flush and stop every processor (also done at interpreter exit)."""
    _provider.shutdown(timeout=timeout)
