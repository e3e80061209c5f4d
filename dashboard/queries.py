"""Every SQL statement the dashboard runs, in one place, parameterised.

Queries the store already defines (agentoscope.tracing.store.queries: the overview, workflows,
one trace, latency percentiles, recent errors, error types) are used from there through
`named()`; the ones here are the dashboard's own: filtered and paginated lists with costs,
time series, histograms, sessions with their totals.

Each function returns a `Sql` (text and parameters) and runs nothing, so the benchmark can run the
exact statements the pages run. User values only ever reach DuckDB as parameters; the SQL text is
assembled from constant fragments in this module, and the few identifiers a user can choose (a
group-by column, a bucket size) are checked against allow-lists first.

Shapes that keep 1M-span stores fast (see reference/duckdb-store-measurements.md §2):
- lists pick their page of traces first, then join only those traces' spans, with a time hint
  (`spans.started_at >= first trace start`) so DuckDB's zonemaps skip old row groups;
- one trace's spans are looked up with the trace's time range as a hint;
- costs are computed in SQL from per-model rates passed as list parameters, so no per-row Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import pandas as pd

from agentoscope.tracing.clock import utc_naive
from agentoscope.tracing.store import queries as canonical
from agentoscope.tracing.store.dialect import to_clickhouse
from agentoscope.tracing.store.queries import (
    ROLLUP_ROWS,
    SPANS_BEFORE,
    SPANS_FROM,
    Reader,
    clickhouse_form,
    covered,
    dialect_of,
)
from agentoscope.tracing.store.rollup import (
    LATENCY_BUCKET,
    LATENCY_BUCKETS_PER_DOUBLING,
    LATENCY_HOURS,
    LATENCY_HOURS_ROLLUP,
    LATENCY_KEYS,
    MODEL_SPAN,
    SLOWEST_KEEP,
    SLOWEST_SPAN_COLUMNS,
    SLOWEST_SPANS,
    SLOWEST_SPANS_ROLLUP,
    SPAN_COST,
    SPAN_HOURS,
    SPAN_HOURS_ROLLUP,
    SPAN_QUARTERS,
    SPAN_QUARTERS_ROLLUP,
    TOKENS,
    TRACE_AGENT_COUNTS_ROLLUP,
    TRACE_CLOCK_MARGIN,
    TRACE_COST_KEEP,
    TRACE_COST_QUARTERS,
    TRACE_COST_QUARTERS_ROLLUP,
    TRACE_COSTS,
    TRACE_COSTS_ROLLUP,
    TRACE_COUNTS,
    TRACE_COUNTS_ROLLUP,
    TRACE_ERROR_COUNTS,
    USAGE_SUMS,
    Rollup,
)
from agentoscope.tracing.store.sessions import SESSIONS


class Sql(NamedTuple):
    text: str
    params: list[Any] | dict[str, Any]
    # For a query that reads a rollup of the DuckDB store: the same answer grouped from spans
    # (an Sql), which a ClickHouse store runs (it keeps no rollup tables). None: this text
    # translated.
    clickhouse: Any = None

    def form_for(self, reader: Any) -> Sql:
        """The Sql to run on `reader`: the ClickHouse form for a ClickHouse store, if any."""
        if self.clickhouse is not None and dialect_of(reader) == "clickhouse":
            return self.clickhouse
        return self

    def text_for(self, reader: Any) -> str:
        """The statement in the reader's dialect: a ClickHouse store gets the ClickHouse form
        (a named query's own, else this text with CLICKHOUSE_FRAGMENTS and the store's token
        rewrites), with the same parameters."""
        if dialect_of(reader) != "clickhouse":
            return self.text
        named_form = clickhouse_form(self.text)
        if named_form != self.text:
            return named_form
        return to_clickhouse(self.text, CLICKHOUSE_FRAGMENTS)

    def run(self, reader: Reader) -> pd.DataFrame:
        form = self.form_for(reader)
        return reader.query(form.text_for(reader), form.params)


def named(name: str, **params: Any) -> Sql:
    """A canonical query of the store (agentoscope.tracing.store.queries), for the pages it
    serves as is: the store's overview and workflows, latency percentiles, recent errors, error
    types."""
    query = canonical.QUERIES[name]
    return Sql(query.sql, query.params(**params))


def window_params(window: Window) -> dict[str, str | None]:
    """A window as the canonical queries' `$since`/`$until` parameters."""
    return {
        "since": timestamp_param(window.start) if window.start else "-infinity",
        "until": timestamp_param(window.end) if window.end else "infinity",
    }


# Columns a page may group or filter by. Anything else is refused before it reaches SQL text.
GROUP_COLUMNS = ("span_type", "tool_name", "model", "agent_name", "name")
TRACE_STATUSES = ("any", "error", "ok", "guardrail")
# Spans start at or after their trace; the slack covers clocks of OTLP senders.
TIME_HINT_SLACK = "INTERVAL 1 MINUTE"


def checked_column(name: str) -> str:
    if name not in GROUP_COLUMNS:
        raise ValueError(f"cannot group by {name!r}: choose one of {', '.join(GROUP_COLUMNS)}")
    return name


def timestamp_param(value: datetime | None) -> str | None:
    """Naive UTC text, as the store keeps times; tz-aware values are converted to UTC first."""
    if value is None:
        return None
    return utc_naive(value).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True)
class Window:
    """A time range over span/trace start times; None on a side means unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def where(self, column: str = "started_at") -> tuple[list[str], list[Any]]:
        conditions: list[str] = []
        params: list[Any] = []
        if self.start is not None:
            conditions.append(f"{column} >= CAST(? AS TIMESTAMP)")
            params.append(timestamp_param(self.start))
        if self.end is not None:
            conditions.append(f"{column} < CAST(? AS TIMESTAMP)")
            params.append(timestamp_param(self.end))
        return conditions, params


@dataclass(frozen=True)
class TraceFilters:
    window: Window = field(default_factory=Window)
    workflow: str | None = None
    agent: str | None = None
    status: str = "any"
    group_id: str | None = None
    search: str | None = None
    # Where the span conditions (failing, ok, tripped, one agent, the text search) read spans
    # from, when not the window's start: a list reading a window before its newest trace reads
    # spans from a margin before it, for spans whose clock ran behind their trace's.
    spans_from: datetime | None = None


@dataclass(frozen=True)
class Prices:
    """Per-token dollar rates per exact model name (see pricing.price_lists)."""

    models: list[str] = field(default_factory=list)
    input_rates: list[float] = field(default_factory=list)
    cached_rates: list[float] = field(default_factory=list)
    output_rates: list[float] = field(default_factory=list)
    # Whether these rates cost every model of the store as the default prices do
    # (prices_match_defaults): then costs kept at the default prices (trace_costs) hold.
    at_defaults: bool = False

    def params(self) -> list[Any]:
        return [self.models, self.input_rates, self.cached_rates, self.output_rates]


# A CTE of the price table; four list parameters, zipped by DuckDB's parallel unnest.
PRICES_CTE = """prices AS (
    SELECT unnest(CAST(? AS VARCHAR[])) AS model, unnest(CAST(? AS DOUBLE[])) AS input_rate,
           unnest(CAST(? AS DOUBLE[])) AS cached_rate, unnest(CAST(? AS DOUBLE[])) AS output_rate
)"""
# The same table in ClickHouse: the four arrays zipped and unrolled.
PRICES_CTE_CLICKHOUSE = """prices AS (
    SELECT row.1 AS model, row.2 AS input_rate, row.3 AS cached_rate, row.4 AS output_rate
    FROM (SELECT arrayJoin(arrayZip(CAST(? AS Array(String)), CAST(? AS Array(Float64)),
                                    CAST(? AS Array(Float64)), CAST(? AS Array(Float64)))) AS row)
)"""
# Time buckets of `?` seconds, DuckDB and ClickHouse.
BUCKET = "time_bucket(to_seconds(CAST(? AS BIGINT)), {column})"
BUCKET_CLICKHOUSE = "toStartOfInterval({column}, toIntervalSecond(toInt64(?)))"


def _time_hint(column: str, start: Any, end: Any) -> tuple[str, list[Any]]:
    """`column` between two constants (with slack), from the rows a first query picked.

    Constants, not a subquery: DuckDB prunes row groups by their min/max statistics only for
    constant bounds, and spans are stored in time order, so this reads the few row groups of
    that time instead of the whole table. None means unbounded on that side.
    """
    conditions, params = [], []
    if start is not None and not pd.isna(start):
        conditions.append(f"{column} >= CAST(? AS TIMESTAMP) - {TIME_HINT_SLACK}")
        params.append(timestamp_param(pd.Timestamp(start).to_pydatetime()))
    if end is not None and not pd.isna(end):
        conditions.append(f"{column} <= CAST(? AS TIMESTAMP) + {TIME_HINT_SLACK}")
        params.append(timestamp_param(pd.Timestamp(end).to_pydatetime()))
    return _and(conditions), params


def _id_list(column: str) -> str:
    """`column` is one of a list parameter's values."""
    return f"list_contains(CAST(? AS VARCHAR[]), {column})"


