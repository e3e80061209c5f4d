"""Traces: one end-to-end workflow. Unlike the official SDK, a trace records its start and end."""

from __future__ import annotations

import logging
from contextvars import Token
from time import time_ns
from typing import Any

from .clock import iso_from_ns
from .isolation import processor_failed
from .scope import current_trace, reset_var

logger = logging.getLogger("agentoscope.tracing")


class Trace:
    """A trace. Make one with `trace(...)`; use `with` or `start()` ... `finish()`."""

    __slots__ = (
        "_end_ns",
        "_processors",
        "_start_ns",
        "_token",
        "group_id",
        "metadata",
        "name",
        "trace_id",
        "tracing_api_key",
    )

    def __init__(
        self,
        name: str,
        trace_id: str,
        group_id: str | None,
        metadata: dict[str, Any] | None,
        processors: tuple[Any, ...],
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.group_id = group_id
        self.metadata = metadata
        self.tracing_api_key: str | None = None
        self._processors = processors
        self._start_ns: int | None = None
        self._end_ns: int | None = None
        self._token: Token[Any] | None = None

    def start(self, mark_as_current: bool = False) -> None:
        if self._start_ns is not None:
            logger.warning("trace %s already started", self.trace_id)
            return
        self._start_ns = time_ns()
        for processor in self._processors:
            try:
                processor.on_trace_start(self)
            except Exception as error:
                processor_failed(processor, "on_trace_start", error)
        if mark_as_current:
            self._token = current_trace.set(self)

    def finish(self, reset_current: bool = False) -> None:
        if self._end_ns is not None:
            logger.warning("trace %s already finished", self.trace_id)
            return
        self._end_ns = time_ns()
        for processor in self._processors:
            try:
                processor.on_trace_end(self)
            except Exception as error:
                processor_failed(processor, "on_trace_end", error)
        if reset_current and self._token is not None:
            reset_var(current_trace, self._token)
            self._token = None

    def __enter__(self) -> Trace:
        if current_trace.get() is not None:
            logger.warning("trace %r started while another trace is current", self.name)
        self.start(mark_as_current=True)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.finish(reset_current=exc_type is not GeneratorExit)

    @property
    def workflow_name(self) -> str:
        return self.name

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

    def export(self) -> dict[str, Any] | None:
        return {
            "object": "trace",
            "id": self.trace_id,
            "workflow_name": self.name,
            "group_id": self.group_id,
            "metadata": self.metadata,
        }

    def __repr__(self) -> str:
        return f"<Trace {self.name!r} id={self.trace_id}>"


class NoOpTrace(Trace):
    """Returned when tracing is disabled: spans opened inside it are no-ops."""

    __slots__ = ()

    def __init__(self, name: str = "no-op") -> None:
        super().__init__(name, "no-op", None, None, ())

    def export(self) -> dict[str, Any] | None:
        return None
