"""`DuckDBProcessor`: finished spans and traces into a DuckDB store, from a worker thread.

The processor owns the store file read-write for the life of its process (DuckDB allows one
writing process): other processes read the file once this one has ended, or go through
`agentoscope serve`. Inside this process, `SpanStore(path)` shares its connection, so a test or
a notebook can `configure(duckdb=path)` and query the same file at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..store.connection import StoreLockedError
from ..store.span_store import SpanStore, default_store_path
from .batching import BatchingProcessor
from .store_exporter import StoreExporter

DEFAULT_BATCH_SIZE = 10_000
DEFAULT_FLUSH_INTERVAL = 0.25


class DuckDBExporter(StoreExporter[SpanStore]):
    """Writes batches of records into a DuckDB store, one transaction per batch (the pipelining
    and chunking are `StoreExporter`'s). If another process holds the file, the exporter logs why
    and tries again with each batch; `close()` checkpoints and releases the file."""

    unavailable = (StoreLockedError,)

    def __init__(self, path: str | os.PathLike[str] | None = None, *, name: str = "DuckDB") -> None:
        self.path = default_store_path(path)
        super().__init__(name=name)

    def connect(self) -> SpanStore:
        return SpanStore(self.path)


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
