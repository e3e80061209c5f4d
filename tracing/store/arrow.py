"""Records to Arrow tables, column by column (never row by row): the span and trace rows a batch
inserts with `INSERT INTO spans SELECT ... FROM <arrow table>`. Values of the wrong type are
coerced where they can be (a number as text, an ISO time with any offset, integer nanoseconds)
and stored as NULL where they cannot (an unreadable time with a warning): a row is never dropped
for one odd value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..clock import naive_from_ns, ns_from_iso
from ..validate import whole_number
from . import arrow_values
from .column_checks import check_counts, check_times, count_unreadable
from .ingest import PreparedBatch, batch_from_tables
from .schema import COLUMN_JSON_TYPES, SPAN_COLUMN_NAMES, TRACE_RECORD_COLUMNS

logger = logging.getLogger("agentoscope.tracing")

_UTC_MICROS = pa.timestamp("us", tz="UTC")
_NAIVE_MICROS = pa.timestamp("us")
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError)
# Columns are built by `arrow_values`, not `pa.array` (which imports pandas: see there).
_THOUSAND = arrow_values.scalar(1000, pa.int64())


_dumps = orjson.dumps
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # already JSON text (from a foreign source): keep it if valid
        try:
            orjson.loads(value)
            return value
        except orjson.JSONDecodeError:
            pass
    return _dumps(value, default=str, option=_JSON_OPTIONS).decode()


def _timestamps(name: str, values: list[Any]) -> pa.Array:
    try:
        return arrow_values.strings(values).cast(_UTC_MICROS).cast(_NAIVE_MICROS)
    except _ARROW_ERRORS:
        pass
    try:  # nanoseconds since the epoch, as serve's decoding workers keep OTLP times
        numbers = arrow_values.integers(values)  # a float or a bool is not read as an int
        return pc.divide(numbers, _THOUSAND).cast(_NAIVE_MICROS)
    except _ARROW_ERRORS:
        pass
    # A naive or odd timestamp somewhere, or a mix: parse each value.
    return _one_by_one(name, values, _NAIVE_MICROS, _parse_time, "a readable time")


def _parse_time(value: Any) -> datetime | None:
    if type(value) is int:  # nanoseconds since the epoch
        return datetime(1970, 1, 1) + timedelta(microseconds=value // 1000)
    ns = ns_from_iso(str(value))  # ValueError: unreadable
    return None if ns is None else naive_from_ns(ns)


def _whole_numbers(name: str, values: list[Any]) -> pa.Array:
    try:  # ints only: 3.5 is not truncated to 3 without a word
        return arrow_values.integers(values)
    except _ARROW_ERRORS:
        pass
    return _one_by_one(name, values, pa.int64(), _whole, "a whole number")


def _whole(value: Any) -> int:
    """A count, as `tracing.validate` reads one: 3, 3.0 and "3" are 3; 3.5 and "many" are not."""
    number = whole_number(value)
    if number is None:
        raise ValueError(value)
    return number


def _one_by_one(
    name: str, values: list[Any], arrow_type: pa.DataType, convert: Callable[[Any], Any], what: str
) -> pa.Array:
    """The slow path, for a column with an odd value: each value converted, and each one that
    cannot be stored as NULL and counted under the field's name."""
    column = arrow_values.array([_or_none(convert, value) for value in values], arrow_type)
    count_unreadable(name, values, column, what)
    return column


