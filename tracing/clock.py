"""Timestamps: integers on the hot path, ISO-8601 strings only when something is exported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def iso_from_ns(ns: int | None) -> str | None:
    """`2026-11-20T23:50:05.418117+00:00`: UTC, always six fractional digits."""
    if ns is None:
        return None
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat(timespec="microseconds")


def ns_from_iso(value: str | None) -> int | None:
    """Parse an ISO-8601 timestamp (any offset; naive means UTC) to integer nanoseconds."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return ((parsed - _EPOCH) // _MICROSECOND) * 1000
