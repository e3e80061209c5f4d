"""Python values to Arrow arrays and scalars, built from numpy buffers (`Array.from_buffers`),
never through `pa.array` or `pa.scalar`.

Why: `pa.array`, `pa.scalar` and every compute function handed a plain Python value first ask
pyarrow's pandas shim whether the value is a pandas object, and the shim imports pandas to
answer (pyarrow 26; numpy arrays too). In an agent's process that import, on the DuckDB
exporter's first batch, added ~33k objects that every later full garbage collection walks on
whichever thread allocates, the agent's included. The store's readers may use pandas; the
writer path of our tracing must not load it.

Each builder accepts what `pa.array(values, type)` accepts for our column types, None as null,
and raises TypeError / ValueError / OverflowError otherwise (the callers then convert value by
value, as they did on pyarrow's errors).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

_STRING = pa.string()
_INT64 = pa.int64()
_FLOAT64 = pa.float64()
_BOOL = pa.bool_()
_MICROS = pa.timestamp("us")
_NONE = type(None)


def _validity(values: list[Any]) -> tuple[pa.Buffer, list[bool]]:
    """The validity bitmap of a column with some nulls, and the same as a list of flags."""
    valid = [value is not None for value in values]
    return pa.py_buffer(np.packbits(np.array(valid, dtype=np.bool_), bitorder="little")), valid


def _check_types(values: list[Any], allowed: frozenset[type]) -> None:
    odd = set(map(type, values)) - allowed
    if odd:
        raise TypeError(f"not {sorted(t.__name__ for t in allowed)}: {sorted(map(str, odd))}")


def strings(values: list[Any]) -> pa.Array:
    """`pa.array(values, pa.string())` for str and None."""
    count = len(values)
    nulls = values.count(None)
    if nulls == count:
        return pa.nulls(count, _STRING)
    validity = None
    texts = values
    if nulls:
        validity, valid = _validity(values)
        texts = [value if ok else "" for value, ok in zip(values, valid, strict=True)]
    joined = "".join(texts)  # TypeError: a value that is not text
    data = joined.encode()  # UnicodeEncodeError (a ValueError): a lone surrogate
    if len(data) >= 2**31:
        raise OverflowError("more than 2 GiB of text in one column")
    offsets = np.zeros(count + 1, dtype=np.int32)
    # Byte lengths: one per character unless some text is not ASCII.
    pieces = texts if len(data) == len(joined) else map(str.encode, texts)
    np.cumsum(np.fromiter(map(len, pieces), dtype=np.int32, count=count), out=offsets[1:])
    return pa.Array.from_buffers(
        _STRING, count, [validity, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )


def _numbers(
    values: list[Any], arrow_type: pa.DataType, dtype: Any, allowed: frozenset[type], zero: Any
) -> pa.Array:
    count = len(values)
    nulls = values.count(None)
    if nulls == count:
        return pa.nulls(count, arrow_type)
    _check_types(values, allowed | {_NONE})
    validity = None
    if nulls:
        validity, valid = _validity(values)
        values = [value if ok else zero for value, ok in zip(values, valid, strict=True)]
    numbers = np.array(values, dtype=dtype)  # OverflowError: an int beyond 64 bits
    if arrow_type == _BOOL:
        data = pa.py_buffer(np.packbits(numbers, bitorder="little"))
    else:
        data = pa.py_buffer(numbers.view(np.int64) if dtype == "datetime64[us]" else numbers)
    return pa.Array.from_buffers(arrow_type, count, [validity, data], null_count=nulls)


_INTS = frozenset({int})
_FLOATS = frozenset({int, float})
_BOOLS = frozenset({bool})
_TIMES = frozenset({datetime})


def integers(values: list[Any]) -> pa.Array:
    """int64 from int and None (not bool, not float: 3.5 is no count)."""
    return _numbers(values, _INT64, np.int64, _INTS, 0)


def floats(values: list[Any]) -> pa.Array:
    return _numbers(values, _FLOAT64, np.float64, _FLOATS, 0.0)


def booleans(values: list[Any]) -> pa.Array:
    return _numbers(values, _BOOL, np.bool_, _BOOLS, False)


def naive_micros(values: list[Any]) -> pa.Array:
    """timestamp[us] from naive datetimes and None."""
    return _numbers(values, _MICROS, "datetime64[us]", _TIMES, datetime(1970, 1, 1))


_BUILDERS = {_STRING: strings, _INT64: integers, _FLOAT64: floats, _BOOL: booleans}


def array(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    """`pa.array(values, arrow_type)` for string, int64, float64, bool and timestamp[us]."""
    if arrow_type == _MICROS:
        return naive_micros(values)
    return _BUILDERS[arrow_type](values)


def scalar(value: Any, arrow_type: pa.DataType) -> pa.Scalar:
    """`pa.scalar(value, arrow_type)`, for the compute functions' operands."""
    return array([value], arrow_type)[0]
