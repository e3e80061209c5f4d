"""One way to talk to ClickHouse, whether it is a server (over HTTP) or the same engine inside this
process (chdb): one clickhouse-connect `Client` either way (its chdb backend for `chdb://`), to
run a statement, read an Arrow table or a DataFrame, insert an Arrow table. The store above never
knows which, and the tests on chdb run the very client code a server gets; only the HTTP
transport under the client is not run by them.

Values are bound on our side into SQL literals (clickhouse-connect's own escaping), so the same
`$name` and `?` placeholders the DuckDB store takes work here: the store's queries keep one set of
parameters for both engines, and they travel the same way to a server and to chdb.

chdb holds one data folder per process: a second folder while the first is open is refused,
while several databases in that folder (one per test, say) are fine; each connection has its
own chdb handle, so its current database is its own.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
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
# SQL (and DuckDB). FINAL (the views) merges each partition on its own, so a window of days
# reads only its days' partitions: exact, as copies of a span with one sorting key (its hour)
# are always in one partition (its day). 24-hour dashboard windows at 1M spans: 2.5-6x faster.
BASE_SETTINGS: dict[str, Any] = {
    "join_use_nulls": 1,
    "aggregate_functions_null_for_empty": 1,
    "do_not_merge_across_partitions_select_final": 1,
}
# The client's own, for every statement: times in UTC whatever the server's time zone (the
# store's times are UTC, its columns DateTime64 without a zone: a server elsewhere would read
# the queries' time literals, and cut hours and days, in its own zone); Arrow strings as text.
CLIENT_SETTINGS: dict[str, Any] = {
    "session_timezone": "UTC",
    "output_format_arrow_string_as_string": 1,
}


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


class ClickHouseConnection:
    """ClickHouse through one clickhouse-connect `Client`: a server over HTTP (`clickhouse://`),
    or the engine in this process (`chdb://`, clickhouse-connect's chdb backend). Both run the
    same client code (binding, settings, Arrow reads and inserts, errors); only the transport
    under it differs."""

    def __init__(self, url: StoreURL) -> None:
        import clickhouse_connect

        try:
            if url.engine == "chdb":
                assert url.path is not None
                url.path.mkdir(parents=True, exist_ok=True)
                self._client = clickhouse_connect.get_client(
                    interface="chdb", path=str(url.path), settings=CLIENT_SETTINGS
                )
            else:
                self._client = clickhouse_connect.get_client(
                    host=url.host,
                    port=url.port,
                    username=url.user,
                    password=url.password,
                    secure=url.secure,
                    database="default",
                    settings=CLIENT_SETTINGS,
                    # One HTTP session per statement: the store runs statements from several
                    # threads (a writer, HTTP handlers), which one ClickHouse session refuses.
                    autogenerate_session_id=False,
                )
        except Exception as error:
            raise ClickHouseError(f"cannot open {url.describe()}: {error}") from error
        self.database: str | None = None
        # Statements in this process run one at a time anyway (chdb's handle does); the lock
        # keeps a failed read and its drain (`_drain`) together, with no statement between.
        self._in_process = url.engine == "chdb"
        self._lock: AbstractContextManager[Any] = (
            threading.Lock() if self._in_process else nullcontext()
        )

    def use(self, database: str) -> None:
        self.database = database
        self._client.database = database

    def command(self, sql: str, settings: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            try:
                self._client.command(sql, settings=dict(settings or {}))
            except Exception as error:
                raise ClickHouseError(str(error).strip()) from None

    def query_arrow(self, sql: str, settings: Mapping[str, Any] | None = None) -> pa.Table:
        """Rows as Arrow (for the writer and export: the store's own columns; a ClickHouse
        DateTime, as opposed to DateTime64, comes as seconds here)."""
        with self._lock:
            try:
                table = self._client.query_arrow(_with_settings(sql, settings))
            except Exception as error:
                self._drain()
                raise ClickHouseError(str(error).strip()) from None
        return _naive_times(table)

    def query_df(self, sql: str, settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Rows as a DataFrame with the dtypes DuckDB gives (see `duckdb_dtypes`), read in
        ClickHouse's Native format, which keeps every type (times included)."""
        with self._lock:
            try:
                frame = self._client.query_df(_with_settings(sql, settings))
            except Exception as error:
                raise ClickHouseError(str(error).strip()) from None
        if frame.columns.empty:
            # No rows, and Native sends no header then: the columns come from the Arrow
            # form of the same read (also empty).
            frame = self.query_arrow(sql, settings).to_pandas()
        return duckdb_dtypes(frame)

    def _drain(self) -> None:
        """chdb (4.4) hands the partial output of a failed Arrow read to the handle's next
        statement: in this process, a failed read is followed by a throwaway one (under the read
        lock, so no other statement comes between). A server has no such leftovers."""
        if self._in_process:
            with suppress(Exception):
                self._client.command("SELECT 1")

    def explain(self, sql: str) -> list[str]:
        # As a command (text back, one line per node): a query's FORMAT clause, which the
        # client appends to a read, would be parsed as part of the explained query.
        with self._lock:
            try:
                text = self._client.command(f"EXPLAIN AST {sql}")
            except Exception as error:
                raise ClickHouseError(str(error).strip()) from None
        return str(text).splitlines()

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        with self._lock:
            try:
                self._client.insert_arrow(table, data)
            except Exception as error:
                raise ClickHouseError(str(error).strip()) from None

    def close(self) -> None:
        self._client.close()


def _with_settings(sql: str, settings: Mapping[str, Any] | None) -> str:
    # A read's settings ride in its text (a SETTINGS clause), not as the client's per-call
    # settings: its chdb backend applies those to the session with SET and resets them after,
    # which `readonly = 1` forbids (the session would stay read-only).
    return sql + _settings_clause({**BASE_SETTINGS, **(settings or {})})


def duckdb_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the dtypes DuckDB's DataFrames have, so a page or a test sees the same
    values from both engines: text as `str`, nullable booleans as `boolean`, unsigned counts as
    int64, times as naive UTC microseconds."""
    import pandas as pd

    for name, dtype in list(frame.dtypes.items()):
        column = frame[name]
        if isinstance(dtype, pd.StringDtype) and dtype.na_value is pd.NA:
            frame[name] = column.astype("str")
        elif isinstance(dtype, pd.DatetimeTZDtype):
            frame[name] = column.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
        elif dtype.kind == "M" and dtype != "datetime64[us]":
            frame[name] = column.astype("datetime64[us]")
        elif dtype.kind == "u":
            frame[name] = column.astype("int64")
        elif isinstance(dtype, pd.UInt64Dtype | pd.UInt32Dtype | pd.UInt16Dtype | pd.UInt8Dtype):
            frame[name] = column.astype("Int64")
        elif dtype.kind == "O" and len(column) and column.map(_is_bool_or_null).all():
            if column.notna().any():
                frame[name] = column.astype("boolean")
    return frame


def _is_bool_or_null(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _naive_times(table: pa.Table) -> pa.Table:
    """`table` with its times as the store keeps them: naive UTC (ClickHouse tags Arrow times
    with the server's time zone; the instant is the same)."""
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            naive = pa.timestamp(field.type.unit)
            table = table.set_column(index, field.name, table.column(index).cast(naive))
    return table


def connect(url: StoreURL) -> Connection:
    """A connection for a ClickHouse store URL (the database need not exist yet)."""
    if url.is_clickhouse:
        return ClickHouseConnection(url)
    raise ValueError(f"{url.describe()} is not a ClickHouse store")
