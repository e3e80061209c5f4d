"""Records to store rows: a batch split by kind, made into Arrow tables (store/arrow.py), and
the SQL that merges it into the store.

Each batch is inserted with `INSERT INTO spans SELECT ... FROM <arrow table>`, rows in arrival
order. A span is its `(trace_id, span_id)`, the key of `spans` (OpenTelemetry makes span ids
unique within a trace only): the same span id under another trace is another span. The first
copy of a span to be stored wins; later copies, with other times or not, are counted as
duplicates and dropped. The merge keeps the store free of duplicates without an index on
`spans`: a stored copy of a batch's span lies within its trace's time range (the `traces` row,
widened to its spans), so the existence check only reads the row groups of that range: for
a batch of new traces, the batch's own time range.
Trace rows are keyed on `trace_id`; a trace known only from its spans gets an `inferred` row,
which the trace's own record replaces whenever it arrives (before or after its spans).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..schema import RECORD_VERSION, check_record
from .schema import SPAN_COLUMN_NAMES, TRACE_RECORD_COLUMNS
from .sessions import SessionIndex

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow (and the numpy it loads) is imported where batches are made into Arrow tables, not
# here: the JSONL and SQL paths never need it, and `agentoscope ingest` starts ~0.1 s sooner.

logger = logging.getLogger("agentoscope.tracing")

_BATCH_SPANS = "_agentoscope_batch_spans"
_BATCH_TRACES = "_agentoscope_batch_traces"
_BATCH_SPAN_TRACES = "_agentoscope_batch_span_traces"


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did. `spans`: span rows added. `traces`: trace records stored (new, or
    completing a row inferred from spans). `duplicates`: records already in the store or
    repeated in the input, skipped. `rejected`: inputs that are not records, skipped and logged."""

    spans: int = 0
    traces: int = 0
    duplicates: int = 0
    rejected: int = 0
    # The earliest start among the spans added or changed (None: no span was): the writer
    # keeps the per-day rollups true from that day on.
    changed_from: datetime | None = field(default=None, compare=False, repr=False)
    # The earliest start among the traces whose rows were written or that got spans (None:
    # none did): the rollups of traces (counted in the hour of their start) are kept true
    # from there on.
    traces_changed_from: datetime | None = field(default=None, compare=False, repr=False)

    def __add__(self, other: IngestResult) -> IngestResult:
        return IngestResult(
            self.spans + other.spans,
            self.traces + other.traces,
            self.duplicates + other.duplicates,
            self.rejected + other.rejected,
            earliest(self.changed_from, other.changed_from),
            earliest(self.traces_changed_from, other.traces_changed_from),
        )


def earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


@dataclass
class Batch:
    """One batch's records, split by kind, each span (trace_id, span_id) and each trace once
    (the first copy wins, as it does against the store)."""

    spans: list[Mapping[str, Any]]
    traces: list[Mapping[str, Any]]
    repeated: int
    rejected: int


def split_records(records: Iterable[Mapping[str, Any]], *, validate: bool = True) -> Batch:
    """Split records by kind, each span and trace once (the first copy wins). A span is its
    (trace_id, span_id): OpenTelemetry makes span ids unique within a trace only.
    `validate=False` is for records made by `span_record`/`trace_record` (a processor's own):
    only ids are checked for repeats."""
    if not validate:
        records = records if isinstance(records, list) else list(records)
        spans = [record for record in records if record["kind"] == "span"]
        traces = [record for record in records if record["kind"] != "span"]
        if len({(span["trace_id"], span["span_id"]) for span in spans}) == len(spans) and len(
            {trace["trace_id"] for trace in traces}
        ) == len(traces):
            return Batch(spans, traces, 0, 0)
    unique_spans: dict[tuple[str, str], Mapping[str, Any]] = {}
    unique_traces: dict[str, Mapping[str, Any]] = {}
    seen = rejected = 0
    for record in records:
        # The common case (a current-version record with string ids) is checked inline: this
        # loop runs for every record of a JSONL file read line by line.
        if (
            type(record) is dict
            and record.get("v") == RECORD_VERSION
            and type(record.get("trace_id")) is str
            and (
                record.get("kind") == "trace"
                or (record.get("kind") == "span" and type(record.get("span_id")) is str)
            )
        ) or check_record(record) is None:
            seen += 1
            if record["kind"] == "span":
                unique_spans.setdefault((record["trace_id"], record["span_id"]), record)
            else:
                unique_traces.setdefault(record["trace_id"], record)
            continue
        rejected += 1
        if rejected == 1:
            problem = check_record(record)
            logger.warning("store: skipping a record that is not a span or trace: %s", problem)
    return Batch(
        list(unique_spans.values()),
        list(unique_traces.values()),
        seen - len(unique_spans) - len(unique_traces),
        rejected,
    )


