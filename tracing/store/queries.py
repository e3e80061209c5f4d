"""The store's canonical analytic queries: named, parameterised SQL that the dashboard, the CLI
and `benchmarks/bench_store.py` share, so every figure measured is a query someone runs.

Each query takes named parameters (`$name`). Times are passed as text (naive UTC, or ISO-8601
with an offset, converted here) and cast in SQL, so the same parameters travel to
`agentoscope serve` as JSON. Run a query against any reader (a SpanStore, a StoreClient):

    frame = run(reader, "latest_traces", limit=50, workflow="Support")

Shapes that stay fast at 10M spans (reference/duckdb-store-measurements.md §2): trace lists pick
their page of traces first and then read only those traces' spans, bounded below by the oldest
trace's start (spans are stored in time order, so DuckDB skips older row groups); one trace's
spans are read with the trace's own time range as a hint; aggregates filter on the typed
columns, never on JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from ..clock import utc_naive
from .dialect import to_clickhouse
from .rollup import (
    AGENT_DAY_COLUMNS,
    AGENT_DAY_ROWS,
    LATENCY_BUCKET,
    LATENCY_BUCKETS_PER_DOUBLING,
    LATENCY_COLUMNS,
    LATENCY_HOURS,
    LATENCY_HOURS_ROLLUP,
    LATENCY_MAX_RELATIVE_ERROR,
    SPAN_HOURS,
    SPAN_HOURS_ROLLUP,
    TRACE_COUNTS,
    Rollup,
)

__all__ = [
    "LIST_WINDOWS",
    "QUERIES",
    "ROLLUP_ROWS",
    "SPANS_BEFORE",
    "SPANS_FROM",
    "SPAN_CLOCK_MARGIN",
    "ListWindow",
    "NamedQuery",
    "Reader",
    "clickhouse_form",
    "covered",
    "dialect_of",
    "find_trace_id",
    "latest_traces",
    "list_window",
    "run",
    "time_param",
    "trace_detail",
]


class Reader(Protocol):
    """A SpanStore, a StoreClient, or anything else that answers read-only SQL."""

    def query(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> pd.DataFrame: ...


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str
    # Parameter defaults; a callable default is evaluated at run time (e.g. "24 hours ago").
    defaults: Mapping[str, Any]
    # The same query for a ClickHouse store (same parameters); None: `sql` rewritten token for
    # token (store/dialect.py).
    clickhouse_sql: str | None = None

    @property
    def clickhouse(self) -> str:
        return self.clickhouse_sql or to_clickhouse(self.sql)

    def sql_for(self, dialect: str) -> str:
        """The query's text for a store of `dialect` ("duckdb" or "clickhouse")."""
        return self.clickhouse if dialect == "clickhouse" else self.sql

    def params(self, **values: Any) -> dict[str, Any]:
        unknown = set(values) - set(self.defaults)
        if unknown:
            raise TypeError(
                f"{self.name}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                f"it takes {', '.join(sorted(self.defaults)) or 'none'}"
            )
        merged = {}
        for key, default in self.defaults.items():
            value = values.get(key, default)
            if callable(value):
                value = value()
            merged[key] = time_param(value) if isinstance(value, datetime) else value
        return merged


def time_param(moment: datetime | str | None) -> str | None:
    """A time as the store compares it: naive UTC text (zoned values are converted)."""
    if moment is None or isinstance(moment, str):
        return moment
    return utc_naive(moment).isoformat(sep=" ", timespec="microseconds")


def _ago(**delta: float) -> Any:
    return lambda: datetime.now(UTC) - timedelta(**delta)


# Spans start at or after their trace; the margin allows for clocks of other hosts (OTLP).
SPAN_CLOCK_MARGIN = timedelta(minutes=5)
SPAN_TIME_MARGIN = f"INTERVAL {SPAN_CLOCK_MARGIN // timedelta(minutes=1)} MINUTE"
_SINCE = "CAST($since AS TIMESTAMP)"
_UNTIL = "CAST($until AS TIMESTAMP)"
_WINDOW = f"started_at >= {_SINCE} AND started_at < {_UNTIL}"
_FAR_FUTURE = "infinity"


