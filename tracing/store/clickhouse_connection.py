"""One way to talk to ClickHouse, whether it is a server (clickhouse-connect over HTTP) or the same
engine inside this process (chdb): run a statement, read a DataFrame or an Arrow table, insert an
Arrow table. The store above never knows which.

Values are bound on our side into SQL literals (clickhouse-connect's own escaping), so the same
`$name` and `?` placeholders the DuckDB store takes work here: the store's queries keep one set of
parameters for both engines, and they travel the same way to a server and to chdb.

chdb holds one data folder per process: a second folder in the same process is refused, while
several databases in that folder (one per test, say) are fine.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..clock import utc_naive
from .url import StoreURL

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# ClickHouse's DateTime64 covers 1900-2299: DuckDB's -infinity/infinity, which the named queries
# use as open bounds, become its ends.
_TIME_BOUNDS = {
    "-infinity": "1900-01-01 00:00:00.000000",
    "infinity": "2299-12-31 23:59:59.999999",
}
# Every query of the store: NULLs from outer joins and from sums over no rows, as in standard
# SQL (and DuckDB).
BASE_SETTINGS: dict[str, Any] = {"join_use_nulls": 1, "aggregate_functions_null_for_empty": 1}


class ClickHouseError(RuntimeError):
    """ClickHouse refused or failed a statement; the message is ClickHouse's."""


class Connection(Protocol):
    database: str | None  # None: the server's default database (before ours exists)

    def use(self, database: str) -> None: ...

    def command(self, sql: str, settings: Mapping[str, Any] | None = None) -> None: ...

    def query_df(self, sql: str, settings: Mapping[str, Any] | None = None) -> pd.DataFrame: ...

    def explain(self, sql: str) -> list[str]:
        """The lines of `EXPLAIN AST sql` (the query is parsed, not run)."""
        ...

    def query_arrow(self, sql: str, settings: Mapping[str, Any] | None = None) -> pa.Table: ...

    def insert_arrow(self, table: str, data: pa.Table) -> None: ...

    def close(self) -> None: ...


def literal(value: Any) -> str:
    """`value` as a ClickHouse SQL literal."""
    from clickhouse_connect.driver.binding import format_query_value

    if isinstance(value, str) and value in _TIME_BOUNDS:
        value = _TIME_BOUNDS[value]
    elif isinstance(value, datetime):
        value = utc_naive(value).isoformat(sep=" ", timespec="microseconds")
    elif isinstance(value, date):
        value = value.isoformat()
    elif isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    return str(format_query_value(value))


def bind(sql: str, params: Sequence[Any] | Mapping[str, Any] | None) -> str:
    """`sql` with its `?` (a sequence) or `$name` (a mapping) placeholders replaced by literals;
    placeholders inside quotes and comments are left alone."""
    if not params:
        if isinstance(params, Mapping) or params is None:
            return sql
    out: list[str] = []
    position = 0
    index = 0
    length = len(sql)
    named = isinstance(params, Mapping)
    while index < length:
        char = sql[index]
        if char in "'\"`":
            end = _quote_end(sql, index)
            out.append(sql[index:end])
            index = end
            continue
        if sql.startswith("--", index):
            end = sql.find("\n", index)
            end = length if end < 0 else end
            out.append(sql[index:end])
            index = end
            continue
        if sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            end = length if end < 0 else end + 2
            out.append(sql[index:end])
            index = end
            continue
        if named and char == "$":
            end = index + 1
            while end < length and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            name = sql[index + 1 : end]
            assert isinstance(params, Mapping)
            if name and name in params:
                out.append(literal(params[name]))
                index = end
                continue
            if name:
                raise ValueError(f"no value given for the parameter ${name}")
        if not named and char == "?":
            assert params is not None and not isinstance(params, Mapping)
            if position >= len(params):
                raise ValueError(f"the query has more ? placeholders than the {len(params)} values")
            out.append(literal(params[position]))
            position += 1
            index += 1
            continue
        out.append(char)
        index += 1
    if not named and params is not None and position != len(params):
        raise ValueError(f"{len(params)} values for {position} ? placeholders")
    return "".join(out)


def _quote_end(sql: str, start: int) -> int:
    quote = sql[start]
    index = start + 1
    while index < len(sql):
        char = sql[index]
        if char == "\\":
            index += 2
            continue
        if char == quote:
            if index + 1 < len(sql) and sql[index + 1] == quote:
                index += 2
                continue
            return index + 1
        index += 1
    return len(sql)


def _settings_clause(settings: Mapping[str, Any] | None) -> str:
    if not settings:
        return ""
    return "\nSETTINGS " + ", ".join(f"{key} = {literal(value)}" for key, value in settings.items())


