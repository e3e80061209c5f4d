"""A workflow's input and final output, for the `invoke_workflow` root span.

The trace record has no content of its own; the runtime puts the run's input on the first
agent's span and its final output on the span of the agent that produced it (both only with
sensitive data on). The exporter sees every span of a trace before the trace record, so it keeps,
per trace, the first top-level agent input and the last top-level agent output it saw, and hands
them to the root span when the trace record comes. Top-level means no parent: an agent run as a
tool nests under a tool span and is not the workflow's boundary.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

# Traces whose record has not come yet (a trace that never finishes must not hold memory).
MAX_OPEN_TRACES = 4096


class RunIO:
    """Per trace: (first input, last output) of its top-level agent spans. One exporter thread
    uses it; not thread-safe."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open: OrderedDict[Any, list[Any]] = OrderedDict()

    def observe(self, record: Mapping[str, Any]) -> None:
        if record.get("span_type") != "agent" or record.get("parent_id") is not None:
            return
        data = record.get("data")
        if not isinstance(data, Mapping):
            return
        run_input, run_output = data.get("input"), data.get("output")
        if run_input is None and run_output is None:
            return
        entry = self._open.get(record.get("trace_id"))
        if entry is None:
            entry = self._open[record.get("trace_id")] = [None, None]
            if len(self._open) > MAX_OPEN_TRACES:
                self._open.popitem(last=False)
        if entry[0] is None:
            entry[0] = run_input
        if run_output is not None:
            entry[1] = run_output

    def take(self, trace_id: Any) -> tuple[Any, Any]:
        """The trace's (input, output), forgotten once taken; (None, None) if none was seen."""
        entry = self._open.pop(trace_id, None)
        return (entry[0], entry[1]) if entry is not None else (None, None)