# -- the merge (run inside one transaction) --------------------------------------------------------

_TRACE_RECORD_COLUMNS_SQL = ", ".join(TRACE_RECORD_COLUMNS)


def _literal(moment: datetime) -> str:
    # Bound as a literal rather than a parameter so DuckDB can skip row groups by their min/max
    # when it plans the scan. The value is a datetime we computed, never user text.
    return f"TIMESTAMP '{moment.isoformat(sep=' ')}'"


@dataclass(frozen=True)
class StartRange:
    """Earliest and latest start among a batch's spans, and whether some have no start."""

    low: datetime | None
    high: datetime | None
    unstarted: bool


def arrow_start_range(table: pa.Table) -> StartRange:
    import pyarrow.compute as pc

    column = table.column("started_at")
    bounds = pc.min_max(column).as_py()
    return StartRange(bounds["min"], bounds["max"], column.null_count > 0)


_FILLED = {
    # An agent span is inside itself: its agent_name is its own name when a record leaves it out.
    "agent_name": "coalesce(b.agent_name, CASE WHEN b.span_type = 'agent' THEN b.name END)",
    # Guardrail records written before `triggered` existed carry the verdict in `data`.
    "triggered": "coalesce(b.triggered, CASE WHEN b.span_type = 'guardrail' "
    "THEN TRY_CAST(b.data->>'triggered' AS BOOLEAN) END)",
}


def _span_projection() -> str:
    return ", ".join(_FILLED.get(name, f"b.{name}") for name in SPAN_COLUMN_NAMES)


_SPAN_PROJECTION = _span_projection()


def merge_spans(
    cursor: Any,
    rows: str,
    starts: StartRange,
    traces: TraceRows,
    *,
    keys: str | None = None,
    trace_ids: set[str] | None = None,
) -> tuple[int, datetime | None, datetime | None]:
    """Add the batch's spans the store lacks and fill `agent_name` from the parent chain (run
    after `merge_trace_rows`). Returns how many spans were added, the earliest start of the
    spans added or changed (None when none was), and the earliest start of the traces written
    (`traces`, less the clock margin: a trace record may start later than the row inferred
    from its spans that it replaces) or that got spans or agent names (None: none).

    `rows` is a relation with the span columns, each (trace_id, span_id) once (a registered
    Arrow table, a temp table or a view); `keys` one with at least trace_id, span_id and
    started_at of the same spans (default: `rows`). `traces`: what `merge_trace_rows` wrote;
    `trace_ids`: the spans' trace ids, when the caller has them at hand (else read from `keys`).
    """
    keys = keys or rows
    added = 0
    # The stored range starts at the earliest start of the batch's spans and of their traces.
    low = None
    if starts.low is not None and starts.high is not None:
        low, high = _stored_range(cursor, keys, starts.low, starts.high, traces, trace_ids)
        between = f"started_at BETWEEN {_literal(low)} AND {_literal(high)}"
        added += _insert_new(cursor, rows, keys, between, "b.started_at IS NOT NULL")
    if starts.unstarted:
        unstarted = _insert_new(cursor, rows, keys, "started_at IS NULL", "b.started_at IS NULL")
        if unstarted:  # spans without a start: their traces' starts are not at hand here
            low = datetime.min
        added += unstarted
    changed_from = starts.low if added else None
    if starts.low is not None:
        changed_from = earliest(changed_from, fill_agent_names(cursor, keys, starts.low))
    traces_from = traces_written_from(traces)
    if changed_from is not None or added:
        traces_from = earliest(traces_from, low, changed_from)
    return added, changed_from, traces_from


def traces_written_from(traces: TraceRows) -> datetime | None:
    """Where the rollups of traces must reopen for the trace rows an upsert wrote."""
    return traces.first - _CLOCK_MARGIN if traces.first is not None else None


