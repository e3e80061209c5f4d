"""Decoding OTLP requests in a worker process, for `agentoscope serve`.

Serve is CPU-bound on one core: decoding a request (OTLP -> records -> Arrow tables) is pure
Python, and the writer's DuckDB calls need the GIL between their tasks, so a thread that decodes
beside the writer slows the writer down 3-4x. A worker process decodes and prepares each request
on the other core; serve only receives the Arrow tables (they pickle as plain buffers) and writes
them. Workers come from a "forkserver" (a clean process that forks them): serve's own process
runs DuckDB threads, and forking a process with threads running is unsafe. As with any
multiprocessing pool, a worker re-imports the parent's `__main__` module: a script that starts
serve's workers itself needs `if __name__ == "__main__":` (the `agentoscope serve` command has it).
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..otel.decode import records_from_payload
from ..store.ingest import PreparedBatch, prepare_batch, split_records
from .process import collect_for_serving

__all__ = ["BrokenProcessPool", "DecodePool", "decode_and_prepare"]


def decode_and_prepare(body: bytes, content_type: str | None) -> PreparedBatch | None:
    """An OTLP/HTTP body (decompressed) as a batch ready to write; None when it has no spans.
    Raises `OTLPDecodeError` for a payload that does not decode (nothing of it is stored)."""
    # Times stay nanoseconds: formatting them as text for the store to parse back cost ~1 µs
    # of a ~10 µs span (the store reads int times as ns since the epoch).
    records = records_from_payload(body, content_type, times=_nanoseconds)
    if not records:
        return None
    # The decoder's records are well formed by construction: only repeated ids are looked for.
    return prepare_batch(split_records(records, validate=False))


def _nanoseconds(ns: int | None) -> int | None:
    return ns


def _ready() -> bool:
    return True


def _init_worker() -> None:
    # Ctrl-C reaches the whole process group: serve handles it (and still needs the worker for
    # the requests in flight); the worker stops when serve shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Serve's own garbage-collector settings, for the same reason (`serving_process`): each
    # request makes thousands of short-lived objects, freed by reference counting.
    collect_for_serving()


class DecodePool:
    """`workers` decoding processes, started (and waited for) by `start()`."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._replacing = threading.Lock()

    def start(self) -> DecodePool:
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
        )
        # Spawning and importing take a while: paid here rather than by the first request.
        for future in [self._executor.submit(_ready) for _ in range(self.workers)]:
            future.result()
        return self

    def decode(self, body: bytes, content_type: str | None) -> PreparedBatch | None:
        """`decode_and_prepare` in a worker; what it raises is raised here. A pool whose worker
        died raises `BrokenProcessPool` and is replaced for the next request."""
        executor = self._executor
        if executor is None:
            raise BrokenProcessPool("the decoding pool is not running")
        try:
            return executor.submit(decode_and_prepare, body, content_type).result()
        except BrokenProcessPool:
            self._replace(executor)
            raise

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._replacing:
            if self._executor is not broken:
                return  # another request replaced it already (or the pool is stopping)
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            try:
                self.start()
            except Exception:  # the next request reports the pool as not running
                self._executor = None

    def stop(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