def _and(conditions: Sequence[str]) -> str:
    return " AND ".join(conditions) if conditions else "TRUE"


# Rollup-backed queries: the whole hours of the window that span_hours covers are read from it,
# the rest (the window's ragged hours, the current hour, hours a late write reopened) from
# spans. Bucket sizes that are whole hours compose from hours; smaller ones read spans only.
def _with_rollup(
    window: Window,
    from_hours: tuple[str, list[Any]],
    from_spans: Any,
    rollup: Rollup = SPAN_HOURS_ROLLUP,
) -> tuple[str, list[Any]]:
    """(the CTEs `covered`, `bounds` and `parts`, their parameters in text order).
    `from_hours` is a SELECT over the hourly `rollup` with HOUR_ROWS among its conditions;
    `from_spans(bound)` a SELECT of the same columns over spans with `bound` among them."""
    bounds = window_params(window)
    spans_parts = [SPANS_BEFORE, SPANS_FROM]
    if window.start is None and window.end is None:
        # Spans with no start time are in no hour: an unbounded window counts them from spans
        # (a part of its own: `OR started_at IS NULL` would stop DuckDB skipping row groups).
        spans_parts.append("started_at IS NULL")
    texts, params = [from_hours[0].strip()], [bounds["since"], bounds["until"], *from_hours[1]]
    for bound in spans_parts:
        text, part_params = from_spans(bound)
        texts.append(text.strip())
        params += part_params
    union = "\nUNION ALL\n".join(texts)
    text = f"""{covered(rollup, "CAST(? AS TIMESTAMP)", "CAST(? AS TIMESTAMP)").strip()},
parts AS (
{union}
)"""
    return text, params


HOUR_ROWS = ROLLUP_ROWS.format(time="hour")


def _span_rollup(bucket_seconds: int | None) -> Rollup | None:
    """The span rollup whose units make buckets of `bucket_seconds` (None: no buckets), or None
    when none's do: span_hours for whole hours, else span_quarters for whole quarter hours
    (four times the rows, so only then)."""
    if bucket_seconds is None or bucket_seconds % 3600 == 0:
        return SPAN_HOURS_ROLLUP
    if bucket_seconds % 900 == 0:
        return SPAN_QUARTERS_ROLLUP
    return None


# ---------------------------------------------------------------- store summary and filter lists


def _names(column: str) -> Sql:
    """The distinct values of `column`: span_hours has them up to its complete_until, spans
    from then on."""
    from_spans = Sql(
        f"SELECT DISTINCT {column} FROM spans WHERE {column} IS NOT NULL ORDER BY 1", []
    )
    text = f"""
SELECT {column} FROM {SPAN_HOURS} WHERE {column} IS NOT NULL
UNION
SELECT {column} FROM spans WHERE {column} IS NOT NULL AND started_at >= coalesce(
    (SELECT complete_until FROM rollups WHERE name = '{SPAN_HOURS}'), '-infinity'::TIMESTAMP)
UNION
SELECT {column} FROM spans WHERE {column} IS NOT NULL AND started_at IS NULL
ORDER BY 1"""
    return Sql(text, [], from_spans)


def agent_names() -> Sql:
    return _names("agent_name")


def model_names() -> Sql:
    return _names("model")


# ---------------------------------------------------------------- traces page


def _trace_conditions(filters: TraceFilters) -> tuple[str, list[Any]]:
    """WHERE text over `traces t`; span-level filters become semi-joins bounded by the window."""
    conditions, params = filters.window.where("t.started_at")
    spans = Window(filters.spans_from or filters.window.start, filters.window.end)
    span_window, span_window_params = spans.where("started_at")
    if filters.workflow:
        conditions.append("t.workflow_name = ?")
        params.append(filters.workflow)
    if filters.group_id:
        conditions.append("t.group_id = ?")
        params.append(filters.group_id)
    if filters.agent:
        conditions.append(
            "t.trace_id IN (SELECT trace_id FROM spans WHERE agent_name = ? AND "
            + _and(span_window)
            + ")"
        )
        params += [filters.agent, *span_window_params]
    if filters.status not in TRACE_STATUSES:
        raise ValueError(f"unknown trace status {filters.status!r}")
    failing = "SELECT trace_id FROM spans WHERE status = 'error' AND " + _and(span_window)
    if filters.status == "error":
        conditions.append(f"t.trace_id IN ({failing})")
        params += span_window_params
    elif filters.status == "ok":
        conditions.append(f"t.trace_id NOT IN ({failing})")
        params += span_window_params
    elif filters.status == "guardrail":
        conditions.append(
            "t.trace_id IN (SELECT trace_id FROM guardrails WHERE triggered AND "
            + _and(span_window)
            + ")"
        )
        params += span_window_params
    if filters.search:
        needle = filters.search.strip().lower()
        conditions.append(
            "(t.trace_id = ? OR t.group_id = ? OR contains(lower(t.workflow_name), ?) OR "
            "t.trace_id IN (SELECT trace_id FROM spans WHERE (contains(lower(name), ?) "
            "OR contains(lower(error_message), ?) OR lower(error_type) = ? OR span_id = ?) AND "
            + _and(span_window)
            + "))"
        )
        params += [filters.search.strip()] * 2 + [needle] * 4 + [filters.search.strip()]
        params += span_window_params
    return _and(conditions), params


def trace_count(filters: TraceFilters) -> Sql:
    """How many traces a list would page through. With a status, workflow or agent filter (and
    no search or session): whole hours from the trace rollups, where a trace is failing (or
    tripped a guardrail, or ran an agent) when any of its spans did."""
    where, params = _trace_conditions(filters)
    plain = Sql(f"SELECT count(*) AS traces FROM traces t WHERE {where}", params)
    if filters.search or filters.group_id:
        return plain
    if filters.status == "any" and not filters.workflow and not filters.agent:
        return plain  # count(*) of the traces of a window: no span read
    spans, spans_params = _spans_since(filters.window)
    conditions, exact_params = _trace_filter(filters, spans, spans_params)
    exact = Sql(f"SELECT count(*) AS traces FROM traces t WHERE {_and(conditions)}", exact_params)
    keys, key_params = _trace_keys(filters)
    rollup = TRACE_AGENT_COUNTS_ROLLUP if filters.agent else TRACE_COUNTS_ROLLUP
    from_hours = (
        f"SELECT sum(traces) AS n FROM {rollup.name} WHERE {_and([*keys, trace_units(rollup)])}"
    )

    def from_traces(bound: str, spans: str, spans_params: list[Any]) -> tuple[str, list[Any]]:
        # The filters as the count's FILTER: in the WHERE, DuckDB would join first and scan
        # every trace instead of only those after the bound.
        chosen, chosen_params = _trace_filter(filters, spans, spans_params, window=False)
        conditions, params = filters.window.where("t.started_at")
        text = (
            f"SELECT count(*) FILTER (WHERE {_and(chosen)}) AS n FROM traces t "
            f"WHERE {_and([*conditions, bound])}"
        )
        return text, [*chosen_params, *params]

    parts, parts_params = _with_trace_rollup(
        filters.window, (from_hours, key_params), from_traces, rollup
    )
    text = f"WITH {parts}\nSELECT coalesce(sum(n), 0)::BIGINT AS traces FROM trace_parts"
    return Sql(text, parts_params, exact)


# Trace rollups (counted in the hour of the trace's start): whole hours of the window from the
# rollup, the rest from the traces table, each trace's spans read from TRACE_CLOCK_MARGIN before
# the start of the traces of that part (spans start at or after their trace).
_TRACE_UNITS = "{time} >= (SELECT lo FROM trace_bounds) AND {time} < (SELECT hi FROM trace_bounds)"


def trace_units(rollup: Rollup) -> str:
    """The rows of the trace `rollup`'s covered units (per hour or quarter hour)."""
    return _TRACE_UNITS.format(time=rollup.time_column)


_TRACES_BEFORE = "started_at < (SELECT lo FROM trace_bounds)"
_TRACES_FROM = "started_at >= (SELECT hi FROM trace_bounds)"
_SPANS_OF_TRACES_FROM = f"started_at >= (SELECT hi FROM trace_bounds) - {TRACE_CLOCK_MARGIN}"
_UNSTARTED = "started_at IS NULL"
_AFTER_COVERED = (
    "(SELECT CASE WHEN hi < 'infinity'::TIMESTAMP THEN hi ELSE '-infinity'::TIMESTAMP END "
    "FROM trace_bounds)"
)
_TRACES_AFTER_COVERED = f"started_at >= {_AFTER_COVERED}"
_SPANS_OF_TRACES_AFTER_COVERED = f"started_at >= {_AFTER_COVERED} - {TRACE_CLOCK_MARGIN}"


