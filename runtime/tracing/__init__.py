"""The tracing names at the SDK's `agents.tracing` path: everything of `agentoscope.tracing`
(traces, spans, span data, processors, factories), plus the SDK-shaped `TracingExporter` and
`BatchTraceProcessor` for exporters written against the SDK."""

from __future__ import annotations

from typing import Any

import agentoscope.tracing as _tracing

from .processor_interface import TracingExporter
from .processors import BatchTraceProcessor

# Names that agentoscope.tracing has loaded already are bound here; its heavy ones (the DuckDB
# store, OTLP) load on first use, as they do there (a star import would load them all).
globals().update(
    {name: _tracing.__dict__[name] for name in _tracing.__all__ if name in _tracing.__dict__}
)


def __getattr__(name: str) -> Any:
    return getattr(_tracing, name)


__all__ = [*_tracing.__all__, "BatchTraceProcessor", "TracingExporter"]
