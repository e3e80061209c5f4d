"""`DuckDBProcessor`: finished spans and traces into a DuckDB store, from a worker thread.

The processor owns the store file read-write for the life of its process (DuckDB allows one
writing process): other processes read the file once this one has ended, or go through
`agentoscope serve`. Inside this process, `SpanStore(path)` shares its connection, so a test or
a notebook can `configure(duckdb=path)` and query the same file at once.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..store.connection import StoreLockedError
from ..store.ingest import IngestResult, PreparedBatch
from ..store.span_store import SpanStore, default_store_path
from .batching import BatchingProcessor, Exporter

logger = logging.getLogger("agentoscope.tracing")

DEFAULT_BATCH_SIZE = 10_000
DEFAULT_FLUSH_INTERVAL = 0.25


class DuckDBExporter(Exporter):
    """Writes batches of records into a store, one transaction per batch, pipelined: each chunk
    of a batch is turned into Arrow tables as it is converted (`export_chunk`), and at the batch's
    end the chunks go as one to a writer thread (`end_batch`), so the next batch is converted while
    DuckDB (which releases the GIL) writes this one. One batch is written at a time and at most
    one more waits, which bounds memory.

    Chunks, not the whole batch at once: 10,000 record dicts alive together outlive the young
    garbage-collector generations and set off full collections, which stop every thread,
    the agent's included; Arrow tables are not the collector's business.

    If another process holds the file, the exporter logs why and tries again with each batch."""

    record_chunk = 512

    def __init__(self, path: str | os.PathLike[str] | None = None, *, name: str = "DuckDB") -> None:
        self.path = default_store_path(path)
        self.name = name
        self._store: SpanStore | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._last_write: Future[None] | None = None
        # The chunks of the batch being converted, and the future their write will settle.
        self._prepared: list[PreparedBatch] = []
        self._batch_written: Future[IngestResult] | None = None
        try:
            self._open()
        except StoreLockedError as error:
            # Not fatal: tracing never stops the agent. Each batch retries and is counted.
            logger.error("%s: %s", self.name, error)

    def _open(self) -> SpanStore:
        if self._store is None:
            self._store = SpanStore(self.path)
        return self._store

    @property
    def store(self) -> SpanStore | None:
        """The open store, or None while the file could not be opened."""
        return self._store

    chunked = True

    def export(self, records: list[dict[str, Any]]) -> Future[IngestResult]:
        """Write one batch (prepared and written as a whole)."""
        written = self.export_chunk(records)
        self.end_batch()
        return written

    def export_chunk(self, records: list[dict[str, Any]]) -> Future[IngestResult]:
        """Prepare one chunk; it is written with the rest of its batch at `end_batch`."""
        store = self._open()
        # Records from span_record/trace_record: no per-record checks needed.
        self._prepared.append(store.prepare(records, validate=False))
        if self._batch_written is None:
            self._batch_written = Future()
        return self._batch_written

    def end_batch(self) -> None:
        prepared, self._prepared = self._prepared, []
        done, self._batch_written = self._batch_written, None
        if done is None:
            return
        try:
            self._write(prepared, done)
        except BaseException as error:
            done.set_exception(error)
            if not isinstance(error, Exception):
                raise

    def _write(self, prepared: list[PreparedBatch], done: Future[IngestResult]) -> None:
        from ..store.arrow import combine_prepared

        store = self._open()
        batches = combine_prepared(prepared)
        if self._last_write is not None:
            wait([self._last_write])  # its outcome is counted by the batching processor

        def write() -> None:
            try:
                done.set_result(store.write(*batches))
            except BaseException as error:
                done.set_exception(error)

        try:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"agentoscope-{self.name}")
            self._last_write = self._writer.submit(write)
        except RuntimeError:
            # The interpreter is exiting: Python joined its executors' threads before the
            # atexit flush and they take no new work. Write here, in the flushing thread.
            self._last_write = None
            write()

    def after_fork_in_child(self) -> None:
        self._prepared = []
        self._batch_written = None
        self._writer = self._last_write = None  # the parent's thread does not exist here

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)
        store, self._store = self._store, None
        if store is None:
            return
        try:
            store.checkpoint()  # even when a reader in this process keeps the file open
        finally:
            store.close()


class DuckDBProcessor(BatchingProcessor):
    """Writes records into a store in batches (up to `max_batch_size` rows, or what is queued
    every `schedule_delay` seconds), one transaction per batch, through a `DuckDBExporter`.

    `path` None means the default store (`AGENTOSCOPE_STORE`, else
    ./.agentoscope/traces.duckdb). If another process holds the file, the processor logs why
    and keeps trying with each batch; failed batches are counted in `stats()` and the agent runs
    on. `close()` (at shutdown) checkpoints and releases the file; a flush returns once every
    batch is committed.
    """

    exporter: DuckDBExporter

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_queue_size: int = 262_144,
        max_batch_size: int = DEFAULT_BATCH_SIZE,
        schedule_delay: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        name = type(self).__name__
        super().__init__(
            DuckDBExporter(path, name=name),
            max_queue_size=max_queue_size,
            max_batch_size=max_batch_size,
            schedule_delay=schedule_delay,
            name=name,
        )

    @property
    def path(self) -> Path:
        return self.exporter.path

    @property
    def store(self) -> SpanStore | None:
        """The open store, or None while the file could not be opened."""
        return self.exporter.store
