"""Processor isolation, batching, drops, stats and the sensitive-data policy."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from agentoscope import tracing
from support.collect import CollectingProcessor


class RaisingProcessor(CollectingProcessor):
    def on_span_end(self, span: Any) -> None:
        raise RuntimeError("processor bug")


class SlowExport(tracing.BatchingProcessor):
    def __init__(self, gate: threading.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate
        self.records: list[dict[str, Any]] = []

    def export(self, records: list[dict[str, Any]]) -> None:
        self.gate.wait(10)
        self.records.extend(records)


class FailingExport(tracing.BatchingProcessor):
    def __init__(self) -> None:
        super().__init__(max_batch_size=2)
        self.calls = 0
        self.kept: list[dict[str, Any]] = []

    def export(self, records: list[dict[str, Any]]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise OSError("disk full")
        self.kept.extend(records)


def test_raising_processor_is_isolated_logged_once_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad, good = RaisingProcessor(), CollectingProcessor()
    tracing.set_trace_processors([bad, good])
    with caplog.at_level(logging.ERROR, logger="agentoscope.tracing"):
        with tracing.trace("t"):
            for _ in range(5):
                with tracing.function_span("f"):
                    pass
    assert len(good.ended_spans) == 5
    messages = [r.getMessage() for r in caplog.records if "RaisingProcessor" in r.getMessage()]
    assert len(messages) == 1 and "on_span_end" in messages[0]
    assert tracing.stats()["RaisingProcessor"]["errors"] == 5


def test_full_queue_drops_and_counts_without_blocking() -> None:
    gate = threading.Event()
    processor = SlowExport(gate, max_queue_size=10, max_batch_size=5, schedule_delay=0.01)
    tracing.set_trace_processors([processor])
    with tracing.trace("burst"):
        for _ in range(200):
            with tracing.custom_span("c"):
                pass
    dropped = processor.stats()["dropped"]
    assert dropped >= 200 - 10 - 5  # at most a queue and a batch in flight
    gate.set()
    processor.force_flush()
    stats = processor.stats()
    assert stats["dropped"] == dropped
    assert stats["exported"] == len(processor.records) == 201 - dropped
    assert tracing.stats()["SlowExport"]["dropped"] == dropped


def _five_spans_flushed(
    processor: tracing.BatchingProcessor, caplog: pytest.LogCaptureFixture
) -> None:
    """A trace of five custom spans through `processor` alone, flushed, errors logged."""
    tracing.set_trace_processors([processor])
    with caplog.at_level(logging.ERROR, logger="agentoscope.tracing"):
        with tracing.trace("t"):
            for _ in range(5):
                with tracing.custom_span("c"):
                    pass
        processor.force_flush()


def test_export_error_is_counted_and_later_batches_still_export(
    caplog: pytest.LogCaptureFixture,
) -> None:
    processor = FailingExport()
    _five_spans_flushed(processor, caplog)
    stats = processor.stats()
    assert stats["errors"] == 1 and stats["failed_records"] == 2
    assert len(processor.kept) == 4  # 3 remaining spans + the trace
    assert any("disk full" in r.getMessage() for r in caplog.records)


class WritesElsewhere(tracing.BatchingProcessor):
    """Exports asynchronously, as DuckDBProcessor does: export() returns a Future."""

    def __init__(self) -> None:
        super().__init__(max_batch_size=2)
        self.pool = ThreadPoolExecutor(1)
        self.batches = 0
        self.kept: list[dict[str, Any]] = []

    def export(self, records: list[dict[str, Any]]) -> Future[None]:
        self.batches += 1
        failing = self.batches == 2

        def write() -> None:
            time.sleep(0.05)  # still in flight when the next batch is handed over
            if failing:
                raise OSError("write failed")
            self.kept.extend(records)

        return self.pool.submit(write)


def test_asynchronous_export_is_counted_when_it_settles_and_flush_waits_for_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    processor = WritesElsewhere()
    _five_spans_flushed(processor, caplog)  # the flush returns once every batch has settled
    stats = processor.stats()
    assert stats["exported"] == len(processor.kept) == 4
    assert stats["errors"] == 1 and stats["failed_records"] == 2
    assert any("write failed" in r.getMessage() for r in caplog.records)
    processor.shutdown()


def test_unknown_span_type_is_kept() -> None:
    class OddData(tracing.SpanData):
        @property
        def type(self) -> str:
            return "retrieval"

        def export(self) -> dict[str, Any]:
            return {"type": "retrieval", "query": "q"}

    with tracing.trace("t") as t:
        span = tracing.get_trace_provider().create_span(OddData())
        span.start()
        span.finish()
    record = tracing.span_record(span)
    assert record["span_type"] == "retrieval" and record["trace_id"] == t.trace_id
    assert record["data"] == {"type": "retrieval", "query": "q"}


def test_shutdown_drains_and_late_spans_are_counted() -> None:
    gate = threading.Event()
    gate.set()
    processor = SlowExport(gate)
    tracing.set_trace_processors([processor])
    with tracing.trace("t"), tracing.custom_span("c"):
        pass
    processor.shutdown(timeout=5)
    assert len(processor.records) == 2
    with tracing.trace("late"), tracing.custom_span("c"):
        pass
    assert processor.stats()["dropped"] == 2  # the late span and its trace


def _function_record(**policy: Any) -> dict[str, Any]:
    tracing.set_data_policy(**policy)
    with tracing.trace("t"), tracing.function_span("f", input='{"city": "Paris"}') as fn:
        fn.span_data.output = "sunny"
    return tracing.span_record(fn)


def test_sensitive_switch_keeps_inputs_and_outputs_out() -> None:
    record = _function_record(include_sensitive_data=False)
    assert record["data"]["input"] is None and record["data"]["output"] is None
    assert record["name"] == "f"  # the span itself is still there
    with (
        tracing.trace("t"),
        tracing.generation_span(input=[{"role": "user", "content": "secret"}], model="m") as gen,
    ):
        gen.span_data.output = [{"role": "assistant", "content": "x"}]
    data = tracing.span_record(gen)["data"]
    assert data["input"] is None and data["output"] is None and data["model"] == "m"


def test_sensitive_switch_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOSCOPE_INCLUDE_SENSITIVE_DATA", "0")
    tracing.configure()
    assert not tracing.get_data_policy().include_sensitive_data
    record = _function_record()
    assert record["data"]["input"] is None


def test_api_keys_are_always_masked() -> None:
    tracing.set_data_policy(include_sensitive_data=True)
    key = "sk-proj-" + "A1b2C3d4" * 5
    with tracing.trace("t", metadata={"api_key": "plain-secret"}) as t:
        with tracing.function_span("f", input=f'{{"key": "{key}"}}') as fn:
            fn.set_error({"message": f"bad key {key}", "data": {"authorization": "Bearer abc"}})
    record = tracing.span_record(fn)
    text = repr(record)
    assert key not in text and "Bearer abc" not in text
    assert "[masked]" in record["data"]["input"]
    assert tracing.trace_record(t)["metadata"] == {"api_key": "[masked]"}


def test_oversized_fields_are_truncated_with_marker() -> None:
    tracing.set_data_policy(max_field_chars=100)
    with tracing.trace("t"), tracing.function_span("f", input="x" * 1000) as fn:
        pass
    value = tracing.span_record(fn)["data"]["input"]
    assert value.startswith("x" * 100) and value.endswith("[truncated 900 chars]")


def test_redaction_hook_sees_every_record() -> None:
    def drop_metadata(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "metadata": None, "redacted": True}

    tracing.set_data_policy(redact=drop_metadata)
    with tracing.trace("t", metadata={"user": "u1"}) as t, tracing.custom_span("c") as c:
        pass
    assert tracing.trace_record(t)["redacted"] and tracing.span_record(c)["redacted"]


def test_fast_cleaning_never_skips_what_the_exact_rules_catch() -> None:
    """Records skip the slow recursive cleaning only for plain, short, secret-free data; every
    other case still gets masked, truncated or converted."""
    from pydantic import BaseModel

    class Reply(BaseModel):
        text: str

    tracing.set_data_policy(include_sensitive_data=True, max_field_chars=1000)
    cases = {
        "nested secret-named key": {"config": {"client_secret": "hunter2"}},
        "mixed-case header": {"headers": {"Authorization": "Basic abc"}},
        "key in a list": {"args": ["x", "xoxb-1234567890abc"]},
        "pydantic value": {"reply": Reply(text="hi")},
    }
    for label, data in cases.items():
        with tracing.trace("t"), tracing.custom_span("c", data) as span:
            pass
        cleaned = tracing.span_record(span)["data"]["data"]
        text = repr(cleaned)
        assert "hunter2" not in text and "Basic abc" not in text, label
        assert "xoxb-1234567890abc" not in text, label
        assert "Reply(" not in text, label
    assert cleaned == {"reply": {"text": "hi"}}


class KeepingExporter(tracing.Exporter):
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.closed = 0

    def export(self, records: list[dict[str, Any]]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        self.closed += 1


def test_a_batching_processor_hands_batches_to_its_exporter() -> None:
    exporter = KeepingExporter()
    processor = tracing.BatchingProcessor(exporter, max_batch_size=3)
    tracing.set_trace_processors([processor])
    with tracing.trace("exported"):
        for index in range(5):
            with tracing.custom_span(f"step {index}"):
                pass
    processor.shutdown(timeout=5)
    kinds = [record["kind"] for record in exporter.records]
    assert kinds == ["span"] * 5 + ["trace"]
    assert exporter.closed == 1  # once, after the last export
    assert processor.stats()["exported"] == 6


def test_a_batching_processor_without_exporter_says_so(caplog: pytest.LogCaptureFixture) -> None:
    processor = tracing.BatchingProcessor()
    tracing.set_trace_processors([processor])
    with tracing.trace("nowhere"), tracing.custom_span("c"):
        pass
    processor.force_flush()
    assert processor.stats()["failed_records"] == 2
    assert "has no exporter: pass one, or override export()" in caplog.text


def test_span_audio_has_its_own_bound_and_is_never_masked() -> None:
    import base64

    # 3 s of 24 kHz PCM16 is ~192k base64 characters, past the 65,536-character field limit;
    # bytes chosen so the base64 holds an 'sk-'-like run the secret rules would otherwise mask.
    pcm = (b"\xb2\x4b\xe9" * 48_000) + bytes(range(256)) * 200
    audio = base64.b64encode(pcm).decode()
    assert len(audio) > tracing.get_data_policy().max_field_chars
    with tracing.trace("call"), tracing.speech_span(model="m", input="hi", output=audio) as spoken:
        pass
    record = tracing.span_record(spoken)
    assert record["data"]["output"]["data"] == audio  # whole, byte for byte
    assert record["data"]["input"] == "hi"

    tracing.get_data_policy().max_audio_chars = 1_001
    try:
        with tracing.trace("long call"), tracing.transcription_span(input=audio) as heard:
            pass
        kept = tracing.span_record(heard)["data"]["input"]["data"]
    finally:
        tracing.get_data_policy().max_audio_chars = 16 * 1024 * 1024
    head, marker = kept.split("…[truncated ")
    assert head == audio[:1_000] and marker == f"{len(audio) - 1_000} chars]"
    assert base64.b64decode(head)  # the kept part still decodes
