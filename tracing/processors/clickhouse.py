"""`ClickHouseProcessor`: finished spans and traces into a ClickHouse store (a server, or chdb in
this process), from a worker thread; the sibling of `DuckDBProcessor`.

Unlike a DuckDB file, a ClickHouse store takes writers from any number of processes and hosts at
once: every agent process may write to it directly, and so may several stateless
`agentoscope serve` instances behind a load balancer. Spans sent twice are stored once (the store's
ReplacingMergeTree tables).
"""

from __future__ import annotations

from ..store.clickhouse_connection import ClickHouseError
from ..store.clickhouse_store import ClickHouseStore
from ..store.url import StoreURL
from .batching import BatchingProcessor
from .store_exporter import StoreExporter

DEFAULT_BATCH_SIZE = 10_000
# ClickHouse prefers fewer, larger inserts: each insert makes a part that is merged later.
DEFAULT_FLUSH_INTERVAL = 1.0


class ClickHouseExporter(StoreExporter[ClickHouseStore]):
    """Writes batches of records into a ClickHouse store, pipelined and chunked as DuckDB's
    (`StoreExporter`). A store that cannot be reached is tried again with each batch (failed
    batches are counted by the processor)."""

    unavailable = (ClickHouseError,)

    def __init__(self, url: StoreURL | str | None = None, *, name: str = "ClickHouse") -> None:
        self.url = url
        super().__init__(name=name)

    def connect(self) -> ClickHouseStore:
        return ClickHouseStore(self.url)


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