def _spans_since(window: Window) -> tuple[str, list[Any]]:
    """Which spans can belong to the traces starting in `window`."""
    if window.start is None:
        return "TRUE", []
    return f"started_at >= CAST(? AS TIMESTAMP) - {TRACE_CLOCK_MARGIN}", [
        timestamp_param(window.start)
    ]


# The spans of a few traces end by the last of their ends: a trace row's times hold its spans
# (a record's come from the same clock, within the margin; an inferred row is widened to every
# span stored, in the same transaction). A trace without an end leaves them open.
_SPANS_UNTIL_ENDED = f"""started_at <= (
    SELECT CASE WHEN count(*) = count(ended_at)
                THEN coalesce(max(ended_at) + {TRACE_CLOCK_MARGIN}, '-infinity'::TIMESTAMP)
                ELSE 'infinity'::TIMESTAMP END
    FROM traces WHERE {{traces}})"""


def _spans_until_ended(window: Window, traces: str) -> tuple[str, list[Any]]:
    """Spans starting by the last end of the traces of `window` matching `traces`."""
    conditions, params = window.where("started_at")
    return _SPANS_UNTIL_ENDED.format(traces=_and([*conditions, traces])), params


def _spans_of_traces_in(window: Window, traces: str) -> tuple[str, list[Any]]:
    """Which spans can belong to the traces of `window` matching `traces`: from the window's
    start and up to those traces' last end. For the traces of a ragged first unit, whose
    spans `_spans_since` alone would read up to now (the whole day of a 24-hour window)."""
    since, since_params = _spans_since(window)
    until, until_params = _spans_until_ended(window, traces)
    return f"{since} AND {until}", [*since_params, *until_params]


def _trace_filter(
    filters: TraceFilters, spans: str, spans_params: list[Any], *, window: bool = True
) -> tuple[list[str], list[Any]]:
    """Conditions on `traces t` in the window (unless not `window`) with the filters'
    workflow, agent and status, read from the spans matching `spans` (a trace is failing when
    a span of it failed)."""
    conditions, params = filters.window.where("t.started_at") if window else ([], [])
    if filters.workflow:
        conditions.append("t.workflow_name = ?")
        params.append(filters.workflow)
    if filters.agent:
        conditions.append(
            f"t.trace_id IN (SELECT trace_id FROM spans WHERE agent_name = ? AND {spans})"
        )
        params += [filters.agent, *spans_params]
    if filters.status not in TRACE_STATUSES:
        raise ValueError(f"unknown trace status {filters.status!r}")
    failing = f"SELECT trace_id FROM spans WHERE status = 'error' AND {spans}"
    tripped = f"SELECT trace_id FROM spans WHERE span_type = 'guardrail' AND triggered AND {spans}"
    chosen = {"error": f"t.trace_id IN ({failing})", "ok": f"t.trace_id NOT IN ({failing})"}
    chosen["guardrail"] = f"t.trace_id IN ({tripped})"
    if filters.status in chosen:
        conditions.append(chosen[filters.status])
        params += spans_params
    return conditions, params


def _trace_keys(filters: TraceFilters) -> tuple[list[str], list[Any]]:
    """The same filters on the rows of a trace rollup."""
    keys, params = [], []
    if filters.workflow:
        keys.append("workflow_name = ?")
        params.append(filters.workflow)
    if filters.agent:
        keys.append("agent_name = ?")
        params.append(filters.agent)
    status = {"error": "failed", "ok": "NOT failed", "guardrail": "tripped"}
    if filters.status in status:
        keys.append(status[filters.status])
    return keys, params


def _with_trace_rollup(
    window: Window,
    from_hours: tuple[str, list[Any]],
    from_traces: Any,
    rollup: Rollup = TRACE_COUNTS_ROLLUP,
    *,
    unstarted: bool = True,
) -> tuple[str, list[Any]]:
    """(the CTEs `trace_covered`, `trace_bounds` and `trace_parts`, their parameters in text
    order). `from_hours` is a SELECT over the trace `rollup` with trace_units(rollup) among its
    conditions; `from_traces(bound, spans, spans_params)` one of the same columns over `traces
    t` with `bound` among its conditions, reading the spans matching `spans`. `unstarted`:
    whether an unbounded window also counts traces without a start."""
    bounds = window_params(window)
    parts: list[tuple[str, str, list[Any]]]
    if window.start is None:
        # Nothing starts before `lo`: one part from `hi` on, or from the first trace when the
        # rollup covers nothing (bounds 'infinity').
        parts = [(_TRACES_AFTER_COVERED, _SPANS_OF_TRACES_AFTER_COVERED, [])]
    else:
        parts = [
            (_TRACES_BEFORE, *_spans_of_traces_in(window, _TRACES_BEFORE)),
            (_TRACES_FROM, _SPANS_OF_TRACES_FROM, []),
        ]
    if unstarted and window.start is None and window.end is None:
        # A trace without a start has no span with one (its row would have taken its time).
        parts.append((_UNSTARTED, _UNSTARTED, []))
    texts, params = [from_hours[0].strip()], [bounds["since"], bounds["until"], *from_hours[1]]
    for bound, spans, spans_params in parts:
        text, part_params = from_traces(bound, spans, list(spans_params))
        texts.append(text.strip())
        params += part_params
    union = "\nUNION ALL\n".join(texts)
    since, until = "CAST(? AS TIMESTAMP)", "CAST(? AS TIMESTAMP)"
    text = f"""{covered(rollup, since, until, "trace_").strip()},
trace_parts AS (
{union}
)"""
    return text, params


def trace_page(filters: TraceFilters, limit: int = 50, offset: int = 0) -> Sql:
    """Step 1 of a trace list: one page of trace rows, newest first (the traces table only)."""
    where, params = _trace_conditions(filters)
    text = f"""
SELECT t.trace_id, t.workflow_name, t.group_id, t.started_at, t.ended_at, t.duration_ms,
       t.inferred AS running
FROM traces t WHERE {where}
ORDER BY t.started_at DESC NULLS LAST, t.trace_id
LIMIT ? OFFSET ?"""
    return Sql(text, [*params, int(limit), int(offset)])


def trace_totals(trace_ids: list[str], start: Any, end: Any, prices: Prices) -> Sql:
    """Step 2: span count, tokens, cost, errors, guardrail trips, first agent and last error of
    the given traces, reading only the spans between `start` and `end`."""
    hint, hint_params = _time_hint("s.started_at", start, end)
    text = f"""
WITH {PRICES_CTE}
SELECT s.trace_id, count(*) AS spans,
       sum({TOKENS}) FILTER (WHERE {MODEL_SPAN}) AS tokens,
       sum({SPAN_COST}) AS cost,
       count(*) FILTER (WHERE s.status = 'error') AS errors,
       count(*) FILTER (WHERE s.span_type = 'guardrail'
                        AND s.triggered) AS tripped,
       arg_min(s.agent_name, s.started_at) FILTER (WHERE s.agent_name IS NOT NULL)
           AS first_agent,
       arg_max(s.error_message, s.started_at) FILTER (WHERE s.status = 'error') AS last_error
FROM spans s LEFT JOIN prices p ON s.model = p.model
WHERE {hint} AND {_id_list("s.trace_id")}
GROUP BY s.trace_id"""
    return Sql(text, [*prices.params(), *hint_params, list(trace_ids)])


# ---------------------------------------------------------------- usage and cost


# The cost of summed tokens of one model: costs are linear, so pricing sums is exact and joins
# the price table to a few hundred rows instead of every span.
SUM_COST = """(
    (u.input_tokens - u.cached_input_tokens) * p.input_rate
    + u.cached_input_tokens * p.cached_rate + u.output_tokens * p.output_rate)"""

# Sums of usage rows (from span_hours or grouped from spans), per bucket, key and model.
_USAGE_TOTALS = """sum(calls) AS calls, sum(input_tokens) AS input_tokens,
           sum(cached_input_tokens) AS cached_input_tokens, sum(output_tokens) AS output_tokens,
           sum(reasoning_tokens) AS reasoning_tokens, sum(tokens) AS tokens"""
