"""Workers hand the GIL over to a waiting agent thread between chunks of records, once they have
held it a while (`processors.gil`): the policy, and that both drain loops apply it."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agentoscope import tracing
from agentoscope.tracing import DuckDBProcessor
from agentoscope.tracing.processors import batching, gil, shared


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_the_worker_sleeps_only_once_it_has_spent_the_interval_of_cpu() -> None:
    clock = _Clock()
    hand_over = gil.GilHandOver(0.001, 0.0001, clock=clock, sleep=clock.sleep)
    clock.now = 0.0009
    hand_over()
    assert clock.slept == []  # under a millisecond of CPU: it keeps the GIL
    clock.now = 0.0010
    hand_over()
    assert clock.slept == [0.0001] and hand_over.hand_overs == 1
    clock.now = 0.0015
    hand_over()  # the interval starts again after each hand-over
    assert hand_over.hand_overs == 1
    clock.now = 0.0021
    hand_over()
    assert hand_over.hand_overs == 2


@pytest.mark.parametrize(("every", "pause"), [(0, 0.0001), (0.001, 0), (-1, 0.0001)])
def test_impossible_intervals_are_refused(every: float, pause: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        gil.GilHandOver(every, pause)


def test_the_default_clock_is_the_calling_threads_cpu_time() -> None:
    # Wall time would make a worker that just waited for the GIL give it away again at once.
    hand_over = gil.GilHandOver()
    time.sleep(0.005)  # asleep: no CPU spent
    hand_over()
    assert hand_over.hand_overs == 0


def _counting(made: list[gil.GilHandOver]) -> Any:
    def factory() -> gil.GilHandOver:
        hand_over = gil.GilHandOver(1e-9, 1e-6)  # hand over after every chunk
        made.append(hand_over)
        return hand_over

    return factory


def _make(spans: int) -> None:
    with tracing.trace("hand-over"):
        for i in range(spans):
            with tracing.custom_span(f"step {i}", {"n": i}):
                pass


def _wait_drained(processors: list[tracing.BatchingProcessor]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(p.stats()["queued"] for p in processors):
        time.sleep(0.01)


def test_the_shared_worker_hands_over_between_chunks_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[gil.GilHandOver] = []
    monkeypatch.setattr(shared, "GilHandOver", _counting(made))
    processors: list[tracing.BatchingProcessor] = [
        tracing.JSONLProcessor(tmp_path / "a.jsonl"),
        DuckDBProcessor(tmp_path / "b.duckdb"),
    ]
    tracing.set_trace_processors(processors)
    _make(4_000)
    _wait_drained(processors)
    for processor in processors:
        processor.shutdown()
    assert processors[0]._thread is processors[1]._thread
    # 4,000 spans in chunks of 128: at least one hand-over a chunk.
    assert sum(h.hand_overs for h in made) >= 4_000 // shared.RECORD_CHUNK
    for processor in processors:
        stats = processor.stats()
        assert stats["exported"] == 4_001 and stats["dropped"] == stats["failed"] == 0
    assert len((tmp_path / "a.jsonl").read_bytes().splitlines()) == 4_001


def test_a_processors_own_worker_hands_over_between_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[gil.GilHandOver] = []
    monkeypatch.setattr(batching, "GilHandOver", _counting(made))
    jsonl = tracing.JSONLProcessor(tmp_path / "alone.jsonl", max_batch_size=256)
    tracing.set_trace_processors([jsonl])
    _make(4_000)
    _wait_drained([jsonl])
    jsonl.shutdown()
    assert sum(h.hand_overs for h in made) >= 4_000 // 256
    assert jsonl.stats()["exported"] == 4_001
    assert len((tmp_path / "alone.jsonl").read_bytes().splitlines()) == 4_001


class _GatedJSONL(tracing.JSONLExporter):
    """Holds its first batch until the gate opens, as a slow disk would."""

    def __init__(self, path: Path, gate: threading.Event) -> None:
        super().__init__(path)
        self.gate = gate
        self.batches = 0

    def export(self, records: Any) -> None:
        self.gate.wait(30)
        self.batches += 1
        super().export(records)


@pytest.mark.parametrize("sinks", [1, 2], ids=["own worker", "shared worker"])
def test_a_worker_keeps_the_gil_while_its_queue_is_nearly_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sinks: int
) -> None:
    gate = threading.Event()
    exporters = [_GatedJSONL(tmp_path / f"{n}.jsonl", gate) for n in range(sinks)]
    processors = [
        tracing.BatchingProcessor(e, max_queue_size=20_000, max_batch_size=128) for e in exporters
    ]

    def pressed() -> bool:  # over 90% of the bound (18,000) waits in some queue
        return any(tracing.BatchingProcessor._pressed(p) for p in processors)

    # Each hand-over notes whether a queue was pressed when it happened (after every chunk).
    hand_overs: list[bool] = []
    seen_pressed = 0  # the workers' own checks that found a queue pressed

    class Watched(gil.GilHandOver):
        def __call__(self) -> None:
            hand_overs.append(pressed())
            super().__call__()

    def check(processor: tracing.BatchingProcessor) -> Any:
        def checked() -> bool:
            nonlocal seen_pressed
            result = tracing.BatchingProcessor._pressed(processor)
            seen_pressed += result and gate.is_set()
            return result

        return checked

    for module in (batching, shared):
        monkeypatch.setattr(module, "GilHandOver", lambda: Watched(1e-9, 1e-6))
    for processor in processors:
        monkeypatch.setattr(processor, "_pressed", check(processor))
    tracing.set_trace_processors(processors)  # type: ignore[arg-type]
    _make(19_999)  # the first batch is held: the queues fill to their bound, nothing dropped
    assert pressed()
    gate.set()
    _wait_drained(processors)  # type: ignore[arg-type]
    for processor in processors:
        processor.shutdown()
        assert processor.stats()["exported"] == 20_000 and processor.stats()["dropped"] == 0
    assert seen_pressed > 0  # the workers drained chunks while a queue was pressed ...
    assert hand_overs and not any(hand_overs)  # ... and handed over only after
