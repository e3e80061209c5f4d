"""Interpreter settings for a process that does nothing but serve: serve itself while it runs,
and each of its decoding workers."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLDS = (20_000, 20, 10)
SWITCH_INTERVAL = 0.001


def collect_for_serving() -> None:
    """Serve's garbage-collector settings (see `serving_process`), also a decoding worker's:
    what is alive now is frozen out of collections, and collections run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@contextmanager
def serving_process() -> Iterator[None]:
    """Interpreter settings for a process that does nothing but serve, restored afterwards.

    Garbage collection: every request makes thousands of records that live until their commit,
    so the default thresholds run a collection every few hundred spans, and the full ones walk
    every object of the process (pandas, pyarrow, DuckDB modules): measured ~5 µs per span.
    Objects alive at start are frozen out of collections and collections run less often;
    records are freed by reference counting, so memory does not grow.

    Thread switching: the writer thread gives up the GIL inside every DuckDB call and must take
    it back from a thread that is decoding a request, which by default takes up to 5 ms, several
    times per transaction; at 1 ms the writer spent less than half the time waiting (measured
    with four senders).
    """
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    collect_for_serving()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
