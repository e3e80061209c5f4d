"""The ClickHouse store's schema: the same `spans` and `traces` (columns from the record schema,
tracing/schema.py, as DuckDB's are) and the same views, in ClickHouse's terms.

- Rows live in `span_rows` and `trace_rows`, ReplacingMergeTree tables: a span written twice (the
  same (trace_id, span_id), a retry of a stateless `agentoscope serve` say) is one span, and a
  trace row rewritten (its record replacing the row inferred from its spans) is one row. The
  views `spans` and `traces` read them with FINAL, so queries never see a replaced copy.
- `span_rows` is partitioned by day and ordered by (hour, trace_id, span_id): the dashboard's
  queries are windows of time; a bloom filter on trace_id serves one trace's lookup.
- A span's identity is (trace_id, span_id), but ReplacingMergeTree replaces a row only by one
  with the same sorting key in the same partition, and both follow the span's start. Two copies
  of a span with different starts (two writers racing, each with its own version of the record)
  would both stay: the writer settles them after each insert (`duplicate_copies`: the copy
  written first is kept, as in DuckDB, copies with another start deleted), and migration 2
  settles the copies already stored. The time layout, which the dashboard's windows prune by,
  is unchanged.
- `trace_rows` is partitioned by day too (by the trace's start) and ordered by trace_id within
  the day: a trace list's window reads only its days, and one trace's lookup stays a key lookup
  per partition. A trace row rewritten with a start on another day (its record replacing the
  row inferred from its spans, a late span widening it) lands in another partition, where
  ReplacingMergeTree cannot replace it: the writer settles it after each insert
  (`trace_copies`: the highest version stays, as ReplacingMergeTree would keep it), and
  migration 3 moves an older store's unpartitioned table into this layout.
- `retention_days` in the store URL gives both tables a TTL: ClickHouse drops expired rows as it
  merges, no prune needed. On an existing store a read-write open applies a changed value
  (clickhouse_retention.py).
- The per-day rollup `agent_days` is a view here: ClickHouse groups a month of spans per day
  fast enough that it needs no table kept by the writer.

Migrations are numbered as DuckDB's are, in `schema_version`; ClickHouse has no transactions, so
each statement is idempotent (IF NOT EXISTS) and a half-applied migration is applied again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..schema import SPAN_FIELDS, TRACE_FIELDS, Field, stored_columns
from .rollup import AGENT_DAY_COLUMNS, AGENT_DAY_ROWS, AGENT_DAYS
from .schema import VIEWS

if TYPE_CHECKING:
    import pandas as pd

    from .clickhouse_connection import Connection

SPAN_TABLE = "span_rows"
TRACE_TABLE = "trace_rows"
VERSION_COLUMN = "_version"
# A span without a start (rare: a foreign source) is kept in the first partition.
_START = "ifNull(started_at, toDateTime64(0, 6))"


def _columns(fields: tuple[Field, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((field.name, field.clickhouse_type) for field in stored_columns(fields))


SPAN_COLUMNS = _columns(SPAN_FIELDS)
TRACE_COLUMNS = (*_columns(TRACE_FIELDS), ("inferred", "Bool DEFAULT false"))
SPAN_COLUMN_NAMES = tuple(name for name, _ in SPAN_COLUMNS)
TRACE_COLUMN_NAMES = tuple(name for name, _ in TRACE_COLUMNS)


# What tells a span's copies apart beyond its identity: its start, in microseconds. Copies with
# one start share a sorting key (ReplacingMergeTree keeps one); copies with another start are
# what settling deletes (whatever hour, and whatever the server's time zone, they fall in).
SLOT = f"toUnixTimestamp64Micro({_START})"


def duplicate_copies(where: str = "1") -> str:
    """(trace_id, span_id, slot) of the copies of spans (of the rows matching `where`) with
    another start (`SLOT`) than the span's first copy (the lowest version; of equal ones, the
    earliest start): what settling deletes."""
    return f"""SELECT trace_id, span_id, arrayJoin(arrayFilter(s -> s != keep, slots)) AS slot