_TRACE_LIST_FILTER = f"""($workflow IS NULL OR workflow_name = $workflow)
      AND ($group_id IS NULL OR group_id = $group_id)
      AND ($search IS NULL OR starts_with(trace_id, $search)
           OR contains(lower(workflow_name), lower($search)))
      AND started_at >= {_SINCE} AND started_at < {_UNTIL}"""


def _latest_traces(extra_condition: str = "") -> str:
    return f"""
WITH page AS (
    SELECT trace_id, workflow_name, group_id, started_at, ended_at, duration_ms, inferred
    FROM traces
    WHERE {_TRACE_LIST_FILTER}{extra_condition}
    ORDER BY started_at DESC
    LIMIT $limit
)
SELECT page.trace_id, page.workflow_name, page.group_id, page.started_at, page.ended_at,
       page.duration_ms, page.inferred AS running,
       count(s.span_id) AS span_count,
       count(s.span_id) FILTER (WHERE s.status = 'error') AS error_count,
       count(s.span_id) FILTER (WHERE s.status = 'error') > 0 AS has_error,
       coalesce(sum(s.input_tokens), 0)::BIGINT AS input_tokens,
       coalesce(sum(s.output_tokens), 0)::BIGINT AS output_tokens,
       coalesce(sum(s.total_tokens), 0)::BIGINT AS total_tokens
FROM page
LEFT JOIN spans AS s ON s.trace_id = page.trace_id
    AND s.started_at >= (SELECT min(started_at) FROM page) - {SPAN_TIME_MARGIN}
GROUP BY ALL
ORDER BY page.started_at DESC"""


def _count_traces(extra_condition: str = "") -> str:
    return f"SELECT count(*) AS traces FROM traces WHERE {_TRACE_LIST_FILTER}{extra_condition}"


# Only traces with a failing span; a separate query because a `NOT $flag OR <subquery>` filter
# would scan every span even when the flag is off.
_FAILING = f"""
      AND trace_id IN (SELECT trace_id FROM spans WHERE status = 'error' AND {_WINDOW})"""
_TRACE_LIST_DEFAULTS = {
    "limit": 50,
    "workflow": None,
    "group_id": None,
    "search": None,
    "since": "-infinity",
    "until": _FAR_FUTURE,
}
_TRACE_COUNT_DEFAULTS = {
    key: value for key, value in _TRACE_LIST_DEFAULTS.items() if key != "limit"
}


def _percentiles(key: str, alias: str, where: str) -> str:
    return f"""
SELECT {key} AS {alias}, count(*) AS spans,
       quantile_cont(duration_ms, [0.5, 0.95, 0.99]) AS q,
       avg(duration_ms) AS avg_ms, max(duration_ms) AS max_ms,
       count(*) FILTER (WHERE status = 'error') AS errors
FROM spans
WHERE {where} AND duration_ms IS NOT NULL AND {_WINDOW}
GROUP BY {key}"""


def _latency_query(key: str, alias: str, where: str) -> str:
    return f"""
SELECT {alias}, spans, q[1] AS p50_ms, q[2] AS p95_ms, q[3] AS p99_ms, avg_ms, max_ms, errors
FROM ({_percentiles(key, alias, where)})
ORDER BY spans DESC"""


# Estimated percentiles read log-scale duration buckets (the latency_hours rollup for whole
# hours, spans for the rest): within LATENCY_MAX_RELATIVE_ERROR (2.2%). The bucket's geometric
# middle is clamped to the smallest and largest value actually seen in the bucket, so a bucket
# holding one distinct value is exact.
PERCENTILE_BUCKETS_PER_DOUBLING = LATENCY_BUCKETS_PER_DOUBLING
ESTIMATE_MAX_RELATIVE_ERROR = LATENCY_MAX_RELATIVE_ERROR
_BUCKET_MIDDLE = (
    "CASE WHEN b IS NULL THEN high "  # durations <= 0 (clock skew): one bucket, its largest
    f"ELSE least(greatest(pow(2, (b + 0.5) / {PERCENTILE_BUCKETS_PER_DOUBLING}), low), high) END"
)


