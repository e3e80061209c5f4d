"""Decoding for `serve`'s worker process: a request as a prepared batch, refused with the reason
when it does not decode; several requests' batches combined into one write that stores exactly
what writing them one by one stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from agentoscope.tracing.otel.decode import OTLPDecodeError
from agentoscope.tracing.serve.workers import decode_and_prepare
from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store.arrow import combine_prepared

START = 1_763_683_200_000_000_000


def _body(trace: int, *spans: tuple[int, int]) -> bytes:
    """A request: spans of trace `trace`, each (span id, parent id or 0)."""
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                scope_spans=[
                    ScopeSpans(
                        spans=[
                            Span(
                                trace_id=trace.to_bytes(16, "big"),
                                span_id=span.to_bytes(8, "big"),
                                parent_span_id=parent.to_bytes(8, "big") if parent else b"",
                                name=f"step {span}",
                                start_time_unix_nano=START + span * 1000,
                                end_time_unix_nano=START + span * 2000,
                            )
                            for span, parent in spans
                        ]
                    )
                ]
            )
        ]
    )
    return request.SerializeToString()


def _columns(store: SpanStore, table: str) -> list[str]:
    return [c for c in store.query(f"SELECT * FROM {table} LIMIT 0").columns if c != "ingested_at"]


def test_a_malformed_request_raises_the_reason() -> None:
    with pytest.raises(OTLPDecodeError, match="invalid OTLP protobuf"):
        decode_and_prepare(b"\xff\xff\xff", "application/x-protobuf")
    assert decode_and_prepare(ExportTraceServiceRequest().SerializeToString(), None) is None


def test_combined_batches_store_what_separate_writes_store(tmp_path: Path) -> None:
    bodies = [
        _body(1, (1, 0), (2, 1)),
        _body(1, (3, 1)),  # the same trace, its root span in the other request
        _body(2, (4, 0)),
    ]
    batches = [decode_and_prepare(body, None) for body in bodies]
    assert all(batch is not None for batch in batches)
    combined = combine_prepared(batches)  # type: ignore[arg-type]
    assert len(combined) == 1
    with (
        SpanStore(tmp_path / "together.duckdb") as together,
        SpanStore(tmp_path / "apart.duckdb") as apart,
    ):
        result = together.write(*combined)
        assert result == apart.write(*batches)  # type: ignore[arg-type]
        for table in ("spans", "traces"):
            columns = ", ".join(_columns(together, table))
            sql = f"SELECT {columns} FROM {table} ORDER BY ALL"
            assert together.query(sql).equals(apart.query(sql))
        assert len(together.query("SELECT * FROM spans")) == 4


def test_batches_that_repeat_an_id_are_written_one_by_one() -> None:
    batches = [decode_and_prepare(_body(1, (1, 0)), None) for _ in range(2)]
    assert combine_prepared(batches) == batches  # type: ignore[arg-type]
