"""The store's SQL surface: read-only, one statement, values as parameters, store tables only;
and the canonical queries on a small store."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from agentoscope.tracing.store import ReadOnlyQueryError, SpanStore
from agentoscope.tracing.store.guard import checked_select
from agentoscope.tracing.store.queries import (
    ESTIMATE_MAX_RELATIVE_ERROR,
    QUERIES,
    find_trace_id,
    latest_traces,
    run,
    trace_detail,
)
from support.store_spans import span, trace_rec


@pytest.fixture
def store(tmp_path: Path) -> SpanStore:
    with SpanStore(tmp_path / "s.duckdb") as writer:
        writer.ingest([trace_rec("t1"), span("t1", "s1", agent_name="A")])
    reader = SpanStore(tmp_path / "s.duckdb", read_only=True)
    yield reader
    reader.close()


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DELETE FROM spans", "DELETE statements are refused"),
        ("UPDATE spans SET name = 'x'", "UPDATE statements are refused"),
        ("INSERT INTO traces (trace_id) VALUES ('x')", "INSERT statements are refused"),
        ("DROP TABLE spans", "DROP statements are refused"),
        ("CREATE TABLE x AS SELECT 1", "CREATE statements are refused"),
        ("COPY spans TO '/tmp/out.csv'", "COPY statements are refused"),
        ("ATTACH '/tmp/other.duckdb'", "ATTACH statements are refused"),
        ("SET threads = 1", "SET statements are refused"),
        ("PRAGMA enable_profiling", "PRAGMA statements are refused"),
        ("INSTALL httpfs", "LOAD statements are refused"),
        ("CHECKPOINT", "CALL statements are refused"),
        ("EXPLAIN ANALYZE DELETE FROM spans", "DELETE statements are refused"),
        ("SELECT 1; DELETE FROM spans", "one statement at a time"),
        ("SELECT 1; SELECT 2", "one statement at a time"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is not available"),
        ("SELECT * FROM '/etc/hosts.csv'", "looks like a file"),
        ("SELECT * FROM query('DELETE FROM spans')", "query() is not available"),
        (
            "SELECT (SELECT count(*) FROM read_text('/etc/hostname')) AS n",
            "read_text() is not available",
        ),
        ("SELEC 1", "cannot parse"),
        ("   ", "empty query"),
    ],
)
def test_anything_but_a_read_of_the_store_is_refused(
    store: SpanStore, sql: str, reason: str
) -> None:
    with pytest.raises(ReadOnlyQueryError, match=re.escape(reason)):
        store.query(sql)


def test_writes_are_refused_on_a_read_write_store_too(tmp_path: Path) -> None:
    with SpanStore(tmp_path / "rw.duckdb") as writer:
        writer.ingest([span("t1", "s1")])
        with pytest.raises(ReadOnlyQueryError):
            writer.query("DELETE FROM spans")
        assert writer.query("SELECT count(*) AS n FROM spans")["n"].tolist() == [1]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM spans",
        "FROM traces",
        "WITH x AS (SELECT * FROM spans) SELECT count(*) FROM x",
        "DESCRIBE spans",
        "SHOW TABLES",
        "SUMMARIZE spans",
        "EXPLAIN SELECT * FROM spans",
        "SELECT * FROM range(3)",
        "SELECT * FROM duckdb_views()",
        "SELECT * FROM agent_runs",
    ],
)
def test_reads_run(store: SpanStore, sql: str) -> None:
    result = store.query(sql)
    assert isinstance(result, pd.DataFrame) and len(result.columns) > 0
    assert checked_select(sql)  # the guard passes it as it is


def test_values_travel_as_parameters(store: SpanStore) -> None:
    hostile = "A' OR '1'='1"
    assert store.query("SELECT * FROM spans WHERE agent_name = ?", [hostile]).empty
    assert len(store.query("SELECT * FROM spans WHERE agent_name = $a", {"a": "A"})) == 1
    # Zoned datetimes compare as the UTC they mean.
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2026, 1, 1, 2, 0, 0, 500000, tzinfo=plus_two)  # 00:00:00.5 UTC
    assert len(store.query("SELECT * FROM spans WHERE started_at < ?", [moment])) == 1
    assert store.query("SELECT * FROM spans WHERE started_at > ?", [moment]).empty


def test_query_arrow_gives_an_arrow_table(store: SpanStore) -> None:
    table = store.query_arrow("SELECT span_id FROM spans")
    assert table.column("span_id").to_pylist() == ["s1"]


def _busy_store(path: Path) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    records = []
    for number in range(60):
        trace_id = f"trace_{number:032x}"
        start = now - timedelta(minutes=60 - number)
        iso = (start).isoformat() + "+00:00"
        end = (start + timedelta(seconds=2)).isoformat() + "+00:00"
        failing = number % 10 == 0
        records += [
            trace_rec(
                trace_id,
                workflow_name=f"wf{number % 3}",
                group_id=f"g{number % 4}",
                started_at=iso,
                ended_at=end,
                duration_ms=2000.0,
            ),
            span(
                trace_id,
                f"a{number}",
                span_type="agent",
                name="Agent",
                agent_name="Agent",
                started_at=iso,
                ended_at=end,
                duration_ms=2000.0,
            ),
            span(
                trace_id,
                f"m{number}",
                parent_id=f"a{number}",
                span_type="generation",
                name="gpt",
                model="gpt-4o",
                input_tokens=10,
                output_tokens=5,
                total_tokens=15,
                agent_name="Agent",
                started_at=iso,
                ended_at=end,
                duration_ms=float(number),
            ),
            span(
                trace_id,
                f"f{number}",
                parent_id=f"a{number}",
                span_type="function",
                name="lookup",
                tool_name="lookup",
                agent_name="Agent",
                started_at=iso,
                ended_at=end,
                duration_ms=1.0,
                status="error" if failing else "ok",
                error_type="ValueError" if failing else None,
            ),
        ]
    records.append(trace_rec("trace_beef", started_at=None, ended_at=None, duration_ms=None))
    with SpanStore(path) as store:
        store.ingest(records)


def test_canonical_queries_answer_on_a_small_store(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    _busy_store(path)
    with SpanStore(path, read_only=True) as store:
        latest = run(store, "latest_traces", limit=5)
        assert latest["trace_id"].tolist() == [f"trace_{n:032x}" for n in (59, 58, 57, 56, 55)]
        # The widening helper gives the same page, looking at the last hour first...
        assert latest_traces(store, limit=5).equals(latest)
        # ...and widens when the page is not full.
        assert len(latest_traces(store, limit=100)) == 60
        assert latest_traces(store, limit=100, errors_only=True)["has_error"].sum() == 6
        recent = latest_traces(store, limit=100, since=datetime.now(UTC) - timedelta(minutes=10))
        assert 8 <= len(recent) <= 11
        assert latest["span_count"].tolist() == [3] * 5
        assert latest["total_tokens"].tolist() == [15] * 5
        failing = run(store, "latest_failing_traces", limit=50)
        assert failing["trace_id"].tolist() == [f"trace_{n:032x}" for n in (50, 40, 30, 20, 10, 0)]
        assert failing["has_error"].all()
        assert (
            run(store, "latest_traces", workflow="wf1", limit=100)["workflow_name"].eq("wf1").sum()
            == 20
        )
        assert len(run(store, "latest_traces", since=datetime.now(UTC) - timedelta(minutes=10)))
        tokens = run(store, "tokens_per_model_per_hour")
        assert tokens["calls"].sum() == 60 and tokens["total_tokens"].sum() == 900
        latency = run(store, "latency_by_model").iloc[0]
        assert latency["model"] == "gpt-4o" and latency["p50_ms"] == pytest.approx(29.5)
        assert latency["p99_ms"] == pytest.approx(58.41)
        by_tool = run(store, "latency_by_tool").iloc[0]
        assert by_tool["tool_name"] == "lookup" and by_tool["errors"] == 6
        rates = run(store, "error_rate_per_agent_per_day")
        assert rates["runs"].sum() == 60 and rates["errors"].sum() == 6
        assert rates["failed_runs"].sum() == 0 and rates["error_rate"].eq(0).all()
        assert len(run(store, "recent_errors", limit=3)) == 3
        assert run(store, "errors_by_type").iloc[0]["errors"] == 6
        assert set(run(store, "sessions")["group_id"]) == {"g0", "g1", "g2", "g3"}
        assert set(run(store, "workflows")["workflow_name"]) == {"wf", "wf0", "wf1", "wf2"}
        overview = run(store, "overview").iloc[0]
        assert (overview["spans"], overview["traces"]) == (180, 61)

        trace, spans = trace_detail(store, f"trace_{7:032x}")
        assert trace is not None and trace["workflow_name"] == "wf1"
        assert spans["span_id"].tolist() == ["a7", "f7", "m7"]
        assert find_trace_id(store, "trace_be") == "trace_beef"
        assert find_trace_id(store, f"trace_{7:032x}") == f"trace_{7:032x}"
        with pytest.raises(ValueError, match="more than one"):
            find_trace_id(store, "trace_0000")
        assert find_trace_id(store, "trace_ffff") is None
        missing, no_spans = trace_detail(store, "nope")
        assert missing is None and no_spans.empty
        with pytest.raises(TypeError, match="unknown parameter"):
            run(store, "latest_traces", colour="red")
        with pytest.raises(KeyError, match="no query named"):
            run(store, "nothing")


def test_every_named_query_is_read_only_sql(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    SpanStore(path).close()
    with SpanStore(path, read_only=True) as store:
        for name, query in QUERIES.items():
            params = {key: "x" for key in ("trace_id", "prefix") if key in query.defaults}
            # Parses, passes the guard, and runs on an empty store with the columns it names.
            assert checked_select(query.sql)
            frame = run(store, name, **params)
            assert len(frame.columns) > 0, name
            # An empty store has nothing to count: no rows, or aggregates of zero.
            numbers = frame.select_dtypes("number").fillna(0).to_numpy()
            assert frame.empty or not numbers.any(), (name, frame)


def test_estimated_percentiles_stay_within_their_error_bound(tmp_path: Path) -> None:
    """The bucketed percentiles of long windows against the exact ones, on durations with
    microsecond precision over five orders of magnitude, per span type, tool and model."""
    rng = random.Random(3)
    records = []
    for n in range(6000):
        kind = ("function", "generation", "agent")[n % 3]
        records.append(
            span(
                f"t{n % 50}",
                f"s{n}",
                span_type=kind,
                tool_name=f"tool{n % 2}" if kind == "function" else None,
                model="gpt-4o" if kind == "generation" else None,
                duration_ms=round(rng.lognormvariate(4, 1.6), 3),  # ~0.1 ms .. ~10 s
                status="error" if n % 17 == 0 else "ok",
            )
        )
    records.append(span("t0", "zero", span_type="agent", duration_ms=0.0))
    records.append(span("t0", "skewed", span_type="agent", duration_ms=-2.5))
    with SpanStore(tmp_path / "s.duckdb") as store:
        store.ingest(records)
        for name, key in (
            ("latency_by_span_type", "span_type"),
            ("latency_by_tool", "tool_name"),
            ("latency_by_model", "model"),
        ):
            exact = run(store, name, since="-infinity").set_index(key).sort_index()
            estimated = run(store, f"{name}_estimated", since="-infinity").set_index(key)
            estimated = estimated.sort_index()
            assert list(estimated.index) == list(exact.index)
            for column in ("spans", "errors", "max_ms"):
                assert estimated[column].tolist() == exact[column].tolist()
            assert estimated["avg_ms"].tolist() == pytest.approx(exact["avg_ms"].tolist())
            for column in ("p50_ms", "p95_ms", "p99_ms"):
                for group in exact.index:
                    want, got = exact.at[group, column], estimated.at[group, column]
                    assert abs(got - want) <= ESTIMATE_MAX_RELATIVE_ERROR * abs(want), (
                        name,
                        group,
                        column,
                    )


def test_estimated_percentiles_are_exact_for_few_distinct_values(tmp_path: Path) -> None:
    records = [
        span("t1", f"s{n}", span_type="function", tool_name="lookup", duration_ms=float(d))
        for n, d in enumerate([20] * 50 + [35] * 45 + [90] * 4 + [400])
    ]
    with SpanStore(tmp_path / "s.duckdb") as store:
        store.ingest(records)
        row = run(store, "latency_by_tool_estimated", since="-infinity").iloc[0]
    assert (row["spans"], row["p50_ms"], row["p95_ms"], row["p99_ms"]) == (100, 27.5, 37.75, 93.1)
    assert row["max_ms"] == 400.0