FROM (
    SELECT trace_id, span_id, argMin(slot, (first, slot)) AS keep, groupArray(slot) AS slots
    FROM (
        SELECT trace_id, span_id, {SLOT} AS slot, min({VERSION_COLUMN}) AS first
        FROM {SPAN_TABLE} WHERE {where} GROUP BY trace_id, span_id, slot
    )
    GROUP BY trace_id, span_id HAVING count() > 1
)"""


def ttl_expression(retention_days: int) -> str:
    """The row tables' TTL (also applied to existing tables: clickhouse_retention.py)."""
    # Rows without a start never expire (a TTL on NULL would drop them at once).
    return (
        "toDateTime(ifNull(started_at, toDateTime64('2100-01-01', 6))) "
        f"+ INTERVAL {int(retention_days)} DAY"
    )


def _ttl(retention_days: int | None) -> str:
    return f"\nTTL {ttl_expression(retention_days)}" if retention_days else ""


def _table(
    name: str,
    columns: tuple[tuple[str, str], ...],
    tail: str,
    extra: str = "",
) -> str:
    body = ",\n    ".join(f"{column} {kind}" for column, kind in columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {name} (\n    {body},\n"
        f"    {VERSION_COLUMN} UInt64{extra}\n) ENGINE = ReplacingMergeTree({VERSION_COLUMN})"
        f"{tail}"
    )


def span_table(retention_days: int | None) -> str:
    return _table(
        SPAN_TABLE,
        SPAN_COLUMNS,
        f"\nPARTITION BY toDate({_START})\nORDER BY (toStartOfHour({_START}), trace_id, span_id)"
        + _ttl(retention_days),
        ",\n    INDEX trace_id_bloom trace_id TYPE bloom_filter GRANULARITY 4",
    )


TRACE_PARTITION = f"toDate({_START})"


def trace_table(retention_days: int | None, name: str = TRACE_TABLE) -> str:
    # Partitioned by day so a window of time reads only its days (do_not_merge_across_partitions
    # _select_final); the copies of a trace in two days are settled by the writer.
    return _table(
        name,
        TRACE_COLUMNS,
        f"\nPARTITION BY {TRACE_PARTITION}\nORDER BY trace_id" + _ttl(retention_days),
    )


def stale_trace_copies(where: str) -> str:
    """(trace_id, day, version) of the trace rows (of those matching `where`) superseded by a copy
    of their trace in another day with a higher version: what settling deletes. Within a day
    ReplacingMergeTree keeps the highest version itself; a copy written later than the highest
    seen here stays, for its writer to settle."""
    return f"""SELECT trace_id, day, version
FROM (
    SELECT trace_id, {TRACE_PARTITION} AS day, {VERSION_COLUMN} AS version
    FROM {TRACE_TABLE} WHERE {where}
) AS copy
INNER JOIN (
    SELECT trace_id, argMax({TRACE_PARTITION}, {VERSION_COLUMN}) AS latest_day,
           max({VERSION_COLUMN}) AS latest
    FROM {TRACE_TABLE} WHERE {where}
    GROUP BY trace_id HAVING uniqExact({TRACE_PARTITION}) > 1
) AS found USING trace_id
WHERE day != latest_day AND version < latest"""


# The row of trace_rows that stale_trace_copies names.
TRACE_COPY_KEY = f"(trace_id, {TRACE_PARTITION}, {VERSION_COLUMN})"


_RAW = re.compile(r"data->'(\w+)'")
_TEXT = re.compile(r"data->>'(\w+)'")


def clickhouse_view(sql: str) -> str:
    """A DuckDB view's SQL in ClickHouse: its JSON operators become JSON functions."""
    sql = _TEXT.sub(r"nullIf(JSON_VALUE(data, '$.\1'), '')", sql)
    return _RAW.sub(r"nullIf(JSONExtractRaw(data, '\1'), '')", sql)


def _views() -> dict[str, str]:
    views = {
        "spans": f"SELECT {', '.join(SPAN_COLUMN_NAMES)} FROM {SPAN_TABLE} FINAL",
        "traces": f"SELECT {', '.join(TRACE_COLUMN_NAMES)} FROM {TRACE_TABLE} FINAL",
    }
    views.update({name: clickhouse_view(sql.strip()) for name, sql in VIEWS.items()})
    views[AGENT_DAYS] = (
        f"SELECT toDate(started_at) AS day, agent_name,{AGENT_DAY_COLUMNS}\n"
        f"FROM spans WHERE {AGENT_DAY_ROWS} AND started_at IS NOT NULL GROUP BY ALL"
    )
    return views


VIEWS_CLICKHOUSE = _views()


# A migration step: a statement, or a function of the connection for a step that depends on
# what is stored (ClickHouse has no conditional DDL).
Step = str | Callable[["Connection"], None]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[Step, ...]


def migrations(retention_days: int | None) -> tuple[Migration, ...]:
    return (
        Migration(
            1,
            "span_rows and trace_rows (ReplacingMergeTree); spans and traces (FINAL), "
            "agent_runs, generations, tool_calls, handoffs, guardrails, token_usage and "
            "agent_days views",
            (
                span_table(retention_days),
                trace_table(retention_days),
                *(
                    f"CREATE VIEW IF NOT EXISTS {name} AS {sql}"
                    for name, sql in VIEWS_CLICKHOUSE.items()
                ),
            ),
        ),
        Migration(
            2,
            "one copy per span: copies of a span with another start than its first copy "
            "(racing writers with different versions of a record) are deleted",
            (
                f"DELETE FROM {SPAN_TABLE} WHERE (trace_id, span_id, {SLOT}) IN "
                f"({duplicate_copies()})",
            ),
        ),
        Migration(
            3,
            "trace_rows partitioned by day (by the trace's start): trace lists read only the "
            "days of their window",
            (partition_trace_rows,),
        ),
    )


_UNPARTITIONED = f"{TRACE_TABLE}_unpartitioned"


def partition_trace_rows(connection: Connection) -> None:
    """Move a trace_rows table without partitions (stores made before migration 3) into the
    day-partitioned layout: its rows (one copy per trace: FINAL) into a new table with the
    same TTL, the two swapped, then the rows writers added to the old one meanwhile copied over
    and any trace left in two days settled. Re-run after an interruption, it finishes the job;
    on a new store's table (partitioned from the start) it does nothing."""
    from .clickhouse_retention import stored_retention

    columns = ", ".join((*TRACE_COLUMN_NAMES, VERSION_COLUMN))
    if not _partitioned(connection, TRACE_TABLE):
        # The stored TTL, not the URL's: an open without retention_days keeps it (the open
        # applies a URL's other value after the migrations).
        kept = stored_retention(connection).get(TRACE_TABLE)
        connection.command(f"DROP TABLE IF EXISTS {_UNPARTITIONED}")
        connection.command(trace_table(kept, _UNPARTITIONED))
        connection.command(
            f"INSERT INTO {_UNPARTITIONED} ({columns}) SELECT {columns} FROM {TRACE_TABLE} FINAL"
        )
        # The new table takes the name; the old one, under the other name, is read once more.
        connection.command(f"EXCHANGE TABLES {TRACE_TABLE} AND {_UNPARTITIONED}")
    if not _exists(connection, _UNPARTITIONED):
        return
    connection.command(
        f"INSERT INTO {TRACE_TABLE} ({columns}) SELECT {columns} FROM {_UNPARTITIONED} FINAL "
        f"WHERE (trace_id, {VERSION_COLUMN}) NOT IN "
        f"(SELECT trace_id, {VERSION_COLUMN} FROM {TRACE_TABLE})"
    )
    connection.command(
        f"DELETE FROM {TRACE_TABLE} WHERE {TRACE_COPY_KEY} IN ({stale_trace_copies('1')})"
    )
    connection.command(f"DROP TABLE {_UNPARTITIONED}")


def _table_info(connection: Connection, name: str) -> pd.DataFrame:
    return connection.query_df(
        "SELECT partition_key FROM system.tables WHERE database = currentDatabase() "
        f"AND name = '{name}'"
    )


def _exists(connection: Connection, name: str) -> bool:
    return len(_table_info(connection, name)) > 0


def _partitioned(connection: Connection, name: str) -> bool:
    found = _table_info(connection, name)
    return bool(len(found) and found.iloc[0, 0])


SCHEMA_VERSION = migrations(None)[-1].version
VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version Int32, description String, "
    "applied_at DateTime64(6)) ENGINE = MergeTree ORDER BY version"
)
