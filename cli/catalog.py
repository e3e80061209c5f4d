"""What the store holds, named when a query asks for something it does not have.

DuckDB's own hint looks through every catalog, its system views included, so a table we don't
have earns `Did you mean "pg_sequences"?`. The user wants our tables and views instead."""

from __future__ import annotations

import re
from typing import Any

_MISSING_TABLE = re.compile(r"Table with name (?P<name>\S+) does not exist", re.IGNORECASE)
_SUGGESTION = re.compile(r'Did you mean "(?P<name>[^"]+)"')
# Our own names, in the main schema; bookkeeping tables start with an underscore or are these.
_BOOKKEEPING = ("schema_version", "rollups")
_CATALOG_SQL = """
SELECT table_name, table_type FROM information_schema.tables
WHERE table_schema = 'main' AND NOT starts_with(table_name, '_')
ORDER BY table_type, table_name
"""


def missing_table(error: BaseException) -> str | None:
    """The table name a query failed to find, or None for any other error."""
    found = _MISSING_TABLE.search(str(error))
    return found["name"].rstrip("!") if found else None


def store_names(reader: Any) -> tuple[list[str], list[str]]:
    """(tables, views) a user can query in this store, by name."""
    frame = reader.query(_CATALOG_SQL, None)
    tables = [
        str(name)
        for name, kind in zip(frame["table_name"], frame["table_type"], strict=True)
        if "VIEW" not in str(kind).upper() and str(name) not in _BOOKKEEPING
    ]
    views = [
        str(name)
        for name, kind in zip(frame["table_name"], frame["table_type"], strict=True)
        if "VIEW" in str(kind).upper()
    ]
    return tables, views


def unknown_table_message(error: BaseException, reader: Any) -> str | None:
    """One line naming our tables and views when `error` is a missing table; else None."""
    name = missing_table(error)
    if name is None:
        return None
    tables, views = store_names(reader)
    ours = set(tables) | set(views)
    hint = _SUGGESTION.search(str(error))
    guess = f' Did you mean "{hint["name"]}"?' if hint and hint["name"] in ours else ""
    return (
        f"the store has no table or view {name!r}.{guess} Tables: {', '.join(tables)}; "
        f"views: {', '.join(views)}"
    )
