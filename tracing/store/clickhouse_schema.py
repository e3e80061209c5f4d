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
from dataclasses import dataclass

from ..schema import SPAN_FIELDS, TRACE_FIELDS, Field, stored_columns
from .rollup import AGENT_DAY_COLUMNS, AGENT_DAY_ROWS, AGENT_DAYS
from .schema import VIEWS

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


def trace_table(retention_days: int | None) -> str:
    # Not partitioned by day: a trace row rewritten with a wider start must replace its copy,
    # which ReplacingMergeTree does within a partition only.
    return _table(TRACE_TABLE, TRACE_COLUMNS, "\nORDER BY trace_id" + _ttl(retention_days))


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


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


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
    )


SCHEMA_VERSION = migrations(None)[-1].version
VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version Int32, description String, "
    "applied_at DateTime64(6)) ENGINE = MergeTree ORDER BY version"
)