_USAGE_PRICED = f"""
SELECT u.bucket, u.key, sum(u.calls) AS calls, sum(u.input_tokens) AS input_tokens,
       sum(u.cached_input_tokens) AS cached_input_tokens,
       sum(u.output_tokens) AS output_tokens, sum(u.reasoning_tokens) AS reasoning_tokens,
       sum(u.tokens) AS tokens, sum({SUM_COST}) AS cost,
       sum(u.tokens) FILTER (WHERE p.model IS NULL) AS unpriced_tokens
FROM usage u LEFT JOIN prices p ON u.model = p.model
GROUP BY u.bucket, u.key
ORDER BY u.bucket, u.key"""
# The columns span_hours groups by (a usage chart per other column reads spans).
SPAN_HOUR_KEYS = ("span_type", "agent_name", "model", "tool_name")


def _usage_from_spans(
    window: Window, bucket_seconds: int, column: str, bound: str = "TRUE"
) -> tuple[str, list[Any]]:
    conditions, params = window.where("s.started_at")
    text = f"""
    SELECT {BUCKET.format(column="s.started_at")} AS bucket,
           coalesce(s.{column}, '(none)') AS key, s.model, {USAGE_SUMS}
    FROM spans s
    WHERE {MODEL_SPAN} AND {_and(conditions)} AND {bound}
    GROUP BY ALL"""
    return text, [int(bucket_seconds), *params]


def usage_over_time(window: Window, bucket_seconds: int, by: str, prices: Prices) -> Sql:
    """Tokens, calls and cost per time bucket and per model (or agent). Exact either way:
    whole hours come from span_hours when buckets are whole hours, whole quarter hours from
    span_quarters when they are whole quarter hours."""
    column = checked_column(by)
    spans_text, spans_params = _usage_from_spans(window, bucket_seconds, column)
    from_spans = Sql(
        f"WITH {PRICES_CTE},\nusage AS ({spans_text}\n){_USAGE_PRICED}",
        [*prices.params(), *spans_params],
    )
    rollup = _span_rollup(bucket_seconds)
    if rollup is None or column not in SPAN_HOUR_KEYS:
        return from_spans
    unit = rollup.time_column
    from_hours = f"""
    SELECT {BUCKET.format(column=unit)} AS bucket, coalesce({column}, '(none)') AS key,
           model, {_USAGE_TOTALS}
    FROM {rollup.name} WHERE model_call AND {ROLLUP_ROWS.format(time=unit)}
    GROUP BY ALL"""
    parts, params = _with_rollup(
        window,
        (from_hours, [int(bucket_seconds)]),
        lambda bound: _usage_from_spans(window, bucket_seconds, column, bound),
        rollup,
    )
    text = f"""
WITH {PRICES_CTE},
{parts},
usage AS (SELECT bucket, key, model, {_USAGE_TOTALS} FROM parts GROUP BY ALL){_USAGE_PRICED}"""
    return Sql(text, [*prices.params(), *params], from_spans)


_COST_COLUMNS = "trace_id, workflow_name, cost, tokens, calls, started_at, group_id"


def _costs_from_traces(
    window: Window, bound: str, spans: str, spans_params: list[Any]
) -> tuple[str, list[Any]]:
    """Per trace starting in `window` (and `bound`): its priced model calls (of the spans
    matching `spans`, from TRACE_CLOCK_MARGIN before the trace's start) summed."""
    conditions, params = window.where("started_at")
    text = f"""
SELECT t.trace_id AS trace_id, t.workflow_name AS workflow_name, sum({SPAN_COST}) AS cost,
       sum({TOKENS}) AS tokens, count(*) AS calls, t.started_at AS started_at,
       t.group_id AS group_id
FROM (SELECT * FROM traces WHERE {_and([*conditions, bound])}) AS t
JOIN (SELECT * FROM spans WHERE {spans}) AS s ON s.trace_id = t.trace_id
JOIN prices p ON s.model = p.model
WHERE s.started_at >= t.started_at - {TRACE_CLOCK_MARGIN}
GROUP BY t.trace_id, t.workflow_name, t.started_at, t.group_id"""
    return text, [*params, *spans_params]


_TOP_COSTS = f"""
SELECT {_COST_COLUMNS} FROM trace_parts ORDER BY cost DESC, trace_id LIMIT ?"""


def top_traces_by_cost(window: Window, prices: Prices, limit: int = 20) -> Sql:
    """The costliest traces that STARTED in the window (as in the trace list), a trace's cost
    being that of its model calls from TRACE_CLOCK_MARGIN before its start; ties by trace id.
    At the default prices (`prices.at_defaults`) whole hours come from trace_costs and the
    quarter hours after them from trace_cost_quarters (each unit's TRACE_COST_KEEP costliest
    traces at those prices), the rest from traces and spans; with edited prices every trace of
    the window is costed from its spans."""
    spans, spans_params = _spans_since(window)
    exact_text, exact_params = _costs_from_traces(window, "TRUE", spans, spans_params)
    exact = Sql(
        f"WITH {PRICES_CTE},\ntrace_parts AS ({exact_text}\n){_TOP_COSTS}",
        [*prices.params(), *exact_params, int(limit)],
    )
    if not prices.at_defaults or limit > TRACE_COST_KEEP:
        return exact
    if window.start is not None:
        text, params = _costs_with_first_hour(window, limit)
        return Sql(f"WITH {PRICES_CTE},\n{text}{_TOP_COSTS}", [*prices.params(), *params], exact)
    # Nothing starts before trace_costs' first hour: its hours, then the quarters, then spans
    # from the first trace when neither covers anything.
    after, after_params = _costs_from_traces(
        window,
        f"started_at >= {_AFTER_QUARTERS}",
        f"started_at >= {_AFTER_QUARTERS} - {TRACE_CLOCK_MARGIN}",
        [],
    )
    bounds = window_params(window)
    text = f"""WITH {PRICES_CTE},
{_covered_units()},
trace_parts AS (
{_COSTS_OF_HOURS.strip()}
UNION ALL
{_COSTS_OF_QUARTERS.strip()}
UNION ALL
{after.strip()}
){_TOP_COSTS}"""
    params = [*prices.params(), *_covered_params(bounds), *after_params, int(limit)]
    return Sql(text, params, exact)


_COSTS_OF_HOURS = f"""
SELECT {_COST_COLUMNS} FROM {TRACE_COSTS} WHERE {trace_units(TRACE_COSTS_ROLLUP)}"""
# The quarter hours of trace_cost_quarters from trace_costs' covered hours on: [lo, hi) of
# `trace_tail`, empty unless the quarters cover whole quarters past those hours (and the hours
# cover some: when they cover nothing the quarters, a window's ragged start aside, would not
# help). Traces from `hi` on are costed from spans, at most the last 15-30 minutes.
_TRACE_TAIL = """
trace_tail AS (
    SELECT h.hi AS lo,
           CASE WHEN h.hi < 'infinity'::TIMESTAMP AND q.hi < 'infinity'::TIMESTAMP
                     AND q.hi > h.hi THEN q.hi ELSE h.hi END AS hi
    FROM trace_bounds AS h, quarter_bounds AS q
)"""
_COSTS_OF_QUARTERS = f"""
SELECT {_COST_COLUMNS} FROM {TRACE_COST_QUARTERS}
WHERE {TRACE_COST_QUARTERS_ROLLUP.time_column} >= (SELECT lo FROM trace_tail)
  AND {TRACE_COST_QUARTERS_ROLLUP.time_column} < (SELECT hi FROM trace_tail)"""
_TRACES_AFTER_QUARTERS = "started_at >= (SELECT hi FROM trace_tail)"
_SPANS_AFTER_QUARTERS = f"started_at >= (SELECT hi FROM trace_tail) - {TRACE_CLOCK_MARGIN}"
# An unbounded window's: from the first trace when the rollups cover nothing.
_AFTER_QUARTERS = (
    "(SELECT CASE WHEN hi < 'infinity'::TIMESTAMP THEN hi ELSE '-infinity'::TIMESTAMP END "
    "FROM trace_tail)"
)


def _covered_units() -> str:
    """The CTEs of what trace_costs and trace_cost_quarters cover of the window: trace_bounds
    (whole hours), quarter_bounds (whole quarters) and trace_tail (the quarters read)."""
    since, until = "CAST(? AS TIMESTAMP)", "CAST(? AS TIMESTAMP)"
    hours = covered(TRACE_COSTS_ROLLUP, since, until, "trace_").strip()
    quarters = covered(TRACE_COST_QUARTERS_ROLLUP, since, until, "quarter_").strip()
    return f"{hours},\n{quarters},\n{_TRACE_TAIL.strip()}"


def _covered_params(bounds: dict[str, str | None]) -> list[Any]:
    return [bounds["since"], bounds["until"], bounds["since"], bounds["until"]]


