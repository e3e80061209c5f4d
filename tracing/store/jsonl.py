"""JSONL files into the store: DuckDB reads clean files itself; files with bad lines go line by
line so every bad line is reported with file:line and every good one is kept.

The fast path lets DuckDB's `read_json` parse the file once, with the record columns declared,
into a temp table; SQL checks every row the way `check_record` would, looks for values the store
would repair, and gives the batch's bounds; the spans and traces are merged from there in one
transaction (measured: staging then inserting costs the same as one INSERT straight from
read_json). DuckDB refuses a whole file at the first bad line (invalid JSON, a wrong type, a torn
last line), and a file with a value to repair goes the slow way too; such a file is then read
with `tracing.schema.read_jsonl`, which skips and reports each bad line, and nothing of the fast
attempt remains.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from ..clock import naive_from_ns
from ..schema import RECORD_VERSION, TOKEN_FIELDS, MalformedLine, read_jsonl, record_types
from ..validate import MAX_TIME_NS, MIN_TIME_NS
from .ingest import (
    IngestResult,
    StartRange,
    merge_batch,
    merge_spans,
    merge_trace_rows,
    span_traces_sql,
    split_records,
    traces_written_from,
)
from .rollup import Rollups, write_transaction
from .schema import SPAN_COLUMN_NAMES

logger = logging.getLogger("agentoscope.tracing")

LINE_BY_LINE_BATCH = 50_000
FAST_PATH_MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_REPORTED_LINES = 1_000

_RECORD_TYPES = record_types()
# Times: records carry "...+00:00", which the plain cast reads exactly (and several times faster
# than a zoned cast). Any other form is read with the zoned cast, for the whole file.
_ZONED = "TRY_CAST(TRY_CAST({0} AS TIMESTAMPTZ) AS TIMESTAMP)"
_PLAIN = "TRY_CAST({0} AS TIMESTAMP)"
_UNUSUAL_TIME = "({0} IS NOT NULL AND NOT ends_with({0}, '+00:00'))"
# What the line-by-line reader would refuse (tracing.schema.check_record), and the facts the
# merge needs. Repeated spans (trace_id, span_id) are looked for by their 64-bit hashes, ~40%
# cheaper than comparing the strings: as many hashes as spans proves every span distinct, and
# fewer (a repeat, or a hash collision, about 3 in 10^8 for a file of 1M spans) only makes the
# merge keep one row per span, which is right either way.
# Values the store repairs (tracing.store.column_checks): a file with one goes line by line, where
# each repair is made and counted under its field's name.
_IMPOSSIBLE = " OR ".join(
    [
        f"{time} < TIMESTAMP '{naive_from_ns(MIN_TIME_NS)}' "
        f"OR {time} >= TIMESTAMP '{naive_from_ns(MAX_TIME_NS)}'"
        for time in ("started", "ended")
    ]
    + ["ended < started", "duration_ms < 0"]
    + [f"{count} < 0" for count in TOKEN_FIELDS]
)
_FACTS = f"""
SELECT
    count(*) FILTER (WHERE kind IS NULL OR kind NOT IN ('span', 'trace') OR v IS NULL OR v < 1
        OR v > {RECORD_VERSION} OR trace_id IS NULL OR (kind = 'span' AND span_id IS NULL)
        OR (started_at IS NOT NULL AND started IS NULL)
        OR (ended_at IS NOT NULL AND ended IS NULL) OR {_IMPOSSIBLE}) AS invalid,
    count(*) FILTER (WHERE kind = 'span') AS spans,
    count(DISTINCT hash(trace_id, span_id)) FILTER (WHERE kind = 'span') AS span_ids,
    count(*) FILTER (WHERE kind = 'trace') AS traces,
    min(started) FILTER (WHERE kind = 'span') AS low,
    max(started) FILTER (WHERE kind = 'span') AS high,
    count(*) FILTER (WHERE kind = 'span' AND started IS NULL) AS unstarted
