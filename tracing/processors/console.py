"""`ConsoleProcessor`: a readable tree per finished trace on stderr."""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from typing import Any, TextIO

from ..tree import render_trace
from .batching import BatchingProcessor, Exporter


class ConsoleExporter(Exporter):
    """Holds each trace's span records until the trace's own record arrives, then prints the
    trace as a tree, coloured when the stream is a terminal and `NO_COLOR` is unset."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None) -> None:
        self._stream = stream
        self._color = color
        self._pending: dict[str, list[dict[str, Any]]] = defaultdict(list)

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def _use_color(self) -> bool:
        if self._color is not None:
            return self._color
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty()) and "NO_COLOR" not in os.environ

    def export(self, records: list[dict[str, Any]]) -> None:
        out: list[str] = []
        for record in records:
            if record["kind"] == "span":
                self._pending[record["trace_id"]].append(record)
            else:
                spans = self._pending.pop(record["trace_id"], [])
                out.append(render_trace(record, spans, self._use_color()))
        if out:
            self.stream.write("\n".join(out) + "\n")
            self.stream.flush()

    def close(self) -> None:
        # Spans of traces that never finished are still worth seeing.
        pending, self._pending = self._pending, defaultdict(list)
        for spans in pending.values():
            self.stream.write(render_trace(None, spans, self._use_color()) + "\n")
        self.stream.flush()


class ConsoleProcessor(BatchingProcessor):
    """Prints each finished trace as a tree (names, durations, tokens, errors) on `stream`
    (default stderr), coloured when the stream is a terminal and `NO_COLOR` is unset."""

    exporter: ConsoleExporter

    def __init__(
        self,
        stream: TextIO | None = None,
        color: bool | None = None,
        *,
        max_queue_size: int = 65_536,
        schedule_delay: float = 0.2,
    ) -> None:
        super().__init__(
            ConsoleExporter(stream, color),
            max_queue_size=max_queue_size,
            schedule_delay=schedule_delay,
        )

    @property
    def stream(self) -> TextIO:
        return self.exporter.stream
