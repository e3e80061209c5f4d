"""`GilHandOver`: a worker that has held the GIL for a while lets a waiting thread have it.

Why a worker must give the GIL away itself: in CPython a thread that waits for the GIL asks the
holder to drop it only once a whole switch interval (5 ms) has passed *with no switch*. A worker
that releases the GIL for a moment (a file write, a pipe, a lock, DuckDB) and takes it straight
back, before the waiting thread has woken, restarts that wait: the agent's thread, woken and
still not served, waits another full interval. In the busy run (`benchmarks/bench_busy.py`) this
is what held the agent for 10-20 ms while the shared worker converted and wrote, not the
worker's CPU. A short real sleep is a hand-over the waiting thread wins: it is woken by the
release and takes the GIL while the worker sleeps; a worker with no one waiting takes it back at
once. Measured there, 7 runs each interleaved with the code before: the agent's longest span
start+finish 3.0-7.7 ms instead of 9.9-17.2 ms, spans over 5 ms 4 instead of 68, for a sleep of
~0.15 ms per millisecond of the worker's CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# CPU time a worker may spend between hand-overs. A record takes ~10 µs with every sink
# attached, so this is about one `RECORD_CHUNK` of records: the agent's wait for the worker
# stays near a millisecond, well under the 5 ms switch interval.
HAND_OVER_EVERY = 0.001
# A processor whose queue holds this share of its bound has its worker keep the GIL: a dropped
# span is worse than a pause. A 400k-span busy run overflows the default 262k-item queues;
# records dropped over the three sinks, 2 runs each: 321-322k with hand-overs throughout,
# 262-294k with this rule, 233-263k with no hand-overs (whose agent made its spans ~10% slower).
PRESSED_SHARE = 0.9
# The sleep that hands the GIL over: long enough for the woken thread to be scheduled and take
# it (Linux adds its 50 µs timer slack), short enough to cost the worker ~15% when no one waits.
HAND_OVER_SLEEP = 0.0001


class GilHandOver:
    """Call after each unit of a worker's work (a chunk of records): once the worker's thread
    has spent `every` seconds of CPU since the last hand-over, it sleeps `pause` seconds.

    Made by the thread that calls it, at the start of each drain: `thread_time` is the calling
    thread's CPU time, which grows only while that thread runs, so a worker that has just waited
    for the GIL, or slept until its next batch, does not give it away again at once.
    """

    __slots__ = ("_clock", "_due", "_every", "_pause", "_sleep", "hand_overs")

    def __init__(
        self,
        every: float = HAND_OVER_EVERY,
        pause: float = HAND_OVER_SLEEP,
        *,
        clock: Callable[[], float] = time.thread_time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if every <= 0 or pause <= 0:
            raise ValueError(f"every and pause must be positive, got {every} and {pause}")
        self._every = every
        self._pause = pause
        self._clock = clock
        self._sleep = sleep
        self._due = clock() + every
        self.hand_overs = 0  # how many times it slept: a worker's count, for tests and probes

    def __call__(self) -> None:
        if self._clock() >= self._due:
            self._sleep(self._pause)
            self.hand_overs += 1
            self._due = self._clock() + self._every
