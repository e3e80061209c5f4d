"""Impossible values in records are repaired with a counted warning naming the field; the record
and its good fields are kept, in the record and in the store."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from agentoscope import tracing
from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.validate import record_warnings
from support.store_spans import span, store_rows, trace_rec


class ForeignSpan:
    """A span as another tracer hands it over: ISO times, its own ids (like the SDK's)."""

    def __init__(self, span_id: Any, started_at: str | None, ended_at: str | None) -> None:
        self.trace_id = "trace_" + "a" * 32
        self.span_id = span_id
        self.parent_id = None
        self.started_at = started_at
        self.ended_at = ended_at
        self.error = None
        self.span_data = tracing.CustomSpanData("foreign", {"k": "v"})


def _grew(before: dict[str, int], field: str) -> int:
    return record_warnings().get(field, 0) - before.get(field, 0)


def test_end_before_start_is_clamped_to_the_start(caplog: pytest.LogCaptureFixture) -> None:
    before = record_warnings()
    with caplog.at_level(logging.WARNING, logger="agentoscope.tracing"):
        span = ForeignSpan("s1", "2026-01-01T10:00:01+00:00", "2026-01-01T10:00:00+00:00")
        record = tracing.span_record(span)
    assert record["started_at"] == record["ended_at"] == "2026-01-01T10:00:01.000000+00:00"
    assert record["duration_ms"] == 0 and record["name"] == "foreign"
    assert record["data"]["data"] == {"k": "v"}
    assert _grew(before, "ended_at") == 1
    assert tracing.stats()["record_warnings"]["ended_at"] >= 1


def test_absurd_and_unreadable_times_are_dropped_the_rest_kept() -> None:
    before = record_warnings()
    record = tracing.span_record(
        ForeignSpan("s2", "2026-01-01T10:00:00+00:00", "2554-07-21T23:34:33")
    )
    assert record["started_at"] == "2026-01-01T10:00:00.000000+00:00"
    assert record["ended_at"] is None and record["duration_ms"] is None
    assert _grew(before, "ended_at") == 1
    record = tracing.span_record(ForeignSpan("s3", "yesterday", "2026-01-01T10:00:00+00:00"))
    assert record["started_at"] is None and record["ended_at"] is not None
    assert _grew(before, "started_at") == 1


def test_token_counts_that_are_not_counts_are_dropped_by_field() -> None:
    before = record_warnings()
    usage = {"input_tokens": "many", "output_tokens": 7, "total_tokens": -3}
    with tracing.trace("t"), tracing.generation_span(model="m", usage=usage) as gen:
        pass
    record = tracing.span_record(gen)
    assert record["input_tokens"] is None and record["output_tokens"] == 7
    assert record["total_tokens"] is None and record["model"] == "m"
    assert _grew(before, "input_tokens") == 1 and _grew(before, "total_tokens") == 1
    with tracing.trace("t"), tracing.generation_span(usage={"input_tokens": "12"}) as gen:
        pass
    assert tracing.span_record(gen)["input_tokens"] == 12  # numeric text is a count


def test_a_numeric_span_id_is_kept_as_text_and_named_when_refused() -> None:
    before = record_warnings()
    record = tracing.span_record(ForeignSpan(12345, None, None))
    assert record["span_id"] == "12345" and _grew(before, "span_id") == 1
    line = {"v": 1, "kind": "span", "trace_id": "t", "span_id": 12345, "span_type": "custom"}
    assert tracing.check_record(line) == "'span_id' must be text, got int 12345"
    assert tracing.check_record({**line, "span_id": None}) == "missing 'span_id'"


def test_the_store_keeps_repaired_rows(tmp_path: Path) -> None:
    from agentoscope.tracing import DuckDBProcessor

    processor = DuckDBProcessor(tmp_path / "t.duckdb")
    tracing.set_trace_processors([processor])
    with tracing.trace("t"):
        with tracing.generation_span(model="m", usage={"input_tokens": "many"}):
            pass
    backwards = ForeignSpan("s9", "2026-01-01T10:00:01+00:00", "2026-01-01T10:00:00+00:00")
    processor.on_span_end(backwards)  # type: ignore[arg-type]
    processor.force_flush()
    assert processor.store is not None
    rows = processor.store.query_arrow(
        "SELECT span_id, duration_ms, input_tokens, model FROM spans ORDER BY span_id"
    ).to_pylist()
    by_id = {row["span_id"]: row for row in rows}
    assert by_id["s9"]["duration_ms"] == 0
    generation = next(row for row in rows if row["model"] == "m")
    assert generation["input_tokens"] is None


def _jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


def test_jsonl_ingest_repairs_impossible_values_by_field_and_keeps_the_rows(
    tmp_path: Path,
) -> None:
    """A file from elsewhere (another writer's JSONL, a spool) is held to the same rules as the
    spans recorded here: each impossible value repaired and counted under its field."""
    start, end = "2026-01-01T10:00:01.000000+00:00", "2026-01-01T10:00:02.000000+00:00"
    source = _jsonl(
        tmp_path / "foreign.jsonl",
        [
            trace_rec("t1", started_at=end, ended_at=start, duration_ms=-1000.0),
            span("t1", "clean", started_at=start, ended_at=end, model="m", input_tokens=7),
            span("t1", "backwards", started_at=end, ended_at=start, duration_ms=-1000.0),
            span("t1", "unset", started_at=start, ended_at=2**64 - 1),
            span("t1", "epoch", started_at="1970-01-01T00:00:00+00:00", ended_at=end),
            span("t1", "many", started_at=start, ended_at=end, input_tokens="many", model="m"),
            span("t1", "minus", started_at=start, ended_at=end, output_tokens=-5),
            span("t1", "float", started_at=start, ended_at=end, total_tokens=3.5),
        ],
    )
    before = record_warnings()
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        report = store.ingest_jsonl(source)
    assert (report.spans, report.traces, report.malformed_count) == (7, 1, 0)
    rows = {row["span_id"]: row for row in store_rows(path, "SELECT * FROM spans")}
    assert rows["clean"]["input_tokens"] == 7 and rows["clean"]["duration_ms"] == 1000
    assert rows["backwards"]["ended_at"] == rows["backwards"]["started_at"]
    assert rows["backwards"]["duration_ms"] == 0
    assert rows["unset"]["ended_at"] is None and rows["unset"]["started_at"] is not None
    assert rows["epoch"]["started_at"] is None and rows["epoch"]["ended_at"] is not None
    assert rows["many"]["input_tokens"] is None and rows["many"]["model"] == "m"
    assert rows["minus"]["output_tokens"] is None
    assert rows["float"]["total_tokens"] is None
    (trace,) = store_rows(path, "SELECT * FROM traces")
    assert trace["ended_at"] == trace["started_at"] and trace["duration_ms"] == 0
    grew = {field: _grew(before, field) for field in record_warnings()}
    assert grew["ended_at"] == 3  # two ends before their start, one 2^64-1 ns
    assert grew["started_at"] == 1
    assert grew["input_tokens"] == grew["output_tokens"] == grew["total_tokens"] == 1


def test_a_clean_file_keeps_the_fast_path_and_repairs_nothing(tmp_path: Path) -> None:
    start, end = "2026-01-01T10:00:01.000000+00:00", "2026-01-01T10:00:02.000000+00:00"
    source = _jsonl(
        tmp_path / "clean.jsonl",
        [trace_rec("t1")]
        + [span("t1", f"s{n}", started_at=start, ended_at=end, input_tokens=n) for n in range(5)],
    )
    before = record_warnings()
    with SpanStore(tmp_path / "s.duckdb") as store:
        report = store.ingest_jsonl(source)
    assert (report.spans, report.fast_files) == (5, 1)
    assert record_warnings() == before
