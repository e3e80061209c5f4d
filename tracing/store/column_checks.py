"""The record checks of `tracing.validate`, over a batch's Arrow columns at once: what reaches the
store by ingest (JSONL files, a spool, records handed to `SpanStore.ingest`) is held to the same
rules as the spans this process records, without a Python step per record.

Times outside 2000–2100 become NULL, an end before its start is set to the start (and the
duration to 0), negative durations and token counts become NULL, and a token count that is not
a number (`"many"`) becomes NULL: each counted under its field's name in `record_warnings()`,
the row and its good fields kept.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..clock import naive_from_ns
from ..schema import TOKEN_FIELDS
from ..validate import MAX_TIME_NS, MIN_TIME_NS, warn
from .arrow_values import scalar

# The store's times are naive UTC. Operands are Arrow scalars made once: a plain Python value
# handed to a compute function goes through `pa.scalar`, which imports pandas (`arrow_values`).
_MICROS = pa.timestamp("us")
_EARLIEST = scalar(naive_from_ns(MIN_TIME_NS), _MICROS)
_LATEST = scalar(naive_from_ns(MAX_TIME_NS), _MICROS)
_ZERO = scalar(0, pa.int64())
_ZERO_MS = scalar(0.0, pa.float64())
_FALSE = scalar(False, pa.bool_())


def _mask(condition: pa.Array) -> pa.Array:
    # A comparison with NULL is NULL, and if_else would make the value NULL too: not a repair.
    return pc.fill_null(condition, _FALSE)


def _nulled(column: pa.Array, bad: pa.Array) -> pa.Array:
    return pc.if_else(bad, pa.nulls(len(column), column.type), column)


def _count(bad: pa.Array) -> int:
    return int(pc.sum(bad).as_py() or 0)


def _checked_time(column: pa.Array, field: str) -> pa.Array:
    bad = _mask(pc.or_(pc.less(column, _EARLIEST), pc.greater_equal(column, _LATEST)))
    if count := _count(bad):
        warn(field, f"{count} time(s) outside 2000–2100; stored as NULL", count)
        return _nulled(column, bad)
    return column


def check_times(columns: dict[str, pa.Array]) -> None:
    """Times in range, ends not before starts, durations not negative (in place)."""
    start = columns["started_at"] = _checked_time(columns["started_at"], "started_at")
    end = columns["ended_at"] = _checked_time(columns["ended_at"], "ended_at")
    early = _mask(pc.less(end, start))
    if count := _count(early):
        warn("ended_at", f"{count} end(s) before the start; set to the start", count)
        columns["ended_at"] = pc.if_else(early, start, end)
        columns["duration_ms"] = pc.if_else(early, _ZERO_MS, columns["duration_ms"])
    duration = columns["duration_ms"]
    negative = _mask(pc.less(duration, _ZERO_MS))
    if count := _count(negative):
        warn("duration_ms", f"{count} negative duration(s); stored as NULL", count)
        columns["duration_ms"] = _nulled(duration, negative)


def check_counts(columns: dict[str, pa.Array]) -> None:
    """Token counts not negative (in place)."""
    for field in TOKEN_FIELDS:
        column = columns[field]
        negative = _mask(pc.less(column, _ZERO))
        if count := _count(negative):
            warn(field, f"{count} negative count(s); stored as NULL", count)
            columns[field] = _nulled(column, negative)


def count_unreadable(field: str, given: list[object], stored: pa.Array, what: str) -> None:
    """Values given but stored as NULL because they could not be read as `what`."""
    lost = stored.null_count - given.count(None)
    if lost:
        warn(field, f"{lost} value(s) not {what}; stored as NULL", lost)