def covered(rollup: Rollup, since: str = _SINCE, until: str = _UNTIL, prefix: str = "") -> str:
    """CTEs `covered` and `bounds`: the whole units of [since, until) that `rollup` covers
    (before its rollups.complete_until), as [lo, hi); both 'infinity' when none. A window is
    read from the rollup between them and from spans before lo and from hi on. The bounds are
    scalar subqueries: DuckDB still skips the row groups of spans outside them. `prefix`
    names them apart, for a query that reads two rollups."""
    return f"""
{prefix}covered AS (
    SELECT CASE WHEN r.complete_until IS NOT NULL THEN
                {rollup.truncate(f"{since} - INTERVAL 1 MICROSECOND")} + {rollup.step} END AS lo,
           least(r.complete_until::TIMESTAMP, {rollup.truncate(until)}) AS hi
    FROM (SELECT 1) LEFT JOIN rollups AS r ON r.name = '{rollup.name}'
),
{prefix}bounds AS (
    SELECT CASE WHEN lo < hi THEN lo ELSE 'infinity'::TIMESTAMP END AS lo,
           CASE WHEN lo < hi THEN hi ELSE 'infinity'::TIMESTAMP END AS hi
    FROM {prefix}covered
)"""


# The rows of a rollup's covered units, and the conditions on spans for the rest (two parts, so
# each has one bound DuckDB can prune row groups by).
ROLLUP_ROWS = "{time} >= (SELECT lo FROM bounds) AND {time} < (SELECT hi FROM bounds)"
SPANS_BEFORE = "started_at < (SELECT lo FROM bounds)"
SPANS_FROM = "started_at >= (SELECT hi FROM bounds)"


# The latency queries, exact and estimated: (name, what is grouped, key column, which spans).
_LATENCY_GROUPS = (
    ("latency_by_span_type", "span type", "span_type", "TRUE"),
    ("latency_by_tool", "tool (function spans)", "tool_name", "span_type = 'function'"),
    ("latency_by_model", "model", "model", "model IS NOT NULL"),
)


def _estimated_latency_query(key: str, alias: str, where: str, *, rollup: bool = True) -> str:
    # quantile_cont keeps every duration of a group and selects from them. Counting spans per
    # (group, bucket) is a plain hash aggregate, and the latency_hours rollup has those counts
    # per hour already: only the window's ragged hours and the hours not yet rolled up are
    # grouped from spans, so the query reads about as much at 100M spans as at 10M.
    # As quantile_cont: the value at fractional rank h = (n - 1) q, interpolated between the
    # values at ranks floor(h) and ceil(h), each read as the middle of the bucket holding it.
    def at_rank(rank: str) -> str:
        return f"arg_min(middle, upto) FILTER (WHERE upto > {rank})"

    picks = ", ".join(
        f"{at_rank(f'floor((n - 1) * {q})')} + ((n - 1) * {q} - floor((n - 1) * {q})) * "
        f"({at_rank(f'ceil((n - 1) * {q})')} - {at_rank(f'floor((n - 1) * {q})')}) AS {name}"
        for q, name in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms"))
    )

    def from_spans(bound: str) -> str:
        return f"""
    SELECT {key} AS k, {LATENCY_BUCKET} AS b, {LATENCY_COLUMNS}
    FROM spans
    WHERE {where} AND duration_ms IS NOT NULL AND {_WINDOW} AND {bound}
    GROUP BY ALL"""

    if rollup:
        hours = ROLLUP_ROWS.format(time="hour")
        parts = f"""{covered(LATENCY_HOURS_ROLLUP).strip()},
parts AS (
    SELECT {key} AS k, bucket AS b, spans, low, high, total, errors
    FROM {LATENCY_HOURS} WHERE {where} AND {hours}
    UNION ALL{from_spans(SPANS_BEFORE)}
    UNION ALL{from_spans(SPANS_FROM)}
),
buckets AS (
    SELECT k, b, sum(spans) AS c, min(low) AS low, max(high) AS high, sum(total) AS total,
           sum(errors) AS errors
    FROM parts GROUP BY k, b
)"""
    else:
        parts = f"""parts AS ({from_spans("TRUE")}
),
buckets AS (SELECT k, b, spans AS c, low, high, total, errors FROM parts)"""
    return f"""
WITH {parts},
ranked AS (
    SELECT *, sum(c) OVER (PARTITION BY k ORDER BY b NULLS FIRST) AS upto,
           sum(c) OVER (PARTITION BY k) AS n, {_BUCKET_MIDDLE} AS middle
    FROM buckets
)
SELECT k AS {alias}, n AS spans, {picks},
       sum(total) / n AS avg_ms, max(high) AS max_ms, sum(errors)::BIGINT AS errors
FROM ranked
GROUP BY k, n
ORDER BY spans DESC"""


