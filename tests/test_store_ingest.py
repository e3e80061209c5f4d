"""Ingest: duplicates, trace rows arriving before or after their spans, agent_name from the parent
chain, bad records, times in any offset, time order."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentoscope.tracing.store import IngestResult, SpanStore
from support.store_spans import span, store_rows, trace_rec


def test_reingesting_the_same_records_adds_nothing(tmp_path: Path) -> None:
    records = [trace_rec("t1"), span("t1", "s1"), span("t1", "s2"), span("t1", "s3")]
    with SpanStore(tmp_path / "s.duckdb") as store:
        assert store.ingest(records) == IngestResult(spans=3, traces=1, duplicates=0)
        assert store.ingest(records) == IngestResult(spans=0, traces=0, duplicates=4)
        # Overlapping batch: one new span, the rest already there.
        again = store.ingest([span("t1", "s3"), span("t1", "s4")])
        assert again == IngestResult(spans=1, traces=0, duplicates=1)
        counts = store.query("SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM traces)")
        assert counts.iloc[0].tolist() == [4, 1]


def test_repeats_inside_one_batch_are_stored_once(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store:
        result = store.ingest(
            [span("t1", "s1"), span("t1", "s1"), trace_rec("t1"), trace_rec("t1")]
        )
        assert result == IngestResult(spans=1, traces=1, duplicates=2)


def test_prepared_batches_written_together_commit_once_and_store_repeats_once(
    tmp_path: Path,
) -> None:
    """What a writer thread does: batches prepared elsewhere, written in one transaction; a
    span in two of them is stored once, and a failing batch rolls back the others."""
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        first = store.prepare([span("t1", "s1"), span("t1", "s2")])
        second = store.prepare([span("t1", "s2"), span("t1", "s3"), trace_rec("t1")])
        assert store.write(first, second) == IngestResult(spans=3, traces=1, duplicates=1)
        orphan = span("t2", "x1")
        orphan["trace_id"] = None  # only unchecked records get this far
        broken = store.prepare([orphan], validate=False)
        with pytest.raises(Exception, match="NOT NULL"):
            store.write(store.prepare([span("t2", "ok")]), broken)
        assert store.query("SELECT span_id FROM spans ORDER BY 1")["span_id"].tolist() == [
            "s1",
            "s2",
            "s3",
        ]


def test_spans_without_a_start_time_are_deduplicated_too(tmp_path: Path) -> None:
    loose = span("t1", "s1", started_at=None, ended_at=None, duration_ms=None)
    with SpanStore(tmp_path / "s.duckdb") as store:
        assert store.ingest([loose]).spans == 1
        assert store.ingest([loose]) == IngestResult(spans=0, traces=0, duplicates=1)


def test_trace_known_from_its_spans_first_is_completed_by_its_record(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        store.ingest(
            [
                span(
                    "t1",
                    "child",
                    started_at="2026-01-01T00:00:02.000000+00:00",
                    ended_at="2026-01-01T00:00:03.000000+00:00",
                ),
            ]
        )
        row = store.query("SELECT * FROM traces").iloc[0]
        assert bool(row["inferred"]) and row["workflow_name"] is None
        assert str(row["started_at"]) == "2026-01-01 00:00:02"
        # An earlier span widens the inferred row.
        store.ingest(
            [
                span(
                    "t1",
                    "root",
                    started_at="2026-01-01T00:00:01.000000+00:00",
                    ended_at="2026-01-01T00:00:04.000000+00:00",
                )
            ]
        )
        row = store.query("SELECT * FROM traces").iloc[0]
        assert str(row["started_at"]) == "2026-01-01 00:00:01"
        assert str(row["ended_at"]) == "2026-01-01 00:00:04" and row["duration_ms"] == 3000.0
        # The trace's own record replaces it; counted as a stored trace, not a duplicate.
        result = store.ingest([trace_rec("t1", workflow_name="Support", group_id="g1")])
        assert result == IngestResult(spans=0, traces=1, duplicates=0)
        assert store.ingest([trace_rec("t1")]).duplicates == 1
    rows = store_rows(path, "SELECT * FROM traces")
    assert len(rows) == 1
    assert rows[0]["workflow_name"] == "Support" and rows[0]["group_id"] == "g1"
    assert rows[0]["inferred"] is False and rows[0]["duration_ms"] == 5000.0


def test_trace_record_first_is_not_replaced_by_its_later_spans(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        store.ingest([trace_rec("t1", workflow_name="Flow")])
        store.ingest(
            [
                span(
                    "t1",
                    "late",
                    started_at="2026-01-01T00:00:09.000000+00:00",
                    ended_at="2026-01-01T00:00:10.000000+00:00",
                )
            ]
        )
    rows = store_rows(path, "SELECT workflow_name, ended_at, inferred FROM traces")
    assert len(rows) == 1 and rows[0]["workflow_name"] == "Flow" and rows[0]["inferred"] is False
    assert str(rows[0]["ended_at"]) == "2026-01-01 00:00:05"


def test_agent_name_is_filled_from_the_parent_chain(tmp_path: Path) -> None:
    """Within one batch, from rows already stored, and for stored children whose agent span
    arrives later (parents end, so arrive, after their children)."""
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        # Batch 1: a tool call whose parent (a custom span under the agent) is in the batch,
        # but the agent span itself is not there yet.
        store.ingest(
            [
                span("t1", "tool", parent_id="step", span_type="function", name="lookup"),
                span("t1", "step", parent_id="agent", span_type="custom", name="step"),
            ]
        )
        # Batch 2: the agent span (no agent_name given: an agent is inside itself).
        store.ingest([span("t1", "agent", span_type="agent", name="Planner")])
        # Batch 3: a span whose parent is stored already.
        store.ingest([span("t1", "gen", parent_id="step", span_type="generation", name="m")])
        # A span with no agent above it keeps NULL.
        store.ingest([span("t1", "lonely", span_type="custom")])
    rows = {r["span_id"]: r["agent_name"] for r in store_rows(path, "SELECT * FROM spans")}
    assert rows == {
        "tool": "Planner",
        "step": "Planner",
        "agent": "Planner",
        "gen": "Planner",
        "lonely": None,
    }


def test_given_agent_names_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        store.ingest(
            [
                span("t1", "a", span_type="agent", name="Outer", agent_name="Outer"),
                span("t1", "b", parent_id="a", agent_name="Explicit"),
            ]
        )
    rows = {r["span_id"]: r["agent_name"] for r in store_rows(path, "SELECT * FROM spans")}
    assert rows == {"a": "Outer", "b": "Explicit"}


def test_records_that_are_not_records_are_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with SpanStore(tmp_path / "s.duckdb") as store:
        result = store.ingest(
            [
                span("t1", "good"),
                {"kind": "span", "v": 1, "trace_id": "t1"},  # no span_id
                {"kind": "metric", "v": 1, "trace_id": "t1"},
                "not a dict",  # type: ignore[list-item]
            ]
        )
    assert result == IngestResult(spans=1, traces=0, duplicates=0, rejected=3)
    assert "missing 'span_id'" in caplog.text


def test_times_in_other_offsets_are_stored_as_utc(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        store.ingest(
            [
                span(
                    "t1",
                    "later",
                    started_at="2026-01-01T12:00:00+02:00",
                    ended_at="2026-01-01T12:00:01+02:00",
                ),
                span(
                    "t1",
                    "earlier",
                    started_at="2026-01-01T09:00:00.5Z",
                    ended_at="2026-01-01T09:00:01Z",
                ),
                span(
                    "t1", "naive", started_at="2026-01-01T09:30:00", ended_at="2026-01-01T09:30:01"
                ),
            ]
        )
    rows = store_rows(path, "SELECT span_id, started_at FROM spans ORDER BY started_at")
    assert [(r["span_id"], str(r["started_at"])) for r in rows] == [
        ("earlier", "2026-01-01 09:00:00.500000"),
        ("naive", "2026-01-01 09:30:00"),
        ("later", "2026-01-01 10:00:00"),
    ]


def test_integer_times_are_nanoseconds_and_other_numbers_unreadable(tmp_path: Path) -> None:
    """Serve's decoding workers hand over OTLP times as integer nanoseconds; a number of any
    other kind is no time (stored as NULL with a warning, not read as nanoseconds)."""
    ns = 1_767_225_600_123_456_789  # 2026-01-01T00:00:00.123456789Z
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        store.ingest([span("t1", "ns", started_at=ns, ended_at=ns + 1_000)], validate=False)
        store.ingest([span("t2", "float", started_at=1_767_225_600.0, ended_at=1.5)])
        store.ingest(  # one batch, times of both kinds in one column
            [
                span("t3", "mixed ns", started_at=ns, ended_at=ns),
                span("t3", "mixed text", started_at="2025-12-31T23:59:59Z", ended_at=ns),
            ],
            validate=False,
        )
    rows = store_rows(path, "SELECT span_id, started_at, ended_at FROM spans ORDER BY span_id")
    assert [(r["span_id"], str(r["started_at"]), str(r["ended_at"])) for r in rows] == [
        ("float", "None", "None"),
        ("mixed ns", "2026-01-01 00:00:00.123456", "2026-01-01 00:00:00.123456"),
        ("mixed text", "2025-12-31 23:59:59", "2026-01-01 00:00:00.123456"),
        ("ns", "2026-01-01 00:00:00.123456", "2026-01-01 00:00:00.123457"),
    ]


def test_odd_values_are_coerced_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        result = store.ingest(
            [
                span(
                    "t1",
                    "odd",
                    span_type=None,
                    input_tokens="12",
                    name=42,
                    started_at="yesterday",
                    data='{"already": "json"}',
                    metadata={1: "x"},
                ),
            ]
        )
    assert result.spans == 1
    row = store_rows(path, "SELECT * FROM spans")[0]
    assert row["span_type"] == "unknown" and row["input_tokens"] == 12 and row["name"] == "42"
    assert row["started_at"] is None
    assert row["data"] == '{"already": "json"}' and row["metadata"] == '{"1":"x"}'


def test_read_only_store_refuses_to_ingest(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    SpanStore(path).close()
    with (
        SpanStore(path, read_only=True) as store,
        pytest.raises(PermissionError, match="read-only"),
    ):
        store.ingest([span("t1", "s1")])


def test_a_trace_record_without_times_keeps_the_times_of_its_spans(tmp_path: Path) -> None:
    """The official SDK's traces carry no times; one that began before the processor was added
    has none in its record."""
    path = tmp_path / "s.duckdb"
    with SpanStore(path) as store:
        store.ingest([span("t1", "s1")])
        store.ingest([trace_rec("t1", started_at=None, ended_at=None, duration_ms=None)])
    (row,) = store_rows(path, "SELECT * FROM traces")
    assert row["inferred"] is False and row["workflow_name"] == "wf"
    assert str(row["started_at"]) == "2026-01-01 00:00:00" and row["duration_ms"] == 1000.0
