"""Timestamps: integers on the hot path, ISO-8601 strings only when something is exported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


_second_prefix: tuple[int, str] = (-1, "")


def iso_from_ns(ns: int | None) -> str | None:
    """`2026-11-20T23:50:05.418117+00:00`: UTC, always six fractional digits.

    Spans come in bursts within the same second, so the date-and-time prefix is cached per second
    (formatting a datetime costs about ten times the string join).
    """
    global _second_prefix
    if ns is None:
        return None
    seconds, remainder = divmod(ns, 1_000_000_000)
    cached_second, prefix = _second_prefix
    if cached_second != seconds:
        prefix = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.")
        _second_prefix = (seconds, prefix)
    return f"{prefix}{remainder // 1000:06d}+00:00"


def ns_from_iso(value: str | None) -> int | None:
    """Parse an ISO-8601 timestamp (any offset; naive means UTC) to integer nanoseconds."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return ((parsed - _EPOCH) // _MICROSECOND) * 1000