def _agent_days_from_spans(bound: str) -> str:
    return f"""
    SELECT date_trunc('day', started_at) AS day, agent_name,{AGENT_DAY_COLUMNS}
    FROM spans WHERE {AGENT_DAY_ROWS} AND {_WINDOW} AND {bound}
    GROUP BY ALL"""


# The agent_days figures, from span_hours for the window's whole hours (agent_days itself has
# whole days only: a 7-day window starting mid-day, and today, would read up to two days of
# spans) and from spans for the rest.
_ERROR_RATE_PER_AGENT_PER_DAY = f"""
WITH {covered(SPAN_HOURS_ROLLUP).strip()},
parts AS (
    SELECT date_trunc('day', hour) AS day, agent_name,
           sum(calls) FILTER (WHERE span_type = 'agent') AS runs,
           sum(calls) FILTER (WHERE span_type = 'agent' AND status = 'error') AS failed_runs,
           sum(calls) FILTER (WHERE status = 'error') AS errors
    FROM {SPAN_HOURS} WHERE {AGENT_DAY_ROWS} AND {ROLLUP_ROWS.format(time="hour")}
    GROUP BY ALL
    UNION ALL{_agent_days_from_spans(SPANS_BEFORE)}
    UNION ALL{_agent_days_from_spans(SPANS_FROM)}
)
SELECT day, agent_name, coalesce(sum(runs), 0)::BIGINT AS runs,
       coalesce(sum(failed_runs), 0)::BIGINT AS failed_runs,
       coalesce(sum(failed_runs), 0) / nullif(sum(runs), 0) AS error_rate,
       coalesce(sum(errors), 0)::BIGINT AS errors
FROM parts
GROUP BY day, agent_name
ORDER BY day, agent_name"""

# ClickHouse groups the window's days from spans (its agent_days is a view of them): the same
# rows as the DuckDB form's three parts.
_ERROR_RATE_PER_AGENT_PER_DAY_CLICKHOUSE = to_clickhouse(f"""
SELECT day, agent_name, runs, failed_runs, failed_runs / nullif(runs, 0) AS error_rate, errors
FROM (
    SELECT date_trunc('day', started_at) AS day, agent_name,{AGENT_DAY_COLUMNS}
    FROM spans WHERE {AGENT_DAY_ROWS} AND {_WINDOW}
    GROUP BY ALL)
ORDER BY day, agent_name""")

# Token sums of model calls (spans naming a model): (column of spans, of span_hours, result).
_TOKENS_PER_AGENT_COLUMNS = (
    ("input_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"),
    ("total_tokens", "reported_total_tokens"),
)
_TOKENS_PER_MODEL_COLUMNS = (
    *_TOKENS_PER_AGENT_COLUMNS,
    ("cached_input_tokens", "reported_cached_input_tokens"),
    ("reasoning_tokens", "reasoning_tokens"),
)


def _tokens_totals(unit: str, key: str, columns: tuple[tuple[str, str], ...]) -> str:
    sums = "".join(
        f",\n       coalesce(sum({name}), 0)::BIGINT AS {name}" for name, _rolled in columns
    )
    return f"""
SELECT {unit}, {key}, sum(calls)::BIGINT AS calls{sums}
FROM parts GROUP BY ALL ORDER BY {unit}, {key}"""