def _stored_range(
    cursor: Any,
    keys: str,
    low: datetime,
    high: datetime,
    traces: TraceRows,
    trace_ids: set[str] | None,
) -> tuple[datetime, datetime]:
    """Where stored copies of the batch's spans can be: the batch's own start range, widened
    to the time ranges of its traces (a span sent again with new times, or its first copy
    stored with other times): a trace row inferred from spans spans them all, and a trace
    record's times hold its spans (they come from the same clock). The trace rows the
    batch's upsert wrote come back from that statement (`traces`); only traces it left alone
    (a stored trace record, rare for spans still arriving) are looked up."""
    first, last = traces.first, traces.last
    if trace_ids is None:
        trace_ids = {
            row[0] for row in cursor.execute(f"SELECT DISTINCT trace_id FROM {keys}").fetchall()
        }
    missing = sorted(trace_ids - traces.ids)
    if missing:
        row = cursor.execute(
            "SELECT min(started_at), max(coalesce(ended_at, started_at)), "
            "count(*) FILTER (WHERE started_at IS NULL) FROM traces "
            "WHERE trace_id IN (SELECT unnest(?::VARCHAR[]))",
            [missing],
        ).fetchall()[0]
        if row[2]:  # a trace without times: any stored time is possible
            return datetime.min, datetime.max
        first, last = earliest(first, row[0]), _latest(last, row[1])
    return (min(low, first) if first else low, max(high, last) if last else high)


def _latest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def _insert_new(cursor: Any, rows: str, keys: str, stored: str, batch: str) -> int:
    """Insert the rows of `rows` matching `batch` whose (trace_id, span_id) is not among the
    stored spans matching `stored` (a filter on started_at: where stored copies can be)."""
    existing = f"(SELECT trace_id, span_id FROM spans WHERE {stored})"
    same = "b.trace_id = e.trace_id AND b.span_id = e.span_id"
    found = cursor.execute(
        f"SELECT count(*) FROM {keys} AS b SEMI JOIN {existing} AS e ON {same}"
    ).fetchall()[0][0]
    # Usually nothing is stored yet: a plain INSERT ... SELECT keeps DuckDB's bulk path (row
    # groups written as they fill); one through a join commits through the WAL, much slower.
    source = f"{rows} AS b" if not found else f"{rows} AS b ANTI JOIN {existing} AS e ON {same}"
    return int(
        cursor.execute(
            f"INSERT INTO spans SELECT {_SPAN_PROJECTION} FROM {source} WHERE {batch}"
        ).fetchall()[0][0]
    )


# Spans that lack `agent_name` get the one of their nearest ancestor that has one (or is an
# agent span). Parents usually end, and so arrive, after their children: each batch also fills
# the stored spans below the spans it brings.
_UNRESOLVED = """
SELECT DISTINCT trace_id FROM spans
WHERE started_at >= {low} AND agent_name IS NULL AND parent_id IS NOT NULL"""
_FILL_FROM_ANCESTORS = """
UPDATE spans AS s SET agent_name = found.agent FROM (
    WITH RECURSIVE
    family AS (
        SELECT trace_id, span_id, parent_id,
               coalesce(agent_name, CASE WHEN span_type = 'agent' THEN name END) AS agent
        FROM spans
        WHERE started_at >= {since} AND trace_id IN (SELECT unnest($traces::VARCHAR[]))
    ),
    chain(trace_id, start_id, next_id, agent, depth) AS (
        SELECT trace_id, span_id, parent_id, NULL::VARCHAR, 0
        FROM family WHERE agent IS NULL AND parent_id IS NOT NULL
        UNION ALL
        SELECT chain.trace_id, chain.start_id, family.parent_id, family.agent, chain.depth + 1
        FROM chain JOIN family
          ON family.trace_id = chain.trace_id AND family.span_id = chain.next_id
        WHERE chain.agent IS NULL AND chain.depth < 256
    )
    SELECT trace_id, start_id, any_value(agent) AS agent FROM chain WHERE agent IS NOT NULL
    GROUP BY trace_id, start_id
) AS found
WHERE s.trace_id = found.trace_id AND s.span_id = found.start_id AND s.agent_name IS NULL
  AND s.started_at >= {since} AND s.trace_id IN (SELECT unnest($traces::VARCHAR[]))"""
# Spans of one trace start at or after the trace; the margin allows for clocks of other hosts.
_CLOCK_MARGIN = timedelta(minutes=5)


def fill_agent_names(cursor: Any, source: str, low: datetime) -> datetime | None:
    """Fill `agent_name` of stored spans of the batch's traces (`source`) that lack it. Returns
    the earliest start the filled spans can have (None when nothing needed filling)."""
    # Descendants start after their ancestors, so rows this batch can resolve start at `low` or
    # later: a cheap, time-bounded check comes first (for records from our own core, whose
    # spans carry their agent, it finds nothing but spans outside any agent).
    unresolved = cursor.execute(_UNRESOLVED.format(low=_literal(low))).fetchall()
    if not unresolved:
        return None
    traces = [
        row[0]
        for row in cursor.execute(
            f"SELECT DISTINCT trace_id FROM {source} "
            "WHERE trace_id IN (SELECT unnest(?::VARCHAR[]))",
            [[row[0] for row in unresolved]],
        ).fetchall()
    ]
    if not traces:
        return None
    since = cursor.execute(
        "SELECT min(started_at) FROM traces WHERE trace_id IN (SELECT unnest(?::VARCHAR[]))",
        [traces],
    ).fetchall()[0][0]
    since = (since or low) - _CLOCK_MARGIN
    cursor.execute(_FILL_FROM_ANCESTORS.format(since=_literal(since)), {"traces": traces})
    return since


