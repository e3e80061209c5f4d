"""The store writer's Arrow columns (built without `pa.array`, which imports pandas) hold what
`pa.array` would have made of the same values, and refuse what it refuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from agentoscope.tracing.store import arrow_values

_CASES: list[tuple[list[Any], pa.DataType]] = [
    (["span_1", "span_2", "span_3"], pa.string()),
    ([None, "ümlaut é", None, "日本語", ""], pa.string()),
    ([None, None], pa.string()),
    ([], pa.string()),
    ([3, None, -(2**63), 2**63 - 1], pa.int64()),
    ([None, None, None], pa.int64()),
    ([0.5, None, 3, float("nan")], pa.float64()),
    ([True, None, False] * 5, pa.bool_()),
    ([datetime(2026, 1, 2, 3, 4, 5, 678901), None], pa.timestamp("us")),
]


@pytest.mark.parametrize(("values", "arrow_type"), _CASES)
def test_columns_hold_what_pa_array_makes(values: list[Any], arrow_type: pa.DataType) -> None:
    built = arrow_values.array(values, arrow_type)
    built.validate(full=True)
    assert built.type == arrow_type
    assert str(built.to_pylist()) == str(pa.array(values, arrow_type).to_pylist())  # NaN too
    assert built.null_count == values.count(None)  # NaN is a value, as pa.array keeps it


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        (["a", 1], pa.string()),
        (["\ud800"], pa.string()),  # a lone surrogate is no UTF-8
        ([3.5, 1], pa.int64()),  # never truncated to 3
        ([True], pa.int64()),
        ([2**64], pa.int64()),
        (["3"], pa.float64()),
        ([1], pa.bool_()),
    ],
)
def test_values_of_another_type_are_refused(values: list[Any], arrow_type: pa.DataType) -> None:
    with pytest.raises((TypeError, ValueError, OverflowError)):
        arrow_values.array(values, arrow_type)


def test_scalars_are_the_values() -> None:
    assert arrow_values.scalar("/", pa.string()).as_py() == "/"
    assert arrow_values.scalar(0.0, pa.float64()).as_py() == 0.0
