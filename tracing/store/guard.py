"""The store's SQL surface is read-only: one SELECT at a time, over the store's own tables.

Statements are classified by DuckDB's own parser (`extract_statements`), never by regex. A SELECT
could still reach outside the store: table functions such as `read_csv`, or a file path used as
a table name (`FROM 'secrets.csv'`). The store may be served over HTTP, so those are refused too,
from the parse tree DuckDB gives for the statement (`json_serialize_sql`).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import duckdb
import orjson

# Table functions that only compute or read the catalog: safe to offer over HTTP.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "json_each",
        "json_tree",
        "pragma_table_info",
        "pragma_show",
        "pragma_storage_info",
        "pragma_database_size",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_columns",
        "duckdb_constraints",
        "duckdb_indexes",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_functions",
        "summary",
    }
)
_EXPLAIN = re.compile(r"^\s*EXPLAIN(\s+ANALY[SZ]E)?\s+", re.IGNORECASE)
# A "table name" that is really a file, glob or URL, which DuckDB would read by replacement scan.
_PATH_LIKE = re.compile(r"[./\\:~*?]")


class ReadOnlyQueryError(ValueError):
    """The SQL is not a single read of the store; the message says why."""


def checked_select(sql: str) -> str:
    """Return `sql` if it is one read-only SELECT (DESCRIBE, SHOW, SUMMARIZE and EXPLAIN of a
    SELECT included) over the store; raise ReadOnlyQueryError otherwise."""
    if not isinstance(sql, str) or not sql.strip():
        raise ReadOnlyQueryError("empty query: give one SELECT statement")
    problem = _problem(sql)
    if problem is not None:
        raise ReadOnlyQueryError(problem)
    return sql


@functools.lru_cache(maxsize=512)
def _problem(sql: str) -> str | None:
    """Why `sql` is refused, or None. Depends on the text alone (parsing, no catalog), so the
    answer is cached: dashboards and named queries send the same text again and again."""
    global _parser
    with _parser_lock:
        if _parser is None:
            _parser = duckdb.connect(":memory:")
        try:
            _check(_parser, sql)
        except ReadOnlyQueryError as error:
            return str(error)
        return None


# Parsing needs a connection but no data: a private in-memory one, shared under a lock.
_parser: Any = None
_parser_lock = threading.Lock()


def _forget_parser_after_fork() -> None:
    global _parser, _parser_lock
    _parser, _parser_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_parser_after_fork)


def _check(cursor: Any, sql: str) -> None:
    try:
        statements = cursor.extract_statements(sql)
    except duckdb.Error as error:
        raise ReadOnlyQueryError(f"cannot parse the query: {error}") from error
    if len(statements) != 1:
        raise ReadOnlyQueryError(
            f"one statement at a time, please (got {len(statements)}): the store's SQL surface "
            "runs a single read-only SELECT"
        )
    kind = statements[0].type
    if kind == duckdb.StatementType.EXPLAIN:
        explained = _EXPLAIN.sub("", sql, count=1)
        if explained == sql:
            raise ReadOnlyQueryError("cannot read this EXPLAIN statement")
        _check(cursor, explained)
        return
    if kind != duckdb.StatementType.SELECT:
        raise ReadOnlyQueryError(
            f"the store's SQL surface is read-only: {kind.name} statements are refused "
            "(only SELECT, DESCRIBE, SHOW, SUMMARIZE and EXPLAIN run here; writes go through "
            "ingest, prune and the processors)"
        )
    _check_sources(cursor, sql)


def _check_sources(cursor: Any, sql: str) -> None:
    serialized = cursor.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0]
    tree = orjson.loads(serialized)
    if tree.get("error"):
        raise ReadOnlyQueryError(f"cannot check the query: {tree.get('error_message')}")
    for node in _nodes(tree):
        node_type = node.get("type")
        if node_type == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = str(function.get("function_name", "")).lower()
            if name not in ALLOWED_TABLE_FUNCTIONS:
                raise ReadOnlyQueryError(
                    f"table function {name}() is not available here: the store's SQL surface "
                    "reads the store's tables and views only (no files, URLs or other databases)"
                )
        elif node_type in ("BASE_TABLE", "SHOW_REF"):
            table = str(node.get("table_name") or "")
            if _PATH_LIKE.search(table):
                raise ReadOnlyQueryError(
                    f"{table!r} looks like a file or URL: the store's SQL surface reads the "
                    "store's tables and views only"
                )


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
