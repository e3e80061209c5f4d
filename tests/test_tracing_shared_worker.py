"""One worker thread for a fan-out's JSONL, DuckDB and OTLP processors: each record made once for
all of them, and a sink that cannot send holding none of the others up."""

from __future__ import annotations

import time
from pathlib import Path

from agentoscope import tracing
from agentoscope.tracing import DuckDBProcessor, OTLPProcessor
from agentoscope.tracing.processors import batching
from support.serve import free_port


def _make(spans: int) -> None:
    with tracing.trace("shared"):
        for i in range(spans):
            with tracing.custom_span(f"step {i}", {"n": i}):
                pass


def test_a_fan_outs_processors_share_one_worker_that_makes_each_record_once(
    tmp_path: Path,
) -> None:
    processors: list[tracing.BatchingProcessor] = [
        tracing.JSONLProcessor(tmp_path / "a.jsonl"),
        tracing.JSONLProcessor(tmp_path / "b.jsonl"),
        DuckDBProcessor(tmp_path / "c.duckdb"),
    ]
    tracing.set_trace_processors(processors)
    made = 0
    original = batching.span_record

    def counted(*args: object, **kwargs: object) -> dict[str, object]:
        nonlocal made
        made += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    batching.span_record = counted  # type: ignore[assignment]
    try:
        _make(3_000)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(p.stats()["queued"] for p in processors):
            time.sleep(0.01)
    finally:
        batching.span_record = original
    threads = {p._thread for p in processors}
    assert len(threads) == 1 and None not in threads
    assert made == 3_000  # once per span, not once per processor
    for processor in processors:
        processor.shutdown()
        stats = processor.stats()
        assert stats["exported"] == 3_001 and stats["dropped"] == stats["failed"] == 0
    for name in ("a.jsonl", "b.jsonl"):
        assert len((tmp_path / name).read_bytes().splitlines()) == 3_001


def test_a_dead_otlp_endpoint_holds_up_no_other_sink_of_the_shared_worker(
    tmp_path: Path,
) -> None:
    jsonl = tracing.JSONLProcessor(tmp_path / "alive.jsonl")
    # Nothing listens: each batch's send fails only after the exporter's retries (10 s).
    otlp = OTLPProcessor(f"http://127.0.0.1:{free_port()}", timeout=10, max_batch_size=64)
    tracing.set_trace_processors([jsonl, otlp])
    _make(2_000)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and jsonl.stats()["exported"] < 2_001:
        time.sleep(0.01)
    assert jsonl._thread is otlp._thread  # one worker serves both
    assert jsonl.stats()["exported"] == 2_001  # while OTLP's first batches still retry
    assert otlp.stats()["exported"] == 0
    jsonl.shutdown()
    otlp.shutdown(timeout=0.1)
    stats = otlp.stats()
    assert (
        stats["created"] == stats["exported"] + stats["dropped"] + stats["failed"] + stats["queued"]
    )