_EXCLUDED_UNLESS_INFERRED = ", ".join(
    f"{name} = CASE WHEN excluded.inferred THEN traces.{name} ELSE excluded.{name} END"
    for name in ("workflow_name", "group_id", "metadata")
)
_WIDENED = {
    "started_at": "least(traces.started_at, excluded.started_at)",
    "ended_at": "greatest(traces.ended_at, excluded.ended_at)",
}
_TRACE_ROW_UPDATE = (
    f"{_EXCLUDED_UNLESS_INFERRED}, "
    + ", ".join(
        # A record without times (an SDK trace that began before the processor was added)
        # keeps the times inferred from its spans.
        f"{name} = CASE WHEN excluded.inferred THEN {widened} "
        f"ELSE coalesce(excluded.{name}, traces.{name}) END"
        for name, widened in _WIDENED.items()
    )
    + ", duration_ms = CASE WHEN excluded.inferred THEN date_diff('microsecond', "
    f"{_WIDENED['started_at']}, {_WIDENED['ended_at']}) / 1000.0 "
    "ELSE coalesce(excluded.duration_ms, traces.duration_ms) END, inferred = excluded.inferred"
)


@dataclass
class TraceRows:
    """The trace rows one upsert inserted or changed: their ids, how many were trace records
    (`stored`), and the time range they cover. (A row written without a start is a new trace
    record: no span of it was stored before, or its inferred row would have given it times.)"""

    ids: set[str] = field(default_factory=set)
    stored: int = 0
    first: datetime | None = None
    last: datetime | None = None


def merge_trace_rows(
    cursor: Any, records: str | None, span_traces: str | None, sessions: SessionIndex
) -> TraceRows:
    """One statement for the batch's trace rows: its trace records (new rows, or replacing rows
    inferred from spans) and, for traces with spans but no record yet, an inferred row (new, or
    widened to the new spans). Returns the rows written (`stored`: how many trace records were
    stored; the rest were already there). `records` is a relation of trace records;
    `span_traces` one of (trace_id, started_at, ended_at) per trace with spans and no record in
    the batch. The sessions of the rows written are added to `sessions` (the table and the
    writer's index of it)."""
    parts = []
    if records:
        parts.append(f"SELECT {_TRACE_RECORD_COLUMNS_SQL}, false AS inferred FROM {records}")
    if span_traces:
        parts.append(
            "SELECT trace_id, NULL, NULL, NULL, started_at, ended_at, "
            f"date_diff('microsecond', started_at, ended_at) / 1000.0, true FROM {span_traces}"
        )
    written = TraceRows()
    if not parts:
        return written
    changed = cursor.execute(
        f"INSERT INTO traces ({_TRACE_RECORD_COLUMNS_SQL}, inferred) "
        f"{' UNION ALL '.join(parts)} "
        f"ON CONFLICT (trace_id) DO UPDATE SET {_TRACE_ROW_UPDATE} WHERE traces.inferred "
        "RETURNING trace_id, inferred, started_at, coalesce(ended_at, started_at), group_id, "
        "hash(group_id)"
    ).fetchall()
    groups: list[str] = []
    hashes: list[int] = []
    for trace_id, inferred, started_at, ended_at, group_id, group_hash in changed:
        if group_id is not None:
            groups.append(group_id)
            hashes.append(group_hash)
        written.ids.add(trace_id)
        written.stored += not inferred
        if started_at is not None:
            written.first = earliest(written.first, started_at)
            written.last = _latest(written.last, ended_at)
    sessions.add(cursor, groups, hashes)
    return written


def span_traces_sql(spans: str, records: str | None) -> str:
    """SQL of (trace_id, started_at, ended_at) per trace of `spans` with no record in `records`."""
    recorded = f"WHERE trace_id NOT IN (SELECT trace_id FROM {records}) " if records else ""
    return (
        f"(SELECT trace_id, min(started_at) AS started_at, max(ended_at) AS ended_at "
        f"FROM {spans} {recorded}GROUP BY trace_id)"
    )