def _or_none(convert: Callable[[Any], Any], value: Any) -> Any:
    if value is None:
        return None
    try:
        return convert(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _json_column(values: list[Any]) -> pa.Array:
    return arrow_values.strings(json_texts(values))


def json_texts(values: list[Any]) -> list[str | None]:
    """An object column's values as JSON text (None stays None)."""
    dumps, options, text = _dumps, _JSON_OPTIONS, _json_text
    # Inline for the common case (a dict or None): this column is the costliest to build.
    return [
        None
        if value is None
        else dumps(value, default=str, option=options).decode()
        if type(value) is dict
        else text(value)
        for value in values
    ]


# Types other than times, counts and JSON: the Arrow type, a converter and what it reads.
_BY_JSON_TYPE: dict[str, tuple[pa.DataType, Callable[[Any], Any], str]] = {
    "number": (pa.float64(), float, "a number"),
    "boolean": (pa.bool_(), bool, "true or false"),
    "string": (pa.string(), str, "text"),
}


def _column(name: str, values: list[Any], json_done: bool = False) -> pa.Array:
    json_type = COLUMN_JSON_TYPES[name]
    if json_type == "object":
        return arrow_values.strings(values) if json_done else _json_column(values)
    if json_type == "timestamp":
        return _timestamps(name, values)
    if json_type == "integer":
        return _whole_numbers(name, values)
    arrow_type, convert, what = _BY_JSON_TYPE[json_type]
    try:
        return arrow_values.array(values, arrow_type)
    except _ARROW_ERRORS:
        return _one_by_one(name, values, arrow_type, convert, what)


def _values(records: list[Mapping[str, Any]], name: str) -> list[Any]:
    try:  # records from span_record/trace_record have every key: the C-level path
        return list(map(itemgetter(name), records))
    except KeyError:
        return [record.get(name) for record in records]


def span_table(spans: list[Mapping[str, Any]]) -> pa.Table:
    """Span rows, in arrival order, columns as in `spans`.

    Not sorted by start: spans arrive as they end, so a batch covers a short stretch of time
    and DuckDB's per-row-group min/max (a row group holds 122,880 rows, many batches) bound it
    just as tightly. Sorting cost ~0.6 µs per span of a ~10 µs ingest."""
    return span_table_from_columns({name: _values(spans, name) for name in SPAN_COLUMN_NAMES})


def span_table_from_columns(values: Mapping[str, list[Any]], json_done: bool = False) -> pa.Table:
    """`span_table` from each column's values (`json_done`: the object columns hold JSON text
    made by `json_texts` already)."""
    columns = {name: _column(name, values[name], json_done) for name in SPAN_COLUMN_NAMES}
    check_times(columns)
    check_counts(columns)
    if columns["span_type"].null_count:  # the column is NOT NULL: a record without a type
        columns["span_type"] = arrow_values.strings(
            [value or "unknown" for value in columns["span_type"].to_pylist()]
        )
    return pa.table(columns)


def trace_table(traces: list[Mapping[str, Any]]) -> pa.Table:
    return trace_table_from_columns({name: _values(traces, name) for name in TRACE_RECORD_COLUMNS})


def trace_table_from_columns(values: Mapping[str, list[Any]], json_done: bool = False) -> pa.Table:
    columns = {name: _column(name, values[name], json_done) for name in TRACE_RECORD_COLUMNS}
    check_times(columns)
    return pa.table(columns)


def combine_prepared(batches: list[PreparedBatch]) -> list[PreparedBatch]:
    """Several requests' batches as one, as `prepare_batch` would have made it from all their
    records: writing a batch has a fixed cost (statements, and looking up its ids among the
    stored spans) that one merge pays once, not once per request (four 1000-span requests in
    one transaction: 12.5 -> 5.3 µs/span, measured). Batches that repeat an id between them are
    returned as they are: `SpanStore.write` stores each id once, batch after batch."""
    if len(batches) < 2:
        return batches
    try:
        spans = _concat([batch.spans for batch in batches], ("trace_id", "span_id"))
        traces = _concat([batch.traces for batch in batches], ("trace_id",))
    except (_Repeated, pa.ArrowInvalid, pa.ArrowTypeError):
        return batches
    return [
        batch_from_tables(
            spans,
            traces,
            sum(batch.span_count for batch in batches),
            sum(batch.trace_count for batch in batches),
            sum(batch.repeated for batch in batches),
            sum(batch.rejected for batch in batches),
        )
    ]


_SLASH = arrow_values.scalar("/", pa.string())


class _Repeated(Exception):
    pass


def _concat(tables: list[pa.Table | None], key: tuple[str, ...]) -> pa.Table | None:
    """The tables as one; `_Repeated` if a key (a span: trace_id and span_id) is in two."""
    present = [table for table in tables if table is not None]
    if not present:
        return None
    table = pa.concat_tables(present)
    if len(present) > 1:
        # Two keys joined alike (ids holding "/") only make the batches go in one by one.
        column = (
            table.column(key[0])
            if len(key) == 1
            else pc.binary_join_element_wise(*(table.column(name) for name in key), _SLASH)
        )
        if pc.count_distinct(column).as_py() != table.num_rows:
            raise _Repeated
    return table