# The window's first hour when it starts inside one: the hour before the covered ones.
_FIRST_HOUR = (
    f"{TRACE_COSTS_ROLLUP.time_column} = (SELECT lo FROM trace_bounds) - {TRACE_COSTS_ROLLUP.step}"
)
# Whether the first hour's kept rows (those of traces starting in the window) settle it: the
# hour is rolled up (trace_bounds' lo is finite) and either the window starts on the hour, or
# the hour kept all its traces, or the answer's last row ranks at or above the hour's last kept
# trace (every trace the hour did not keep ranks below that one, so none is in the answer).
_FIRST_HOUR_SETTLED = f"""
trace_first_last AS (
    SELECT cost, trace_id FROM {TRACE_COSTS} WHERE {_FIRST_HOUR}
    ORDER BY cost, trace_id DESC LIMIT 1
),
trace_answer_last AS (
    SELECT cost, trace_id FROM trace_candidates ORDER BY cost DESC, trace_id LIMIT 1 OFFSET ?
),
trace_settled AS (
    SELECT (SELECT lo FROM trace_bounds) < 'infinity'::TIMESTAMP AND (
        (SELECT lo FROM trace_bounds) = CAST(? AS TIMESTAMP)
        OR (SELECT count(*) FROM {TRACE_COSTS} WHERE {_FIRST_HOUR}) < {TRACE_COST_KEEP}
        OR EXISTS (
            SELECT 1 FROM trace_answer_last AS a, trace_first_last AS f
            WHERE a.cost > f.cost OR (a.cost = f.cost AND a.trace_id <= f.trace_id)
        )
    ) AS settled
)"""
# Otherwise the first hour's traces are costed from their spans. Its bounds are scalar
# subqueries, so a settled hour reads no row group of spans or traces.
_UNSETTLED = "(SELECT settled FROM trace_settled)"
_TRACES_OF_UNSETTLED = (
    f"started_at < (SELECT CASE WHEN {_UNSETTLED} THEN '-infinity'::TIMESTAMP ELSE lo END "
    "FROM trace_bounds)"
)
_SPANS_OF_UNSETTLED = (
    f"started_at >= (SELECT CASE WHEN {_UNSETTLED} THEN 'infinity'::TIMESTAMP "
    f"ELSE CAST(? AS TIMESTAMP) - {TRACE_CLOCK_MARGIN} END)"
)


def _costs_with_first_hour(window: Window, limit: int) -> tuple[str, list[Any]]:
    """The CTEs of the costliest traces of a window with a start, and their parameters in
    text order. Whole hours come from trace_costs, the quarter hours after them from
    trace_cost_quarters and the time after those from traces and spans. The window's first,
    ragged hour comes from trace_costs too when its kept rows settle the answer (almost
    always: an answer's 20 costliest traces of a day rank far above one hour's 50th), else
    from traces and spans.
    Costing it from spans would read every span after the window's start, since a trace
    that started then may have calls hours later."""
    assert window.start is not None
    start = timestamp_param(window.start)
    bounds = window_params(window)
    after, after_params = _costs_from_traces(
        window, _TRACES_AFTER_QUARTERS, _SPANS_AFTER_QUARTERS, []
    )
    ended, ended_params = _spans_until_ended(window, _TRACES_OF_UNSETTLED)
    unsettled, unsettled_params = _costs_from_traces(
        window, _TRACES_OF_UNSETTLED, f"{_SPANS_OF_UNSETTLED} AND {ended}", [start, *ended_params]
    )
    text = f"""{_covered_units()},
trace_whole AS MATERIALIZED (
{_COSTS_OF_HOURS.strip()}
UNION ALL
{_COSTS_OF_QUARTERS.strip()}
UNION ALL
{after.strip()}
),
trace_first AS (
    SELECT {_COST_COLUMNS} FROM {TRACE_COSTS}
    WHERE {_FIRST_HOUR} AND started_at >= CAST(? AS TIMESTAMP)
),
trace_candidates AS (SELECT * FROM trace_whole UNION ALL SELECT * FROM trace_first),
{_FIRST_HOUR_SETTLED.strip()},
trace_parts AS (
SELECT * FROM trace_whole
UNION ALL
SELECT * FROM trace_first WHERE {_UNSETTLED}
UNION ALL
{unsettled.strip()}
)"""
    params = [
        *_covered_params(bounds),
        *after_params,
        start,
        int(limit) - 1,
        start,
        *unsettled_params,
        int(limit),
    ]
    return text, params


# ---------------------------------------------------------------- latency


def _span_filter(window: Window, by: str | None, value: str | None) -> tuple[list[str], list[Any]]:
    conditions, params = window.where()
    conditions.append("duration_ms IS NOT NULL")
    if by is not None and value is not None:
        conditions.append(f"{checked_column(by)} = ?")
        params.append(value)
    return conditions, params


# Histogram bins: 4 per doubling (each 19% wide), so a bin is exactly 4 of latency_hours'
# duration buckets and the rollup's counts give the same histogram as the spans'. Durations
# <= 0 (clock skew) go to the bin from ~0.001 ms.
HISTOGRAM_BINS_PER_DOUBLING = 4
LATENCY_BUCKETS_PER_BIN = LATENCY_BUCKETS_PER_DOUBLING // HISTOGRAM_BINS_PER_DOUBLING
_BIN = "floor(coalesce({bucket}, -10 * {per_doubling}) / {per_bin})::INTEGER"


def _bin(bucket: str) -> str:
    return _BIN.format(
        bucket=bucket, per_doubling=LATENCY_BUCKETS_PER_DOUBLING, per_bin=LATENCY_BUCKETS_PER_BIN
    )


_HISTOGRAM = f"""
SELECT pow(2, bin / {HISTOGRAM_BINS_PER_DOUBLING}.0) AS from_ms,
       pow(2, (bin + 1) / {HISTOGRAM_BINS_PER_DOUBLING}.0) AS to_ms, sum(n) AS spans
FROM parts GROUP BY bin ORDER BY bin"""


def _histogram_from_spans(
    window: Window, by: str | None, value: str | None, bound: str = "TRUE"
) -> tuple[str, list[Any]]:
    conditions, params = _span_filter(window, by, value)
    text = f"""
SELECT {_bin(LATENCY_BUCKET)} AS bin, count(*) AS n
FROM spans WHERE {_and(conditions)} AND {bound}
GROUP BY ALL"""
    return text, params


def latency_histogram(window: Window, by: str | None = None, value: str | None = None) -> Sql:
    """Span counts per log-scale duration bin (4 bins per doubling), lower edge in ms. Exact
    either way: whole hours come from latency_hours when grouped by its keys."""
    spans_text, spans_params = _histogram_from_spans(window, by, value)
    from_spans = Sql(f"WITH parts AS ({spans_text}\n){_HISTOGRAM}", spans_params)
    if by is not None and value is not None and by not in LATENCY_KEYS:
        return from_spans
    key = [f"{checked_column(by)} = ?"] if by is not None and value is not None else []
    from_hours = f"""
SELECT {_bin("bucket")} AS bin, sum(spans) AS n
FROM {LATENCY_HOURS} WHERE {_and([*key, HOUR_ROWS])}
GROUP BY ALL"""
    parts, params = _with_rollup(
        window,
        (from_hours, [value] if key else []),
        lambda bound: _histogram_from_spans(window, by, value, bound),
        LATENCY_HOURS_ROLLUP,
    )
    return Sql(f"WITH {parts}{_HISTOGRAM}", params, from_spans)


_SLOWEST_COLUMNS = ", ".join(SLOWEST_SPAN_COLUMNS)
_SLOWEST_ORDER = SLOWEST_SPANS_ROLLUP.top.order() if SLOWEST_SPANS_ROLLUP.top else ""
_SLOWEST_RANK = SLOWEST_SPANS_ROLLUP.top.rank if SLOWEST_SPANS_ROLLUP.top else None
_SLOWEST = f"""
SELECT s.duration_ms, s.span_type, s.name, s.agent_name, s.model, s.status, s.started_at,
       t.workflow_name, s.trace_id, s.span_id
FROM (SELECT * FROM parts ORDER BY {_SLOWEST_ORDER} LIMIT ?) s
LEFT JOIN traces t USING (trace_id)
ORDER BY {_SLOWEST_ORDER.replace("duration_ms", "s.duration_ms")}"""


def _slowest_from_spans(
    window: Window, by: str | None, value: str | None, limit: int, bound: str = "TRUE"
) -> tuple[str, list[Any]]:
    conditions, params = _span_filter(window, by, value)
    text = f"""
SELECT * FROM (
    SELECT {_SLOWEST_COLUMNS} FROM spans WHERE {_and(conditions)} AND {bound}
    ORDER BY {_SLOWEST_ORDER} LIMIT ?
)"""
    return text, [*params, int(limit)]


