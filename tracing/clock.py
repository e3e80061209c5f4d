"""Timestamps: integers on the hot path, ISO-8601 strings only when something is exported, and
naive UTC datetimes where the store compares times (it keeps them as naive UTC `TIMESTAMP`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# Spans come in bursts within the same second, so the date and time up to the second is
# formatted once per second and reused (formatting a datetime costs about ten times the join),
# and the microseconds are two table lookups rather than a format spec.
_second: tuple[int, int, str] = (-1, -1, "")
_THREE_DIGITS = tuple(f"{n:03d}" for n in range(1000))
_THREE_DIGITS_UTC = tuple(f"{n:03d}+00:00" for n in range(1000))


def iso_from_ns(ns: int | None) -> str | None:
    """`2026-11-20T23:50:05.418117+00:00`: UTC, always six fractional digits."""
    global _second
    if ns is None:
        return None
    low, high, prefix = _second
    if not low <= ns < high:
        low = ns - ns % 1_000_000_000
        high = low + 1_000_000_000
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(low // 1_000_000_000))
        _second = (low, high, prefix)
    micros = (ns - low) // 1000
    return prefix + _THREE_DIGITS[micros // 1000] + _THREE_DIGITS_UTC[micros % 1000]


def ns_from_iso(value: str | None) -> int | None:
    """Parse an ISO-8601 timestamp (any offset; naive means UTC) to integer nanoseconds."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return ((parsed - _EPOCH) // _MICROSECOND) * 1000


def utc_naive(moment: datetime) -> datetime:
    """`moment` as naive UTC, the way the store keeps times (a naive value is taken as UTC)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def utc_now() -> datetime:
    """Now as naive UTC, the way the store keeps times."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_from_ns(ns: int) -> datetime:
    """Integer nanoseconds since the epoch as a naive UTC datetime (microseconds kept)."""
    return datetime.fromtimestamp(ns / 1e9, UTC).replace(tzinfo=None)
