"""A span is (trace_id, span_id) everywhere: the same span ids under another trace are other
spans; the same span sent again (even with other times) is stored once, the first copy kept;
through records, prepared batches written together (serve), JSONL files and OTLP into serve; and
a migration removes the repeats older stores hold."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from agentoscope.tracing.store import IngestResult, SpanStore
from agentoscope.tracing.store.arrow import combine_prepared
from support.serve import running_service
from support.store_spans import span, store_rows, trace_rec

LATER = {
    "started_at": "2026-01-03T00:00:00.000000+00:00",
    "ended_at": "2026-01-03T00:00:02.000000+00:00",
    "duration_ms": 2000.0,
}


def _spans(store: SpanStore, trace_id: str) -> list[str]:
    frame = store.query("SELECT span_id FROM spans WHERE trace_id = ? ORDER BY 1", [trace_id])
    return list(frame["span_id"])


def test_the_same_span_ids_under_another_trace_are_stored(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store:
        assert store.ingest([span("t1", "s1"), span("t1", "s2")]).spans == 2
        assert store.ingest([span("t2", "s1"), span("t2", "s2")]) == IngestResult(spans=2)
        # ... and in one batch.
        assert store.ingest([span("t3", "s1"), span("t4", "s1")]) == IngestResult(spans=2)
        for trace_id in ("t1", "t2"):
            assert _spans(store, trace_id) == ["s1", "s2"]
        assert _spans(store, "t4") == ["s1"]


def test_the_same_span_twice_is_one_span_and_the_first_copy_wins(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store:
        store.ingest([trace_rec("t1"), span("t1", "s1", name="first")])
        # Sent again two days later with new times and another name: a duplicate.
        again = store.ingest([span("t1", "s1", name="second", **LATER)])
        assert again == IngestResult(duplicates=1)
        # Repeated inside one batch: the first copy of the batch.
        inside = store.ingest([span("t1", "s2", name="a"), span("t1", "s2", name="b", **LATER)])
        assert inside == IngestResult(spans=1, duplicates=1)
        rows = store.query("SELECT span_id, name FROM spans ORDER BY 1")
        assert rows.values.tolist() == [["s1", "first"], ["s2", "a"]]


def test_prepared_batches_of_two_traces_with_the_same_span_ids_are_both_stored(
    tmp_path: Path,
) -> None:
    """What serve's writer does with requests that arrive together (combine_prepared)."""
    with SpanStore(tmp_path / "s.duckdb") as store:
        first = store.prepare([span("t1", "s1"), span("t1", "s2")])
        second = store.prepare([span("t2", "s1"), span("t2", "s2")])
        combined = combine_prepared([first, second])
        assert len(combined) == 1  # no span is in both: one batch
        assert store.write(*combined) == IngestResult(spans=4)
        repeat = combine_prepared(
            [store.prepare([span("t1", "s1")]), store.prepare([span("t1", "s1", **LATER)])]
        )
        assert len(repeat) == 2  # the same span in both: written one after the other
        assert store.write(*repeat) == IngestResult(duplicates=2)


def test_agent_names_are_filled_from_the_parent_in_the_same_trace(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store:
        for trace_id, agent in (("t1", "Planner"), ("t2", "Writer")):
            store.ingest(
                [
                    span(trace_id, "child", parent_id="root"),
                    span(trace_id, "root", span_type="agent", name=agent),
                ]
            )
        rows = store.query("SELECT trace_id, agent_name FROM spans WHERE span_id = 'child'")
        assert sorted(rows.values.tolist()) == [["t1", "Planner"], ["t2", "Writer"]]


def test_jsonl_files_key_spans_by_trace_and_span(tmp_path: Path) -> None:
    lines = [span("t1", "s1"), span("t2", "s1"), span("t1", "s1"), trace_rec("t1")]
    first = tmp_path / "a.jsonl"
    first.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    later = tmp_path / "b.jsonl"
    later.write_bytes(orjson.dumps(span("t2", "s1", **LATER)) + b"\n")
    with SpanStore(tmp_path / "s.duckdb") as store:
        report = store.ingest_jsonl([first, later])
        assert report.fast_files == 2
        assert (report.spans, report.duplicates) == (2, 2)
        assert store.query("SELECT trace_id FROM spans ORDER BY 1")["trace_id"].tolist() == [
            "t1",
            "t2",
        ]


def test_serve_stores_the_same_span_ids_under_two_traces(tmp_path: Path) -> None:
    def request(trace: int, start: int) -> bytes:
        spans = [
            Span(
                trace_id=trace.to_bytes(16, "big"),
                span_id=index.to_bytes(8, "big"),
                name="step",
                start_time_unix_nano=start,
                end_time_unix_nano=start + 1000,
            )
            for index in (1, 2, 3)
        ]
        message = ExportTraceServiceRequest(
            resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
        )
        return message.SerializeToString()

    start = 1_763_683_200_000_000_000
    with running_service(tmp_path / "s.duckdb", grpc_port=None, decode_workers=1) as service:
        url = f"{service.http_url}/v1/traces"
        headers = {"Content-Type": "application/x-protobuf"}
        for body in (request(1, start), request(2, start), request(1, start + 10**12)):
            assert httpx.post(url, content=body, headers=headers).status_code == 200
        counts = service.query("SELECT trace_id, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1")
        assert counts["n"].tolist() == [3, 3]
        assert service.health()["ingest"]["spans"] == 6


def test_the_migration_keeps_one_copy_of_each_span(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with SpanStore(path) as store:
        store.ingest(
            [
                trace_rec("t1"),
                span("t1", "a1", span_type="agent", name="Planner", status="error"),
            ]
        )
        # What stores before migration 3 could hold: the same span twice, other times.
        cursor = store._cursor
        cursor.execute(
            "INSERT INTO spans SELECT * REPLACE (started_at + INTERVAL 2 DAY AS started_at, "
            "'copy' AS name) FROM spans"
        )
        for statement in (  # and nothing of migrations 4-9 (the rollups, the sessions)
            "DELETE FROM schema_version WHERE version >= 3",
            "DROP TABLE latency_hours",
            "DROP TABLE span_hours",
            "DROP TABLE trace_counts",
            "DROP TABLE trace_agent_counts",
            "DROP TABLE trace_error_counts",
            "DROP TABLE span_quarters",
            "DROP TABLE slowest_spans",
            "DROP TABLE trace_costs",
            "DROP TABLE trace_cost_quarters",
            "DROP TABLE sessions",
            "DELETE FROM rollups WHERE name <> 'agent_days'",
            "ALTER TABLE rollups ALTER complete_until TYPE DATE",
        ):
            cursor.execute(statement)
        assert len(store.query("SELECT * FROM spans")) == 2
    with SpanStore(path) as store:
        assert store.schema_version == 9
        rows = store.query("SELECT name, started_at FROM spans")
        assert rows["name"].tolist() == ["Planner"]
        days = store.query("SELECT day, runs, failed_runs FROM agent_days")
        assert days.values.tolist()[0][1:] == [1, 1] and len(days) == 1
    assert store_rows(path, "SELECT max(version) AS v FROM schema_version") == [{"v": 9}]