class ChdbConnection:
    """ClickHouse in this process (chdb), one database of its data folder."""

    # chdb's embedded server is one per process: statements are serialised here.
    _lock = threading.RLock()

    def __init__(self, url: StoreURL) -> None:
        from chdb import session

        assert url.path is not None
        url.path.mkdir(parents=True, exist_ok=True)
        try:
            self._session = session.Session(str(url.path))
        except Exception as error:
            raise ClickHouseError(f"cannot open the chdb folder {url.path}: {error}") from error
        self.database: str | None = None

    def use(self, database: str) -> None:
        self.database = database

    def _run(self, sql: str, fmt: str, settings: Mapping[str, Any] | None) -> Any:
        text = sql + _settings_clause(settings)
        with self._lock:
            try:
                self._session.query(f"USE {self.database or 'default'}", "Null")
                return self._session.query(text, fmt)
            except Exception as error:
                raise ClickHouseError(str(error).strip()) from None

    def command(self, sql: str, settings: Mapping[str, Any] | None = None) -> None:
        self._run(sql, "Null", settings)

    def query_df(self, sql: str, settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._run(sql, "DataFrame", {**BASE_SETTINGS, **(settings or {})})

    def explain(self, sql: str) -> list[str]:
        # No SETTINGS clause here: it would be parsed as part of the explained query.
        frame = self._run(f"EXPLAIN AST {sql}", "DataFrame", None)
        return [str(value) for value in frame.iloc[:, 0].tolist()]

    def query_arrow(self, sql: str, settings: Mapping[str, Any] | None = None) -> pa.Table:
        return self._run(sql, "ArrowTable", {**BASE_SETTINGS, **(settings or {})})

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        columns = ", ".join(data.column_names)
        with self._lock:
            try:
                self._session.query(f"USE {self.database or 'default'}", "Null")
                # chdb reads the Arrow table in place: the name in Python() is this local.
                agentoscope_batch = data  # noqa: F841
                self._session.query(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} "
                    "FROM Python(agentoscope_batch)",
                    "Null",
                )
            except Exception as error:
                raise ClickHouseError(str(error).strip()) from None

    def close(self) -> None:
        # The embedded server lives as long as the process (chdb cannot open another folder
        # after closing one): closing forgets this handle only.
        pass


class ServerConnection:
    """A ClickHouse server over HTTP (clickhouse-connect)."""

    def __init__(self, url: StoreURL) -> None:
        import clickhouse_connect

        try:
            self._client = clickhouse_connect.get_client(
                host=url.host,
                port=url.port,
                username=url.user,
                password=url.password,
                secure=url.secure,
                database="default",
                # One HTTP session per statement: the store runs statements from several
                # threads (a writer, HTTP handlers), which one ClickHouse session refuses.
                autogenerate_session_id=False,
            )
        except Exception as error:
            raise ClickHouseError(f"cannot reach {url.describe()}: {error}") from error
        self.database: str | None = None

    def use(self, database: str) -> None:
        self.database = database
        self._client.database = database

    def _qualified(self, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        return dict(settings or {})

    def command(self, sql: str, settings: Mapping[str, Any] | None = None) -> None:
        try:
            self._client.command(sql, settings=self._qualified(settings))
        except Exception as error:
            raise ClickHouseError(str(error).strip()) from None

    def query_df(self, sql: str, settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
        try:
            return self._client.query_df(sql, settings={**BASE_SETTINGS, **(settings or {})})
        except Exception as error:
            raise ClickHouseError(str(error).strip()) from None

    def explain(self, sql: str) -> list[str]:
        frame = self.query_df(f"EXPLAIN AST {sql}", {"readonly": 1})
        return [str(value) for value in frame.iloc[:, 0].tolist()]

    def query_arrow(self, sql: str, settings: Mapping[str, Any] | None = None) -> pa.Table:
        try:
            return self._client.query_arrow(sql, settings={**BASE_SETTINGS, **(settings or {})})
        except Exception as error:
            raise ClickHouseError(str(error).strip()) from None

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        try:
            self._client.insert_arrow(table, data)
        except Exception as error:
            raise ClickHouseError(str(error).strip()) from None

    def close(self) -> None:
        self._client.close()


def connect(url: StoreURL) -> Connection:
    """A connection for a ClickHouse store URL (the database need not exist yet)."""
    if url.engine == "chdb":
        return ChdbConnection(url)
    if url.engine == "clickhouse":
        return ServerConnection(url)
    raise ValueError(f"{url.describe()} is not a ClickHouse store")
