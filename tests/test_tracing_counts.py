"""Counts add up: for every batching processor, at any moment and after shutdown,
created = exported + dropped + failed + queued, and created is what the agent made. Tried with a
raising exporter, a full queue and a dead OTLP endpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agentoscope import tracing
from support.serve import free_port


def _adds_up(stats: dict[str, int]) -> bool:
    parts = stats["exported"] + stats["dropped"] + stats["failed"] + stats["queued"]
    return stats["created"] == parts and min(stats.values()) >= 0


@contextmanager
def _watched(processor: tracing.BatchingProcessor) -> Iterator[list[dict[str, int]]]:
    """Samples `stats()` from another thread while the body runs, as a dashboard would."""
    samples: list[dict[str, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(processor.stats())
            stop.wait(0.0005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield samples
    finally:
        stop.set()
        sampler.join()


def _make(spans: int, traces: int = 1) -> int:
    for _ in range(traces):
        with tracing.trace("counted"):
            for _ in range(spans):
                with tracing.custom_span("c"):
                    pass
    return traces * (spans + 1)


class RaisingEveryOther(tracing.Exporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, records: list[dict[str, Any]]) -> None:
        self.calls += 1
        if self.calls % 2 == 0:
            raise OSError("disk full")


class Gated(tracing.Exporter):
    def __init__(self) -> None:
        self.gate = threading.Event()

    def export(self, records: list[dict[str, Any]]) -> None:
        self.gate.wait(30)


def test_a_raising_exporter_keeps_the_counts_whole() -> None:
    processor = tracing.BatchingProcessor(
        RaisingEveryOther(), max_batch_size=7, schedule_delay=0.001
    )
    tracing.set_trace_processors([processor])
    with _watched(processor) as samples:
        made = _make(500, traces=4)
    processor.shutdown()
    final = processor.stats()
    assert samples and all(_adds_up(sample) for sample in samples)
    assert final["created"] == made and final["queued"] == 0 and final["dropped"] == 0
    assert final["failed"] > 0 and final["exported"] > 0 and _adds_up(final)


def test_a_full_queue_counts_each_item_once() -> None:
    exporter = Gated()
    processor = tracing.BatchingProcessor(
        exporter, max_queue_size=50, max_batch_size=10, schedule_delay=0.001
    )
    tracing.set_trace_processors([processor])
    with _watched(processor) as samples:
        made = _make(400)
        blocked = processor.stats()  # the worker holds a batch, the queue is full
        exporter.gate.set()
        processor.shutdown()
    final = processor.stats()
    assert _adds_up(blocked) and blocked["dropped"] > 0 and blocked["queued"] >= 50
    assert all(_adds_up(sample) for sample in samples)
    assert final["created"] == made and final["queued"] == 0
    assert final["exported"] + final["dropped"] == made and _adds_up(final)


def test_a_shutdown_deadline_moves_what_waits_to_dropped_not_both() -> None:
    exporter = Gated()
    processor = tracing.BatchingProcessor(exporter, max_batch_size=10, schedule_delay=0.001)
    tracing.set_trace_processors([processor])
    made = _make(200)
    processor.shutdown(timeout=0.05)  # the worker is stuck in export
    after = processor.stats()
    # What waited is dropped; the batch in the worker's hands is still queued (in flight).
    assert after["created"] == made and _adds_up(after)
    assert 0 < after["queued"] <= 10 and after["dropped"] >= made - 20
    exporter.gate.set()
    assert processor._thread is not None
    processor._thread.join(10)
    settled = processor.stats()
    assert settled["queued"] == 0 and settled["exported"] == after["queued"] and _adds_up(settled)


def test_a_dead_otlp_endpoint_counts_every_record_once() -> None:
    from agentoscope.tracing import OTLPProcessor

    processor = OTLPProcessor(
        f"http://127.0.0.1:{free_port()}", timeout=0.5, max_batch_size=64, schedule_delay=0.01
    )
    tracing.set_trace_processors([processor])
    with _watched(processor) as samples:
        made = _make(300)
        processor.shutdown(timeout=0.2)
        after = processor.stats()
        assert processor._thread is not None
        processor._thread.join(30)  # the exporter is shut down: its retries end
    settled = processor.stats()
    assert all(_adds_up(sample) for sample in samples)
    assert after["created"] == made and _adds_up(after)
    assert settled["created"] == made and settled["queued"] == 0 and settled["exported"] == 0
    assert settled["failed"] + settled["dropped"] == made and settled["failed"] > 0
