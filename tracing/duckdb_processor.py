"""`DuckDBProcessor`: finished spans and traces into a DuckDB store, from a worker thread.

The processor owns the store file read-write for the life of its process (DuckDB allows one
writing process): other processes read the file once this one has ended, or go through
`agentoscope serve`. Inside this process, `SpanStore(path)` shares its connection, so a test or
a notebook can `configure(duckdb=path)` and query the same file at once.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .batching import BatchingProcessor
from .store import SpanStore, StoreLockedError, default_store_path

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

    def export(self, records: list[dict[str, Any]]) -> None:
        # Records from span_record/trace_record: no per-record checks needed.
        self._open().ingest(records, validate=False)

    def close(self) -> None:
        store, self._store = self._store, None
        if store is None:
            return
        try:
            store.checkpoint()  # even when a reader in this process keeps the file open
        finally:
            store.close()
