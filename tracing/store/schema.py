"""The store's schema: tables, views and the ordered list of migrations that build them.

A store records its version in `schema_version` (one row per applied migration). Opening a store
read-write applies the migrations it lacks, each in its own transaction; a store written by a newer
Agentoscope is refused rather than guessed at. To change the schema, append a `Migration`: never
edit one that has shipped.

All times are UTC, stored as naive `TIMESTAMP`. `spans` rows land as spans finish, nearly in
time order, so DuckDB's per-row-group min/max (zonemaps) make time filters cheap without an
index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..clock import utc_now
from ..schema import (
    MODEL_SPAN_TYPES,
    SPAN_FIELDS,
    TRACE_FIELDS,
    Field,
    stored_columns,
)
from .rollup import (
    HOURLY_MIGRATION_STATEMENTS,
    MIGRATION_STATEMENTS,
    QUARTERS_MIGRATION_STATEMENTS,
    TOP_MIGRATION_STATEMENTS,
    TRACE_COST_QUARTERS_MIGRATION_STATEMENTS,
    TRACE_MIGRATION_STATEMENTS,
)
from .sessions import SESSIONS_MIGRATION_STATEMENTS


def _column_sql(field: Field, constraint: str = "") -> tuple[str, str]:
    if field.required and not constraint:
        constraint = " NOT NULL"
    return field.name, f"{field.duckdb_type}{constraint}"


# (name, type) in table order, from the record schema; `inferred` is the store's own.
SPAN_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    _column_sql(field) for field in stored_columns(SPAN_FIELDS)
)
TRACE_COLUMNS: tuple[tuple[str, str], ...] = (
    *(
        _column_sql(field, " NOT NULL PRIMARY KEY" if field.name == "trace_id" else "")
        for field in stored_columns(TRACE_FIELDS)
    ),
    # True while the row is known only from its spans: the trace is still running, its process
    # died before the trace ended, or its source (plain OpenTelemetry) sends no trace records.
    # The trace's own record replaces such a row when it arrives.
    ("inferred", "BOOLEAN NOT NULL DEFAULT false"),
)
SPAN_COLUMN_NAMES = tuple(name for name, _ in SPAN_COLUMNS)
TRACE_COLUMN_NAMES = tuple(name for name, _ in TRACE_COLUMNS)
# What a trace record carries: every trace column but `inferred`, which the store decides.
TRACE_RECORD_COLUMNS = tuple(field.name for field in stored_columns(TRACE_FIELDS))
# Each record column's JSON type (a name means the same in spans and traces).
COLUMN_JSON_TYPES: dict[str, str] = {
    field.name: field.json_type for field in (*SPAN_FIELDS, *TRACE_FIELDS) if field.stored
}


def _table(name: str, columns: tuple[tuple[str, str], ...]) -> str:
    body = ",\n    ".join(f"{column} {kind}" for column, kind in columns)
    return f"CREATE TABLE {name} (\n    {body}\n)"


_COMMON = "trace_id, span_id, parent_id, agent_name, started_at, ended_at, duration_ms, status"
_ERRORS = "error_type, error_message"
_MODEL_TYPES_SQL = ", ".join(f"'{kind}'" for kind in MODEL_SPAN_TYPES)

# Views for analysts: typed, one row per span of a kind (token_usage: one row per hour, model
# and agent). They read `data` JSON only for fields that are not hot columns.
VIEWS: dict[str, str] = {
    "agent_runs": f"""
        SELECT {_COMMON}, {_ERRORS},
               data->'handoffs' AS handoffs, data->'tools' AS tools,
               data->>'output_type' AS output_type, metadata
        FROM spans WHERE span_type = 'agent'""",
    "generations": f"""
        SELECT {_COMMON}, {_ERRORS}, span_type, model,
               input_tokens, output_tokens, total_tokens, cached_input_tokens, reasoning_tokens,
               data->'input' AS input, data->'output' AS output,
               data->'model_config' AS model_config, data->>'response_id' AS response_id
        FROM spans WHERE span_type IN ('generation', 'response')""",
    "tool_calls": f"""
        SELECT {_COMMON}, {_ERRORS}, tool_name,
               data->>'input' AS input, data->>'output' AS output,
               data->>'call_id' AS call_id, data->'mcp_data' AS mcp_data
        FROM spans WHERE span_type = 'function'""",
    "handoffs": f"""
        SELECT {_COMMON}, data->>'from_agent' AS from_agent, data->>'to_agent' AS to_agent
        FROM spans WHERE span_type = 'handoff'""",
    "guardrails": f"""
        SELECT {_COMMON}, name AS guardrail_name,
               coalesce(triggered, false) AS triggered,
               data->>'source' AS source
        FROM spans WHERE span_type = 'guardrail'""",
    "token_usage": f"""
        SELECT date_trunc('hour', started_at) AS hour, model, agent_name,
               count(*) AS calls,
               count(*) FILTER (WHERE status = 'error') AS errors,
               coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens,
               coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens,
               coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens,
               coalesce(sum(cached_input_tokens), 0)::BIGINT AS cached_input_tokens,
               coalesce(sum(reasoning_tokens), 0)::BIGINT AS reasoning_tokens
        FROM spans WHERE span_type IN ({_MODEL_TYPES_SQL})
        GROUP BY ALL""",
}


# Stores written before migration 3 de-duplicated spans by span_id within the batch's time range
# only: a span sent again with other times was stored twice (and a span whose id another trace
# had used was dropped, which no migration can bring back). Keep each span's first copy.
_REPEATED = "_agentoscope_repeated_spans"
_ONE_ROW_PER_SPAN = (
    f"CREATE TEMP TABLE {_REPEATED} AS SELECT id FROM ("
    "SELECT rowid AS id, row_number() OVER (PARTITION BY trace_id, span_id ORDER BY rowid) AS copy "
    "FROM spans) WHERE copy > 1",
    f"DELETE FROM spans WHERE rowid IN (SELECT id FROM {_REPEATED})",
    f"DELETE FROM agent_days WHERE EXISTS (SELECT 1 FROM {_REPEATED})",
    "UPDATE rollups SET complete_until = NULL WHERE name = 'agent_days' "
    f"AND EXISTS (SELECT 1 FROM {_REPEATED})",
    f"DROP TABLE {_REPEATED}",
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "spans and traces tables; agent_runs, generations, tool_calls, handoffs, guardrails "
        "and token_usage views",
        (
            _table("spans", SPAN_COLUMNS),
            _table("traces", TRACE_COLUMNS),
            *(f"CREATE VIEW {name} AS {sql.strip()}" for name, sql in VIEWS.items()),
        ),
    ),
    Migration(
        2,
        "agent_days: agent runs, failed runs and failing spans per day and agent, kept by the "
        "writer for every day before rollups.complete_until",
        MIGRATION_STATEMENTS,
    ),
    Migration(
        3,
        "a span is (trace_id, span_id): copies of a span stored more than once (sent again "
        "with other times) are removed, the first stored kept; agent_days is rebuilt if any was",
        _ONE_ROW_PER_SPAN,
    ),
    Migration(
        4,
        "latency_hours (span counts per duration bucket) and span_hours (spans, tokens and the "
        "newest failure per span type, agent, model, tool and status), per hour; "
        "rollups.complete_until to the hour",
        HOURLY_MIGRATION_STATEMENTS,
    ),
    Migration(
        5,
        "trace_counts, trace_agent_counts and trace_error_counts: traces (per workflow, failing, "
        "guardrail tripped; per agent; failing spans per error type) per hour (trace_counts per "
        "quarter hour) of the trace's start",
        TRACE_MIGRATION_STATEMENTS,
    ),
    Migration(
        6,
        "span_quarters: span_hours per 15 minutes (the 24-hour charts' 15-minute buckets), "
        "built when the store is next opened",
        QUARTERS_MIGRATION_STATEMENTS,
    ),
    Migration(
        7,
        "slowest_spans (per hour, span type, tool and model, the 20 slowest spans) and "
        "trace_costs (per hour of a trace's start, the 50 costliest traces at the default "
        "prices), built when the store is next opened",
        TOP_MIGRATION_STATEMENTS,
    ),
    Migration(
        8,
        "sessions: one row per session (group_id) of the traces, kept by the writer, so the "
        "count of all sessions reads no trace",
        SESSIONS_MIGRATION_STATEMENTS,
    ),
    Migration(
        9,
        "trace_cost_quarters: trace_costs per quarter hour (the costliest traces of all time "
        "read at most 30 minutes from spans), built when the store is next opened",
        TRACE_COST_QUARTERS_MIGRATION_STATEMENTS,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


class StoreSchemaError(RuntimeError):
    """The file is not a store this version of Agentoscope can use."""


def stored_version(con: Any) -> int | None:
    """The store's schema version; None when the file has no `schema_version` table."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE table_name = 'schema_version' AND schema_name = 'main'"
    ).fetchone()[0]
    if not found:
        return None
    return int(con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])


def check_version(version: int | None, path: str) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise StoreSchemaError(
            f"{path}: schema version {version} was written by a newer Agentoscope "
            f"(this one knows up to {SCHEMA_VERSION}); upgrade agentoscope to open it"
        )


def apply_migrations(con: Any, path: str) -> list[int]:
    """Bring a read-write store up to SCHEMA_VERSION; returns the versions applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER NOT NULL, description VARCHAR, applied_at TIMESTAMP NOT NULL)"
    )
    current = stored_version(con) or 0
    check_version(current, path)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in migration.statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [migration.version, migration.description, utc_now()],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied
