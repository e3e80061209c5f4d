"""Per-day rollups beside `spans`, so long-window aggregates read a few rows per day instead of
grouping millions of spans (the error rate per agent per day over 30 days at 10M spans: ~86 ms
grouped from `spans`, ~11 ms from the rollup).

`agent_days` holds, per UTC day and agent, the agent runs, the failed runs and the failing spans
of any type inside the agent, for every day before `rollups.complete_until`. Days from then on
(today, and days a late write touched) are read from `spans` by the query that uses it. The
store's writer keeps the rollup true:

- A write that adds or changes spans starting before `complete_until` (a late span, an old JSONL
  file, agent names filled in for spans of earlier days) moves `complete_until` back to that
  day and deletes the rows from there, in the write's own transaction, so no crash leaves a
  stale row. The writer caches `complete_until`: a write of today's spans costs no statement.
- After its writes, and when it opens the store, the writer summarises the days from
  `complete_until` up to today: usually one day, once a day.
- `prune` clears it; the refresh after the prune rebuilds it from what is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

logger = logging.getLogger("agentoscope.tracing")

AGENT_DAYS = "agent_days"

# The failing spans are counted under the agent they ran in, and agent runs under themselves:
# the rows a day and agent group holds are the agent spans and the failing spans.
AGENT_DAY_COLUMNS = """
       count(*) FILTER (WHERE span_type = 'agent') AS runs,
       count(*) FILTER (WHERE span_type = 'agent' AND status = 'error') AS failed_runs,
       count(*) FILTER (WHERE status = 'error') AS errors"""
AGENT_DAY_ROWS = "agent_name IS NOT NULL AND (span_type = 'agent' OR status = 'error')"

MIGRATION_STATEMENTS = (
    f"""CREATE TABLE {AGENT_DAYS} (
    day DATE NOT NULL,
    agent_name VARCHAR NOT NULL,
    runs BIGINT NOT NULL,
    failed_runs BIGINT NOT NULL,
    errors BIGINT NOT NULL
)""",
    "CREATE TABLE rollups (name VARCHAR NOT NULL, complete_until DATE)",
    f"INSERT INTO rollups VALUES ('{AGENT_DAYS}', NULL)",
)

_BUILD = f"""
INSERT INTO {AGENT_DAYS}
SELECT started_at::DATE AS day, agent_name,{AGENT_DAY_COLUMNS}
FROM spans
WHERE {AGENT_DAY_ROWS}
  AND started_at >= CAST($since AS TIMESTAMP) AND started_at < CAST($until AS TIMESTAMP)
GROUP BY ALL"""


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass
class Rollups:
    """The writer's view of the rollups of one store file (one per process, beside its shared
    connection; used under the write lock)."""

    complete_until: date | None = None
    loaded: bool = False

    def forget(self) -> None:
        """The cached state may be wrong (a transaction rolled back): read it again next time."""
        self.loaded = False

    def _load(self, cursor: Any) -> None:
        rows = cursor.execute(
            "SELECT complete_until FROM rollups WHERE name = ?", [AGENT_DAYS]
        ).fetchall()
        self.complete_until = rows[0][0] if rows else None
        self.loaded = True

    def changed(self, cursor: Any, earliest: datetime | None) -> None:
        """Spans starting at `earliest` or later were added or changed (inside the writer's
        transaction): the rollup stops covering their day."""
        if earliest is None:
            return
        if not self.loaded:
            self._load(cursor)
        if self.complete_until is None or earliest.date() >= self.complete_until:
            return
        self._drop_rows_from(cursor, earliest.date())
        self._record(cursor, earliest.date())

    def clear(self, cursor: Any) -> None:
        """Cover nothing (inside the writer's transaction), e.g. after spans were deleted."""
        self._drop_rows_from(cursor, None)
        self._record(cursor, None)

    def refresh(self, cursor: Any, today: date | None = None) -> None:
        """Summarise the days from `complete_until` up to `today` (UTC) in one transaction."""
        today = today or utc_today()
        if not self.loaded:
            self._load(cursor)
        start = self.complete_until
        if start is not None and start >= today:
            return
        with transaction(cursor, self):
            self._drop_rows_from(cursor, start)
            cursor.execute(
                _BUILD,
                {
                    "since": start.isoformat() if start else "-infinity",
                    "until": today.isoformat(),
                },
            )
            self._record(cursor, today)

    @staticmethod
    def _drop_rows_from(cursor: Any, day: date | None) -> None:
        """Delete the rows of `day` and later (every row when None)."""
        if day is None:
            cursor.execute(f"DELETE FROM {AGENT_DAYS}")
        else:
            cursor.execute(f"DELETE FROM {AGENT_DAYS} WHERE day >= ?", [day])

    def _record(self, cursor: Any, complete_until: date | None) -> None:
        """Store `complete_until` (inside a transaction) and remember it; a rollback of that
        transaction makes `transaction` forget it again."""
        cursor.execute(
            "UPDATE rollups SET complete_until = ? WHERE name = ?", [complete_until, AGENT_DAYS]
        )
        self.complete_until = complete_until
        self.loaded = True

    def catch_up(self, cursor: Any, path: str) -> None:
        """`refresh` after a write that has committed: a failure here must not turn that write
        into an error. The rollup stays behind, which costs speed, not truth (the query reads
        uncovered days from spans), and the next write tries again."""
        try:
            self.refresh(cursor)
        except Exception as error:  # any DuckDB or I/O failure
            self.forget()
            logger.warning(
                "store %s: could not bring the %s rollup up to date (%s); queries read those "
                "days from spans until a later write succeeds",
                path,
                AGENT_DAYS,
                error,
            )


class _Written(Protocol):
    @property
    def changed_from(self) -> datetime | None: ...


_WrittenT = TypeVar("_WrittenT", bound=_Written)


def write_transaction(cursor: Any, rollups: Rollups, write: Callable[[], _WrittenT]) -> _WrittenT:
    """Run `write` (which adds or changes spans, and returns an IngestResult) in one
    transaction, and keep the rollup true to it before that transaction commits."""
    with transaction(cursor, rollups):
        result = write()
        rollups.changed(cursor, result.changed_from)
    return result


@contextmanager
def transaction(cursor: Any, rollups: Rollups) -> Iterator[None]:
    """A write transaction; a rollback also drops the cached rollup state it may have moved."""
    cursor.execute("BEGIN TRANSACTION")
    try:
        yield
        cursor.execute("COMMIT")
    except BaseException:
        rollups.forget()
        cursor.execute("ROLLBACK")
        raise
