"""Spans waiting in a long queue cost the garbage collector nothing, and come out the same; DuckDB
writes a batch prepared in chunks as one."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import orjson

from agentoscope import tracing
from agentoscope.tracing import DuckDBProcessor, span_record
from agentoscope.tracing.processors import batching
from support.collect import CollectingProcessor


def _every_kind_of_span() -> None:
    with tracing.trace("queued", metadata={"team": "a"}):
        with tracing.agent_span("planner", handoffs=["b"], tools=["search"]):
            with tracing.function_span("search", input='{"q": 1}', output="found", call_id="c1"):
                pass
            with tracing.generation_span(
                input=[{"role": "user", "content": "hi"}],
                output=[{"role": "assistant", "content": "hello"}],
                model="gpt-4o",
                usage={"input_tokens": 3, "output_tokens": 2},
            ):
                pass
            with tracing.custom_span("step", {"n": 1, "nested": {"k": [1, 2]}}):
                pass
            with tracing.custom_span("plain"):
                pass
            with tracing.guardrail_span("no-pii", triggered=True):
                pass
            with tracing.handoff_span("planner", "writer"):
                pass
            with tracing.custom_span("given id", span_id="span_given_000000000001"):
                pass
            with tracing.task_span("task"), tracing.turn_span(1, "planner"):
                pass
            with tracing.response_span(), tracing.mcp_tools_span("fs", ["read"]):
                pass
            with tracing.speech_group_span("hi"), tracing.speech_span(model="tts", input="hi"):
                pass
            with tracing.transcription_span(model="stt", output="hello"):
                pass
            span = tracing.function_span("broken")
            span.start()
            span.set_error({"message": "tool failed", "data": {"type": "ValueError"}})
            span.finish()


def test_spans_queued_as_tuples_export_the_records_of_the_spans(tmp_path: Path) -> None:
    seen = CollectingProcessor()
    jsonl = tracing.JSONLProcessor(tmp_path / "spans.jsonl")
    tracing.set_trace_processors([seen, jsonl])
    _every_kind_of_span()
    jsonl.shutdown()
    lines = [orjson.loads(line) for line in (tmp_path / "spans.jsonl").read_bytes().splitlines()]
    written = {line["span_id"]: line for line in lines if line["kind"] == "span"}
    expected = {span.span_id: span_record(span) for span in seen.ended_spans}
    assert len(expected) == 16 and written == expected
    assert written["span_given_000000000001"]["name"] == "given id"


def _tracked_after(spans: int, processors: list[Any]) -> int:
    tracing.set_trace_processors(processors)
    gc.collect()
    before = len(gc.get_objects())
    with tracing.trace("many"):
        for i in range(spans):
            with tracing.function_span("tool", input="q", output=f"result {i}"):
                pass
    gc.collect()
    return len(gc.get_objects()) - before


def test_waiting_spans_are_not_tracked_by_the_collector(tmp_path: Path) -> None:
    # The workers sleep (a long schedule, a trigger past the spans made): the spans all wait.
    processors = [
        tracing.JSONLProcessor(tmp_path / f"{name}.jsonl", schedule_delay=60) for name in ("a", "b")
    ]
    tracked = _tracked_after(2_000, processors)
    # As span objects they were 2 or more tracked objects a span (4,000+ here).
    assert tracked < 100
    for processor in processors:
        # What waits is in chunks: a full collection visits a few references, not 2,000.
        assert len(processor._queue) < batching.STASH_CHUNK
        assert len(processor._backlog) <= 2_000 // batching.STASH_CHUNK + 2
        processor.shutdown()
        assert processor.stats()["exported"] == 2_001 and processor.stats()["queued"] == 0
    assert len((tmp_path / "a.jsonl").read_bytes().splitlines()) == 2_001


def test_waiting_spans_set_off_no_young_collections(tmp_path: Path) -> None:
    # Each young collection promotes the agent's live objects toward the oldest generation (and
    # so brings a full one nearer): spans that wait must not count as new objects, or 20k of
    # them set off ~28 young collections.
    processors = [
        tracing.JSONLProcessor(tmp_path / f"{name}.jsonl", schedule_delay=60) for name in "abc"
    ]
    tracing.set_trace_processors(processors)
    young: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 0:
            young.append(1)

    gc.collect()
    gc.callbacks.append(count)
    try:
        with tracing.trace("many"):
            for _ in range(20_000):
                with tracing.custom_span("step"):
                    pass
    finally:
        gc.callbacks.remove(count)
    assert len(young) <= 3
    for processor in processors:
        processor.shutdown()
        assert processor.stats()["exported"] == 20_001


def test_duckdb_writes_a_batch_prepared_in_chunks_whole(tmp_path: Path) -> None:
    processor = DuckDBProcessor(tmp_path / "chunks.duckdb", max_batch_size=1_500)
    assert processor.exporter.record_chunk is not None and processor.exporter.record_chunk < 1_500
    tracing.set_trace_processors([processor])
    with tracing.trace("chunked"):
        for i in range(3_000):
            with tracing.custom_span(f"step {i}"):
                pass
    processor.force_flush()
    stats = processor.stats()
    assert stats["exported"] == 3_001 and stats["queued"] == 0 and stats["failed"] == 0
    store = processor.store
    assert store is not None
    counted = store.query("SELECT count(DISTINCT name) AS n FROM spans")["n"].tolist()
    assert counted == [3_000]
    processor.shutdown()


def test_otlp_batches_hold_no_tracked_spans_through_the_export_call() -> None:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from agentoscope.tracing import OTLPProcessor

    seen: list[tuple[str, int | None]] = []
    alive_during_send: list[int] = []

    class Sending(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            seen.extend((span.name, span.parent.span_id if span.parent else None) for span in spans)
            # What an HTTP or gRPC call would wait with: the encoded batch only.
            gc.collect()
            alive_during_send.append(
                sum(isinstance(o, ReadableSpan) for o in gc.get_objects())
                + sum(gc.is_tracked(item) for item in spans._items)
            )
            return SpanExportResult.SUCCESS

    processor = OTLPProcessor(exporter=Sending())
    tracing.set_trace_processors([processor])
    with tracing.trace("sent"):
        for i in range(300):
            with tracing.function_span("tool", input="q", output=f"result {i}"):
                pass
    processor.shutdown()
    assert processor.stats()["exported"] == 301 and processor.stats()["failed"] == 0
    roots = [name for name, parent in seen if parent is None]
    assert roots == ["invoke_workflow sent"] and len(seen) == 301
    assert {name for name, parent in seen if parent is not None} == {"execute_tool tool"}
    assert alive_during_send and set(alive_during_send) == {0}


def test_the_first_batches_import_nothing_on_the_workers(tmp_path: Path) -> None:
    # Imports on a worker in the middle of a run hold the GIL and grow the collector's heap:
    # the processors load what their first batch needs when they are made.
    program = f"""
import sys
from agentoscope import tracing
from agentoscope.tracing import DuckDBProcessor, OTLPProcessor
processors = [
    tracing.JSONLProcessor({str(tmp_path / "a.jsonl")!r}),
    DuckDBProcessor({str(tmp_path / "a.duckdb")!r}),
    OTLPProcessor("http://127.0.0.1:9", timeout=0.1),
]
tracing.set_trace_processors(processors)
before = set(sys.modules)
with tracing.trace("first"):
    with tracing.custom_span("step", {{"n": 1}}):
        pass
    for processor in processors:  # a span without its trace record, then the record
        processor.force_flush()  # the OTLP endpoint is dead: its batch is sent and fails
for processor in processors:
    processor.force_flush()
print(sorted(set(sys.modules) - before))
print("pandas" in sys.modules)
"""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    loaded_by_first_batches, pandas_loaded = out.strip().splitlines()[-2:]
    assert loaded_by_first_batches == "[]"
    # Nor does tracing load pandas at all (~33k objects for every full collection to walk):
    # pyarrow imports it from `pa.array`, which the store's writer path does not call.
    assert pandas_loaded == "False"
