"""ClickHouse's trace rows partitioned by day: a window of trace rows reads only its days, a
trace whose start moves to another day stays one trace, and migration 3 moves an older store's
unpartitioned trace rows into the layout."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from test_store_clickhouse import _chdb_url, _rows, _span

from agentoscope.tracing.store import ClickHouseStore, SpanStore
from agentoscope.tracing.store.clickhouse_retention import stored_retention
from agentoscope.tracing.store.clickhouse_schema import (
    SCHEMA_VERSION,
    TRACE_COLUMNS,
    TRACE_TABLE,
    _table,
    _ttl,
)
from agentoscope.tracing.store.queries import latest_traces

pytest.importorskip("chdb")

# _span places trace n at n/7 hours after 2026-01-01: 168 traces a day.
DAY = 168


def _trace(trace: int, spans: int = 3) -> list[dict[str, Any]]:
    """A trace's spans (children first) and its record."""
    children = [_span(trace, index, span_type="function", name="lookup") for index in (1, 2)]
    root = _span(trace, 0)
    return [
        *children[: spans - 1],
        root,
        {
            "v": 1,
            "kind": "trace",
            "trace_id": root["trace_id"],
            "workflow_name": "Support",
            "group_id": None,
            "metadata": None,
            "started_at": root["started_at"],
            "ended_at": root["ended_at"],
            "duration_ms": 10.0,
        },
    ]


def _days_of_traces(count: int = 10) -> list[dict[str, Any]]:
    """Three traces a day over `count` days."""
    return [
        record for day in range(count) for k in (0, 50, 100) for record in _trace(day * DAY + k)
    ]


def _read_rows(house: ClickHouseStore, sql: str) -> int:
    """How many rows ClickHouse plans to read for `sql` (EXPLAIN ESTIMATE, after pruning)."""
    plan = house._conn().query_df(f"EXPLAIN ESTIMATE {sql}")
    return int(plan["rows"].sum()) if len(plan) else 0


def test_a_window_of_traces_reads_only_its_days() -> None:
    with ClickHouseStore(_chdb_url("days")) as house:
        house.ingest(_days_of_traces())
        last_day = "SELECT count() FROM traces WHERE started_at >= '2026-01-10 00:00:00'"
        everything = "SELECT count() FROM traces"
        assert int(house.query(last_day).iloc[0, 0]) == 3
        assert int(house.query(everything).iloc[0, 0]) == 30
        # Before: trace_rows had no partitions, and a day's trace list read every trace row.
        assert _read_rows(house, last_day) == 3
        assert _read_rows(house, everything) == 30


def _moved_earlier(record: dict[str, Any], hours: float) -> dict[str, Any]:
    shift = timedelta(hours=hours)
    start = datetime.fromisoformat(record["started_at"]) - shift
    return {**record, "started_at": start.isoformat()}


def test_a_trace_whose_start_moves_to_another_day_is_one_trace(tmp_path: Path) -> None:
    # A running trace's row is inferred from its first spans (early on day 2); a late span
    # started the evening before widens it into day 1; then its record arrives.
    records = _trace(DAY + 3)
    first, late, root, trace = records
    late = _moved_earlier(late, 2)
    trace = {**trace, "started_at": late["started_at"]}
    with SpanStore(tmp_path / "d.duckdb") as duck, ClickHouseStore(_chdb_url("moved")) as house:
        for store in (duck, house):
            for batch in ([first, root], [late], [trace]):
                store.ingest(batch)
        sql = "SELECT trace_id, started_at, ended_at, workflow_name FROM traces"
        assert _rows(house.query(sql), False) == _rows(duck.query(sql), False)
        assert len(house.query(sql)) == 1
        expected = latest_traces(duck, limit=5)
        found = latest_traces(house, limit=5)
        assert found["trace_id"].tolist() == expected["trace_id"].tolist()
        assert found["span_count"].tolist() == [3]


