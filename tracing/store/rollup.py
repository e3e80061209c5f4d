"""Rollups beside `spans`, so long-window aggregates read a few rows per day or hour instead of
grouping millions of spans (the error rate per agent per day over 30 days at 10M spans: ~86 ms
grouped from `spans`, ~11 ms from `agent_days`).

Each rollup (`ROLLUPS`) summarises the spans of whole units of time (a UTC day, an hour) before
its `rollups.complete_until`. Time from then on (the current unit, and units a late write
touched) is read from `spans` by the query that uses it, as are the ragged edges of a window
that does not start or end on a unit. The store's writer keeps every rollup true:

- A write that adds or changes spans starting before a rollup's `complete_until` (a late span,
  an old JSONL file, agent names filled in for spans of earlier days) moves `complete_until`
  back to that unit and deletes the rows from there, in the write's own transaction, so no
  crash leaves a stale row. The writer caches `complete_until`: a write of the current hour's
  spans costs no statement.
- After its writes, and when it opens the store, the writer summarises the units from
  `complete_until` up to the current one: usually one hour, once an hour, HOUR_GRACE after
  it ended (spans that started in it are still being written in its first minutes).
- `prune` clears them; the refresh after the prune rebuilds them from what is left.

The rollups:

- `agent_days`: per UTC day and agent, the agent runs, the failed runs and the failing spans of
  any type inside the agent.
- `latency_hours`: per hour, span type, tool and model, span counts per log-scale duration
  bucket (LATENCY_BUCKETS_PER_DOUBLING per doubling) with the bucket's smallest and largest
  duration, their sum and the failed spans: mergeable, so percentiles over any set of hours are
  estimated within LATENCY_MAX_RELATIVE_ERROR (see queries.py).
- `span_hours`: per hour, span type, agent, model, tool, status (and guardrail name and
  whether it tripped), the spans and (for model calls) their token sums, the newest failure and
  the newest trip: usage over time, tokens per model or agent, failing tools, guardrail trips,
  the model and agent names.
- `span_quarters`: `span_hours` per 15 minutes, for the charts of a day in 15-minute buckets
  (four times the rows of span_hours, so only buckets that are not whole hours read it).

Three rollups count TRACES, each in the hour (or quarter hour) of the trace's start
(`by_trace`), so a count over whole units is a sum (a trace is in one unit) and stays a few
thousand rows however dense the hours get:

- `trace_counts`: per quarter hour (an hour sums four), workflow, whether the trace has a
  failing span and whether a guardrail tripped in it: the traces and the newest start (trace
  counts with a status or workflow filter, failing traces over time in hours or 15-minute
  buckets, the workflow names).
- `trace_agent_counts`: the same per agent that ran in the trace (a trace is under each of its
  agents: sum within one agent only).
- `trace_error_counts`: per hour, error type and span type, the failing spans of the hour's
  traces, those traces, the newest failure and an example message (errors by type, all time).

Their rows depend on every span of a trace, so a span arriving after its trace's hour was
summarised (a long trace, a late span) must reopen the hour of the TRACE's start: the writer
passes the earliest start of the traces a write touched (`IngestResult.traces_changed_from`)
beside that of the spans. A trace's spans are looked for from TRACE_CLOCK_MARGIN before its
start (spans start at or after their trace; the margin allows for clocks of other hosts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar

from .prices import default_rates_sql
from .sessions import SessionIndex

logger = logging.getLogger("agentoscope.tracing")

AGENT_DAYS = "agent_days"
LATENCY_HOURS = "latency_hours"
SPAN_HOURS = "span_hours"
TRACE_COUNTS = "trace_counts"
TRACE_AGENT_COUNTS = "trace_agent_counts"
TRACE_ERROR_COUNTS = "trace_error_counts"
SPAN_QUARTERS = "span_quarters"
SLOWEST_SPANS = "slowest_spans"
TRACE_COSTS = "trace_costs"
TRACE_COST_QUARTERS = "trace_cost_quarters"
# A unit of 15 minutes: the 24-hour charts' buckets (hours cannot make them).
QUARTER_HOUR = "quarter_hour"

# The failing spans are counted under the agent they ran in, and agent runs under themselves:
# the rows a day and agent group holds are the agent spans and the failing spans.
AGENT_DAY_COLUMNS = """
       count(*) FILTER (WHERE span_type = 'agent') AS runs,
       count(*) FILTER (WHERE span_type = 'agent' AND status = 'error') AS failed_runs,
       count(*) FILTER (WHERE status = 'error') AS errors"""
AGENT_DAY_ROWS = "agent_name IS NOT NULL AND (span_type = 'agent' OR status = 'error')"

# Dollars of one span row `s` joined to its model's per-token rates `p`; cached input tokens
# (capped at the input tokens) cost the cached rate.
SPAN_COST = """(
    (coalesce(s.input_tokens, 0) - least(coalesce(s.cached_input_tokens, 0),
                                         coalesce(s.input_tokens, 0))) * p.input_rate
    + least(coalesce(s.cached_input_tokens, 0), coalesce(s.input_tokens, 0)) * p.cached_rate
    + coalesce(s.output_tokens, 0) * p.output_rate)"""

# Migration 2 (shipped: never edit).
MIGRATION_STATEMENTS = (
    f"""CREATE TABLE {AGENT_DAYS} (
    day DATE NOT NULL,
    agent_name VARCHAR NOT NULL,
    runs BIGINT NOT NULL,
    failed_runs BIGINT NOT NULL,
    errors BIGINT NOT NULL
)""",
    "CREATE TABLE rollups (name VARCHAR NOT NULL, complete_until DATE)",
    f"INSERT INTO rollups VALUES ('{AGENT_DAYS}', NULL)",
)

# Log-scale duration buckets: 16 per doubling, so a bucket spans 4.4% and its geometric middle
# is within 2.2% of any value in it. Finer buckets would multiply the rows of an hour (tools x
# buckets); the estimate clamps the middle to the smallest and largest value seen in the
# bucket, so a bucket holding one distinct value is exact. Durations <= 0 (clock skew) have no
# bucket (NULL).
LATENCY_BUCKETS_PER_DOUBLING = 16
LATENCY_MAX_RELATIVE_ERROR = 2 ** (1 / (2 * LATENCY_BUCKETS_PER_DOUBLING)) - 1
LATENCY_BUCKET = (
    "CASE WHEN duration_ms > 0 THEN "
    f"floor(log2(duration_ms) * {LATENCY_BUCKETS_PER_DOUBLING})::INTEGER END"
)
# The groupings of the latency queries (a latency_hours row is one of each and a bucket).
LATENCY_KEYS = ("span_type", "tool_name", "model")
# What one latency_hours row sums, from spans (the estimating query groups the ragged edges of
# its window with the same columns).
LATENCY_COLUMNS = """count(*) AS spans,
       min(duration_ms) AS low, max(duration_ms) AS high, sum(duration_ms) AS total,
       count(*) FILTER (WHERE status = 'error') AS errors"""

# Model calls are the spans with token counts (records fill them for model spans only).
MODEL_SPAN = "(s.input_tokens IS NOT NULL OR s.output_tokens IS NOT NULL)"
TOKENS = "coalesce(s.total_tokens, coalesce(s.input_tokens, 0) + coalesce(s.output_tokens, 0))"
# Per-span token columns summed, cached tokens capped at the span's input tokens.
USAGE_SUMS = f"""count(*) AS calls,
       coalesce(sum(s.input_tokens), 0) AS input_tokens,
       coalesce(sum(least(coalesce(s.cached_input_tokens, 0), coalesce(s.input_tokens, 0))), 0)
           AS cached_input_tokens,
       coalesce(sum(s.output_tokens), 0) AS output_tokens,
       sum(s.reasoning_tokens) AS reasoning_tokens,
       sum({TOKENS}) AS tokens"""
# span_hours: the usage sums, the newest failure of the group (for "failing tools") and the
# newest tripped guardrail (for "guardrail trips").
SPAN_HOUR_COLUMNS = f"""{USAGE_SUMS},
       sum(s.total_tokens) AS reported_total_tokens,
       sum(s.cached_input_tokens) AS reported_cached_input_tokens,
       max(s.started_at) FILTER (WHERE s.status = 'error') AS last_error_at,
       arg_max(s.error_message, s.started_at) FILTER (WHERE s.status = 'error')
           AS last_error_message,
       arg_max(s.trace_id, s.started_at) FILTER (WHERE s.status = 'error') AS last_error_trace_id,
       max(s.started_at) FILTER (WHERE s.triggered) AS last_trip_at,
       arg_max(s.trace_id, s.started_at) FILTER (WHERE s.triggered) AS last_trip_trace_id"""
# A guardrail span's name is the guardrail's (other spans' names are not kept: they would
# multiply the rows).
GUARDRAIL_NAME = "CASE WHEN s.span_type = 'guardrail' THEN s.name END AS guardrail_name"


@dataclass(frozen=True)
class Top:
    """What a top-N rollup keeps: per unit of time and `per` key, the `keep` rows with the
    largest `measure`, ties in `ties` order. A row is in one unit, so the union of the kept
    rows of a window's units holds the window's top N for any N <= `keep` (and for one value
    of a `per` key too)."""

    measure: str
    ties: tuple[str, ...]
    keep: int
    per: tuple[str, ...] = ()
    # A column for each row's rank within its unit over every `per` key: a read without a key
    # filter takes the rows ranked <= N of each unit (a kept row's rank among all rows of its
    # unit; any row ranked <= keep there is in its key's top `keep` too), not every kept row.
    rank: str | None = None

    def order(self) -> str:
        """SQL ORDER BY items: the measure descending, then the ties."""
        return ", ".join((f"{self.measure} DESC", *self.ties))


@dataclass(frozen=True)
class Rollup:
    """One rollup table: what it groups spans by, per `unit` of time ("day", "hour" or
    QUARTER_HOUR). The table's columns are those of `select_sql` (it is created from it), so
    this is the one definition of each rollup; changing one needs a migration that creates it
    again."""

    name: str
    unit: str
    # The table's time column, its grouping columns ("expression AS name" or a column of
    # spans), its summary columns, and which spans it summarises (SQL over `spans s`).
    time_column: str
    keys: tuple[str, ...]
    columns: str
    rows: str = "TRUE"
    # A rollup of traces: rows of `source` (a SELECT with `{traces}`, a condition on the traces
    # `t` summarised, and `{spans}`, a lower bound on the start of the spans read for them),
    # whose `started_at` is the trace's start. None: the rows are the spans themselves.
    source: str | None = None
    # A top-N rollup: its rows are the rows of `source` (or spans) themselves, `keys` their
    # columns and `columns` empty, only the top ones of each unit kept (no grouping).
    top: Top | None = None

    @property
    def by_trace(self) -> bool:
        return self.source is not None

    def select_sql(self, where: str, spans: str = "TRUE") -> str:
        source = (
            "spans" if self.source is None else f"({self.source.format(traces=where, spans=spans)})"
        )
        condition = self.rows if self.source is not None else f"{self.rows} AND {where}"
        unit = self.truncate("s.started_at")
        items = [f"{unit} AS {self.time_column}", *self.keys]
        items += [self.columns.strip()] if self.columns.strip() else []
        if self.top is not None and self.top.rank is not None:
            items.append(
                f"row_number() OVER (PARTITION BY {unit} ORDER BY {self.top.order()}) "
                f"AS {self.top.rank}"
            )
        select = f"""
