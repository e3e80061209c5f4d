"""The processor and exporter interfaces at the SDK's `agents.tracing.processor_interface`."""

from __future__ import annotations

import abc
from typing import Any

from agentoscope.tracing import TracingProcessor


class TracingExporter(abc.ABC):
    """Receives finished traces and spans in batches (from BatchTraceProcessor's thread)."""

    @abc.abstractmethod
    def export(self, items: list[Any]) -> None:
        """`items` are Trace and Span objects; `item.export()` gives their JSON form."""


__all__ = ["TracingExporter", "TracingProcessor"]