def test_racing_writers_leave_the_latest_copy_of_a_trace_row() -> None:
    # Two writers each infer the trace's row from their own span, a day apart; neither knew
    # of the other's row: both rows are inserted, in two days, and settling keeps the latest.
    url = _chdb_url("race_rows")
    early, late = _span(2 * DAY, 0), _span(2 * DAY, 1)
    late = {**late, "parent_id": None}
    shifted = datetime.fromisoformat(late["started_at"]) + timedelta(hours=30)
    late["started_at"] = shifted.isoformat()
    late["ended_at"] = (shifted + timedelta(seconds=1)).isoformat()
    with ClickHouseStore(url) as first, ClickHouseStore(url) as second:
        first.ingest([early])
        connection = second._conn()
        # The second writer's row as it would write it without seeing the first's.
        row = connection.query_arrow(f"SELECT * FROM {TRACE_TABLE}")
        moved = row.set_column(
            row.schema.get_field_index("started_at"),
            "started_at",
            pa.array([shifted.replace(tzinfo=None)], pa.timestamp("us")),
        )
        connection.insert_arrow(
            TRACE_TABLE,
            moved.set_column(
                row.schema.get_field_index("_version"),
                "_version",
                pa.array([row.column("_version")[0].as_py() + 1], pa.uint64()),
            ),
        )
        assert len(first.query("SELECT trace_id FROM traces")) == 2  # not settled yet
        second.ingest([late])  # its merge widens the latest row, then settles
        traces = first.query("SELECT trace_id, started_at FROM traces")
        assert traces["trace_id"].tolist() == [early["trace_id"]]
        assert traces["started_at"].iloc[0].to_pydatetime() == shifted.replace(tzinfo=None)


def test_migration_3_partitions_an_older_stores_trace_rows(tmp_path: Path) -> None:
    url = _chdb_url("migrate3")
    records = _days_of_traces(4)
    with ClickHouseStore(f"{url}&retention_days=3650") as house:
        house.ingest(records)
        connection = house._conn()
        # trace_rows as stores before migration 3 have it: ordered by trace_id, no partitions,
        # with an older copy of one trace's row at another day (replaced, not settled).
        old = _table("old_trace_rows", TRACE_COLUMNS, "\nORDER BY trace_id" + _ttl(3650))
        connection.command(old)
        connection.command(f"INSERT INTO old_trace_rows SELECT * FROM {TRACE_TABLE}")
        stale = connection.query_arrow(f"SELECT * FROM {TRACE_TABLE} ORDER BY trace_id LIMIT 1")
        earlier = stale.column("started_at")[0].as_py() - timedelta(days=2)
        stale = stale.set_column(
            stale.schema.get_field_index("started_at"),
            "started_at",
            pa.array([earlier], pa.timestamp("us")),
        )
        stale = stale.set_column(
            stale.schema.get_field_index("_version"), "_version", pa.array([1], pa.uint64())
        )
        connection.insert_arrow("old_trace_rows", stale)
        connection.command(f"EXCHANGE TABLES {TRACE_TABLE} AND old_trace_rows")
        connection.command("DROP TABLE old_trace_rows")
        connection.command("DELETE FROM schema_version WHERE version >= 3")
    with SpanStore(tmp_path / "d.duckdb") as duck, ClickHouseStore(url) as house:
        duck.ingest(records)
        assert house.schema_version == SCHEMA_VERSION
        key = house._conn().query_df(
            "SELECT partition_key FROM system.tables WHERE database = currentDatabase() "
            f"AND name = '{TRACE_TABLE}'"
        )
        assert key.iloc[0, 0] != ""
        sql = "SELECT trace_id, started_at, ended_at, workflow_name FROM traces"
        assert _rows(house.query(sql), True) == _rows(duck.query(sql), True)
        raw = house.query(f"SELECT count() AS n FROM {TRACE_TABLE} WHERE _version = 1")
        assert int(raw.iloc[0]["n"]) == 0  # the older copy did not come along
        assert _read_rows(house, "SELECT count() FROM traces WHERE started_at >= '2026-01-04'") == 3
        # Opened without retention_days: the TTL stays as it was.
        assert stored_retention(house._conn())[TRACE_TABLE] == 3650