def arrow_span_traces(table: pa.Table, recorded: set[str]) -> pa.Table | None:
    """(trace_id, started_at, ended_at) per trace of a span batch with no record in the batch,
    computed in Arrow (cheaper than a statement); None when every trace has its record.

    Sorted runs, not `Table.group_by`: the group-by loads pyarrow.acero and pyarrow.dataset,
    which import pandas (see `arrow_values`). Sorted by trace and by the time (nulls last), the
    first row of a trace's run holds its earliest start (times ascending) or its latest end
    (descending), NULL only when the trace has no such time at all."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .arrow_values import integers, strings

    if recorded:
        table = table.filter(pc.invert(pc.is_in(table["trace_id"], strings(list(recorded)))))
    if table.num_rows == 0:
        return None
    columns: dict[str, Any] = {}
    for name, order in (("started_at", "ascending"), ("ended_at", "descending")):
        runs = table.select(["trace_id", name]).sort_by([("trace_id", "ascending"), (name, order)])
        encoded = pc.run_end_encode(runs["trace_id"].combine_chunks(), run_end_type=pa.int64())
        ends = encoded.run_ends
        firsts = pa.concat_arrays([integers([0]), ends.slice(0, len(ends) - 1)])
        columns["trace_id"] = encoded.values
        columns[name] = runs[name].take(firsts)
    return pa.table(columns)


@dataclass
class PreparedBatch:
    """One batch as Arrow tables, ready to write. Building it is Python work that needs no
    connection, so a thread can prepare the next batch while DuckDB (which releases the GIL)
    writes this one."""

    spans: pa.Table | None
    traces: pa.Table | None
    span_traces: pa.Table | None  # traces with spans here but no record in the batch
    starts: StartRange | None
    span_count: int
    trace_count: int
    repeated: int
    rejected: int


def prepare_batch(batch: Batch) -> PreparedBatch:
    from .arrow import span_table, trace_table

    return batch_from_tables(
        span_table(batch.spans) if batch.spans else None,
        trace_table(batch.traces) if batch.traces else None,
        len(batch.spans),
        len(batch.traces),
        batch.repeated,
        batch.rejected,
    )


def batch_from_tables(
    spans: pa.Table | None,
    traces: pa.Table | None,
    span_count: int,
    trace_count: int,
    repeated: int,
    rejected: int,
) -> PreparedBatch:
    """A prepared batch from its span and trace tables (and the counts it reports): the
    traces its spans imply and their start range are worked out here."""
    span_traces = starts = None
    if spans is not None:
        recorded = set(traces.column("trace_id").to_pylist()) if traces is not None else set()
        span_traces = arrow_span_traces(spans, recorded)
        starts = arrow_start_range(spans)
    return PreparedBatch(
        spans, traces, span_traces, starts, span_count, trace_count, repeated, rejected
    )


def write_prepared(cursor: Any, prepared: PreparedBatch, sessions: SessionIndex) -> IngestResult:
    """Write one prepared batch (inside the caller's transaction); `sessions`: the writer's
    index of the stored sessions."""
    added_spans = 0
    changed_from = traces_from = None
    names: list[str] = []

    def register(name: str, table: pa.Table | None) -> str | None:
        if table is None:
            return None
        cursor.register(name, table)
        names.append(name)
        return name

    try:
        records = register(_BATCH_TRACES, prepared.traces)
        spans = register(_BATCH_SPANS, prepared.spans)
        span_traces = register(_BATCH_SPAN_TRACES, prepared.span_traces)
        written = merge_trace_rows(cursor, records, span_traces, sessions)
        stored_traces = written.stored
        traces_from = traces_written_from(written)
        if spans is not None and prepared.starts is not None:
            import pyarrow.compute as pc

            assert prepared.spans is not None
            trace_ids = set(pc.unique(prepared.spans.column("trace_id")).to_pylist())
            added_spans, changed_from, traces_from = merge_spans(
                cursor, spans, prepared.starts, written, trace_ids=trace_ids
            )
    except BaseException:
        # The failed statement aborted the transaction, and DuckDB refuses the unregistering
        # until the caller rolls back: that refusal must not replace the error that matters.
        for name in names:
            with contextlib.suppress(Exception):
                cursor.unregister(name)
        raise
    for name in names:
        cursor.unregister(name)
    duplicates = (
        prepared.repeated + prepared.span_count - added_spans + prepared.trace_count - stored_traces
    )
    return IngestResult(
        added_spans, stored_traces, duplicates, prepared.rejected, changed_from, traces_from
    )


def merge_batch(cursor: Any, batch: Batch, sessions: SessionIndex) -> IngestResult:
    """Write one batch (inside the caller's transaction)."""
    return write_prepared(cursor, prepare_batch(batch), sessions)
