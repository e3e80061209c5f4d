"""The tracing names at the SDK's `agents.tracing` path: everything of `agentoscope.tracing`
(traces, spans, span data, processors, factories), plus the SDK-shaped `TracingExporter` and
`BatchTraceProcessor` for exporters written against the SDK."""

from __future__ import annotations

from typing import Any

import agentoscope.tracing as _tracing
from agentoscope.tracing import *  # noqa: F403

from .processor_interface import TracingExporter
from .processors import BatchTraceProcessor


def __getattr__(name: str) -> Any:
    # The heavy processors of agentoscope.tracing (DuckDB, OTLP) load on first use there too.
    return getattr(_tracing, name)


__all__ = [*_tracing.__all__, "BatchTraceProcessor", "TracingExporter"]
