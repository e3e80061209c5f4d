"""Spans exported by OTLPProcessor over real sockets into `serve` come back out of the store
exactly as the same records stored directly: every span type, over HTTP and over gRPC."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agentoscope import tracing
from agentoscope.tracing.processors.otlp import OTLPProcessor
from agentoscope.tracing.store import SpanStore
from support.serve import EVERY_FACTORY_TYPE, RecordKeeper, make_every_span_type, running_service

SPANS_SQL = "SELECT * FROM spans ORDER BY span_id"
TRACES_SQL = "SELECT * FROM traces ORDER BY trace_id"


def _endpoint(service: Any, protocol: str) -> str:
    if protocol == "grpc":
        return f"http://127.0.0.1:{service.grpc_port}"
    return service.http_url


def _naive_utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=None)


def _assert_same_rows(served: pd.DataFrame, direct: pd.DataFrame) -> None:
    assert list(served.columns) == list(direct.columns)
    assert len(served) == len(direct)
    for column in direct.columns:
        pd.testing.assert_series_equal(served[column], direct[column], check_names=True, obj=column)


@pytest.mark.parametrize("decode_workers", [1, 0])
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_every_span_type_round_trips_exactly(
    tmp_path: Path, protocol: str, decode_workers: int
) -> None:
    """Decoded in a worker process (what `agentoscope serve` does) or in serve's own."""
    with running_service(tmp_path / "served.duckdb", decode_workers=decode_workers) as service:
        exporter = OTLPProcessor(
            endpoint=_endpoint(service, protocol),
            protocol=protocol,
            capture_content=True,
            schedule_delay=0.05,
        )
        keeper = RecordKeeper()
        tracing.set_trace_processors([keeper, exporter])
        trace_id = make_every_span_type()
        tracing.flush_traces()
        assert exporter.stats()["failed_batches"] == 0
        assert exporter.stats()["exported"] == len(keeper.records)
        served_spans = service.query(SPANS_SQL)
        served_traces = service.query(TRACES_SQL)

    with SpanStore(tmp_path / "direct.duckdb") as direct:
        direct.ingest(keeper.records)
        _assert_same_rows(served_spans, direct.query(SPANS_SQL))
        _assert_same_rows(served_traces, direct.query(TRACES_SQL))

    assert set(served_spans["span_type"]) == EVERY_FACTORY_TYPE
    rows = served_spans.set_index("span_id")
    span_records = [r for r in keeper.records if r["kind"] == "span"]
    assert len(rows) == len(span_records)
    for record in span_records:
        row = rows.loc[record["span_id"]]
        what = f"{record['span_type']} {record['span_id']}"
        assert row["trace_id"] == trace_id, what
        assert (row["parent_id"] if pd.notna(row["parent_id"]) else None) == record["parent_id"], (
            what
        )
        assert row["span_type"] == record["span_type"], what
        assert row["name"] == record["name"], what
        assert row["started_at"] == _naive_utc(record["started_at"]), what
        assert row["ended_at"] == _naive_utc(record["ended_at"]), what
        assert row["duration_ms"] == record["duration_ms"], what
        assert row["status"] == record["status"], what
        for field in (
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cached_input_tokens",
            "reasoning_tokens",
        ):
            value = row[field]
            assert (None if pd.isna(value) else int(value)) == record[field], f"{what} {field}"
        assert json.loads(row["data"]) == record["data"], what
    failed = rows.loc[next(r["span_id"] for r in span_records if r["status"] == "error")]
    assert (failed["error_type"], failed["error_message"]) == ("ValueError", "tool exploded")
    generation = rows[rows["span_type"] == "generation"].iloc[0]
    assert (
        generation["input_tokens"],
        generation["cached_input_tokens"],
        generation["reasoning_tokens"],
    ) == (12, 2, 3)

    trace = served_traces.set_index("trace_id").loc[trace_id]
    assert trace["workflow_name"] == "every type"
    assert trace["group_id"] == "group_every"
    assert json.loads(trace["metadata"]) == {"tenant": "t1"}


def test_content_stays_home_unless_captured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off by default: model and tool inputs/outputs do not leave the process over OTLP; the env
    switch turns them on."""
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    with running_service(tmp_path / "served.duckdb", grpc_port=None) as service:
        exporter = OTLPProcessor(endpoint=service.http_url, schedule_delay=0.05)
        assert exporter.capture_content is False
        tracing.set_trace_processors([exporter])
        with tracing.trace("private"):
            with tracing.function_span("lookup", input="secret question", output="secret answer"):
                pass
        tracing.flush_traces()
        data = json.loads(service.query("SELECT data FROM spans")["data"][0])
    assert data["name"] == "lookup"
    assert data["input"] is None and data["output"] is None

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    assert OTLPProcessor(endpoint="http://127.0.0.1:9").capture_content is True
