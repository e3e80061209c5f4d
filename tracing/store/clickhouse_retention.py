"""`retention_days` on a ClickHouse store that already exists.

The TTL is written into the tables when migration 1 creates them; `CREATE TABLE IF NOT EXISTS`
never changes it afterwards. So that the URL means the same thing on every open:

- a read-write open with `retention_days=N` that differs from the stored TTL applies it
  (`ALTER TABLE ... MODIFY TTL` on span_rows and trace_rows) and logs a warning saying so: a
  shorter retention deletes rows, which nobody should learn of later;
- a read-write open without the option leaves the stored TTL alone: a writer started without
  it (a second `serve`, an ad-hoc `prune`) must not undo the retention another one set. To drop
  a TTL, `ALTER TABLE span_rows REMOVE TTL` (and trace_rows) by hand;
- a read-only open never alters (a reader's user may not, and a dashboard should not change
  what writers keep): when its option differs from the stored TTL, it logs a warning naming both
  and reads on. Refusing would hide the traces over a setting that a reader cannot act on.
"""

from __future__ import annotations

import logging
import re

from .clickhouse_connection import Connection, literal
from .clickhouse_schema import SPAN_TABLE, TRACE_TABLE, ttl_expression

logger = logging.getLogger("agentoscope.tracing")

_TABLES = (SPAN_TABLE, TRACE_TABLE)
# How ClickHouse shows our TTL in system.tables.engine_full: `... + toIntervalDay(30)`.
_STORED_DAYS = re.compile(r"\bTTL\b.*?\+\s*toIntervalDay\((\d+)\)")


def stored_retention(connection: Connection) -> dict[str, int | None]:
    """Each row table's TTL in days (None: no TTL), as the server has it now."""
    frame = connection.query_df(
        "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() "
        f"AND name IN {literal(list(_TABLES))}"
    )
    found: dict[str, int | None] = {}
    for name, engine in zip(frame["name"], frame["engine_full"], strict=True):
        match = _STORED_DAYS.search(str(engine))
        found[str(name)] = int(match.group(1)) if match else None
    return found


def reconcile_retention(
    connection: Connection, wanted: int | None, *, read_only: bool, where: str
) -> None:
    """Bring the stored TTL to `wanted` days (read-write), or warn that it differs (read-only).
    `wanted` None (no option in the URL) leaves it as stored."""
    if wanted is None:
        return
    stored = stored_retention(connection)
    differing = {table: days for table, days in stored.items() if days != wanted}
    if not differing:
        return
    before = _describe(differing)
    if read_only:
        logger.warning(
            "%s keeps rows %s, not the %d days its URL's retention_days says; a read-only open "
            "does not change it (open it read-write with retention_days=%d to apply it)",
            where,
            before,
            wanted,
            wanted,
        )
        return
    for table in differing:
        connection.command(f"ALTER TABLE {table} MODIFY TTL {ttl_expression(wanted)}")
    logger.warning(
        "%s: retention changed from %s to %d days (retention_days in the store URL); ClickHouse "
        "drops rows past it as it merges",
        where,
        before,
        wanted,
    )


def _describe(days_by_table: dict[str, int | None]) -> str:
    kinds = set(days_by_table.values())
    if len(kinds) == 1:
        (days,) = kinds
        return "forever (no TTL)" if days is None else f"{days} days"
    return ", ".join(
        f"{table}: {'no TTL' if days is None else f'{days} days'}"
        for table, days in sorted(days_by_table.items())
    )