def _tokens_part(unit: str, key: str, columns: tuple[tuple[str, str], ...], bound: str) -> str:
    sums = "".join(f", sum({name}) AS {name}" for name, _rolled in columns)
    return f"""
    SELECT date_trunc('{unit}', started_at) AS {unit}, {key}, count(*) AS calls{sums}
    FROM spans WHERE model IS NOT NULL AND {_WINDOW} AND {bound}
    GROUP BY ALL"""


def _tokens_from_spans(unit: str, key: str, columns: tuple[tuple[str, str], ...]) -> str:
    part = _tokens_part(unit, key, columns, "TRUE")
    return f"WITH parts AS ({part}\n){_tokens_totals(unit, key, columns)}"


def _tokens_query(unit: str, key: str, columns: tuple[tuple[str, str], ...]) -> str:
    rolled = "".join(f", {rolled} AS {name}" for name, rolled in columns)
    return f"""
WITH {covered(SPAN_HOURS_ROLLUP).strip()},
parts AS (
    SELECT date_trunc('{unit}', hour) AS {unit}, {key}, calls{rolled}
    FROM {SPAN_HOURS} WHERE model IS NOT NULL AND {ROLLUP_ROWS.format(time="hour")}
    UNION ALL{_tokens_part(unit, key, columns, SPANS_BEFORE)}
    UNION ALL{_tokens_part(unit, key, columns, SPANS_FROM)}
){_tokens_totals(unit, key, columns)}"""


_WORKFLOWS_FROM_TRACES = """
SELECT workflow_name, count(*) AS traces, max(started_at) AS last_started_at
FROM traces WHERE workflow_name IS NOT NULL GROUP BY 1 ORDER BY 3 DESC"""
# Traces per workflow: trace_counts up to its complete_until (every row it has), the traces table
# from then on (and traces without a start, in no hour). The bound is the rollups row itself:
# through the `covered` CTEs DuckDB read every trace instead of the few after it.
_TRACE_COUNTS_UNTIL = f"""coalesce(
        (SELECT complete_until FROM rollups WHERE name = '{TRACE_COUNTS}'),
        '-infinity'::TIMESTAMP)"""
_WORKFLOWS = f"""
WITH parts AS (
    SELECT workflow_name, traces, last_started_at
    FROM {TRACE_COUNTS} WHERE workflow_name IS NOT NULL
    UNION ALL
    SELECT workflow_name, count(*), max(started_at) FROM traces
    WHERE workflow_name IS NOT NULL AND started_at >= {_TRACE_COUNTS_UNTIL}
    GROUP BY 1
    UNION ALL
    SELECT workflow_name, count(*), max(started_at) FROM traces
    WHERE workflow_name IS NOT NULL AND started_at IS NULL GROUP BY 1
)
SELECT workflow_name, sum(traces)::BIGINT AS traces, max(last_started_at) AS last_started_at
FROM parts GROUP BY 1 ORDER BY 3 DESC"""

_WINDOW_DEFAULTS_24H = {"since": _ago(hours=24), "until": _FAR_FUTURE}
_WINDOW_DEFAULTS_7D = {"since": _ago(days=7), "until": _FAR_FUTURE}
_WINDOW_DEFAULTS_30D = {"since": _ago(days=30), "until": _FAR_FUTURE}

