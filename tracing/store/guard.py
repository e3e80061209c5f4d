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
# Scalar functions whose result's size is one of their arguments. DuckDB builds such a value in
# one call, outside its memory limit and deaf to interrupts (`repeat('x', 2000000000)` took 4-8 GB
# and 40-50 s here, a query timeout notwithstanding), so the size must be a literal no larger than
# MAX_GENERATED. Argument positions (0-based) that are sizes; None: every argument (range).
MAX_GENERATED = 1_000_000
_SIZED_FUNCTIONS: dict[str, tuple[int, ...] | None] = {
    "repeat": (1,),
    "lpad": (1,),
    "rpad": (1,),
    "list_resize": (1,),
    "array_resize": (1,),
    "range": None,
    "generate_series": None,
}
# Functions whose format string can ask for a width (`printf('%2000000000d', 1)`).
_FORMAT_FUNCTIONS = frozenset({"printf", "format"})
_LONG_NUMBER = re.compile(r"\d{7,}")
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
    table_functions: set[int] = set()
    for node in _nodes(tree):
        node_type = node.get("type")
        if node_type == "FUNCTION" and id(node) not in table_functions:
            _check_generated_size(node)
        if node_type == "TABLE_FUNCTION":
            function = node.get("function") or {}
            # range() as a table streams its rows (interruptible, bounded by memory): fine.
            table_functions.add(id(function))
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


def _check_generated_size(function: dict[str, Any]) -> None:
    name = str(function.get("function_name", "")).lower()
    arguments = [
        argument.get("expression") if isinstance(argument, dict) else None
        for argument in function.get("arguments") or function.get("children") or []
    ]
    if name in _FORMAT_FUNCTIONS:
        text = _literal(arguments[0]) if arguments else None
        if not isinstance(text, str) or _LONG_NUMBER.search(text):
            raise ReadOnlyQueryError(
                f"{name}() needs a literal format string without widths of a million or more "
                f"(the store's limit on generated values, MAX_GENERATED = {MAX_GENERATED:,})"
            )
        return
    if name not in _SIZED_FUNCTIONS:
        return
    positions = _SIZED_FUNCTIONS[name]
    sizes = [
        _literal(argument)
        for index, argument in enumerate(arguments)
        if positions is None or index in positions
    ]
    numbers = [size for size in sizes if isinstance(size, int | float)]
    if len(numbers) != len(sizes):
        generated = None
    elif positions is None:  # range(stop), range(start, stop[, step])
        start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (*numbers[:2], 1)
        if len(numbers) > 2:
            step = numbers[2] or 1
        generated = abs((stop - start) / step)
    else:
        generated = max((abs(number) for number in numbers), default=0)
    if generated is None or generated > MAX_GENERATED:
        raise ReadOnlyQueryError(
            f"{name}() builds a value whose size is an argument: give it a literal size of at "
            f"most {MAX_GENERATED:,} (the store's limit on generated values, MAX_GENERATED); "
            "larger values would be built outside the query's memory and time limits"
        )


def _literal(expression: Any) -> Any:
    """The value of a constant expression (a number or a string), else None."""
    if isinstance(expression, dict) and expression.get("class") == "CONSTANT":
        literal = expression.get("literal") or expression.get("value") or {}
        text = literal.get("text") if isinstance(literal, dict) else None
        kind = str(literal.get("kind", "")).upper() if isinstance(literal, dict) else ""
        if text is None:
            return None
        if kind == "STRING":
            return str(text)
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return None
    return None


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
