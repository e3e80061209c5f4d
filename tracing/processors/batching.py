"""The base for processors that do I/O: the agent's thread only appends to a bounded queue; a
background worker turns spans into records and exports them in batches.

A full queue drops the new item and counts it: the agent is never blocked. Export failures are
counted and logged once per kind; the worker carries on with the next batch.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, wait
from itertools import chain, islice
from time import time_ns
from typing import Any

from ..finished import FREEZERS, KIND, LENGTHS, restore
from ..isolation import callback_errors, processor_failed
from ..processor import TracingProcessor
from ..records import ForeignSpanAgents, span_record, trace_record
from ..spans import Span
from ..traces import Trace
from ..validate import record_warnings
from .gil import PRESSED_SHARE, GilHandOver

logger = logging.getLogger("agentoscope.tracing")

_all_processors: weakref.WeakSet[BatchingProcessor] = weakref.WeakSet()

# How many items wait in a processor's queue before they are moved, as one tuple, into its
# backlog (see `_backlog`): by the agent's thread when the queue reaches it, by the worker
# otherwise. A full collection visits every reference a deque holds, chunks or not: 190k queued
# items in three queues cost ~45 ms of it, a few hundred chunks nothing; and what waits in a
# queue that the worker has not visited for a while (it sleeps 0.2-0.5 s, or writes a batch)
# would otherwise grow to tens of thousands of items.
STASH_CHUNK = 256
_SEAL_AT = STASH_CHUNK - 1  # the length before the append that fills a chunk
# Batches a processor has handed on (asynchronous exports: a store's writer thread, OTLP's
# sender) and that are not yet written: past this, its own worker waits, a shared one skips it.
MAX_UNSETTLED = 3


class _ForeignSpan:
    """An SDK span plus the agent name we tracked for it at start."""

    __slots__ = ("agent_name", "span")

    def __init__(self, span: Any, agent_name: str | None) -> None:
        self.span = span
        self.agent_name = agent_name


class _FinishedTrace:
    __slots__ = ("ended_ns", "started_ns", "trace")

    def __init__(self, trace: Any, started_ns: int | None, ended_ns: int | None) -> None:
        self.trace = trace
        self.started_ns = started_ns
        self.ended_ns = ended_ns


def sample_records() -> list[dict[str, Any]]:
    """A finished span's record and its trace's, made as the worker makes them: what an
    exporter's `warm_up` can prepare (and throw away)."""
    from ..span_data import CustomSpanData

    trace = Trace("warm-up", "trace_" + "0" * 32, None, None, ())
    span: Span[Any] = Span(trace.trace_id, None, None, CustomSpanData("warm-up", {"n": 1}), ())
    for item in (trace, span):
        item.start()
        item.finish()
    return [span_record(span), trace_record(trace)]


