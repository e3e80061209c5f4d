"""`SharedWorker`: one worker thread for the batching processors of a fan-out, which makes each
record once and hands it to every processor's exporter.

Why one thread: every worker that has work competes with the agent's thread for the GIL, and a
thread that waits for it may wait a whole switch interval (5 ms) per runnable thread ahead of it;
three workers, one per sink, made the agent wait 10-40 ms now and then in a busy run. The one
worker also hands the GIL over between chunks (`gil`). Why once: the record of a span (its secret
scan included) is the same for every sink, and making it was most of each worker's time.

The processors keep their own backlogs, counts, batches and locks: the fan-out hands each the
same flat chunks, so in the usual case their oldest backlog entries are the very same tuples, and
a chunk taken by several processors at once is converted once for all of them. A processor that
falls behind (its sink's batches unwritten, a flush of its own in another thread) is skipped or
served alone; the others go on. Only processors whose exporters never wait long share a worker
(`Exporter.shares_worker`).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from .batching import MAX_UNSETTLED, BatchingProcessor, _items, record_of
from .gil import GilHandOver

logger = logging.getLogger("agentoscope.tracing")

# Items each processor takes in one round (whole backlog entries): the same for all, so that
# processors in step take the same entries.
ROUND_ITEMS = 1_024
# Records made at a time: they die (or become bytes and tuples the collector does not track)
# before the next are made; a few hundred fresh dicts alive at once set off young collections.
RECORD_CHUNK = 128
# How often a worker with a stopping processor looks whether that one is done.
_STOPPING_POLL = 0.01

_Entry = tuple[int, tuple[Any, ...], bool]


def can_share(processor: BatchingProcessor) -> bool:
    """Whether `processor` may join a shared worker: a plain batching processor (its records go
    through `export`, unchanged) whose exporter never waits long, with no worker of its own yet."""
    exporter = processor.exporter
    return (
        exporter is not None
        and exporter.shares_worker
        and not processor._overrides_export
        and processor._thread is None
        and processor._crew is None
    )


def convert(items: Iterable[Any]) -> tuple[list[dict[str, Any]], list[tuple[Exception, Any]], int]:
    """The records of `items`, the items that failed (with why), and how many were seen."""
    records: list[dict[str, Any]] = []
    failures: list[tuple[Exception, Any]] = []
    seen = 0
    for item in items:
        seen += 1
        try:
            records.append(record_of(item))
        except Exception as error:
            failures.append((error, item))
    return records, failures, seen


class Turns:
    """A first-come, first-served turn at CPU-bound work between threads (the shared worker's
    rounds, an OTLP sender encoding its batch): while one has its turn the others wait without
    the GIL, so the agent's thread competes with one worker, not two (with two runnable, it
    waited two switch intervals now and then, 20-24 ms in the busy run)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._next = 0
        self._serving = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._condition:
            ticket = self._next
            self._next += 1
            while self._serving != ticket:
                self._condition.wait()
        try:
            yield
        finally:
            with self._condition:
                self._serving += 1
                self._condition.notify_all()


class SharedWorker:
    """The worker thread of `members` (batching processors fed by one `SpanFanOut`)."""

    def __init__(self, members: list[BatchingProcessor]) -> None:
        self.members = tuple(members)
        for member in self.members:
            member._crew = self
        self._init_threading()

    def _init_threading(self) -> None:
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.turns = Turns()
        for member in self.members:  # a member's triggers wake this worker
            member._wake = self.wake
            if getattr(member.exporter, "takes_turns", False):  # OTLP's sender encodes
                member.exporter.turns = self.turns  # type: ignore[union-attr]

    def start(self) -> None:
        with self._lock:
            if self.thread is not None:
                return
            thread = threading.Thread(target=self._run, name="agentoscope-shared", daemon=True)
            self.thread = thread
            for member in self.members:
                with member._counter_lock:
                    member._thread = thread
                    member._set_backlog_len(member._backlog_len)  # the fast path opens
        thread.start()

    def after_fork_in_child(self) -> None:
        """Called by each member after a fork (it re-made its own threading first)."""
        self._init_threading()

    # -- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            live = [m for m in self.members if not m._finished.is_set()]
            if not live:
                return
            delay = min(m._schedule_delay for m in live)
            if any(m._stop.is_set() for m in live):
                delay = min(delay, _STOPPING_POLL)
            self.wake.wait(delay)
            self.wake.clear()
            self.drain()
            for member in live:
                if member._stop.is_set() and member._export_lock.acquire(blocking=False):
                    try:
                        if member._idle():
                            member._finished.set()
                    finally:
                        member._export_lock.release()

    def drain(self) -> None:
        """Rounds until no member it can serve has anything waiting."""
        hand_over = GilHandOver()
        while True:
            # A member being flushed in another thread is skipped, not waited for.
            held = [m for m in self.members if m._export_lock.acquire(blocking=False)]
            try:
                with self.turns.turn():
                    more = self._round(held, hand_over)
            finally:
                for member in held:
                    member._export_lock.release()
            if not more:
                return

    def _round(self, held: list[BatchingProcessor], hand_over: GilHandOver) -> bool:
        """One round: each member takes up to ROUND_ITEMS; entries several members took are
        converted once, a chunk at a time, with the GIL handed over between chunks once the
        worker has held it a while (`gil`), unless a member's queue is nearly full. Returns
        whether anything was taken."""
        if held:
            held[0]._seal_fan_out()  # what is staged goes to every member's backlog
        taken: dict[BatchingProcessor, deque[_Entry]] = {}
        for member in held:
            if member._unsettled() >= MAX_UNSETTLED:
                continue  # its sink is behind: what waits stays in its backlog (bounded)
            member._stash()
            entries = member._take(ROUND_ITEMS, whole=True)
            if entries:
                taken[member] = deque(entries)
        took = bool(taken)  # `_groups` empties it
        for group, entry in _groups(taken):
            items = _items([entry])
            while True:
                records, failures, seen = convert(islice(items, RECORD_CHUNK))
                if not seen:
                    break
                for member in group:
                    member._gather(records, failures)
                if not any(member._pressed() for member in held):
                    hand_over()
        for member in held:
            if not (member._queue or member._backlog):
                member._end_gathered_batch()  # nothing more waits: the batch goes now
        return took

    def __repr__(self) -> str:
        return f"SharedWorker({', '.join(m.name for m in self.members)})"


def _groups(
    taken: dict[BatchingProcessor, deque[_Entry]],
) -> Iterable[tuple[list[BatchingProcessor], _Entry]]:
    """Each taken entry once, with the members that took it, in every member's own order. A
    member's own queued items (trace records, the SDK's spans) are its alone; a flat chunk from
    the fan-out is usually the same tuple in every member's backlog."""
    while taken:
        for member, entries in list(taken.items()):
            while entries and not entries[0][2]:
                yield [member], entries.popleft()
            if not entries:
                del taken[member]
        if not taken:
            return
        entry = next(iter(taken.values()))[0]
        chunk = entry[1]
        group = [m for m, entries in taken.items() if entries[0][1] is chunk]
        for member in group:
            entries = taken[member]
            entries.popleft()
            if not entries:
                del taken[member]
        yield group, entry