QUERIES: dict[str, NamedQuery] = {
    query.name: query
    for query in (
        NamedQuery(
            "latest_traces",
            "The newest traces (optionally of one workflow or session, or matching a search) "
            "with span count, tokens, duration and an error flag.",
            _latest_traces(),
            _TRACE_LIST_DEFAULTS,
        ),
        NamedQuery(
            "latest_failing_traces",
            "As latest_traces, only traces with a failing span.",
            _latest_traces(_FAILING),
            _TRACE_LIST_DEFAULTS,
        ),
        NamedQuery(
            "count_traces",
            "How many traces latest_traces would choose from (same filters, no page).",
            _count_traces(),
            _TRACE_COUNT_DEFAULTS,
        ),
        NamedQuery(
            "count_failing_traces",
            "How many traces latest_failing_traces would choose from.",
            _count_traces(_FAILING),
            _TRACE_COUNT_DEFAULTS,
        ),
        NamedQuery(
            "trace_start_range",
            "When the newest and the oldest trace (before $until) started: where trace lists "
            "begin looking, and where looking further back finds nothing more.",
            "SELECT max(started_at) AS newest, min(started_at) AS oldest FROM traces "
            f"WHERE started_at < {_UNTIL}",
            {"until": _FAR_FUTURE},
        ),
        NamedQuery(
            "trace",
            "One trace row.",
            "SELECT * FROM traces WHERE trace_id = $trace_id",
            {"trace_id": None},
        ),
        NamedQuery(
            "trace_spans",
            "All spans of one trace in start order; $start/$end are a time hint from the trace "
            "row (see trace_detail), so only the row groups of that time are read.",
            "SELECT * FROM spans WHERE trace_id = $trace_id "
            "AND started_at BETWEEN CAST($start AS TIMESTAMP) AND CAST($end AS TIMESTAMP) "
            "ORDER BY started_at, span_id",
            {"trace_id": None, "start": "-infinity", "end": _FAR_FUTURE},
        ),
        NamedQuery(
            "trace_ids_by_prefix",
            "Up to two trace ids starting with $prefix (to resolve an abbreviated id).",
            "SELECT trace_id FROM traces WHERE starts_with(trace_id, $prefix) LIMIT 2",
            {"prefix": None},
        ),
        NamedQuery(
            "tokens_per_model_per_hour",
            "Model calls and token sums per hour and model over a window (default: 7 days); "
            "whole hours from the span_hours rollup.",
            _tokens_query("hour", "model", _TOKENS_PER_MODEL_COLUMNS),
            _WINDOW_DEFAULTS_7D,
            to_clickhouse(_tokens_from_spans("hour", "model", _TOKENS_PER_MODEL_COLUMNS)),
        ),
        NamedQuery(
            "tokens_per_agent_per_day",
            "Model calls and token sums per day and agent over a window (default: 30 days); "
            "whole hours from the span_hours rollup.",
            _tokens_query("day", "agent_name", _TOKENS_PER_AGENT_COLUMNS),
            _WINDOW_DEFAULTS_30D,
            to_clickhouse(_tokens_from_spans("day", "agent_name", _TOKENS_PER_AGENT_COLUMNS)),
        ),
        *(
            NamedQuery(
                name,
                f"p50/p95/p99 duration per {what} over a window (default: 24 hours), exact: "
                f"reads every span of the window ({name}_estimated reads the rollup).",
                _latency_query(key, key, where),
                _WINDOW_DEFAULTS_24H,
            )
            for name, what, key, where in _LATENCY_GROUPS
        ),
        *(
            NamedQuery(
                f"{name}_estimated",
                f"p50/p95/p99 duration per {what} over a window (default: 30 days). Percentiles "
                f"estimated from log-scale buckets (within {ESTIMATE_MAX_RELATIVE_ERROR:.1%}, "
                "exact where a bucket holds one distinct value; counts, mean and max exact), "
                "read from the latency_hours rollup for whole hours: as fast at 100M spans as "
                f"at 10M. What the dashboard shows unless asked for exact ones ({name}).",
                _estimated_latency_query(key, key, where),
                _WINDOW_DEFAULTS_30D,
                to_clickhouse(_estimated_latency_query(key, key, where, rollup=False)),
            )
            for name, what, key, where in _LATENCY_GROUPS
        ),
        NamedQuery(
            "error_rate_per_agent_per_day",
            "Per day and agent: agent runs, failed runs, their rate, and the failing spans of "
            "any type inside the agent, over a window (default: 7 days): the agent_days "
            "figures. Whole hours come from the span_hours rollup; the window's partial hours, "
            "the current hour and hours not yet rolled up are grouped from spans (by the "
            "agent_name column filled at ingest).",
            _ERROR_RATE_PER_AGENT_PER_DAY,
            _WINDOW_DEFAULTS_7D,
            _ERROR_RATE_PER_AGENT_PER_DAY_CLICKHOUSE,
        ),
        NamedQuery(
            "recent_errors",
            "The newest failing spans over a window (default: 7 days).",
            f"""
SELECT started_at, trace_id, span_id, span_type, name, agent_name, tool_name, model,
       error_type, error_message
FROM spans WHERE status = 'error' AND {_WINDOW}
ORDER BY started_at DESC LIMIT $limit""",
            {**_WINDOW_DEFAULTS_7D, "limit": 100},
        ),
        NamedQuery(
            "errors_by_type",
            "Failing spans per error type and span type over a window (default: 7 days).",
            f"""
SELECT error_type, span_type, count(*) AS errors, count(DISTINCT trace_id) AS traces,
       max(started_at) AS last_seen, any_value(error_message) AS example_message
FROM spans WHERE status = 'error' AND {_WINDOW}
GROUP BY ALL ORDER BY errors DESC""",
            _WINDOW_DEFAULTS_7D,
        ),
        NamedQuery(
            "sessions",
            "Sessions (traces sharing a group_id), newest first, over a window (default: 30 days).",
            f"""
SELECT group_id, count(*) AS traces, min(started_at) AS first_started_at,
       max(coalesce(ended_at, started_at)) AS last_ended_at,
       list(DISTINCT workflow_name) AS workflows
FROM traces WHERE group_id IS NOT NULL AND {_WINDOW}
GROUP BY group_id ORDER BY last_ended_at DESC LIMIT $limit""",
            {**_WINDOW_DEFAULTS_30D, "limit": 100},
        ),
        NamedQuery(
            "workflows",
            "Workflow names with their trace counts and last start (for filters); whole hours "
            "from the trace_counts rollup.",
            _WORKFLOWS,
            {},
            to_clickhouse(_WORKFLOWS_FROM_TRACES),
        ),
        NamedQuery(
            "overview",
            "Row counts and the time extent of the store.",
            "SELECT (SELECT count(*) FROM traces) AS traces, (SELECT count(*) FROM spans) AS "
            "spans, (SELECT min(started_at) FROM spans) AS first_span_at, "
            "(SELECT max(started_at) FROM spans) AS last_span_at",
            {},
            # ClickHouse: the time extent in one pass over the span table's own rows (neither a
            # copy not yet merged nor a deleted row changes a min or a max): a third of the time.
            "SELECT (SELECT count(*) FROM traces) AS traces, (SELECT count(*) FROM spans) AS "
            "spans, first_span_at, last_span_at FROM (SELECT min(started_at) AS first_span_at, "
            "max(started_at) AS last_span_at FROM span_rows)",
        ),
    )
}