def slowest_spans(
    window: Window, by: str | None = None, value: str | None = None, limit: int = 20
) -> Sql:
    """The slowest spans of the window (of one span type, tool or model), ties by trace and
    span id. Exact either way: whole hours come from slowest_spans (each hour's SLOWEST_KEEP
    slowest per span type, tool and model) when the filter is one of LATENCY_KEYS and `limit`
    is at most SLOWEST_KEEP."""
    spans_text, spans_params = _slowest_from_spans(window, by, value, limit)
    from_spans = Sql(f"WITH parts AS ({spans_text}\n){_SLOWEST}", [*spans_params, int(limit)])
    filtered = by is not None and value is not None
    if (filtered and by not in LATENCY_KEYS) or limit > SLOWEST_KEEP:
        return from_spans
    key = [f"{checked_column(by)} = ?"] if filtered and by is not None else []
    # Unfiltered: each hour's `limit` slowest of all its spans.
    ranked = key or [f"{_SLOWEST_RANK} <= {int(limit)}"]
    from_hours = f"""
SELECT {_SLOWEST_COLUMNS} FROM {SLOWEST_SPANS} WHERE {_and([*ranked, HOUR_ROWS])}"""
    parts, params = _with_rollup(
        window,
        (from_hours, [value] if key else []),
        lambda bound: _slowest_from_spans(window, by, value, limit, bound),
        SLOWEST_SPANS_ROLLUP,
    )
    return Sql(f"WITH {parts}{_SLOWEST}", [*params, int(limit)], from_spans)


# ---------------------------------------------------------------- errors


def _span_counts_from_spans(
    window: Window, bucket_seconds: int | None, bound: str = "TRUE"
) -> tuple[str, list[Any]]:
    """Spans and failed spans (per bucket, or in all when `bucket_seconds` is None)."""
    conditions, params = window.where()
    bucket = f"{BUCKET.format(column='started_at')} AS bucket, " if bucket_seconds else ""
    text = f"""
SELECT {bucket}count(*) AS n, count(*) FILTER (WHERE status = 'error') AS failed
FROM spans WHERE {_and(conditions)} AND {bound}
{"AND started_at IS NOT NULL GROUP BY bucket" if bucket_seconds else ""}"""
    return text, [int(bucket_seconds), *params] if bucket_seconds else params


def _span_counts(window: Window, bucket_seconds: int | None) -> tuple[Sql, Sql | None]:
    """(the CTE `parts` of span counts from spans; the same reading span_hours for whole hours
    or span_quarters for whole quarter hours, None when the buckets are neither), each with
    its parameters."""
    text, params = _span_counts_from_spans(window, bucket_seconds)
    from_spans = Sql(f"parts AS ({text}\n)", params)
    rollup = _span_rollup(bucket_seconds)
    if rollup is None:
        return from_spans, None
    unit = rollup.time_column
    bucket = f"{BUCKET.format(column=unit)} AS bucket, " if bucket_seconds else ""
    from_hours = f"""
SELECT {bucket}sum(calls) AS n, sum(calls) FILTER (WHERE status = 'error') AS failed
FROM {rollup.name} WHERE {ROLLUP_ROWS.format(time=unit)}
{"GROUP BY bucket" if bucket_seconds else ""}"""
    parts, parts_params = _with_rollup(
        window,
        (from_hours, [int(bucket_seconds)] if bucket_seconds else []),
        lambda bound: _span_counts_from_spans(window, bucket_seconds, bound),
        rollup,
    )
    return from_spans, Sql(parts, parts_params)


def _trace_totals(
    window: Window, bucket_seconds: int | None
) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]] | None]:
    """(the CTE `trace_parts` of traces and failing traces (per bucket of their start, or in
    all) from traces; the same reading trace_counts (per quarter hour), None when the buckets
    are not whole quarter hours), each with its parameters. A trace counts as failing when any
    of its spans failed."""
    bucket = f"{BUCKET.format(column='started_at')} AS bucket, " if bucket_seconds else ""
    bucket_params = [int(bucket_seconds)] if bucket_seconds else []

    def from_traces(bound: str, spans: str, spans_params: list[Any]) -> tuple[str, list[Any]]:
        conditions, params = window.where("t.started_at")
        if bucket_seconds:
            conditions.append("t.started_at IS NOT NULL")
        text = f"""
SELECT {bucket}count(*) AS traces,
       count(*) FILTER (WHERE t.trace_id IN (
           SELECT trace_id FROM spans WHERE status = 'error' AND {spans})) AS failing
FROM traces t WHERE {_and([*conditions, bound])}
{"GROUP BY bucket" if bucket_seconds else ""}"""
        return text, [*bucket_params, *spans_params, *params]

    spans, spans_params = _spans_since(window)
    exact_text, exact_params = from_traces("TRUE", spans, spans_params)
    exact = (f"trace_parts AS ({exact_text}\n)", exact_params)
    if bucket_seconds is not None and bucket_seconds % 900:
        return exact, None
    unit = TRACE_COUNTS_ROLLUP.time_column
    unit_bucket = f"{BUCKET.format(column=unit)} AS bucket, " if bucket_seconds else ""
    from_hours = f"""
SELECT {unit_bucket}sum(traces) AS traces, sum(traces) FILTER (WHERE failed) AS failing
FROM {TRACE_COUNTS} WHERE {trace_units(TRACE_COUNTS_ROLLUP)}
{"GROUP BY bucket" if bucket_seconds else ""}"""
    rolled = _with_trace_rollup(
        window, (from_hours, bucket_params), from_traces, unstarted=not bucket_seconds
    )
    return exact, rolled


def errors_over_time(window: Window, bucket_seconds: int) -> Sql:
    """Per bucket: spans and failed spans (whole hours from span_hours when buckets are whole
    hours), and traces and traces with a failure (bucketed by the trace's start; whole hours
    from trace_counts)."""
    rest = """,
span_counts AS (
    SELECT bucket, sum(n) AS spans, sum(failed) AS errors FROM parts GROUP BY bucket
),
trace_counts AS (
    SELECT bucket, sum(traces) AS traces, sum(failing) AS failing_traces
    FROM trace_parts GROUP BY bucket
)
SELECT bucket, coalesce(spans, 0) AS spans, coalesce(errors, 0) AS errors,
       coalesce(traces, 0) AS traces, coalesce(failing_traces, 0) AS failing_traces
FROM span_counts FULL JOIN trace_counts USING (bucket)
ORDER BY bucket"""
    from_spans, from_hours = _span_counts(window, bucket_seconds)
    traces_exact, traces_rolled = _trace_totals(window, bucket_seconds)
    exact = Sql(
        f"WITH {from_spans.text},\n{traces_exact[0]}{rest}",
        [*from_spans.params, *traces_exact[1]],
    )
    if from_hours is None:
        return exact
    # 15-minute buckets: the span counts from span_quarters, the traces from trace_counts (per
    # quarter hour).
    traces = traces_rolled or traces_exact
    return Sql(
        f"WITH {from_hours.text},\n{traces[0]}{rest}",
        [*from_hours.params, *traces[1]],
        exact,
    )


def error_totals(window: Window) -> Sql:
    """Exact totals for the window (the per-bucket counts would count a trace once per bucket):
    spans and failed spans (whole hours from span_hours), the traces that started in the
    window and those of them with a failing span (whole hours from trace_counts)."""
    rest = """
SELECT (SELECT coalesce(sum(n), 0) FROM parts) AS spans,
       (SELECT coalesce(sum(failed), 0) FROM parts) AS errors,
       (SELECT coalesce(sum(traces), 0) FROM trace_parts) AS traces,
       (SELECT coalesce(sum(failing), 0) FROM trace_parts) AS failing_traces"""
    from_spans, from_hours = _span_counts(window, None)
    assert from_hours is not None  # totals have no buckets: always whole hours
    traces_exact, traces_rolled = _trace_totals(window, None)
    assert traces_rolled is not None
    exact = Sql(
        f"WITH {from_spans.text},\n{traces_exact[0]}{rest}",
        [*from_spans.params, *traces_exact[1]],
    )
    return Sql(
        f"WITH {from_hours.text},\n{traces_rolled[0]}{rest}",
        [*from_hours.params, *traces_rolled[1]],
        exact,
    )


