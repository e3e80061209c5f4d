"""The store's own SQL (named queries, dashboard queries) in ClickHouse's dialect.

The store's queries are written once, for DuckDB; most of what differs in ClickHouse is a
function's name or a type's spelling, rewritten here token for token. What differs in shape
(the rollup-aware error-rate query, the price table) has its ClickHouse form written out beside
its DuckDB form in the module that defines it, and is passed in as `fragments`.

Only our own texts go through this: a user's SQL reaches ClickHouse as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Token rewrites, in order (longer names first where one contains another).
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"CAST\((\$\w+|\?) AS TIMESTAMP\)", r"parseDateTime64BestEffort(\1, 6)"),
        (r"CAST\((\$\w+|\?) AS VARCHAR\[\]\)", r"CAST(\1 AS Array(String))"),
        (r"CAST\((\$\w+|\?) AS DOUBLE\[\]\)", r"CAST(\1 AS Array(Float64))"),
        (r"\$(\w+)::VARCHAR\[\]", r"CAST($\1 AS Array(String))"),
        (r"\blist_contains\(", "has("),
        (r"\bstarts_with\(", "startsWith("),
        (r"\bcontains\(", "0 < position("),
        (r"\barg_min\(", "argMin("),
        (r"\barg_max\(", "argMax("),
        (r"\blist\(DISTINCT ", "groupUniqArray("),
        (
            r"quantile_cont\((\w+), \[([\d., ]+)\]\)",
            r"quantilesExactInclusive(\2)(\1)",
        ),
        # A comparison is a BOOLEAN in DuckDB and a UInt8 (0/1) in ClickHouse: a flag the
        # queries return is made a Bool, so both engines give True/False.
        (
            r"(count\([\w.]+\) FILTER \(WHERE [^()]*\) > 0) AS (\w+)",
            r"toBool(\1) AS \2",
        ),
        (r"::INTEGER\b", "::Int32"),
        (r"\bCAST\(\? AS BIGINT\)", "toInt64(?)"),
    )
)


def to_clickhouse(sql: str, fragments: Mapping[str, str] | None = None) -> str:
    """`sql` (DuckDB) in ClickHouse: `fragments` (DuckDB text -> ClickHouse text) first, then
    the token rewrites."""
    for duckdb_text, clickhouse_text in (fragments or {}).items():
        sql = sql.replace(duckdb_text, clickhouse_text)
    for pattern, replacement in _REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql
