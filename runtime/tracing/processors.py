"""`BatchTraceProcessor`: the SDK's batching processor for a `TracingExporter`, for exporters
written against the SDK. (agentoscope's own processors build on agentoscope.tracing's
BatchingProcessor, which exports records rather than objects.)

Traces are queued when they start, spans when they end; a daemon thread hands the exporter
batches every `schedule_delay` seconds, or sooner once the queue is `export_trigger_ratio`
full. A full queue drops the new item with a warning: the agent never waits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from agentoscope.tracing import TracingProcessor

from .processor_interface import TracingExporter

logger = logging.getLogger("agentoscope.runtime.tracing")


class BatchTraceProcessor(TracingProcessor):
    def __init__(
        self,
        exporter: TracingExporter,
        max_queue_size: int = 8192,
        max_batch_size: int = 128,
        schedule_delay: float = 5.0,
        export_trigger_ratio: float = 0.7,
    ) -> None:
        if max_queue_size < 1 or max_batch_size < 1 or schedule_delay <= 0:
            raise ValueError("max_queue_size, max_batch_size and schedule_delay must be positive")
        if not 0 < export_trigger_ratio <= 1:
            raise ValueError("export_trigger_ratio must be in (0, 1]")
        self._exporter = exporter
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue_size)
        self._max_batch = max_batch_size
        self._delay = schedule_delay
        self._trigger = max(1, int(max_queue_size * export_trigger_ratio))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one drain at a time (worker, flush, shutdown)
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _put(self, item: Any, what: str) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            logger.warning("BatchTraceProcessor queue is full, dropping %s", what)
            return
        if self._worker is None:
            self._start()
        if self._queue.qsize() >= self._trigger:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._worker is None and not self._stop.is_set():
                self._worker = threading.Thread(
                    target=self._run, name="BatchTraceProcessor", daemon=True
                )
                self._worker.start()

    def on_trace_start(self, trace: Any) -> None:
        self._put(trace, "trace")

    def on_trace_end(self, trace: Any) -> None:
        pass

    def on_span_start(self, span: Any) -> None:
        pass

    def on_span_end(self, span: Any) -> None:
        self._put(span, "span")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._delay)
            self._wake.clear()
            self._drain()
        self._drain()

    def _drain(self) -> None:
        with self._lock:
            while True:
                batch: list[Any] = []
                while len(batch) < self._max_batch:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if not batch:
                    return
                try:
                    self._exporter.export(batch)
                except Exception:
                    logger.exception("BatchTraceProcessor: the exporter failed; batch dropped")

    def force_flush(self) -> None:
        self._drain()

    def shutdown(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._wake.set()
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        started = time.monotonic()
        if worker is None or not worker.is_alive():
            self._drain()
        elif timeout is not None and time.monotonic() - started >= timeout:
            logger.warning("BatchTraceProcessor: shutdown timed out, dropping queued traces")


__all__ = ["BatchTraceProcessor"]
