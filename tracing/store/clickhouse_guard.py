"""The read-only SQL surface of a ClickHouse store: one SELECT over its own tables and views,
parsed by ClickHouse itself, then run with ClickHouse's own read-only and resource settings.

1. The text must be one statement: `formatQuerySingleLine()` parses it (passed as a literal, so
   nothing in it runs) and refuses several statements.
2. `EXPLAIN AST` of that single statement gives the tree: it must be a SELECT (or a UNION of
   them) with no FORMAT, INTO OUTFILE or SETTINGS clause, no table function (`file()`, `url()`,
   `remote()`, ...) and no table of another database (the system catalog's `columns` and `tables`
   excepted, for the schema browser). Names without a database resolve in the store's own
   database, which holds nothing but the store.
3. It runs with `readonly = 1` (ClickHouse refuses any write and any change of settings),
   `max_execution_time`, `max_memory_usage` and `max_result_bytes` (result_overflow_mode throw).
   A user whose profile is read-only already (`readonly = 2`: reads, and settings may be set)
   gets the limits without `readonly = 1`, which ClickHouse refuses to set for it. A user with
   `readonly = 1` cannot read the store: it refuses every setting the store sends (the time
   zone, NULL semantics, the limits), so it is refused up front with that said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .clickhouse_connection import ClickHouseError, Connection, literal
from .guard import ReadOnlyQueryError
from .limits import DEFAULT_MEMORY_LIMIT, QueryLimits, parse_size

_ALLOWED_SYSTEM = frozenset({"system.columns", "system.tables"})
# Scalar functions that read outside the store.
_REFUSED_FUNCTIONS = frozenset({"file", "url", "s3", "hdfs", "azureblobstorage", "remote"})


@dataclass(frozen=True)
class _Node:
    depth: int
    text: str

    @property
    def kind(self) -> str:
        return self.text.split(" ", 1)[0]

    @property
    def argument(self) -> str:
        parts = self.text.split(" ")
        return parts[1] if len(parts) > 1 and not parts[1].startswith("(") else ""


def checked_clickhouse_select(connection: Connection, sql: str) -> str:
    """The single-line form of `sql` if it is one read of the store; ReadOnlyQueryError if not."""
    if not isinstance(sql, str) or not sql.strip():
        raise ReadOnlyQueryError("empty query: give one SELECT statement")
    return _checked(connection, connection.database or "default", sql.strip().rstrip(";"))


# Verdicts by (database, text): the dashboard and named queries send the same text again and
# again, and each check costs two round trips. A text ClickHouse could not parse is not kept:
# the failure may be the server's (down, restarting), not the text's.
_verdicts: dict[tuple[str, str], tuple[str | None, str | None]] = {}


def _checked(connection: Connection, database: str, sql: str) -> str:
    key = (database, sql)
    verdict = _verdicts.get(key)
    if verdict is None:
        verdict = _verdict(connection, database, sql)
        if len(_verdicts) > 1024:
            _verdicts.clear()
        _verdicts[key] = verdict
    single, problem = verdict
    if problem is not None:
        raise ReadOnlyQueryError(problem)
    assert single is not None
    return single


def _verdict(connection: Connection, database: str, sql: str) -> tuple[str | None, str | None]:
    try:
        frame = connection.query_df(f"SELECT formatQuerySingleLine({literal(sql)}) AS q")
        single = str(frame.iloc[0, 0])
        lines = connection.explain(single)
    except ClickHouseError as error:
        raise ReadOnlyQueryError(f"cannot parse the query: {_first_line(error)}") from None
    nodes = [_Node(len(line) - len(line.lstrip(" ")), line.strip()) for line in lines]
    return single, _problem(nodes, database)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:400]


def _problem(nodes: list[_Node], database: str) -> str | None:
    if not nodes or nodes[0].kind != "SelectWithUnionQuery":
        kind = nodes[0].kind if nodes else "empty"
        return (
            f"the store's SQL surface is read-only: {kind} statements are refused (only SELECT "
            "runs here; writes go through ingest, prune and the processors)"
        )
    top_level = [node for node in nodes if node.depth == 1]
    if len(top_level) > 1:
        return (
            "FORMAT, INTO OUTFILE and SETTINGS clauses are not available here: the store sets "
            "the output and the limits itself"
        )
    for index, node in enumerate(nodes):
        if node.kind == "Set":
            return "SETTINGS clauses are not available here: the store sets the limits itself"
        if node.kind == "TableExpression":
            child = nodes[index + 1] if index + 1 < len(nodes) else None
            if child is not None and child.kind == "Function":
                return (
                    f"table function {child.argument}() is not available here: the store's SQL "
                    "surface reads the store's tables and views only (no files, URLs or other "
                    "databases)"
                )
        if node.kind == "TableIdentifier" and "." in node.argument:
            name = node.argument
            owner = name.split(".", 1)[0]
            if owner != database and name not in _ALLOWED_SYSTEM:
                return (
                    f"{name} is not the store's: the store's SQL surface reads the store's "
                    "tables and views only"
                )
        if node.kind == "Function" and node.argument.lower() in _REFUSED_FUNCTIONS:
            return f"{node.argument}() reads outside the store and is not available here"
    return None


def limit_settings(
    limits: QueryLimits | None, memory_limit: str | None, *, session_readonly: int = 0
) -> dict[str, Any]:
    """ClickHouse's own settings for one reader's query: read-only, and the limits.

    `session_readonly` is the user's own `readonly` (its profile's). Read-only already (2), it
    may not be set again, even to 1 ("Cannot modify 'readonly' setting in readonly mode"), and
    need not be: the server refuses writes for that user anyway."""
    settings: dict[str, Any] = {} if session_readonly else {"readonly": 1}
    if limits is not None and limits.timeout is not None:
        settings["max_execution_time"] = float(limits.timeout)
        settings["timeout_overflow_mode"] = "throw"
    if limits is not None and limits.max_result_bytes is not None:
        settings["max_result_bytes"] = int(limits.max_result_bytes)
        settings["result_overflow_mode"] = "throw"
    settings["max_memory_usage"] = parse_size(memory_limit or DEFAULT_MEMORY_LIMIT, "memory_limit")
    return settings