_CLICKHOUSE_FORMS = {query.sql: query.clickhouse for query in QUERIES.values()}


def clickhouse_form(sql: str) -> str:
    """A named query's ClickHouse form when `sql` is its DuckDB text (a client of a server
    that stores in ClickHouse sends the DuckDB text); any other SQL as it is."""
    return _CLICKHOUSE_FORMS.get(sql, sql)


def dialect_of(reader: Any) -> str:
    """The SQL dialect a reader answers in: "clickhouse" for a ClickHouseStore and for a
    StoreClient whose server stores in ClickHouse, else "duckdb"."""
    return str(getattr(reader, "dialect", "duckdb"))


def run(reader: Reader, name: str, **params: Any) -> pd.DataFrame:
    """Run the named query with `params` (the rest take their defaults), in the reader's
    dialect."""
    try:
        query = QUERIES[name]
    except KeyError:
        raise KeyError(f"no query named {name!r}; known: {', '.join(sorted(QUERIES))}") from None
    return reader.query(query.sql_for(dialect_of(reader)), query.params(**params))


# Newest-first lists search these windows before their newest row in turn (then everything):
# rows are stored in time order, so "newest first" is the worst case for a plain top-N, which
# reads every row; a window that already holds the page reads only its own row groups.
LIST_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=30))


@dataclass(frozen=True)
class ListWindow:
    """Where a newest-first list reads: from `since` (None: the whole range it was asked
    for), and how many rows that window held (None when not counted)."""

    since: datetime | None
    rows: int | None = None


