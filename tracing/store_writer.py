"""The store's single writer thread, for `agentoscope serve`.

DuckDB wants one connection used from one thread at a time, and commits cost milliseconds
whatever their size. So every ingest (OTLP/HTTP, OTLP/gRPC, the spool) is a job on one queue;
the writer thread takes all jobs waiting, ingests them in one `SpanStore.ingest` call (one
transaction) and then answers each job. If a combined batch fails, its jobs are retried one by
one, so one bad request cannot fail the others.

A transaction has a large fixed cost (tens of ms), so batches should be large. A receiver that
has a request in hand announces it (`incoming()`) before decoding it; the writer waits for
announced requests (briefly) before it starts a transaction, so requests that arrive together
are committed together instead of one commit each. After a transaction that answered several
requests, their senders usually send the next ones at once: the writer then also lingers a few
ms for new requests to be announced, so each round of requests keeps sharing one commit rather
than splitting into a small transaction and a large one. A single sender never waits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger("agentoscope.serve")

# Records per store transaction: large batches amortise the commit (reference/duckdb-store-
# measurements.md: ~7 ms per commit, ~6.6 µs per span).
MAX_RECORDS_PER_COMMIT = 20_000
# How long the writer waits for announced requests before committing what it has: longer than
# decoding a large request takes, short enough that a stuck receiver costs little.
MAX_WAIT_FOR_ANNOUNCED = 0.25
# After a transaction for several requests, how long the writer waits for the next request to be
# announced (4 senders of 1000 spans: 5-10 ms measured best, ~40k -> ~44k spans/s).
LINGER_AFTER_SHARED_COMMIT = 0.01


class WriterStopped(RuntimeError):
    """The writer is shutting down and takes no new work."""


class _Job:
    __slots__ = ("future", "records", "validate")

    def __init__(self, records: list[dict[str, Any]], validate: bool) -> None:
        self.records = records
        self.validate = validate
        self.future: Future[Any] = Future()


class StoreWriter:
    """Owns `store` (a SpanStore opened read-write) on one thread until `stop()`."""

    def __init__(
        self,
        store: Any,
        max_records_per_commit: int = MAX_RECORDS_PER_COMMIT,
        max_wait_for_announced: float = MAX_WAIT_FOR_ANNOUNCED,
        linger: float = LINGER_AFTER_SHARED_COMMIT,
    ) -> None:
        self.store = store
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
            item = self._queue.get()
            if item is None:
                return
            jobs = [item]
            size = len(item.records)
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
                size += len(more.records)
            shared = len(jobs) > 1
            self._ingest(jobs)
            if stop_after:
                return

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
        records = jobs[0].records if len(jobs) == 1 else [r for job in jobs for r in job.records]
        validate = any(job.validate for job in jobs)
        try:
            result = self.store.ingest(records, validate=validate)
        except Exception as error:
            if len(jobs) == 1:
                self._fail(jobs[0], error)
                return
            for job in jobs:  # isolate the job that fails
                try:
                    job_result = self.store.ingest(job.records, validate=job.validate)
                except Exception as job_error:
                    self._fail(job, job_error)
                else:
                    self._count(job.records, job_result)
                    job.future.set_result(job_result)
            return
        self._count(records, result)
        for job in jobs:
            job.future.set_result(result)

    def _count(self, records: list[dict[str, Any]], result: Any) -> None:
        counts = self.counts
        counts["records"] += len(records)
        counts["commits"] += 1
        for key in ("spans", "traces", "duplicates"):
            counts[key] += int(getattr(result, key, 0) or 0)

    def _fail(self, job: _Job, error: Exception) -> None:
        self.counts["failed_jobs"] += 1
        logger.error("store ingest of %d records failed: %s", len(job.records), error)
        job.future.set_exception(error)