FROM {{staged}}"""
_STAGED = "_agentoscope_file"
_FILE_SPANS = "_agentoscope_file_spans"
_FILE_TRACES = "_agentoscope_file_traces"


def _read_json(path: Path, columns: Iterable[str]) -> str:
    """A read_json call as SQL text (views take no parameters). The path is quoted as a string
    literal; the column types are ours."""
    types = ", ".join(f"'{name}': '{_RECORD_TYPES[name]}'" for name in columns)
    quoted = str(path).replace("'", "''")
    # DuckDB reads a file in buffers of maximum_object_size and parses buffers in parallel: the
    # default (16 MB) keeps both cores busy (a 256 MB limit made one buffer of a whole file
    # and took 1.6x as long). DuckDB 2.0 still reads a longer line whole (tested); should a
    # reader refuse one, the line-by-line path, which has no size limit, reads that file.
    return (
        f"read_json('{quoted}', format = 'newline_delimited', columns = {{{types}}}, "
        f"maximum_object_size = {FAST_PATH_MAX_LINE_BYTES})"
    )


def _stage(cursor: Any, path: Path) -> None:
    """Parse the file once into a temp table, times converted to naive UTC."""
    unusual = " OR ".join(_UNUSUAL_TIME.format(name) for name in ("started_at", "ended_at"))
    with _insertion_order_relaxed(cursor):
        cursor.execute(
            f"CREATE OR REPLACE TEMP TABLE {_STAGED} AS SELECT *, "
            f"{_PLAIN.format('started_at')} AS started, {_PLAIN.format('ended_at')} AS ended, "
            f"{unusual} AS unusual FROM {_read_json(path, _RECORD_TYPES)}"
        )
    if cursor.execute(f"SELECT bool_or(unusual) FROM {_STAGED}").fetchall()[0][0]:
        cursor.execute(
            f"UPDATE {_STAGED} SET started = {_ZONED.format('started_at')}, "
            f"ended = {_ZONED.format('ended_at')}"
        )


@contextmanager
def _insertion_order_relaxed(cursor: Any) -> Iterator[None]:
    """Let DuckDB stage the file's rows in the order its threads parse them. Keeping file order
    makes it merge every 16 MB buffer's rows into row groups once more: a 1M-span file staged
    in 1.5-1.7 s that way and in 1.2 s without, and the spans then went in faster too (the
    command: ~3.1 s against ~3.7 s). The cost is locality, for files of more than one row
    group (122,880 rows): each thread keeps the rows of the buffers it parsed, so a row group
    covers about twice the time it would in file order, and one holds rows from both ends of
    the file (measured on a time-ordered 1M-span file: 9 row groups of 3.7 days each became
    ~7.5 days each, and a one-day filter reads 2 of them instead of 1). Time filters still
    skip the rest. Larger read buffers with file order kept were no faster. The setting is the
    database's, so it is put back at once: a read without ORDER BY on another cursor during
    the statement may come back in another order."""
    previous = cursor.execute("SELECT current_setting('preserve_insertion_order')").fetchall()
    cursor.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        cursor.execute(f"SET preserve_insertion_order = {bool(previous[0][0])}")


def _file_relations(repeated_spans: bool) -> list[str]:
    span_columns = []
    for name in SPAN_COLUMN_NAMES:
        if name in ("started_at", "ended_at"):
            span_columns.append(f"{name[:-3]} AS {name}")  # the converted started/ended
        elif name == "span_type":
            span_columns.append("coalesce(span_type, 'unknown') AS span_type")
        else:
            span_columns.append(name)
    # One copy of a span repeated within the file is kept. Staging does not keep the file's
    # order (_insertion_order_relaxed), so which one is not specified; against the store, the
    # copy stored first wins as everywhere.
    once = (
        " QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1" if repeated_spans else ""
    )
    return [
        f"CREATE OR REPLACE TEMP VIEW {_FILE_SPANS} AS SELECT {', '.join(span_columns)} "
        f"FROM {_STAGED} WHERE kind = 'span'{once}",
        f"CREATE OR REPLACE TEMP TABLE {_FILE_TRACES} AS SELECT trace_id, workflow_name, "
        "group_id, metadata, started AS started_at, ended AS ended_at, duration_ms "
        f"FROM {_STAGED} WHERE kind = 'trace' "
        "QUALIFY row_number() OVER (PARTITION BY trace_id) = 1",
    ]


@dataclass
class JsonlIngestReport:
    """What `SpanStore.ingest_jsonl` did: counts, and where the malformed lines are (the first
    MAX_REPORTED_LINES of them; `malformed_count` counts all)."""

    files: int = 0
    spans: int = 0
    traces: int = 0
    duplicates: int = 0
    malformed_count: int = 0
    malformed: list[MalformedLine] = field(default_factory=list)
    fast_files: int = 0

    def add(self, result: IngestResult) -> None:
        self.spans += result.spans
        self.traces += result.traces
        self.duplicates += result.duplicates
        self.malformed_count += result.rejected

    def note_malformed(self, line: MalformedLine) -> None:
        self.malformed_count += 1
        if len(self.malformed) < MAX_REPORTED_LINES:
            self.malformed.append(line)

    def __str__(self) -> str:
        return (
            f"{self.files} file{'s' if self.files != 1 else ''}: {self.spans:,} spans and "
            f"{self.traces:,} traces added, {self.duplicates:,} duplicates skipped, "
            f"{self.malformed_count:,} malformed lines"
        )


def jsonl_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files to read: each path given, and the *.jsonl files of each directory, in name order."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.jsonl") if p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file: {path}")
    return found


def ingest_file(
    cursor: Any,
    path: Path,
    report: JsonlIngestReport,
    on_malformed: Callable[[MalformedLine], None] | None,
    rollups: Rollups,
) -> None:
    """Ingest one file into the store (the caller holds the write lock)."""
    report.files += 1
    result = _ingest_clean_file(cursor, path, rollups)
    if result is not None:
        report.fast_files += 1
        report.add(result)
        return

    def malformed(line: MalformedLine) -> None:
        report.note_malformed(line)
        if on_malformed is not None:
            on_malformed(line)

    for records in _chunks(read_jsonl(path, on_error=malformed), LINE_BY_LINE_BATCH):
        batch = split_records(records)
        merge = partial(merge_batch, cursor, batch, rollups.sessions)
        report.add(write_transaction(cursor, rollups, merge))


def _chunks(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ingest_clean_file(cursor: Any, path: Path, rollups: Rollups) -> IngestResult | None:
    """The fast path; None when the file has a line it cannot take (nothing written then)."""
    try:
        _stage(cursor, path)
        facts = cursor.execute(_FACTS.format(staged=_STAGED)).fetchall()[0]
        invalid, spans, span_ids, traces, low, high, unstarted = facts
        if invalid:
            return None
        for statement in _file_relations(span_ids < spans):
            cursor.execute(statement)
        starts = StartRange(low, high, bool(unstarted))
        return write_transaction(
            cursor, rollups, lambda: _merge_file(cursor, starts, spans, traces, rollups)
        )
    except duckdb.Error as error:  # a line DuckDB cannot take: the line-by-line path decides
        logger.debug("%s: reading line by line (%s)", path, error)
        return None
    finally:
        for statement in (
            f"DROP VIEW IF EXISTS {_FILE_SPANS}",
            f"DROP TABLE IF EXISTS {_FILE_TRACES}",
            f"DROP TABLE IF EXISTS {_STAGED}",
        ):
            cursor.execute(statement)


def _merge_file(
    cursor: Any, starts: StartRange, spans: int, traces: int, rollups: Rollups
) -> IngestResult:
    records = _FILE_TRACES if traces else None
    written = merge_trace_rows(
        cursor, records, span_traces_sql(_FILE_SPANS, records) if spans else None, rollups.sessions
    )
    stored_traces = written.stored
    added_spans, changed_from, traces_from = (
        merge_spans(cursor, _FILE_SPANS, starts, written)
        if spans
        else (0, None, traces_written_from(written))
    )
    duplicates = spans + traces - added_spans - stored_traces
    return IngestResult(added_spans, stored_traces, duplicates, 0, changed_from, traces_from)