def errors_by_type(window: Window) -> Sql:
    """Failing spans per error type and span type (the errors_by_type query). All time: from
    trace_error_counts (per hour of the trace's start), the traces after it from spans (spans
    without a start are in no window, as in errors_by_type)."""
    exact = named("errors_by_type", **window_params(window))
    if window.start is not None or window.end is not None:
        return exact  # a window of span starts: the rollup counts by trace start
    # All of the rollup's rows (they are the hours before its complete_until), and the traces
    # from then on (bounded by the rollups row itself: through `covered`, DuckDB reads every
    # trace for such a part).
    until = f"""coalesce((SELECT complete_until FROM rollups WHERE name = '{TRACE_ERROR_COUNTS}'),
                       '-infinity'::TIMESTAMP)"""
    text = f"""
WITH parts AS (
    SELECT error_type, span_type, errors, traces, last_seen, example_message
    FROM {TRACE_ERROR_COUNTS}
    UNION ALL
    SELECT e.error_type, e.span_type, count(*), count(DISTINCT e.trace_id), max(e.started_at),
           any_value(e.error_message)
    FROM spans AS e
    WHERE e.status = 'error' AND e.started_at >= {until} - {TRACE_CLOCK_MARGIN}
      AND e.trace_id IN (SELECT trace_id FROM traces WHERE started_at >= {until})
    GROUP BY ALL
)
SELECT error_type, span_type, sum(errors)::BIGINT AS errors, sum(traces)::BIGINT AS traces,
       max(last_seen) AS last_seen, any_value(example_message) AS example_message
FROM parts
GROUP BY ALL ORDER BY errors DESC"""
    return Sql(text, [], exact)


def failure_start(window: Window, need: int, reach: timedelta) -> Sql:
    """Where the newest `need` failed spans of the window are, from the rollups: one row with
    `complete_until` (of span_quarters), `tail` (failed spans from then on, counted from
    spans) and `since`, the newest quarter-hour start within `reach` before complete_until
    from which the whole quarters of the window (span_quarters) and the tail hold `need`
    failures (NULL: none within reach), and `reached_all` (the reach went past the oldest
    quarter). Counting only whole quarters inside the window never counts a failure outside
    [since, end), so those `need` are the newest of the whole window. ClickHouse keeps no
    rollup: its form finds nothing, and the caller reads the whole window (the same rows)."""
    start = timestamp_param(window.start) if window.start else "-infinity"
    end = timestamp_param(window.end) if window.end else "infinity"
    seconds = int(reach.total_seconds())
    text = f"""
WITH r AS (SELECT max(complete_until) AS cu FROM rollups WHERE name = '{SPAN_QUARTERS}'),
tail AS (
    SELECT count(*) AS n FROM spans
    WHERE status = 'error' AND started_at >= (SELECT cu FROM r)
      AND started_at >= CAST($since AS TIMESTAMP) AND started_at < CAST($until AS TIMESTAMP)
),
quarters AS (
    SELECT quarter, sum(calls) AS n FROM {SPAN_QUARTERS}
    WHERE status = 'error' AND quarter < (SELECT cu FROM r)
      AND quarter >= (SELECT cu FROM r) - to_seconds($reach)
      AND quarter >= CAST($since AS TIMESTAMP)
      AND quarter + INTERVAL 15 MINUTE <= CAST($until AS TIMESTAMP)
    GROUP BY quarter
),
running AS (
    SELECT quarter, (SELECT n FROM tail) + sum(n) OVER (ORDER BY quarter DESC) AS n
    FROM quarters
)
SELECT (SELECT cu FROM r) AS complete_until, (SELECT n FROM tail) AS tail,
       (SELECT max(quarter) FROM running WHERE n >= $need) AS since,
       coalesce((SELECT cu FROM r) - to_seconds($reach)
                <= (SELECT min(quarter) FROM {SPAN_QUARTERS}), true) AS reached_all"""
    clickhouse = Sql(
        "SELECT CAST(NULL AS Nullable(DateTime64(6))) AS complete_until, 0 AS tail, "
        "CAST(NULL AS Nullable(DateTime64(6))) AS since, true AS reached_all",
        {},
    )
    params = {"since": start, "until": end, "reach": seconds, "need": need}
    return Sql(text, params, clickhouse)


def _failing_tools_from_spans(window: Window, bound: str = "TRUE") -> tuple[str, list[Any]]:
    conditions, params = window.where()
    text = f"""
SELECT tool_name, count(*) AS n_calls, count(*) FILTER (WHERE status = 'error') AS n_failed,
       max(started_at) FILTER (WHERE status = 'error') AS last_error_at,
       arg_max(error_message, started_at) FILTER (WHERE status = 'error') AS latest_message,
       arg_max(trace_id, started_at) FILTER (WHERE status = 'error') AS latest_trace_id
FROM spans WHERE span_type = 'function' AND {_and(conditions)} AND {bound}
GROUP BY tool_name"""
    return text, params


_FAILING_TOOLS = """
SELECT tool_name, sum(n_calls) AS calls, sum(n_failed) AS errors,
       sum(n_failed) / sum(n_calls) AS error_rate,
       arg_max(latest_message, last_error_at) AS latest_message,
       arg_max(latest_trace_id, last_error_at) AS latest_trace_id
FROM parts
GROUP BY tool_name HAVING sum(n_failed) > 0
ORDER BY errors DESC, tool_name LIMIT ?"""


def failing_tools(window: Window, limit: int = 20) -> Sql:
    """Tools by failed calls, with the newest failure's message and trace (whole hours from
    span_hours)."""
    spans_text, spans_params = _failing_tools_from_spans(window)
    from_spans = Sql(f"WITH parts AS ({spans_text}\n){_FAILING_TOOLS}", [*spans_params, int(limit)])
    from_hours = f"""
SELECT tool_name, sum(calls) AS n_calls, sum(calls) FILTER (WHERE status = 'error') AS n_failed,
       max(last_error_at) AS last_error_at,
       arg_max(last_error_message, last_error_at) AS latest_message,
       arg_max(last_error_trace_id, last_error_at) AS latest_trace_id
FROM {SPAN_HOURS} WHERE span_type = 'function' AND {HOUR_ROWS}
GROUP BY tool_name"""
    parts, params = _with_rollup(
        window, (from_hours, []), lambda bound: _failing_tools_from_spans(window, bound)
    )
    return Sql(f"WITH {parts}{_FAILING_TOOLS}", [*params, int(limit)], from_spans)


def _guardrail_checks_from_spans(window: Window, bound: str = "TRUE") -> tuple[str, list[Any]]:
    conditions, params = window.where()
    text = f"""
SELECT guardrail_name, count(*) AS n_checks, count(*) FILTER (WHERE triggered) AS n_tripped,
       max(started_at) FILTER (WHERE triggered) AS last_trip_at,
       arg_max(trace_id, started_at) FILTER (WHERE triggered) AS latest_trace_id
FROM guardrails WHERE {_and(conditions)} AND {bound}
GROUP BY guardrail_name"""
    return text, params


_GUARDRAIL_TRIPS = """
SELECT guardrail_name AS guardrail, sum(n_checks) AS checks,
       coalesce(sum(n_tripped), 0) AS tripped,
       arg_max(latest_trace_id, last_trip_at) AS latest_trace_id
FROM parts
GROUP BY guardrail_name ORDER BY tripped DESC, checks DESC, guardrail"""


def guardrail_trips(window: Window) -> Sql:
    """Checks and trips per guardrail, with the newest tripped trace (whole hours from
    span_hours)."""
    spans_text, spans_params = _guardrail_checks_from_spans(window)
    from_spans = Sql(f"WITH parts AS ({spans_text}\n){_GUARDRAIL_TRIPS}", spans_params)
    from_hours = f"""
SELECT guardrail_name, sum(calls) AS n_checks,
       sum(calls) FILTER (WHERE triggered) AS n_tripped,
       max(last_trip_at) AS last_trip_at,
       arg_max(last_trip_trace_id, last_trip_at) AS latest_trace_id
FROM {SPAN_HOURS} WHERE span_type = 'guardrail' AND {HOUR_ROWS}
GROUP BY guardrail_name"""
    parts, params = _with_rollup(
        window, (from_hours, []), lambda bound: _guardrail_checks_from_spans(window, bound)
    )
    return Sql(f"WITH {parts}{_GUARDRAIL_TRIPS}", params, from_spans)


# ---------------------------------------------------------------- sessions


def session_page(
    window: Window, search: str | None = None, limit: int = 50, offset: int = 0
) -> Sql:
    """Step 1 of the session list: conversations (group ids), most recently active first."""
    conditions, params = window.where("t.started_at")
    if search:
        conditions.append("contains(lower(t.group_id), ?)")
        params.append(search.strip().lower())
    text = f"""
SELECT t.group_id, count(*) AS traces, min(t.started_at) AS first_started_at,
       max(coalesce(t.ended_at, t.started_at)) AS last_active_at,
       list(DISTINCT t.workflow_name) AS workflows
FROM traces t WHERE t.group_id IS NOT NULL AND {_and(conditions)}
GROUP BY t.group_id
ORDER BY last_active_at DESC NULLS LAST, t.group_id
LIMIT ? OFFSET ?"""
    return Sql(text, [*params, int(limit), int(offset)])


