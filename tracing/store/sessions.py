"""`sessions`: one row per session (a trace's `group_id`), kept by the store's writer, so the
count of all sessions is a `count(*)` DuckDB answers from the table's row count instead of a
`count(DISTINCT group_id)` over every trace (which grows with the traces).

The table has no key: an `INSERT ... ON CONFLICT` on one costs a lookup in an index that grows
with the sessions (9-15 ms per batch at 1.4M sessions, commit 8a00023). The writer decides
which sessions are new itself, from `SessionIndex`: DuckDB's 64-bit `hash(group_id)` of every
stored session in a sorted numpy array (8 bytes a session, one object the garbage collector
never walks: the writer may live in the agent's process), searched per batch. It is loaded
on the first write that names a session (hashed by the DuckDB of this process, so a hash that
changed between DuckDB versions cannot mislead it) and forgotten when a transaction rolls
back or the table is built again.

A trace's `group_id` only ever appears: a trace record is stored once and replaces only the
row inferred from its spans, which has none. So the sessions of the rows each write inserted
or changed are all it must add, in the write's transaction. Rows written with one's own SQL
need `SpanStore.rebuild_rollups`; a prune builds the table again from what is left.

Hash collisions: two sessions with one hash count as one, until the table is built again.
Among n sessions that happens with probability about n^2 / 2^65 (5e-8 at 1.4M sessions,
3e-6 at 10M).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SESSIONS = "sessions"

_FROM_TRACES = (
    f"INSERT INTO {SESSIONS} SELECT DISTINCT group_id FROM traces WHERE group_id IS NOT NULL"
)
# Migration 8: the table, filled from the traces already stored.
SESSIONS_MIGRATION_STATEMENTS = (
    f"CREATE TABLE {SESSIONS} (group_id VARCHAR NOT NULL)",
    _FROM_TRACES,
)

# New hashes gather in a small sorted array, merged into the main one when it passes this many:
# a merge costs the main array's size, so per session it costs that over RECENT_MAX.
RECENT_MAX = 65_536


@dataclass
class SessionIndex:
    """The hashes of the stored sessions, for the writer of one store file (used under its
    write lock, beside `Rollups`)."""

    main: np.ndarray | None = None
    recent: np.ndarray | None = None

    def forget(self) -> None:
        """The table may hold other rows than these (a rollback, a rebuild): load it again."""
        self.main = self.recent = None

    def _load(self, cursor: Any) -> None:
        import numpy as np

        found = cursor.execute(f"SELECT hash(group_id) AS h FROM {SESSIONS}").fetchnumpy()["h"]
        self.main = _sorted_unique(np.asarray(found, dtype=np.uint64))
        self.recent = np.empty(0, dtype=np.uint64)

    def add(self, cursor: Any, groups: list[str], hashes: list[int]) -> int:
        """Insert the sessions among `groups` (with their DuckDB hashes) that are not stored
        yet, inside the writer's transaction. Returns how many were new."""
        if not groups:
            return 0
        import numpy as np

        if self.main is None or self.recent is None:
            self._load(cursor)
        assert self.main is not None and self.recent is not None
        keys = np.asarray(hashes, dtype=np.uint64)
        unique, first = np.unique(keys, return_index=True)
        new = ~(_contains(self.main, unique) | _contains(self.recent, unique))
        if not new.any():
            return 0
        names = [groups[index] for index in first[new]]
        cursor.execute(f"INSERT INTO {SESSIONS} SELECT unnest(?::VARCHAR[])", [names])
        self.recent = np.union1d(self.recent, unique[new])
        if len(self.recent) > RECENT_MAX:
            # Disjoint sorted arrays: one insert (a copy of main), not a sort of both.
            self.main = np.insert(self.main, np.searchsorted(self.main, self.recent), self.recent)
            self.recent = np.empty(0, dtype=np.uint64)
        return len(names)


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """`keys` sorted, each once. (np.unique took 0.67 s for 1.4M hashes here, a sort 7 ms.)"""
    import numpy as np

    ordered = np.sort(keys)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    import numpy as np

    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    at = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
    return np.asarray(sorted_keys[at] == keys)


def rebuild_sessions(cursor: Any, index: SessionIndex) -> None:
    """Build the table again from `traces` (after a prune, or traces written with own SQL),
    and have the writer's `index` of it loaded again."""
    cursor.execute(f"DELETE FROM {SESSIONS}")
    cursor.execute(_FROM_TRACES)
    index.forget()
