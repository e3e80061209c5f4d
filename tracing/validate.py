"""Impossible values in a record are repaired, not stored: times outside 2000–2100 or an end
before the start, token counts that are not whole non-negative numbers, ids that are numbers.
Each repair keeps the record and its good fields, counts a warning under the field's name
(`record_warnings()`, also in `agentoscope.tracing.stats()`), and logs the first of each field."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

logger = logging.getLogger("agentoscope.tracing")

# Spans happen now: anything before 2000 or from 2100 on is a broken clock or a unit mistake
# (seconds or microseconds taken as nanoseconds, 2**64-1 as "unset").
MIN_TIME_NS = 946_684_800 * 1_000_000_000  # 2000-01-01T00:00:00Z
MAX_TIME_NS = 4_102_444_800 * 1_000_000_000  # 2100-01-01T00:00:00Z

_counts: Counter[str] = Counter()
_lock = threading.Lock()


def warn(field: str, problem: str, count: int = 1) -> None:
    """Count `count` repaired values of `field`; the first of each field is logged."""
    with _lock:
        first = _counts[field] == 0
        _counts[field] += count
    if first:
        logger.warning(
            "record field %r: %s (repaired, the record is kept; counted in "
            "agentoscope.tracing.stats()['record_warnings'], logged once per field)",
            field,
            problem,
        )


def record_warnings() -> dict[str, int]:
    """How many values were repaired, per field name, since the process started."""
    with _lock:
        return dict(_counts)


def checked_time(ns: Any, field: str) -> int | None:
    if ns is None:
        return None
    if type(ns) is not int:
        warn(field, f"not an integer time: {ns!r}; dropped")
        return None
    if not MIN_TIME_NS <= ns < MAX_TIME_NS:
        warn(field, f"time {ns} ns is outside 2000–2100; dropped")
        return None
    return ns


def checked_times(start: Any, end: Any) -> tuple[int | None, int | None]:
    """(start, end) in range, with an end before the start clamped to the start."""
    start = checked_time(start, "started_at")
    end = checked_time(end, "ended_at")
    if start is not None and end is not None and end < start:
        warn("ended_at", f"ends {(start - end) / 1e6:.3f} ms before it starts; set to the start")
        end = start
    return start, end


def whole_number(value: Any) -> int | None:
    """`value` as a whole number (3, 3.0 and "3" are 3), or None if it is not one."""
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def checked_count(value: Any, field: str) -> int | None:
    """A token count: a whole, non-negative number (an integral float or numeric text is
    accepted as its integer)."""
    if value is None:
        return None
    if type(value) is int:
        if value >= 0:
            return value
        warn(field, f"negative count {value}; dropped")
        return None
    number = whole_number(value)
    if number is None or number < 0:
        warn(field, f"not a count: {value!r}; dropped")
        return None
    return number


def checked_id(value: Any, field: str) -> str | None:
    """An id as text: a number is turned into its text, counted; anything else but text is
    dropped."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        warn(field, f"a number ({value}), not text; kept as {str(value)!r}")
        return str(value)
    warn(field, f"not text: {value!r}; dropped")
    return None
