"""`ClickHouseProcessor`: finished spans and traces into a ClickHouse store (a server, or chdb in
this process), from a worker thread; the sibling of `DuckDBProcessor`.

Unlike a DuckDB file, a ClickHouse store takes writers from any number of processes and hosts at
once: every agent process may write to it directly, and so may several stateless
`agentoscope serve` instances behind a load balancer. Spans sent twice are stored once (the store's
ReplacingMergeTree tables).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from ..store.clickhouse_connection import ClickHouseError
from ..store.clickhouse_store import ClickHouseStore
from ..store.ingest import IngestResult
from ..store.url import StoreURL
from .batching import BatchingProcessor, Exporter

logger = logging.getLogger("agentoscope.tracing")

DEFAULT_BATCH_SIZE = 10_000
# ClickHouse prefers fewer, larger inserts: each insert makes a part that is merged later.
DEFAULT_FLUSH_INTERVAL = 1.0


class ClickHouseExporter(Exporter):
    """Writes batches of records into a ClickHouse store, pipelined as DuckDBExporter is: the
    next batch becomes Arrow while this one is inserted. A store that cannot be reached is
    tried again with each batch (failed batches are counted by the processor)."""

    def __init__(self, url: StoreURL | str | None = None, *, name: str = "ClickHouse") -> None:
        self.url = url
        self.name = name
        self._store: ClickHouseStore | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._last_write: Future[IngestResult] | None = None
        try:
            self._open()
        except ClickHouseError as error:
            logger.error("%s: %s", self.name, error)

    def _open(self) -> ClickHouseStore:
        if self._store is None:
            self._store = ClickHouseStore(self.url)
        return self._store

    @property
    def store(self) -> ClickHouseStore | None:
        return self._store

    def export(self, records: list[dict[str, Any]]) -> Future[IngestResult] | None:
        store = self._open()
        prepared = store.prepare(records, validate=False)
        if self._last_write is not None:
            wait([self._last_write])
        try:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"agentoscope-{self.name}")
            self._last_write = self._writer.submit(store.write, prepared)
        except RuntimeError:
            # The interpreter is exiting (see DuckDBExporter.export): write here.
            self._last_write = None
            store.write(prepared)
            return None
        return self._last_write

    def after_fork_in_child(self) -> None:
        self._writer = self._last_write = None

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)
        store, self._store = self._store, None
        if store is not None:
            store.close()


class ClickHouseProcessor(BatchingProcessor):
    """Writes records into a ClickHouse store in batches (up to `max_batch_size` rows, or what
    is queued every `schedule_delay` seconds). `url`: `clickhouse://user:password@host:8123/db`
    or `chdb:///folder`; None means AGENTOSCOPE_STORE."""

    exporter: ClickHouseExporter

    def __init__(
        self,
        url: StoreURL | str | None = None,
        *,
        max_queue_size: int = 262_144,
        max_batch_size: int = DEFAULT_BATCH_SIZE,
        schedule_delay: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        name = type(self).__name__
        super().__init__(
            ClickHouseExporter(url, name=name),
            max_queue_size=max_queue_size,
            max_batch_size=max_batch_size,
            schedule_delay=schedule_delay,
            name=name,
        )

    @property
    def store(self) -> ClickHouseStore | None:
        return self.exporter.store
