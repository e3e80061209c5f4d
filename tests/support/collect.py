"""A processor that keeps what it receives, for tests that check what processors see."""

from __future__ import annotations

import threading
from typing import Any

from agentoscope.tracing import TracingProcessor


class CollectingProcessor(TracingProcessor):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def _add(self, kind: str, item: Any) -> None:
        with self._lock:
            self.events.append((kind, item))

    def on_trace_start(self, trace: Any) -> None:
        self._add("trace_start", trace)

    def on_trace_end(self, trace: Any) -> None:
        self._add("trace_end", trace)

    def on_span_start(self, span: Any) -> None:
        self._add("span_start", span)

    def on_span_end(self, span: Any) -> None:
        self._add("span_end", span)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass

    @property
    def ended_spans(self) -> list[Any]:
        return [item for kind, item in self.events if kind == "span_end"]

    @property
    def ended_traces(self) -> list[Any]:
        return [item for kind, item in self.events if kind == "trace_end"]
