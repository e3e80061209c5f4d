"""`ColumnBuffer`: a writer's batch kept as one list of values per column, filled chunk by
chunk, made into Arrow tables once per batch.

Why: a record is a dict holding dicts (its data, metadata, error); kept until its batch is
written, each one is a few objects the garbage collector tracks, and a batch of them outlives
the young generations: that set off most of the young collections of a busy run, each of which
promotes the agent's live objects toward a full collection. Taken apart as they come (object
columns as JSON text at once), records die with their chunk; the lists hold text and numbers
only. Arrow's fixed cost per column is paid once a batch, not once a chunk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .arrow import _values, json_texts, span_table_from_columns, trace_table_from_columns
from .arrow_values import integers, scalar
from .ingest import PreparedBatch, batch_from_tables
from .schema import COLUMN_JSON_TYPES, SPAN_COLUMN_NAMES, TRACE_RECORD_COLUMNS

_SEPARATOR = scalar("\x00", pa.string())


def _empty(names: tuple[str, ...]) -> dict[str, list[Any]]:
    return {name: [] for name in names}


class ColumnBuffer:
    """Records from `span_record`/`trace_record` (a processor's own: no per-record checks)."""

    def __init__(self) -> None:
        self._spans = _empty(SPAN_COLUMN_NAMES)
        self._traces = _empty(TRACE_RECORD_COLUMNS)

    def __len__(self) -> int:
        return len(self._spans["trace_id"]) + len(self._traces["trace_id"])

    def add(self, records: Sequence[Mapping[str, Any]]) -> None:
        spans = [record for record in records if record["kind"] == "span"]
        traces = [record for record in records if record["kind"] != "span"]
        for rows, columns in ((spans, self._spans), (traces, self._traces)):
            if not rows:
                continue
            for name, values in columns.items():
                column = _values(rows, name)
                values.extend(json_texts(column) if COLUMN_JSON_TYPES[name] == "object" else column)

    def prepare(self) -> PreparedBatch:
        """The buffered records as one prepared batch, each span and trace once (the first copy
        wins, as `split_records` has it); the buffer starts again empty."""
        spans, traces = self._spans, self._traces
        self._spans, self._traces = _empty(SPAN_COLUMN_NAMES), _empty(TRACE_RECORD_COLUMNS)
        span_table = span_table_from_columns(spans, json_done=True) if spans["trace_id"] else None
        trace_table = (
            trace_table_from_columns(traces, json_done=True) if traces["trace_id"] else None
        )
        repeated = 0
        if span_table is not None:
            keys = pc.binary_join_element_wise(
                span_table["trace_id"], span_table["span_id"], _SEPARATOR
            )
            span_table, repeated = _first_copies(span_table, keys)
        if trace_table is not None:
            trace_table, again = _first_copies(trace_table, trace_table["trace_id"])
            repeated += again
        return batch_from_tables(
            span_table,
            trace_table,
            span_table.num_rows if span_table is not None else 0,
            trace_table.num_rows if trace_table is not None else 0,
            repeated,
            0,
        )


def _first_copies(table: pa.Table, keys: Any) -> tuple[pa.Table, int]:
    """`table` with each key's first row only, and how many rows were left out."""
    if pc.count_distinct(keys).as_py() == table.num_rows:
        return table, 0
    first: dict[Any, int] = {}
    for index, key in enumerate(keys.to_pylist()):
        first.setdefault(key, index)
    kept = table.take(integers(sorted(first.values())))
    return kept, table.num_rows - kept.num_rows
