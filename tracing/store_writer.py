"""The store's single writer thread, for `agentoscope serve`.

DuckDB wants one connection used from one thread at a time, and commits cost milliseconds
whatever their size. So every ingest (OTLP/HTTP, OTLP/gRPC, the spool) is a job on one queue;
the writer thread takes all jobs waiting, ingests them in one `SpanStore.ingest` call (one
transaction) and then answers each job. If a combined batch fails, its jobs are retried one by
one, so one bad request cannot fail the others.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any

logger = logging.getLogger("agentoscope.serve")

# Records per store transaction: large batches amortise the commit (reference/duckdb-store-
# measurements.md: ~7 ms per commit, ~6.6 µs per span).
MAX_RECORDS_PER_COMMIT = 20_000


class WriterStopped(RuntimeError):
    """The writer is shutting down and takes no new work."""


class _Job:
    __slots__ = ("future", "records")

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.future: Future[Any] = Future()


class StoreWriter:
    """Owns `store` (a SpanStore opened read-write) on one thread until `stop()`."""

    def __init__(self, store: Any, max_records_per_commit: int = MAX_RECORDS_PER_COMMIT) -> None:
        self.store = store
        self.max_records_per_commit = max_records_per_commit
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._accepting = True
        self._lock = threading.Lock()
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

    def submit(self, records: list[dict[str, Any]]) -> Future[Any]:
        """Queue records for the store; the future resolves when they are committed (to the
        store's ingest result) or fails with the store's error."""
        job = _Job(records)
        self._put(job)
        return job.future

    def _put(self, item: _Job) -> None:
        with self._lock:
            if not self._accepting:
                raise WriterStopped("the store service is shutting down")
            self._queue.put(item)

    def stop(self, timeout: float | None = None) -> None:
        """Finish every queued job, then stop the thread. The store stays open (the owner closes
        it)."""
        with self._lock:
            if not self._accepting:
                return
            self._accepting = False
            self._queue.put(None)
        self._thread.join(timeout)

    # -- the writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            jobs = [item]
            size = len(item.records)
            stop_after = False
            while size < self.max_records_per_commit:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop_after = True
                    break
                jobs.append(more)
                size += len(more.records)
            self._ingest(jobs)
            if stop_after:
                return

    def _ingest(self, jobs: list[_Job]) -> None:
        records = jobs[0].records if len(jobs) == 1 else [r for job in jobs for r in job.records]
        try:
            result = self.store.ingest(records)
        except Exception as error:
            if len(jobs) == 1:
                self._fail(jobs[0], error)
                return
            for job in jobs:  # isolate the job that fails
                try:
                    job_result = self.store.ingest(job.records)
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