class Exporter:
    """Where a batching processor's records go: `export(records)` is called on the processor's
    worker thread, one batch at a time; `close()` once at shutdown, after the last export.

    `export` may return a `Future` that completes when the batch is written elsewhere (so the
    worker can convert the next batch meanwhile): the batch is counted as exported or failed
    when it settles, and a flush returns only once every such batch has settled."""

    # Exporters that write record by record (JSONL) set this to convert and export in small
    # chunks: a whole batch of fresh record dicts, alive at once, outlives the young GC
    # generations and in a large process sets off a full collection.
    record_chunk: int | None = None
    # An exporter that sends bytes sets `encodes` and `encode(record)`: the worker encodes each
    # record as soon as it is made, so the dict dies at once (bytes are not tracked by the GC),
    # and `export` receives the encoded batch, written with one call (every write that releases
    # the GIL costs the worker a switch interval to get it back from a busy agent thread).
    encodes: bool = False

    # An exporter whose `export` (or `end_batch`) never waits long (a buffered file write, a
    # hand-off to a writer thread of its own, returning a `Future`) sets `shares_worker`: the
    # batching processors of one fan-out whose exporters all do share one worker thread
    # (`SharedWorker`), which makes each record once for all of them. One thread instead of one
    # per sink: the agent's thread waits for at most one worker's GIL slice. An exporter that
    # may block keeps a thread of its own, so it cannot hold the others up.
    shares_worker: bool = False

    def encode(self, record: dict[str, Any]) -> Any:
        return record

    def export(self, records: list[dict[str, Any]]) -> Future[Any] | None:
        raise NotImplementedError

    # An exporter that writes a batch as a whole but prepares it chunk by chunk (so the records
    # die young, see `record_chunk`) sets `chunked` and implements `export_chunk` and
    # `end_batch`: the worker hands it each chunk of a batch, then ends the batch. `export`
    # stays the whole-batch call for everyone else.
    chunked: bool = False

    def export_chunk(self, records: list[dict[str, Any]]) -> Future[Any] | None:
        """Prepare one chunk of a batch; return a `Future` settled when the batch is written."""
        raise NotImplementedError

    def end_batch(self) -> None:
        """Hand on the batch whose chunks `export_chunk` prepared."""

    def close(self) -> None:
        """Release files and connections. Called once, after the last export."""

    def warm_up(self) -> None:
        """Load now, on the thread that makes the processor (at set-up), what the first batch
        would load on the worker: modules imported there (pyarrow and its compute functions,
        the engine's own) run their C initialisers holding the GIL and add thousands of objects
        that the next full collections walk, in the middle of the agent's run. Never writes
        anything."""

    def after_fork_in_child(self) -> None:
        """Forget threads and handles that belong to the parent process."""