SELECT {", ".join(items)}
FROM {source} AS s
WHERE {condition}"""
        if self.top is None:
            return f"{select}\nGROUP BY ALL"
        if self.columns.strip():  # QUALIFY does not go with GROUP BY ALL: the keys by position
            select += f"\nGROUP BY {', '.join(str(n) for n in range(1, len(self.keys) + 2))}"
        partition = ", ".join((unit, *self.top.per))
        return (
            f"{select}\nQUALIFY row_number() OVER "
            f"(PARTITION BY {partition} ORDER BY {self.top.order()}) <= {self.top.keep}"
        )

    def create_sql(self) -> str:
        return f"CREATE TABLE {self.name} AS {self.select_sql('FALSE')}"

    def build_sql(self) -> str:
        """Summarise the spans (or traces) starting in [$since, $until) into the table, in
        time order: a query of a few units then skips the row groups of the others (a first
        build writes every unit at once, and a hash aggregate's rows come out in no order)."""
        since, until = "CAST($since AS TIMESTAMP)", "CAST($until AS TIMESTAMP)"
        if self.source is None:
            select = self.select_sql(f"s.started_at >= {since} AND s.started_at < {until}")
        else:
            select = self.select_sql(
                f"t.started_at >= {since} AND t.started_at < {until}",
                f"started_at >= {since} - {TRACE_CLOCK_MARGIN}",
            )
        return f"INSERT INTO {self.name} {select}\nORDER BY {self.time_column}"

    def start_of(self, moment: datetime) -> datetime:
        """The start of the unit `moment` is in."""
        if self.unit == "day":
            return datetime.combine(moment.date(), time())
        start = moment.replace(second=0, microsecond=0)
        if self.unit == QUARTER_HOUR:
            return start.replace(minute=start.minute - start.minute % 15)
        return start.replace(minute=0)

    def truncate(self, moment: str) -> str:
        """SQL: the start of the unit the time `moment` (SQL) is in."""
        if self.unit == QUARTER_HOUR:
            # time_bucket's origin (2000-01-03 00:00) is on an hour: buckets on the quarters.
            return f"time_bucket(INTERVAL 15 MINUTE, {moment})"
        return f"date_trunc('{self.unit}', {moment})"

    @property
    def step(self) -> str:
        """SQL: one unit, as an interval."""
        if self.unit == QUARTER_HOUR:
            return "INTERVAL 15 MINUTE"
        return f"INTERVAL 1 {self.unit.upper()}"


AGENT_DAYS_ROLLUP = Rollup(
    AGENT_DAYS, "day", "day", ("agent_name",), AGENT_DAY_COLUMNS, AGENT_DAY_ROWS
)
LATENCY_HOURS_ROLLUP = Rollup(
    LATENCY_HOURS,
    "hour",
    "hour",
    (*LATENCY_KEYS, f"{LATENCY_BUCKET} AS bucket"),
    LATENCY_COLUMNS,
    "duration_ms IS NOT NULL",
)
SPAN_HOURS_ROLLUP = Rollup(
    SPAN_HOURS,
    "hour",
    "hour",
    (
        "span_type",
        "agent_name",
        "model",
        "tool_name",
        "status",
        f"{MODEL_SPAN} AS model_call",
        GUARDRAIL_NAME,
        "s.triggered",
    ),
    SPAN_HOUR_COLUMNS,
)

# Spans start at or after their trace; the margin allows for clocks of other hosts (OTLP). The
# trace rollups read a trace's spans from this long before its start.
TRACE_CLOCK_MARGIN = "INTERVAL 5 MINUTE"
# Per trace with a failing span or a tripped guardrail (of the spans from `{spans}` on): which.
TRACE_FLAGS = """
    SELECT trace_id, bool_or(status = 'error') AS failed,
           coalesce(bool_or(span_type = 'guardrail' AND triggered), false) AS tripped
    FROM spans
    WHERE {spans} AND (status = 'error' OR (span_type = 'guardrail' AND triggered))
    GROUP BY trace_id"""
# One row per trace: its start, workflow and flags.
_TRACE_ROWS = f"""
SELECT t.started_at, t.workflow_name, coalesce(f.failed, false) AS failed,
       coalesce(f.tripped, false) AS tripped
FROM traces AS t LEFT JOIN ({TRACE_FLAGS}) AS f USING (trace_id)
WHERE {{traces}}"""
# One row per trace and agent that ran in it (a span of the trace names it).
_TRACE_AGENT_ROWS = f"""
SELECT t.started_at, t.workflow_name, a.agent_name, coalesce(f.failed, false) AS failed,
       coalesce(f.tripped, false) AS tripped
FROM traces AS t
JOIN (SELECT DISTINCT trace_id, agent_name FROM spans WHERE {{spans}} AND agent_name IS NOT NULL)
    AS a USING (trace_id)
LEFT JOIN ({TRACE_FLAGS}) AS f USING (trace_id)
WHERE {{traces}}"""
# One row per failing span, with its trace's start.
_TRACE_ERROR_ROWS = """
SELECT t.started_at, e.trace_id, e.error_type, e.span_type, e.started_at AS failed_at,
       e.error_message
FROM (SELECT * FROM spans WHERE {spans} AND status = 'error') AS e
JOIN traces AS t USING (trace_id)
WHERE {traces}"""
TRACE_KEYS = ("workflow_name", "failed", "tripped")
TRACE_COUNT_COLUMNS = "count(*) AS traces, max(s.started_at) AS last_started_at"
TRACE_ERROR_COLUMNS = """count(*) AS errors, count(DISTINCT s.trace_id) AS traces,
       max(s.failed_at) AS last_seen, any_value(s.error_message) AS example_message"""

# Per quarter hour, so the 24-hour charts' 15-minute buckets read it too (an hour sums its four
# quarters; the rows stay per unit of time, not per trace).
TRACE_COUNTS_ROLLUP = Rollup(
    TRACE_COUNTS, QUARTER_HOUR, "quarter", TRACE_KEYS, TRACE_COUNT_COLUMNS, source=_TRACE_ROWS
)
TRACE_AGENT_COUNTS_ROLLUP = Rollup(
    TRACE_AGENT_COUNTS,
    "hour",
    "hour",
    ("agent_name", *TRACE_KEYS),
    "count(*) AS traces",
    source=_TRACE_AGENT_ROWS,
)
TRACE_ERROR_COUNTS_ROLLUP = Rollup(
    TRACE_ERROR_COUNTS,
    "hour",
    "hour",
    ("error_type", "span_type"),
    TRACE_ERROR_COLUMNS,
    source=_TRACE_ERROR_ROWS,
)
TRACE_ROLLUPS = (TRACE_COUNTS_ROLLUP, TRACE_AGENT_COUNTS_ROLLUP, TRACE_ERROR_COUNTS_ROLLUP)

SPAN_QUARTERS_ROLLUP = Rollup(
    SPAN_QUARTERS,
    QUARTER_HOUR,
    "quarter",
    SPAN_HOURS_ROLLUP.keys,
    SPAN_HOURS_ROLLUP.columns,
    SPAN_HOURS_ROLLUP.rows,
)
# The columns of a slowest span (the latency page's "slowest spans"), and how many of each hour,
# span type, tool and model are kept: the page asks for 20 and filters by one of LATENCY_KEYS
# at most, so the union of the kept rows of the covered hours holds its answer (50 kept 1.2M
# rows at 10M spans, and reading them all cost more than the spans' top-N).
SLOWEST_SPAN_COLUMNS = (
    "duration_ms",
    "span_type",
    "name",
    "agent_name",
    "model",
    "tool_name",
    "status",
    "started_at",
    "trace_id",
    "span_id",
)
SLOWEST_KEEP = 20
SLOWEST_SPANS_ROLLUP = Rollup(
    SLOWEST_SPANS,
    "hour",
    "hour",
    SLOWEST_SPAN_COLUMNS,
    "",
    "duration_ms IS NOT NULL",
    top=Top("duration_ms", ("trace_id", "span_id"), SLOWEST_KEEP, LATENCY_KEYS, "hour_rank"),
)
# The default prices of each model of the spans from `{spans}` on: the longest matching prefix.
_DEFAULT_MODEL_RATES = f"""
SELECT m.model, arg_max(d.input_rate, length(d.prefix)) AS input_rate,
       arg_max(d.cached_rate, length(d.prefix)) AS cached_rate,
       arg_max(d.output_rate, length(d.prefix)) AS output_rate
FROM (SELECT DISTINCT model FROM spans WHERE model IS NOT NULL AND {{spans}}) AS m
JOIN ({default_rates_sql()}) AS d(prefix, input_rate, cached_rate, output_rate)
    ON starts_with(lower(m.model), d.prefix)
GROUP BY m.model"""
# One row per priced model call of a trace at the default prices, with the trace's columns:
# a trace's cost is that of its calls from TRACE_CLOCK_MARGIN before its start (as every trace
# rollup reads them), and the dashboard's exact form counts the same calls.
_TRACE_COST_ROWS = f"""
SELECT t.started_at, t.trace_id, t.workflow_name, t.group_id, {SPAN_COST} AS cost,
       {TOKENS} AS tokens
FROM traces AS t
JOIN (SELECT * FROM spans WHERE {{spans}}) AS s USING (trace_id)
JOIN ({_DEFAULT_MODEL_RATES}) AS p ON s.model = p.model
WHERE {{traces}} AND s.started_at >= t.started_at - {TRACE_CLOCK_MARGIN}"""
TRACE_COST_KEEP = 50
# Per hour of the trace's start, the TRACE_COST_KEEP costliest traces at the default prices.
TRACE_COSTS_ROLLUP = Rollup(
    TRACE_COSTS,
    "hour",
    "hour",
    ("s.trace_id", "s.workflow_name", "s.group_id", "s.started_at"),
    "sum(s.cost) AS cost, sum(s.tokens) AS tokens, count(*) AS calls",
    source=_TRACE_COST_ROWS,
    top=Top("sum(s.cost)", ("s.trace_id",), TRACE_COST_KEEP),
)
# The same per quarter hour, read only for the quarters after trace_costs' last hour: the
# costliest traces of all time then read at most the last 15-30 minutes from spans, not
# 15-75 (grouping that hour's model calls per trace grew with the ingest rate: 18 ms at 100M
# spans against 9 ms at 10M, at the hour's worst moment). Whole hours stay with trace_costs,
# a quarter of its rows to read.
TRACE_COST_QUARTERS_ROLLUP = Rollup(
    TRACE_COST_QUARTERS,
    QUARTER_HOUR,
    "quarter",
    TRACE_COSTS_ROLLUP.keys,
    TRACE_COSTS_ROLLUP.columns,
    source=_TRACE_COST_ROWS,
    top=TRACE_COSTS_ROLLUP.top,
)
ROLLUPS = (
    AGENT_DAYS_ROLLUP,
    LATENCY_HOURS_ROLLUP,
    SPAN_HOURS_ROLLUP,
    SPAN_QUARTERS_ROLLUP,
    *TRACE_ROLLUPS,
    SLOWEST_SPANS_ROLLUP,
    TRACE_COSTS_ROLLUP,
    TRACE_COST_QUARTERS_ROLLUP,
)
HOURLY_ROLLUPS = (LATENCY_HOURS_ROLLUP, SPAN_HOURS_ROLLUP)


def _create_statements(rollups: tuple[Rollup, ...]) -> tuple[str, ...]:
    return (
        *(rollup.create_sql() for rollup in rollups),
        *(f"INSERT INTO rollups VALUES ('{rollup.name}', NULL)" for rollup in rollups),
    )


# Migration 4: complete_until to the hour; latency_hours and span_hours.
HOURLY_MIGRATION_STATEMENTS = (
    "ALTER TABLE rollups ALTER complete_until TYPE TIMESTAMP",
    *_create_statements(HOURLY_ROLLUPS),
)
# Migration 5: the trace rollups (built from every trace when the store is next opened).
TRACE_MIGRATION_STATEMENTS = _create_statements(TRACE_ROLLUPS)


# Migration 6: span_quarters (built by the writer's refresh when the store is next opened).
QUARTERS_MIGRATION_STATEMENTS = _create_statements((SPAN_QUARTERS_ROLLUP,))
# Migration 7: slowest_spans (built by the writer's refresh when the store is next opened).
TOP_MIGRATION_STATEMENTS = _create_statements((SLOWEST_SPANS_ROLLUP, TRACE_COSTS_ROLLUP))
# Migration 9: trace_cost_quarters (built by the writer's refresh when the store is next opened).
TRACE_COST_QUARTERS_MIGRATION_STATEMENTS = _create_statements((TRACE_COST_QUARTERS_ROLLUP,))


def utc_today() -> date:
    return datetime.now(UTC).date()


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# An hour is summarised once it ended this long ago. Spans are written when they end: in the
# first minutes of an hour, writes still carry spans that started in the hour before (an agent
# run, a slow model call), and each would move the rollups back and summarise that hour again.
# The grace costs queries up to this much more time read from spans.
HOUR_GRACE = timedelta(minutes=15)


def complete_until_at(rollup: Rollup, moment: datetime) -> datetime:
    """Where the writer makes `rollup` complete until at `moment` (UTC): the start of that
    day, or of the hour (or quarter hour) HOUR_GRACE before it."""
    if rollup.unit == "day":
        return datetime.combine(moment.date(), time())
    return rollup.start_of(moment - HOUR_GRACE)


def _current_unit(rollup: Rollup) -> datetime:
    if rollup.unit == "day":  # from utc_today, which tests move on alone
        return complete_until_at(rollup, datetime.combine(utc_today(), time()))
    return complete_until_at(rollup, utc_now())


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time())


