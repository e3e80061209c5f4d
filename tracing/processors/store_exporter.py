"""`StoreExporter`: batches of records into a span store (DuckDB or ClickHouse), prepared in
chunks on the processor's worker and written by a writer thread of its own."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Generic, Protocol, TypeVar

from ..store.ingest import IngestResult, PreparedBatch
from .batching import Exporter, sample_records

logger = logging.getLogger("agentoscope.tracing")


class WritableStore(Protocol):
    """What both store engines offer a writer."""

    def prepare(self, records: list[dict[str, Any]], *, validate: bool = ...) -> PreparedBatch: ...

    def write(self, *prepared: PreparedBatch) -> IngestResult: ...

    def checkpoint(self) -> None: ...

    def close(self) -> None: ...


StoreT = TypeVar("StoreT", bound=WritableStore)


class StoreExporter(Exporter, Generic[StoreT]):
    """Writes batches of records into a store, one write per batch, pipelined: each chunk of a
    batch is turned into Arrow tables as it is converted (`export_chunk`), and at the batch's end
    the chunks go as one to a writer thread (`end_batch`), so the next batch is converted while
    the engine (which releases the GIL) writes this one. One batch is written at a time and at
    most one more waits, which bounds memory.

    Chunks, not the whole batch at once: 10,000 record dicts alive together outlive the young
    garbage-collector generations and set off full collections, which stop every thread,
    the agent's included; Arrow tables are not the collector's business.

    A store that cannot be opened (`unavailable` errors) is logged, not fatal: tracing never stops
    the agent. Each batch tries again and a failed one is counted by the processor."""

    # 256 records (~512 tracked dicts) mostly die before a young collection sees them: in the
    # busy run, 512 let ~50k of them survive into the oldest generation (more than the rest of
    # the run together, a full collection's worth), 256 ~9k; drain speed did not change
    # measurably (85k vs 84k spans/s, 128: -10%).
    record_chunk = 256
    chunked = True
    unavailable: tuple[type[Exception], ...] = ()

    def __init__(self, *, name: str) -> None:
        self.name = name
        self._store: StoreT | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._last_write: Future[None] | None = None
        # The chunks of the batch being converted, and the future their write will settle.
        self._prepared: list[PreparedBatch] = []
        self._batch_written: Future[IngestResult] | None = None
        try:
            self._open()
        except self.unavailable as error:
            logger.error("%s: %s", self.name, error)

    def warm_up(self) -> None:
        """Prepare (and drop) a batch, so pyarrow and what it imports (pandas, when installed:
        ~28k objects) load at set-up, not on the worker in the agent's busy run."""
        if self._store is not None:
            span, trace = sample_records()
            # A span alone too: a batch whose spans' trace records are not in it groups them
            # in Arrow, which loads pyarrow.acero and pyarrow.dataset.
            for records in ([span, trace], [span]):
                self._store.prepare(records, validate=False)

    def connect(self) -> StoreT:
        """Open the store (called until it succeeds)."""
        raise NotImplementedError

    def _open(self) -> StoreT:
        if self._store is None:
            self._store = self.connect()
        return self._store

    @property
    def store(self) -> StoreT | None:
        """The open store, or None while it could not be opened."""
        return self._store

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
            store.checkpoint()  # DuckDB: even when a reader in this process keeps the file open
        finally:
            store.close()