class BatchingProcessor(TracingProcessor):
    """Owns a bounded queue and a worker thread: the agent's thread only appends; the worker
    turns spans into records and hands them to `exporter` in batches.

    For a custom sink, pass an `Exporter`, or subclass and override `export(records)` (and
    optionally `close()`), which have the exporter's contract."""

    # Our own spans carry everything at their end; only the official SDK's need the start.
    skip_own_span_starts = True

    def __init__(
        self,
        exporter: Exporter | None = None,
        *,
        max_queue_size: int = 262_144,
        max_batch_size: int = 2_048,
        schedule_delay: float = 0.2,
        export_trigger: int | None = None,
        name: str | None = None,
    ) -> None:
        if max_queue_size < 1 or max_batch_size < 1:
            raise ValueError("max_queue_size and max_batch_size must be positive")
        if export_trigger is not None and export_trigger < 1:
            raise ValueError("export_trigger must be positive")
        self.exporter = exporter
        self.name = name or type(self).__name__
        self._queue: deque[Any] = deque()
        # What was moved out of `_queue` (or sealed by `SpanFanOut`) but not yet taken, as
        # (count, items, flat) entries: up to STASH_CHUNK items as a tuple, which the collector
        # stops tracking once its items are untracked, or (`flat`) span tuples laid end to end
        # in one. A full collection visits every reference a deque holds; 190k queued items in
        # three queues cost ~45 ms of it, a few hundred chunks nothing.
        self._backlog: deque[tuple[int, tuple[Any, ...], bool]] = deque()
        # The fan-out whose staged spans are also this processor's (see `SpanFanOut`).
        self._fan_out: SpanFanOut | None = None
        self._max_queue_size = max_queue_size
        # Past this many waiting items the worker keeps the GIL (see `_pressed`).
        self._pressed_at = max(1, int(max_queue_size * PRESSED_SHARE))
        self._backlog_len = 0
        self._max_batch_size = max_batch_size
        self._schedule_delay = schedule_delay
        # The worker wakes on its timer, or early when this many items wait (default: half the
        # queue, as the SDK's processor does). Two costs pull against each other in a burst of
        # spans: a worker converting while the agent runs competes with it for the GIL; spans
        # left queued survive into the old GC generation and can trigger a full collection.
        # Neither trigger won reliably in A/B runs here; half the queue did in bench_tracing.
        self._export_trigger = min(
            max_queue_size, export_trigger or max(max_batch_size, max_queue_size // 2)
        )
        # The queue's length at which an append seals a chunk (at the trigger when it is lower:
        # the seal is where the worker is woken).
        self._seal_at = min(_SEAL_AT, self._export_trigger - 1)
        self._foreign_agents = ForeignSpanAgents()
        self._foreign_trace_starts: dict[str, int] = {}
        # Every item ends in exactly one count: `dropped` (refused, or still queued at a shutdown
        # deadline), or taken by the worker and then `exported` or failed (`failed_records`);
        # until then it is `queued`. Moves between counts happen under `_counter_lock`, so
        # `stats()` always adds up: created = exported + dropped + failed + queued.
        self._taken = 0
        self._exported = 0
        self._dropped = 0
        self._errors = 0
        self._failed_records = 0
        self._seen_errors: set[str] = set()
        self._in_flight: deque[tuple[Future[Any], int]] = deque()
        # Under a `SharedWorker` (`_crew`): the records of the batch being gathered (for an
        # exporter that is not `chunked`), and how many the batch holds so far.
        self._crew: Any = None
        self._gathered: list[Any] = []
        self._gathered_count = 0
        self._closed = False
        self._init_threading()
        self._set_backlog_len(0)
        _all_processors.add(self)
        if exporter is not None:
            loaded = len(sys.modules)
            exporter.warm_up()
            if len(sys.modules) != loaded:
                # The modules just loaded (pyarrow, OTel: thousands of objects) are counted as
                # newly promoted, which makes a full collection due early in the agent's run
                # (CPython's is due once promotions reach a quarter of the heap). One now, at
                # set-up, resets that count: the next is due a quarter of the grown heap later.
                gc.collect()

    def _init_threading(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._export_lock = threading.RLock()
        self._counter_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Set by a shared worker once this processor, stopping, has nothing left with it.
        self._finished = threading.Event()

    # -- the agent's side: constant, tiny work ----------------------------------------------

    def on_trace_start(self, trace: Trace) -> None:
        if not isinstance(trace, Trace):  # SDK traces carry no times: note the start here
            self._foreign_trace_starts[trace.trace_id] = time_ns()

    def on_trace_end(self, trace: Trace) -> None:
        # The trace's spans go ahead of its record (the console prints a trace's tree when its
        # record comes; stores take either order).
        self._seal_fan_out()
        if isinstance(trace, Trace):
            self._enqueue(trace)
        else:
            started = self._foreign_trace_starts.pop(trace.trace_id, None)
            self._enqueue(_FinishedTrace(trace, started, time_ns()))
            self._foreign_agents.forget_trace(trace.trace_id)

    def on_span_start(self, span: Span[Any]) -> None:
        if not isinstance(span, Span):
            self._foreign_agents.on_span_start(span)

    def on_span_end(self, span: Span[Any]) -> None:
        if span.__class__ is not Span:  # the official SDK's span: add the agent we tracked
            self._enqueue(_ForeignSpan(span, self._foreign_agents.agent_of(span)))
            return
        # The span goes as a tuple the collector stops tracking (see `finished`), made once for
        # all processors: a span object kept waiting survives into the oldest generation, and
        # 2 such objects a span were most of what set off full collections in a busy run.
        # Under our provider, `SpanFanOut` does this for every batching processor in one call.
        self._enqueue(span.queued_form())

    @property
    def span_fan_out(self) -> Callable[[list[Any]], Any] | None:
        """What our provider calls to join this processor's `on_span_end` with other batching
        processors' (`SpanFanOut`); None for a subclass that has its own `on_span_end`."""
        return SpanFanOut if type(self).on_span_end is BatchingProcessor.on_span_end else None

    def _enqueue(self, item: Any) -> None:
        # Two comparisons in the common case: `_room` is 0 while the processor is closed or
        # its worker not started, so those cases take `_enqueue_slowly` too.
        queue = self._queue
        waiting = len(queue)
        if waiting >= self._room:
            self._enqueue_slowly(item)
            return
        queue.append(item)
        if waiting >= self._seal_at:
            self._seal()

    def _enqueue_slowly(self, item: Any) -> None:
        """A full queue, a closed processor, or the first item (the worker starts)."""
        queue = self._queue
        if self._closed or len(queue) >= self._max_queue_size - self._backlog_len:
            self._drop()
            return
        queue.append(item)
        self._start_worker()
        if len(queue) > self._seal_at:
            self._seal()

    def _seal(self) -> None:
        """The queue holds a chunk: move it into the backlog (once every STASH_CHUNK items,
        ~0.05 µs a span), and wake the worker early if the export trigger is reached."""
        self._stash()
        if self._backlog_len >= self._export_trigger and not self._wake.is_set():
            self._wake.set()

    def _drop(self, count: int = 1) -> None:
        with self._counter_lock:
            first = self._dropped == 0
            self._dropped += count
        if first:
            reason = (
                "the processor is shut down"
                if self._closed
                else f"the queue is full ({self._max_queue_size} items)"
            )
            logger.warning(
                "%s: %s: dropping new spans without slowing the agent; "
                "counts in agentoscope.tracing.stats()",
                self.name,
                reason,
            )

    def _receive(self, count: int, flat: tuple[Any, ...]) -> None:
        """`count` spans sealed by the fan-out, as one flat tuple: kept whole, or dropped whole
        when the queue has no room for them (or the processor is closed)."""
        if self._queue:
            self._stash()  # what the queue holds came first
        with self._counter_lock:
            refused = self._closed or (
                len(self._queue) + self._backlog_len + count > self._max_queue_size
            )
            if not refused:
                self._backlog.append((count, flat, True))
                self._set_backlog_len(self._backlog_len + count)
        if refused:
            self._drop(count)
            return
        if self._thread is None:
            self._start_worker()
        if self._backlog_len >= self._export_trigger and not self._wake.is_set():
            self._wake.set()

    def _start_worker(self) -> None:
        if self._crew is not None:
            self._crew.start()
            return
        with self._counter_lock:
            if self._thread is not None:
                return
            thread = threading.Thread(
                target=self._run, name=f"agentoscope-{self.name}", daemon=True
            )
            self._thread = thread
            self._set_backlog_len(self._backlog_len)  # the fast path opens
        thread.start()

    # -- the worker's side ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._schedule_delay)
            self._wake.clear()
            stopping = self._stop.is_set()
            self._drain()
            if stopping:
                return

    def _drain(self) -> None:
        with self._export_lock:
            self._end_gathered_batch()  # what a shared worker gathered goes first
            queue = self._queue
            chunk = self.record_chunk or self._max_batch_size
            exporter = self.exporter
            # A subclass that overrides `export` gets whole batches through it.
            chunked = exporter is not None and exporter.chunked and not self._overrides_export
            export = exporter.export_chunk if exporter is not None and chunked else self.export
            hand_over = GilHandOver()
            while queue or self._backlog or self._staged():
                self._stash()
                taken = self._take(self._max_batch_size)
                self._seal_fan_out()  # after the take: the queue has room for what is staged
                # Items come one at a time out of the taken entries, each dead once its record
                # is made: a whole batch of them alive at once would set off young collections.
                items = _items(taken)
                while True:
                    records, converted = self._to_records(islice(items, chunk))
                    if not converted:
                        break
                    if records:
                        self._export_batch(records, export)
                    if not self._pressed():
                        hand_over()
                if exporter is not None and chunked:
                    try:
                        exporter.end_batch()
                    except Exception as error:  # the exporter settles the batch's future
                        self._count_error("export", error, "ending a batch failed", 0)
            self._settle(wait=True)

    def _staged(self) -> int:
        fan_out = self._fan_out
        return len(fan_out._staging) if fan_out is not None else 0

    def _seal_fan_out(self) -> None:
        fan_out = self._fan_out
        if fan_out is not None:
            while fan_out._staging:
                fan_out.seal()

    def _set_backlog_len(self, count: int) -> None:
        """The backlog's size, and the bound the agent's thread compares the queue's length
        with (one attribute read on its hot path, as `max_queue_size` alone was): 0 while the
        processor is closed or has no worker, which sends every item to `_enqueue_slowly`."""
        self._backlog_len = count
        open_ = self._thread is not None and not self._closed
        self._room = self._max_queue_size - count if open_ else 0

    def _stash(self) -> None:
        """Move what waits in the queue into the backlog, as chunks."""
        queue, backlog, lock = self._queue, self._backlog, self._counter_lock
        pop = queue.popleft
        while queue:
            with lock:  # moved and counted in one step: stats() stays whole
                # Spans come already frozen (`on_span_end`): the items go as they are.
                chunk = tuple([pop() for _ in range(min(len(queue), STASH_CHUNK))])
                backlog.append((len(chunk), chunk, False))
                self._set_backlog_len(self._backlog_len + len(chunk))

    def _take(self, count: int, whole: bool = False) -> list[tuple[int, tuple[Any, ...], bool]]:
        """Backlog entries holding up to `count` of the oldest items (`whole`: entries are not
        cut, the last may pass `count`), counted as taken."""
        backlog = self._backlog
        taken: list[tuple[int, tuple[Any, ...], bool]] = []
        total = 0
        with self._counter_lock:  # taken and counted in one step (see __init__)
            while backlog and total < count:
                size, chunk, flat = backlog.popleft()
                room = count - total
                if size > room and not whole:
                    cut = _flat_offset(chunk, room) if flat else room
                    backlog.appendleft((size - room, chunk[cut:], flat))
                    size, chunk = room, chunk[:cut]
                taken.append((size, chunk, flat))
                total += size
            self._set_backlog_len(self._backlog_len - total)
            self._taken += total
        return taken

    def _to_records(self, items: Iterable[Any]) -> tuple[list[Any], int]:
        """The records of `items` (or what `encode` makes of them), and how many items were
        converted (failures included)."""
        records: list[Any] = []
        exporter = self.exporter
        encode = exporter.encode if exporter is not None and exporter.encodes else None
        converted = 0
        for item in items:
            converted += 1
            try:
                record = record_of(item)
                records.append(record if encode is None else encode(record))
            except Exception as error:
                self._count_error("convert", error, f"could not convert {item!r}", 1)
        return records, converted

    # -- under a shared worker ---------------------------------------------------------------------

    def _gather(self, records: list[dict[str, Any]], failures: list[tuple[Exception, Any]]) -> None:
        """Records a shared worker made (once for every processor that took the same items)
        join this processor's batch; the batch goes out once it holds `max_batch_size`."""
        for error, item in failures:
            self._count_error("convert", error, f"could not convert {item!r}", 1)
        if not records:
            return
        exporter = self.exporter
        assert exporter is not None  # a shared worker serves processors with an exporter
        if exporter.encodes:
            encoded = []
            for record in records:
                try:
                    encoded.append(exporter.encode(record))
                except Exception as error:
                    self._count_error("convert", error, f"could not encode {record!r}", 1)
            records = encoded
        self._gathered_count += len(records)
        if exporter.chunked:
            self._export_batch(records, exporter.export_chunk)
        else:
            self._gathered.extend(records)
        if self._gathered_count >= self._max_batch_size:
            self._end_gathered_batch()

    def _end_gathered_batch(self) -> None:
        """Hand on the batch a shared worker gathered, if any."""
        if not self._gathered_count:
            return
        exporter = self.exporter
        self._gathered_count = 0
        if exporter is not None and exporter.chunked:
            try:
                exporter.end_batch()
            except Exception as error:  # the exporter settles the batch's future
                self._count_error("export", error, "ending a batch failed", 0)
            return
        records, self._gathered = self._gathered, []
        if records:
            self._export_batch(records, self.export)

    def _pressed(self) -> bool:
        """Whether the queue is nearly full: then the worker stops handing the GIL over to the
        agent's thread (`gil`), since a dropped span is worse than a pause of a few ms."""
        return len(self._queue) + self._backlog_len >= self._pressed_at

    def _unsettled(self) -> int:
        """How many batches (futures) are handed on and not yet written."""
        self._settle(wait=False)
        return len({id(future) for future, _ in self._in_flight if not future.done()})

    def _idle(self) -> bool:
        """Nothing waits, is gathered or is in flight."""
        return not (
            self._queue
            or self._backlog
            or self._staged()
            or self._gathered_count
            or self._unsettled()
        )

    def _export_batch(
        self,
        records: list[dict[str, Any]],
        export: Callable[[list[dict[str, Any]]], Future[Any] | None],
    ) -> None:
        try:
            outcome = export(records)
        except Exception as error:
            self._count_error(
                "export", error, f"export of {len(records)} records failed", len(records)
            )
            return
        if isinstance(outcome, Future):
            self._in_flight.append((outcome, len(records)))
            if self._crew is None:
                # At most MAX_UNSETTLED batches handed on and not written: memory stays
                # bounded when the sink is slower than the agent (a shared worker skips this
                # processor instead of waiting, see `SharedWorker`).
                while self._unsettled() >= MAX_UNSETTLED:
                    wait([self._in_flight[0][0]])
            else:
                self._settle(wait=False)
        else:
            with self._counter_lock:
                self._exported += len(records)

    def _settle(self, wait: bool) -> None:
        """Count the batches whose asynchronous export has finished (all of them: `wait`)."""
        in_flight = self._in_flight
        while in_flight and (wait or in_flight[0][0].done()):
            future, count = in_flight.popleft()
            error = future.exception()  # blocks until the batch is written or has failed
            if error is None:
                with self._counter_lock:
                    self._exported += count
            elif isinstance(error, Exception):
                # A sink that delivered part of a batch says how many it lost (PartlyExported).
                lost = min(count, getattr(error, "records_lost", count))
                with self._counter_lock:
                    self._exported += count - lost
                what = f"{lost} of {count}" if lost < count else f"{count}"
                self._count_error("export", error, f"export of {what} records failed", lost)
            else:
                raise error

    def _count_error(self, stage: str, error: Exception, what: str, lost: int) -> None:
        kind = f"{stage}:{type(error).__name__}"
        with self._counter_lock:
            self._errors += 1
            self._failed_records += lost
            first = kind not in self._seen_errors
            self._seen_errors.add(kind)
        if first:
            logger.error(
                "%s: %s: %s: %s (logged once per kind; counts in agentoscope.tracing.stats())",
                self.name,
                what,
                type(error).__name__,
                error,
            )

    # -- the exporter's side (override these for a custom sink without an Exporter) -------------

    @property
    def record_chunk(self) -> int | None:
        return self.exporter.record_chunk if self.exporter is not None else None

    def export(self, records: list[dict[str, Any]]) -> Future[Any] | None:
        if self.exporter is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no exporter: pass one, or override export()"
            )
        return self.exporter.export(records)

    @property
    def _overrides_export(self) -> bool:
        return type(self).export is not BatchingProcessor.export

    def close(self) -> None:
        """Release files and connections. Called once, after the last export."""
        if self.exporter is not None:
            self.exporter.close()

    # -- lifecycle -------------------------------------------------------------------------------

    def force_flush(self) -> None:
        """Export everything queued so far, in the caller's thread, before returning."""
        self._drain()

    def shutdown(self, timeout: float | None = None) -> None:
        """Drain and close. With a timeout, whatever is still queued at the deadline is dropped
        and counted."""
        if self._closed:
            return
        if self._fan_out is not None:
            # What is staged goes on to every processor of the fan-out; later spans go to each
            # one directly, so this one refuses (and counts) them at once.
            self._fan_out.retire()
        self._closed = True
        with self._counter_lock:
            self._set_backlog_len(self._backlog_len)  # the fast path closes
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._stop.set()
            self._wake.set()
            if self._crew is not None:  # the shared worker says when it is done with this one
                stuck = not self._finished.wait(timeout)
            else:
                thread.join(timeout)
                stuck = thread.is_alive()
            if stuck:
                with self._counter_lock:  # dropped, and no longer queued
                    left = len(self._queue) + self._backlog_len
                    self._queue.clear()
                    self._backlog.clear()
                    self._set_backlog_len(0)
                    self._dropped += left
                logger.warning(
                    "%s: shutdown deadline passed; %d queued items dropped", self.name, left
                )
                return
        self._drain()
        try:
            self.close()
        except Exception as error:
            self._count_error("close", error, "close failed", 0)
        if self._dropped or self._errors:
            logger.warning("%s: at shutdown: %s", self.name, self.stats())

    def _after_fork_in_child(self) -> None:
        self._init_threading()
        self._gathered, self._gathered_count = [], 0  # the parent's batch, not this process's
        if self._crew is not None:
            self._crew.after_fork_in_child()
        if self._fan_out is not None:
            self._fan_out._lock = threading.Lock()  # it may have been held by another thread
        self._set_backlog_len(self._backlog_len)  # no worker here yet: the next item starts one
        self._in_flight = deque()  # the parent's writers do not exist here: never settle
        if self.exporter is not None:
            self.exporter.after_fork_in_child()

    def stats(self) -> dict[str, int]:
        """`created` = `exported` + `dropped` + `failed` + `queued`, at any moment: `queued`
        counts what waits and what the worker holds (converting, or being exported);
        `failed_records` is `failed` under its earlier name."""
        with self._counter_lock:
            waiting = len(self._queue) + self._backlog_len + self._staged()
            held = self._taken - self._exported - self._failed_records
            return {
                "created": self._dropped + self._taken + waiting,
                "queued": waiting + held,
                "exported": self._exported,
                "dropped": self._dropped,
                "failed": self._failed_records,
                "errors": self._errors + callback_errors(self),
                "failed_records": self._failed_records,
            }


def record_of(item: Any) -> dict[str, Any]:
    """The record of a queued item: a span tuple, one of our spans or traces, or the SDK's."""
    if item.__class__ is tuple:
        return span_record(restore(item))
    if isinstance(item, Span):
        return item.to_record()
    if isinstance(item, Trace):
        return trace_record(item)
    if isinstance(item, _ForeignSpan):
        return span_record(item.span, item.agent_name)
    return trace_record(item.trace, item.started_ns, item.ended_ns)


def _flat_offset(chunk: tuple[Any, ...], count: int) -> int:
    """Where the first `count` span tuples of a flat chunk end."""
    offset = 0
    for _ in range(count):
        offset += LENGTHS[chunk[offset + KIND]]
    return offset


def _items(taken: list[tuple[int, tuple[Any, ...], bool]]) -> Iterator[Any]:
    """The items of backlog entries, one by one: a flat entry's span tuples are cut out of it
    as they are reached (each slice dies with its record)."""
    for _count, chunk, flat in taken:
        if not flat:
            yield from chunk
            continue
        start, size = 0, len(chunk)
        while start < size:
            end = start + LENGTHS[chunk[start + KIND]]
            yield chunk[start:end]
            start = end


class SpanFanOut:
    """Every batching processor's `on_span_end` for our spans in one call from the agent's
    thread: the span's tuple is made once and staged once for all the processors, without a
    Python call per processor. Every STASH_CHUNK spans the staged tuples are laid end to end in
    one flat tuple, handed to each processor's backlog (`BatchingProcessor._receive`).

    Why flat: the collector starts a young collection once 700 more tracked objects were made
    than freed, and a span tuple that waits counts as one until it is freed. In a busy run the
    workers drain little while the agent works, so the waiting tuples set off ~280 young
    collections per 200k spans, and each one promotes the agent's live objects (its tasks,
    their coroutines, the open spans) toward the oldest generation until a full collection
    is due. Laid end to end, 256 tuples are freed for one made.

    An error in one processor is counted against it, as the span's own loop does, and the
    others still get the span."""

    __slots__ = ("_chunk", "_lock", "_retired", "_seal_at", "_staging", "processors")

    def __init__(self, processors: list[BatchingProcessor]) -> None:
        self.processors = tuple(processors)
        self._staging: deque[tuple[Any, ...]] = deque()
        self._lock = threading.Lock()
        # A chunk never passes a processor's own sealing point (a small queue stays bounded).
        self._chunk = min([STASH_CHUNK, *(p._seal_at + 1 for p in self.processors)])
        # The first span is sealed at once: that starts the workers (and their timers).
        self._seal_at = 1
        self._retired = False
        for processor in self.processors:
            processor._fan_out = self
        from .shared import SharedWorker, can_share  # it builds on this module

        sharing = [p for p in self.processors if can_share(p)]
        if len(sharing) > 1:
            SharedWorker(sharing)

    def on_span_end(self, span: Span[Any]) -> None:
        if span.__class__ is Span:
            make = FREEZERS.get(span.span_data.__class__)  # `Span.queued_form`, inlined
            if make is not None and not self._retired:
                staging = self._staging
                staging.append(make(span))
                if len(staging) >= self._seal_at:
                    self.seal()
                return
        for processor in self.processors:
            try:
                processor.on_span_end(span)
            except Exception as error:
                processor_failed(processor, "on_span_end", error)

    def seal(self) -> None:
        """Hand up to a chunk of staged spans, as one flat tuple, to every processor."""
        with self._lock:
            staging = self._staging
            count = min(len(staging), self._chunk)
            if not count:
                return
            pop = staging.popleft
            flat = tuple(chain.from_iterable([pop() for _ in range(count)]))
            self._seal_at = self._chunk
            for processor in self.processors:
                try:
                    processor._receive(count, flat)
                except Exception as error:
                    processor_failed(processor, "on_span_end", error)

    def retire(self) -> None:
        """The provider no longer calls this fan-out: hand on what is staged; a span that still
        arrives (from a thread that read the old processors) goes to the processors directly."""
        self._retired = True
        while self._staging:
            self.seal()

    def __repr__(self) -> str:
        return f"SpanFanOut({', '.join(p.name for p in self.processors)})"


def _reset_after_fork() -> None:
    for processor in list(_all_processors):
        processor._after_fork_in_child()


os.register_at_fork(after_in_child=_reset_after_fork)


def stats() -> dict[str, dict[str, int]]:
    """Per processor: created, queued, exported, dropped, failed, errors (see
    `BatchingProcessor.stats`). Includes every
    batching processor alive in this process (also ones added to the official SDK) and, for
    other registered processors, how often their callbacks raised."""
    from ..provider import get_trace_provider

    seen: set[int] = set()
    result: dict[str, dict[str, int]] = {}

    def key_for(name: str) -> str:
        key, n = name, 2
        while key in result:
            key, n = f"{name}#{n}", n + 1
        return key

    warnings = record_warnings()
    if warnings:  # values repaired when spans became records, per field
        result["record_warnings"] = warnings
    for processor in [*get_trace_provider().processors, *list(_all_processors)]:
        if id(processor) in seen:
            continue
        seen.add(id(processor))
        if isinstance(processor, BatchingProcessor):
            result[key_for(processor.name)] = processor.stats()
        else:
            name = getattr(processor, "name", None) or type(processor).__name__
            result[key_for(str(name))] = {"errors": callback_errors(processor)}
    return result
