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
from typing import Any

from .batching import BatchingProcessor
from .store import SpanStore, StoreLockedError, default_store_path
from .store_ingest import IngestResult

logger = logging.getLogger("agentoscope.tracing")

DEFAULT_BATCH_SIZE = 10_000
DEFAULT_FLUSH_INTERVAL = 0.25


class DuckDBProcessor(BatchingProcessor):
    """Writes records into a store in batches (up to `max_batch_size` rows, or what is queued
    every `schedule_delay` seconds), one transaction per batch.

    `path` None means the default store (`AGENTOSCOPE_STORE`, else
    ./.agentoscope/traces.duckdb). If another process holds the file, the processor logs why
    and keeps trying with each batch; failed batches are counted in `stats()` and the agent runs
    on. `close()` (at shutdown) checkpoints and releases the file.

    Writing is pipelined: the worker turns a batch into Arrow tables and hands it to a writer
    thread, then converts the next batch while DuckDB (which releases the GIL) writes this one,
    so the two halves of the work use two cores. One batch is written at a time and at most one
    more waits, which bounds memory; a flush returns once every batch is committed.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_queue_size: int = 262_144,
        max_batch_size: int = DEFAULT_BATCH_SIZE,
        schedule_delay: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        super().__init__(
            max_queue_size=max_queue_size,
            max_batch_size=max_batch_size,
            schedule_delay=schedule_delay,
        )
        self.path = default_store_path(path)
        self._store: SpanStore | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._last_write: Future[IngestResult] | None = None
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

    def export(self, records: list[dict[str, Any]]) -> Future[IngestResult] | None:
        store = self._open()
        # Records from span_record/trace_record: no per-record checks needed.
        prepared = store.prepare(records, validate=False)
        if self._last_write is not None:
            wait([self._last_write])  # its outcome is counted by the batching base
        try:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"agentoscope-{self.name}")
            self._last_write = self._writer.submit(store.write, prepared)
        except RuntimeError:
            # The interpreter is exiting: Python joined its executors' threads before the
            # atexit flush and they take no new work. Write here, in the flushing thread.
            self._last_write = None
            store.write(prepared)
            return None
        return self._last_write

    def _after_fork_in_child(self) -> None:
        super()._after_fork_in_child()
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