def _recently_active(window: Window, search: str | None, since: datetime) -> tuple[str, list[Any]]:
    """CTE `active`: conversations last active at `since` or later (of the window's traces
    matching `search`), with that last activity. A trace is active from its start to its end,
    so it is in one of two scans that each skip the row groups before `since` (traces are
    stored in start order, and their ends follow): started since then, or ended since then.
    A conversation's last activity is its newest trace end, which is in them."""
    conditions, params = window.where("t.started_at")
    if search:
        conditions.append("contains(lower(t.group_id), ?)")
        params.append(search.strip().lower())
    where = _and(["t.group_id IS NOT NULL", *conditions])
    moment = timestamp_param(since)
    text = f"""
active AS (
    SELECT group_id, max(activity) AS last_active_at
    FROM (
        SELECT t.group_id, coalesce(t.ended_at, t.started_at) AS activity FROM traces t
        WHERE {where} AND t.started_at >= CAST(? AS TIMESTAMP)
        UNION ALL
        SELECT t.group_id, coalesce(t.ended_at, t.started_at) AS activity FROM traces t
        WHERE {where} AND t.ended_at >= CAST(? AS TIMESTAMP)
    )
    GROUP BY group_id
    HAVING max(activity) >= CAST(? AS TIMESTAMP)
)"""
    return text, [*params, moment, *params, moment, moment]


def active_session_count(window: Window, search: str | None, since: datetime) -> Sql:
    """How many conversations of the window were last active at `since` or later."""
    active, params = _recently_active(window, search, since)
    return Sql(f"WITH {active.strip()}\nSELECT count(*) AS sessions FROM active", params)


def session_page_since(
    window: Window, search: str | None, since: datetime, limit: int = 50, offset: int = 0
) -> Sql:
    """session_page when at least `offset + limit` conversations were last active at `since` or
    later (active_session_count): the page is picked among those, then each one's traces of
    the window are summed (all of them, however old)."""
    active, params = _recently_active(window, search, since)
    conditions, window_params_ = window.where("t.started_at")
    text = f"""
WITH {active.strip()},
page AS (
    SELECT group_id FROM active
    ORDER BY last_active_at DESC, group_id
    LIMIT ? OFFSET ?
)
SELECT t.group_id, count(*) AS traces, min(t.started_at) AS first_started_at,
       max(coalesce(t.ended_at, t.started_at)) AS last_active_at,
       list(DISTINCT t.workflow_name) AS workflows
FROM traces t WHERE t.group_id IN (SELECT group_id FROM page) AND {_and(conditions)}
GROUP BY t.group_id
ORDER BY last_active_at DESC NULLS LAST, t.group_id"""
    return Sql(text, [*params, int(limit), int(offset), *window_params_])


def session_totals(group_ids: list[str], start: Any, end: Any) -> Sql:
    """Step 2: tokens and failed spans per conversation, reading spans of their time only."""
    hint, hint_params = _time_hint("s.started_at", start, end)
    text = f"""
SELECT t.group_id, sum({TOKENS}) FILTER (WHERE {MODEL_SPAN}) AS tokens,
       count(*) FILTER (WHERE s.status = 'error') AS errors
FROM spans s JOIN traces t USING (trace_id)
WHERE {_id_list("t.group_id")} AND {hint}
GROUP BY t.group_id"""
    return Sql(text, [list(group_ids), *hint_params])


# Up to this many traces are looked up one by one in the traces table's key index; with more,
# session_totals reads the table's conversation ids instead.
KEY_LOOKUP_MAX = 1000


def trace_ids_between(start: Any, end: Any) -> Sql:
    """The traces with spans between `start` and `end` (with slack), at most KEY_LOOKUP_MAX + 1
    of them."""
    hint, hint_params = _time_hint("s.started_at", start, end)
    return Sql(
        f"SELECT DISTINCT trace_id FROM spans s WHERE {hint} LIMIT ?",
        [*hint_params, KEY_LOOKUP_MAX + 1],
    )


def trace_groups(trace_ids: list[str]) -> Sql:
    """The conversation of each trace, looked up by key: one placeholder per id, as DuckDB
    looks up an IN list of constants in the key's index (a list parameter would read the whole
    table)."""
    keys = ", ".join("?" for _ in trace_ids) or "NULL"
    return Sql(f"SELECT trace_id, group_id FROM traces WHERE trace_id IN ({keys})", list(trace_ids))


def member_totals(
    page: list[str], trace_ids: list[str], group_ids: list[str], start: Any, end: Any
) -> Sql:
    """session_totals of the conversations `page` when their traces with spans in the time are
    known (trace_ids_between, trace_groups: `trace_ids[i]` is in `group_ids[i]`): the same
    rows, without reading the traces table, whose conversation ids grow with the traces. A
    ClickHouse store runs session_totals (it has no key index to look traces up by)."""
    hint, hint_params = _time_hint("s.started_at", start, end)
    text = f"""
WITH members AS (
    SELECT unnest(CAST(? AS VARCHAR[])) AS trace_id, unnest(CAST(? AS VARCHAR[])) AS group_id
)
SELECT m.group_id, sum({TOKENS}) FILTER (WHERE {MODEL_SPAN}) AS tokens,
       count(*) FILTER (WHERE s.status = 'error') AS errors
FROM spans s JOIN members m USING (trace_id)
WHERE {hint}
GROUP BY m.group_id"""
    params = [list(trace_ids), list(group_ids), *hint_params]
    return Sql(text, params, session_totals(page, start, end))


def session_count(window: Window, search: str | None = None) -> Sql:
    """How many sessions have a trace in the window (and match `search`). Over all time
    without a search: the rows of the writer's `sessions` table (read from its row count, flat
    however many traces); ClickHouse, which keeps none, and every window or search count the
    distinct group ids of the traces."""
    conditions, params = window.where("started_at")
    if search:
        conditions.append("contains(lower(group_id), ?)")
        params.append(search.strip().lower())
    exact = Sql(
        "SELECT count(DISTINCT group_id) AS sessions FROM traces "
        f"WHERE group_id IS NOT NULL AND {_and(conditions)}",
        params,
    )
    if conditions:
        return exact
    return Sql(f"SELECT count(*) AS sessions FROM {SESSIONS}", [], exact)


def session_members(group_id: str) -> Sql:
    """Step 1 of one conversation: its traces in order."""
    return Sql(
        """SELECT trace_id, workflow_name, started_at, ended_at, duration_ms, inferred
           FROM traces WHERE group_id = ?
           ORDER BY started_at NULLS LAST, trace_id""",
        [group_id],
    )


def session_turns(trace_ids: list[str], start: Any, end: Any) -> Sql:
    """Step 2: per trace, totals plus the first model input and the last model output, so the
    page can show what the user said and what the agent answered."""
    hint, hint_params = _time_hint("s.started_at", start, end)
    text = f"""
SELECT s.trace_id, count(*) AS spans,
       sum({TOKENS}) FILTER (WHERE {MODEL_SPAN}) AS tokens,
       count(*) FILTER (WHERE s.status = 'error') AS errors,
       arg_min(CAST(s.data AS VARCHAR), s.started_at) FILTER (WHERE {MODEL_SPAN})
           AS first_model_data,
       arg_max(CAST(s.data AS VARCHAR), s.ended_at) FILTER (WHERE {MODEL_SPAN})
           AS last_model_data,
       arg_max(s.error_message, s.started_at) FILTER (WHERE s.status = 'error') AS last_error
FROM spans s
WHERE {_id_list("s.trace_id")} AND {hint}
GROUP BY s.trace_id"""
    return Sql(text, [list(trace_ids), *hint_params])


# ---------------------------------------------------------------- SQL console


SCHEMA_COLUMNS = """SELECT c.table_name, t.table_type, c.column_name, c.data_type
           FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
           WHERE c.table_schema = 'main'
           ORDER BY t.table_type, c.table_name, c.ordinal_position"""
# ClickHouse's catalog, for the store's own database (its views are VIEWs, its tables TABLEs).
SCHEMA_COLUMNS_CLICKHOUSE = """SELECT c.table AS table_name,
           if(t.engine = 'View', 'VIEW', 'BASE TABLE') AS table_type,
           c.name AS column_name, c.type AS data_type
           FROM system.columns c
           JOIN system.tables t ON t.database = c.database AND t.name = c.table
           WHERE c.database = currentDatabase()
           ORDER BY table_type, table_name, c.position"""


def schema_columns() -> Sql:
    return Sql(SCHEMA_COLUMNS, [])


# DuckDB fragments of this module and their ClickHouse forms (Sql.text_for applies them).
CLICKHOUSE_FRAGMENTS = {
    PRICES_CTE: PRICES_CTE_CLICKHOUSE,
    SCHEMA_COLUMNS: SCHEMA_COLUMNS_CLICKHOUSE,
    **{
        BUCKET.format(column=column): BUCKET_CLICKHOUSE.format(column=column)
        for column in ("started_at", "s.started_at")
    },
}