@dataclass
class Rollups:
    """The writer's view of the rollups of one store file (one per process, beside its shared
    connection; used under the write lock)."""

    complete_until: dict[str, datetime | None] = field(default_factory=dict)
    loaded: bool = False
    # The stored sessions (the `sessions` table), forgotten with the rest.
    sessions: SessionIndex = field(default_factory=SessionIndex)

    def forget(self) -> None:
        """The cached state may be wrong (a transaction rolled back): read it again next time."""
        self.loaded = False
        self.sessions.forget()

    def _load(self, cursor: Any) -> None:
        rows = cursor.execute("SELECT name, complete_until FROM rollups").fetchall()
        stored = {name: _as_datetime(value) for name, value in rows}
        self.complete_until = {rollup.name: stored.get(rollup.name) for rollup in ROLLUPS}
        self.loaded = True

    def changed(
        self, cursor: Any, earliest: datetime | None, traces_from: datetime | None = None
    ) -> None:
        """Spans starting at `earliest` or later were added or changed, and traces starting at
        `traces_from` or later were written or got spans (inside the writer's transaction):
        each rollup stops covering their unit (a trace rollup, that of the earlier)."""
        if earliest is None and traces_from is None:
            return
        if not self.loaded:
            self._load(cursor)
        for rollup in ROLLUPS:
            until = self.complete_until[rollup.name]
            moment = _earliest(earliest, traces_from) if rollup.by_trace else earliest
            if until is None or moment is None or moment >= until:
                continue
            start = rollup.start_of(moment)
            self._drop_rows_from(cursor, rollup, start)
            self._record(cursor, rollup, start)

    def clear(self, cursor: Any) -> None:
        """Cover nothing (inside the writer's transaction), e.g. after spans were deleted."""
        for rollup in ROLLUPS:
            self._drop_rows_from(cursor, rollup, None)
            self._record(cursor, rollup, None)

    def refresh(self, cursor: Any) -> None:
        """Summarise each rollup's units from `complete_until` up to the current one (UTC), in
        one transaction."""
        if not self.loaded:
            self._load(cursor)
        behind = [
            (rollup, self.complete_until[rollup.name], _current_unit(rollup)) for rollup in ROLLUPS
        ]
        behind = [(r, start, now) for r, start, now in behind if start is None or start < now]
        if not behind:
            return
        with transaction(cursor, self):
            for rollup, start, now in behind:
                self._drop_rows_from(cursor, rollup, start)
                cursor.execute(
                    rollup.build_sql(),
                    {
                        "since": start.isoformat(sep=" ") if start else "-infinity",
                        "until": now.isoformat(sep=" "),
                    },
                )
                self._record(cursor, rollup, now)

    @staticmethod
    def _drop_rows_from(cursor: Any, rollup: Rollup, start: datetime | None) -> None:
        """Delete the rows of `start` and later (every row when None)."""
        if start is None:
            cursor.execute(f"DELETE FROM {rollup.name}")
        else:
            cursor.execute(f"DELETE FROM {rollup.name} WHERE {rollup.time_column} >= ?", [start])

    def _record(self, cursor: Any, rollup: Rollup, complete_until: datetime | None) -> None:
        """Store `complete_until` (inside a transaction) and remember it; a rollback of that
        transaction makes `transaction` forget it again."""
        cursor.execute(
            "UPDATE rollups SET complete_until = ? WHERE name = ?", [complete_until, rollup.name]
        )
        self.complete_until[rollup.name] = complete_until

    def catch_up(self, cursor: Any, path: str) -> None:
        """`refresh` after a write that has committed: a failure here must not turn that write
        into an error. The rollup stays behind, which costs speed, not truth (the query reads
        uncovered time from spans), and the next write tries again."""
        try:
            self.refresh(cursor)
        except Exception as error:  # any DuckDB or I/O failure
            self.forget()
            logger.warning(
                "store %s: could not bring the rollups up to date (%s); queries read that "
                "time from spans until a later write succeeds",
                path,
                error,
            )


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


class _Written(Protocol):
    @property
    def changed_from(self) -> datetime | None: ...

    @property
    def traces_changed_from(self) -> datetime | None: ...


_WrittenT = TypeVar("_WrittenT", bound=_Written)


def write_transaction(cursor: Any, rollups: Rollups, write: Callable[[], _WrittenT]) -> _WrittenT:
    """Run `write` (which adds or changes spans, and returns an IngestResult) in one
    transaction, and keep the rollup true to it before that transaction commits."""
    with transaction(cursor, rollups):
        result = write()
        rollups.changed(cursor, result.changed_from, result.traces_changed_from)
    return result


@contextmanager
def transaction(cursor: Any, rollups: Rollups) -> Iterator[None]:
    """A write transaction; a rollback also drops the cached rollup state it may have moved."""
    cursor.execute("BEGIN TRANSACTION")
    try:
        yield
        cursor.execute("COMMIT")
    except BaseException:
        rollups.forget()
        cursor.execute("ROLLBACK")
        raise
