"""`StoreExporter`: batches of records into a span store (DuckDB or ClickHouse), taken apart into
columns chunk by chunk on the processor's worker and written by a writer thread of its own."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

from ..store.columns import ColumnBuffer
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
    batch is taken apart into column lists as it is converted (`export_chunk`, see
    `ColumnBuffer`), and at the batch's end the columns become Arrow tables and go to a writer
    thread (`end_batch`), so the next batch is converted while the engine (which releases the
    GIL) writes this one. One batch is written at a time and at most one more waits, which
    bounds memory (the batching processor waits, or skips this sink, past `MAX_UNSETTLED`
    batches handed on).

    Chunks, not the whole batch at once: 10,000 record dicts alive together outlive the young
    garbage-collector generations and bring full collections nearer, which stop every thread,
    the agent's included; column lists of text and numbers are not the collector's business.

    A store that cannot be opened (`unavailable` errors) is logged, not fatal: tracing never stops
    the agent. Each batch tries again and a failed one is counted by the processor."""

    # A young collection is due once 700 more tracked objects were made than freed: 128 records
    # (~2-3 tracked objects each) stay under it, 256 did not (the busy run's DuckDB worker set
    # off ~37 young collections per 100k spans with 256). Taking a chunk apart has no fixed
    # cost worth the name (Arrow's is paid once a batch).
    record_chunk = 128
    chunked = True
    shares_worker = True  # batches are written by the writer thread
    unavailable: tuple[type[Exception], ...] = ()

    def __init__(self, *, name: str) -> None:
        self.name = name
        self._store: StoreT | None = None
        self._writer: ThreadPoolExecutor | None = None
        # The batch being converted, and the future its write will settle.
        self._columns = ColumnBuffer()
        self._batch_written: Future[IngestResult] | None = None
        try:
            self._open()
        except self.unavailable as error:
            logger.error("%s: %s", self.name, error)

    def warm_up(self) -> None:
        """Prepare (and drop) a batch, so pyarrow and the compute functions a batch uses load at
        set-up, not on the worker in the agent's busy run."""
        if self._store is not None:
            span, trace = sample_records()
            # A span alone too: a batch whose spans' trace records are not in it works out
            # their times in Arrow.
            for records in ([span, trace], [span]):
                columns = ColumnBuffer()
                columns.add(records)
                columns.prepare()

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
        self._open()
        self._columns.add(records)  # from span_record/trace_record: no per-record checks needed
        if self._batch_written is None:
            self._batch_written = Future()
        return self._batch_written

    def end_batch(self) -> None:
        columns, self._columns = self._columns, ColumnBuffer()
        done, self._batch_written = self._batch_written, None
        if done is None:
            return
        try:
            self._write(columns.prepare(), done)
        except BaseException as error:
            done.set_exception(error)
            if not isinstance(error, Exception):
                raise

    def _write(self, prepared: PreparedBatch, done: Future[IngestResult]) -> None:
        # No wait for the previous write here (a shared worker must not stop for one sink): the
        # batching processor hands on at most `MAX_UNSETTLED` batches, the writer takes them
        # in turn.
        store = self._open()

        def write() -> None:
            try:
                done.set_result(store.write(prepared))
            except BaseException as error:
                done.set_exception(error)

        try:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"agentoscope-{self.name}")
            self._writer.submit(write)
        except RuntimeError:
            # The interpreter is exiting: Python joined its executors' threads before the
            # atexit flush and they take no new work. Write here, in the flushing thread.
            write()

    def after_fork_in_child(self) -> None:
        self._columns = ColumnBuffer()
        self._batch_written = None
        self._writer = None  # the parent's thread does not exist here

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