def list_window(
    newest: Any,
    oldest: Any,
    count: Callable[[datetime], int],
    need: int,
    floor: datetime | str | None = None,
) -> ListWindow:
    """The narrowest of LIST_WINDOWS before `newest` (the newest row's start) in which
    `count(start)` (the rows a list would choose from, starting at `start` or later) finds at
    least `need` rows: the first `need` rows newest-first of the whole range are all in it.

    Stops at `floor` (the range's own start) and at `oldest` (the oldest row's start): a
    window reaching either holds everything, so the caller reads the whole range at once
    rather than counting it first (a filter matching fewer than `need` rows costs the counts
    of the windows short of them, then the whole range)."""
    if newest is None or _missing(newest):
        return ListWindow(None)
    newest_at = pd.Timestamp(newest).to_pydatetime()
    oldest_at = None if oldest is None or _missing(oldest) else pd.Timestamp(oldest).to_pydatetime()
    lowest = _as_datetime(floor)
    for window in LIST_WINDOWS:
        start = newest_at - window
        if (lowest is not None and start <= lowest) or (
            oldest_at is not None and start <= oldest_at
        ):
            break
        rows = count(start)
        if rows >= need:
            return ListWindow(start, rows)
    return ListWindow(None)


def latest_traces(
    reader: Reader,
    *,
    limit: int = 50,
    errors_only: bool = False,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """The newest `limit` traces (see the latest_traces and latest_failing_traces queries),
    searched newest-first in growing windows (`list_window`)."""
    name = "latest_failing_traces" if errors_only else "latest_traces"
    count = "count_failing_traces" if errors_only else "count_traces"
    params = {"limit": limit, **filters}
    if until is not None:
        params["until"] = time_param(until)
    without_limit = {key: value for key, value in params.items() if key != "limit"}
    floor = _as_datetime(since)
    everything = time_param(floor) or "-infinity"
    ends = run(reader, "trace_start_range", until=params.get("until", _FAR_FUTURE))

    def counted(start: datetime) -> int:
        # Counting is cheap (no span join): the page query runs once, on a window that fills it.
        return int(run(reader, count, since=time_param(start), **without_limit).iloc[0]["traces"])

    found = list_window(ends.iloc[0]["newest"], ends.iloc[0]["oldest"], counted, limit, floor)
    return run(reader, name, since=time_param(found.since) or everything, **params)


def _as_datetime(moment: datetime | str | None) -> datetime | None:
    """Naive UTC, or None for no bound."""
    if moment is None or moment in ("-infinity", "infinity"):
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return utc_naive(moment)


def find_trace_id(reader: Reader, prefix: str) -> str | None:
    """The trace id that `prefix` abbreviates (a full id is returned as is when stored); None
    when nothing matches. Raises ValueError when the prefix is ambiguous."""
    exact = run(reader, "trace", trace_id=prefix)
    if len(exact):
        return prefix
    found = run(reader, "trace_ids_by_prefix", prefix=prefix)["trace_id"].tolist()
    if len(found) > 1:
        raise ValueError(f"{prefix!r} matches more than one trace; give more of the id")
    return found[0] if found else None


def trace_detail(reader: Reader, trace_id: str) -> tuple[dict[str, Any] | None, pd.DataFrame]:
    """(the trace row as a dict or None, its spans in start order). The trace row's times bound
    the span lookup; a trace with no row (not possible for stores written by Agentoscope,
    but cheap to allow) is looked up without the hint."""
    rows = run(reader, "trace", trace_id=trace_id)
    trace = None
    start: Any = "-infinity"
    end: Any = _FAR_FUTURE
    if len(rows):
        trace = {key: (None if _missing(value) else value) for key, value in rows.iloc[0].items()}
        margin = timedelta(minutes=5)
        if trace.get("started_at") is not None:
            start = pd.Timestamp(trace["started_at"]).to_pydatetime() - margin
        # A running (inferred) trace may still grow: no upper bound for it.
        if trace.get("ended_at") is not None and not trace.get("inferred"):
            end = pd.Timestamp(trace["ended_at"]).to_pydatetime() + margin
    spans = run(reader, "trace_spans", trace_id=trace_id, start=start, end=end)
    return trace, spans


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
