"""JSONL files into the store: DuckDB reads clean files itself; files with bad lines go line by
line so every bad line is reported with file:line and every good one is kept.

The fast path is `read_json` with the record columns declared, staged in a temp table, checked
in SQL and merged in one transaction per file. It refuses a whole file at the first bad line
(invalid JSON, a wrong type, a torn last line); such a file is then read with
`tracing.jsonl.read_jsonl`, which skips and reports each bad line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from .jsonl import MalformedLine, read_jsonl
from .records import RECORD_VERSION
from .store_ingest import (
    IngestResult,
    merge_batch,
    merge_spans,
    split_records,
    upsert_trace_records,
)
from .store_schema import SPAN_COLUMN_NAMES

logger = logging.getLogger("agentoscope.tracing")

LINE_BY_LINE_BATCH = 50_000
MAX_REPORTED_LINES = 1_000

_RECORD_TYPES: dict[str, str] = {
    "v": "BIGINT",
    "kind": "VARCHAR",
    "trace_id": "VARCHAR",
    "span_id": "VARCHAR",
    "parent_id": "VARCHAR",
    "span_type": "VARCHAR",
    "name": "VARCHAR",
    "agent_name": "VARCHAR",
    "tool_name": "VARCHAR",
    "model": "VARCHAR",
    "started_at": "VARCHAR",
    "ended_at": "VARCHAR",
    "duration_ms": "DOUBLE",
    "status": "VARCHAR",
    "error_type": "VARCHAR",
    "error_message": "VARCHAR",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "total_tokens": "BIGINT",
    "cached_input_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT",
    "data": "JSON",
    "error": "JSON",
    "metadata": "JSON",
    "workflow_name": "VARCHAR",
    "group_id": "VARCHAR",
}
_UTC = "CAST(CAST({0} AS TIMESTAMPTZ) AS TIMESTAMP)"
# A row the line-by-line reader would refuse (tracing.jsonl.check_record), or a time it cannot read.
_INVALID_ROW = f"""
    kind IS NULL OR kind NOT IN ('span', 'trace') OR v IS NULL OR v < 1 OR v > {RECORD_VERSION}
    OR trace_id IS NULL OR (kind = 'span' AND span_id IS NULL)
    OR (started_at IS NOT NULL AND TRY_CAST(started_at AS TIMESTAMPTZ) IS NULL)
    OR (ended_at IS NOT NULL AND TRY_CAST(ended_at AS TIMESTAMPTZ) IS NULL)"""


def _span_select() -> str:
    parts = []
    for name in SPAN_COLUMN_NAMES:
        if name in ("started_at", "ended_at"):
            parts.append(f"{_UTC.format(name)} AS {name}")
        elif name == "span_type":
            parts.append("coalesce(span_type, 'unknown') AS span_type")
        else:
            parts.append(name)
    return ", ".join(parts)


_SPAN_SELECT = _span_select()
_TRACE_SELECT = (
    "trace_id, workflow_name, group_id, metadata, "
    f"{_UTC.format('started_at')} AS started_at, {_UTC.format('ended_at')} AS ended_at, duration_ms"
)


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
) -> None:
    """Ingest one file into the store (the caller holds the write lock)."""
    report.files += 1
    result = _ingest_clean_file(cursor, path)
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
        report.add(_in_transaction(cursor, lambda batch=batch: merge_batch(cursor, batch)))


def _chunks(records: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _in_transaction(cursor: Any, work: Callable[[], IngestResult]) -> IngestResult:
    cursor.execute("BEGIN TRANSACTION")
    try:
        result = work()
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    return result


def _ingest_clean_file(cursor: Any, path: Path) -> IngestResult | None:
    """The fast path; None when the file has a line it cannot take (nothing written then)."""
    try:
        cursor.execute(
            "CREATE OR REPLACE TEMP TABLE _agentoscope_staged AS SELECT * FROM read_json(?, "
            "format = 'newline_delimited', columns = ?, maximum_object_size = 268435456)",
            [str(path), _RECORD_TYPES],
        )
    except duckdb.Error as error:
        logger.debug("%s: reading line by line (%s)", path, error)
        return None
    try:
        invalid, total = cursor.execute(
            f"SELECT count(*) FILTER (WHERE {_INVALID_ROW}), count(*) FROM _agentoscope_staged"
        ).fetchone()
        if invalid:
            return None
        return _in_transaction(cursor, lambda: _merge_staged(cursor, total))
    finally:
        cursor.execute("DROP TABLE IF EXISTS _agentoscope_staged")
        cursor.execute("DROP TABLE IF EXISTS _agentoscope_staged_spans")
        cursor.execute("DROP TABLE IF EXISTS _agentoscope_staged_traces")


def _merge_staged(cursor: Any, total: int) -> IngestResult:
    # Each id once (a file may repeat a record), spans in start-time order.
    cursor.execute(
        f"CREATE TEMP TABLE _agentoscope_staged_spans AS SELECT {_SPAN_SELECT} "
        "FROM _agentoscope_staged WHERE kind = 'span' "
        "QUALIFY row_number() OVER (PARTITION BY span_id) = 1 ORDER BY started_at"
    )
    cursor.execute(
        f"CREATE TEMP TABLE _agentoscope_staged_traces AS SELECT {_TRACE_SELECT} "
        "FROM _agentoscope_staged WHERE kind = 'trace' "
        "QUALIFY row_number() OVER (PARTITION BY trace_id) = 1"
    )
    spans, traces = cursor.execute(
        "SELECT (SELECT count(*) FROM _agentoscope_staged_spans), "
        "(SELECT count(*) FROM _agentoscope_staged_traces)"
    ).fetchone()
    stored_traces = upsert_trace_records(cursor, "_agentoscope_staged_traces") if traces else 0
    added_spans = 0
    if spans:
        added_spans = merge_spans(
            cursor,
            "_agentoscope_staged_spans",
            "_agentoscope_staged_traces" if traces else None,
        )
    return IngestResult(added_spans, stored_traces, total - added_spans - stored_traces, 0)
