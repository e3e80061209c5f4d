"""The store's single writer thread, for `agentoscope serve`.

DuckDB wants one connection used from one thread at a time, and commits cost milliseconds
whatever their size. So every ingest (OTLP/HTTP, OTLP/gRPC, the spool) is a job on one queue;
the writer thread takes all jobs waiting, ingests them in one `SpanStore.ingest` call (one
transaction) and then answers each job. A job is records, or a batch already prepared (Arrow
tables, made by a decoding worker process): waiting prepared batches are written together in one
`SpanStore.write` transaction. If a combined batch fails, its jobs are retried one by one, so
one bad request cannot fail the others.

A transaction has a large fixed cost (tens of ms), so batches should be large. A receiver that
has a request in hand announces it (`incoming()`) before decoding it; the writer waits for
announced requests (briefly) before it starts a transaction, so requests that arrive together
are committed together instead of one commit each. With decoding workers too: once two workers
decode side by side, waiting for every announced request beat committing as soon as more
requests were in hand than still decoding (1,000-span requests from 4 senders, interleaved runs:
56.5-59.6k against 46.8-57.3k spans/s, serve CPU 8.1-8.5 against 11.9-14.4 µs/span), because a
commit's fixed cost (~13 ms: the trace-row upsert alone ~5 ms) is then paid for more requests.
After a transaction that answered several requests, their senders usually send the next ones at
once: without workers, the writer then also lingers a few ms for new requests to be announced,
so each round of requests keeps sharing one commit rather than splitting into a small
transaction and a large one. A single sender never waits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.ingest import PreparedBatch

logger = logging.getLogger("agentoscope.serve")


def combine_prepared(batches: list[PreparedBatch]) -> list[PreparedBatch]:
    from ..store.arrow import combine_prepared as combine  # pyarrow, once there are batches

    return combine(batches)


# Records per store transaction: large batches amortise the commit (reference/duckdb-store-
# measurements.md: ~7 ms per commit, ~6.6 µs per span).
MAX_RECORDS_PER_COMMIT = 20_000
# How long the writer waits for announced requests before committing what it has: longer than
# decoding a large request takes, short enough that a stuck receiver costs little.
MAX_WAIT_FOR_ANNOUNCED = 0.25
# After a transaction for several requests, how long the writer waits for the next request to be
# announced (4 senders of 1000 spans: 5-10 ms measured best, ~40k -> ~44k spans/s).
LINGER_AFTER_SHARED_COMMIT = 0.01
# With `write_threads`, how long the writer must have nothing to do before DuckDB gets its
# threads back.
IDLE_BEFORE_RESTORING_THREADS = 1.0


class WriterStopped(RuntimeError):
    """The writer is shutting down and takes no new work."""


class _Job:
    """Records to ingest, or (from a decoding worker) a batch already prepared to write."""

    __slots__ = ("future", "prepared", "records", "size", "validate")

    def __init__(
        self,
        records: list[dict[str, Any]],
        validate: bool,
        prepared: PreparedBatch | None = None,
    ) -> None:
        self.records = records
        self.validate = validate
        self.prepared = prepared
        self.size = len(records) if prepared is None else _prepared_size(prepared)
        self.future: Future[Any] = Future()


def _prepared_size(prepared: PreparedBatch) -> int:
    """How many records a prepared batch was made from."""
    return prepared.span_count + prepared.trace_count + prepared.repeated + prepared.rejected


class StoreWriter:
    """Owns `store` (a SpanStore opened read-write) on one thread until `stop()`."""

    def __init__(
        self,
        store: Any,
        max_records_per_commit: int = MAX_RECORDS_PER_COMMIT,
        max_wait_for_announced: float = MAX_WAIT_FOR_ANNOUNCED,
        linger: float = LINGER_AFTER_SHARED_COMMIT,
        write_threads: int | None = None,
    ) -> None:
        self.store = store
        # DuckDB's threads while jobs keep coming (`store.threads()`), restored once idle. A
        # transaction of serve's (register Arrow tables, merge them) runs no faster on two
        # threads than on one, and costs ~30% more CPU (measured: 12.3 -> 16.9 µs/span): CPU
        # that the decoding worker or the receivers need. Queries get every thread again once
        # ingest pauses.
        self.write_threads = write_threads
        self._restore_threads: int | None = None
        self.max_records_per_commit = max_records_per_commit
        self.max_wait_for_announced = max_wait_for_announced
        self.linger = linger
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._accepting = True
        self._lock = threading.Lock()
        # Requests announced by `incoming()` and not yet submitted; notified on every change.
        self._announced = 0
        self._arrivals = threading.Condition()
        self.counts = {
            "records": 0,
            "spans": 0,
            "traces": 0,
            "duplicates": 0,
            "commits": 0,
            "failed_jobs": 0,
        }
        # A daemon, so a process that never calls stop() can still exit; stop() drains first.
        self._thread = threading.Thread(
            target=self._run, name="agentoscope-store-writer", daemon=True
        )
        self._thread.start()

    # -- callers (any thread) ------------------------------------------------------------------

    def submit(self, records: list[dict[str, Any]], *, validate: bool = True) -> Future[Any]:
        """Queue records for the store; the future resolves when they are committed (to the
        store's ingest result) or fails with the store's error. `validate=False` is for records
        known to be well formed (kind, v and string ids: the OTLP decoder's), which skips the
        store's per-record checks; repeated ids are still found."""
        job = _Job(records, validate)
        self._put(job)
        return job.future

    def submit_prepared(self, prepared: PreparedBatch) -> Future[Any]:
        """Queue a batch prepared elsewhere (`SpanStore.prepare`, in a decoding worker); waiting
        prepared batches are written in one `SpanStore.write` transaction."""
        job = _Job([], False, prepared)
        self._put(job)
        return job.future

    @contextmanager
    def incoming(self) -> Iterator[None]:
        """Around decoding a request and submitting its records: the writer waits for it
        (up to `max_wait_for_announced`) rather than committing without it."""
        with self._arrivals:
            self._announced += 1
        try:
            yield
        finally:
            with self._arrivals:
                self._announced -= 1
                self._arrivals.notify_all()

    def _put(self, item: _Job) -> None:
        with self._lock:
            if not self._accepting:
                raise WriterStopped("the store service is shutting down")
            self._queue.put(item)
        with self._arrivals:
            self._arrivals.notify_all()

    def stop(self, timeout: float | None = None) -> None:
        """Finish every queued job, then stop the thread. The store stays open (the owner closes
        it)."""
        with self._lock:
            if not self._accepting:
                return
            self._accepting = False
            self._queue.put(None)
        with self._arrivals:  # a writer waiting for announced requests: stop waiting
            self._arrivals.notify_all()
        self._thread.join(timeout)

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        shared = False  # whether the last transaction answered several jobs
        while True:
            item = self._next_job()
            if item is None:
                self._set_threads_for(busy=False)
                return
            jobs = [item]
            size = item.size
            stop_after = False
            now = time.monotonic()
            deadline = now + self.max_wait_for_announced
            linger_until = now + self.linger if shared else now
            while size < self.max_records_per_commit:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    # Linger only until the first other request of the round is in.
                    lingering = linger_until if len(jobs) == 1 else now
                    if self._wait_for_announced(deadline, lingering):
                        continue
                    break
                if more is None:
                    stop_after = True
                    break
                jobs.append(more)
                size += more.size
            shared = len(jobs) > 1
            self._set_threads_for(busy=True)
            prepared = [job for job in jobs if job.prepared is not None]
            if len(prepared) < len(jobs):  # records (e.g. the spool's): a transaction of their own
                self._ingest([job for job in jobs if job.prepared is None])
            if prepared:
                self._write(prepared)
            if stop_after:
                self._set_threads_for(busy=False)
                return

    def _next_job(self) -> _Job | None:
        if self._restore_threads is None:
            return self._queue.get()
        try:
            return self._queue.get(timeout=IDLE_BEFORE_RESTORING_THREADS)
        except queue.Empty:
            self._set_threads_for(busy=False)
            return self._queue.get()

    def _set_threads_for(self, *, busy: bool) -> None:
        """Narrow DuckDB to `write_threads` while busy; give the threads back when idle.
        Settings cost ~0.3 ms each, so they change only when the writer's state does."""
        if self.write_threads is None or busy == (self._restore_threads is not None):
            return
        try:
            if busy:
                previous = self.store.threads()
                if previous != self.write_threads:
                    self.store.threads(self.write_threads)
                self._restore_threads = previous
            else:
                restore, self._restore_threads = self._restore_threads, None
                if restore is not None and restore != self.write_threads:
                    self.store.threads(restore)
        except Exception as error:  # a setting: never a reason to fail ingest
            logger.warning("store: cannot set DuckDB threads: %s", error)
            self.write_threads = None

    def _wait_for_announced(self, deadline: float, linger_until: float) -> bool:
        """Wait while nothing is queued but requests are announced (or, until `linger_until`,
        may still be); True once a job is queued (or the queue closes), False when nothing
        more is coming or the deadline passed."""
        with self._arrivals:
            while self._queue.empty():
                now = time.monotonic()
                until = deadline if self._announced > 0 else min(deadline, linger_until)
                if until <= now:
                    return False
                self._arrivals.wait(until - now)
        return True

    def _ingest(self, jobs: list[_Job]) -> None:
        """Record jobs in one `SpanStore.ingest` transaction."""
        records = jobs[0].records if len(jobs) == 1 else [r for job in jobs for r in job.records]
        validate = any(job.validate for job in jobs)
        self._commit(
            jobs,
            lambda: self.store.ingest(records, validate=validate),
            lambda job: self.store.ingest(job.records, validate=job.validate),
        )

    def _write(self, jobs: list[_Job]) -> None:
        """Prepared jobs in one `SpanStore.write` transaction."""
        batches = [job.prepared for job in jobs if job.prepared is not None]
        self._commit(
            jobs,
            lambda: self.store.write(*combine_prepared(batches)),
            lambda job: self.store.write(job.prepared),
        )

    def _commit(
        self,
        jobs: list[_Job],
        write_all: Callable[[], Any],
        write_one: Callable[[_Job], Any],
    ) -> None:
        """`write_all` for the jobs together and answer each; if it fails, `write_one` for each
        job on its own, so the job that fails cannot fail the others."""
        try:
            result = write_all()
        except Exception as error:
            if len(jobs) == 1:
                self._fail(jobs[0], error)
                return
            for job in jobs:
                try:
                    job_result = write_one(job)
                except Exception as job_error:
                    self._fail(job, job_error)
                else:
                    self._count(job.size, job_result)
                    job.future.set_result(job_result)
            return
        self._count(sum(job.size for job in jobs), result)
        for job in jobs:
            job.future.set_result(result)

    def _count(self, records: int, result: Any) -> None:
        counts = self.counts
        counts["records"] += records
        counts["commits"] += 1
        for key in ("spans", "traces", "duplicates"):
            counts[key] += int(getattr(result, key, 0) or 0)

    def _fail(self, job: _Job, error: Exception) -> None:
        self.counts["failed_jobs"] += 1
        logger.error("store ingest of %d records failed: %s", job.size, error)
        job.future.set_exception(error)
