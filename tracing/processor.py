"""The processor interface: the official SDK's six synchronous methods, so any processor works in
both runtimes (`agents.add_trace_processor(DuckDBProcessor(...))` needs nothing else)."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spans import Span
    from .traces import Trace


class TracingProcessor(abc.ABC):
    """Receives traces and spans as they start and end. Methods are called on the agent's thread:
    they must be thread-safe and must not block."""

    @abc.abstractmethod
    def on_trace_start(self, trace: Trace) -> None: ...

    @abc.abstractmethod
    def on_trace_end(self, trace: Trace) -> None: ...

    @abc.abstractmethod
    def on_span_start(self, span: Span[Any]) -> None: ...

    @abc.abstractmethod
    def on_span_end(self, span: Span[Any]) -> None: ...

    @abc.abstractmethod
    def shutdown(self) -> None: ...

    @abc.abstractmethod
    def force_flush(self) -> None: ...
