"""`SpanStore`: the DuckDB span store. Creates or opens a store file, migrates it, ingests records
and JSONL files, and answers read-only SQL as pandas DataFrames.

One process owns a store file read-write (a DuckDBProcessor, `agentoscope serve`, or a command
like `agentoscope ingest`); other processes may read it only while no process writes. Inside a
process, every SpanStore and DuckDBProcessor on the same file share one connection.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..clock import utc_naive
from ..schema import MalformedLine
from .connection import (
    SharedDatabase,
    acquire,
    release,
)
from .guard import checked_select
from .ingest import (
    IngestResult,
    PreparedBatch,
    prepare_batch,
    split_records,
    write_prepared,
)
from .jsonl import JsonlIngestReport, ingest_file, jsonl_files
from .limits import QueryLimits, run_limited
from .rollup import transaction, write_transaction
from .schema import (
    SCHEMA_VERSION,
    StoreSchemaError,
    apply_migrations,
    check_version,
    stored_version,
)
from .sessions import rebuild_sessions
from .url import StoreURLError, store_url

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

logger = logging.getLogger("agentoscope.tracing")


def default_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store file to use: `explicit` (the --store option), else $AGENTOSCOPE_STORE, else
    ./.agentoscope/traces.duckdb. A ClickHouse URL there is refused with StoreURLError: it
    needs `open_store` (store/url.py), not a DuckDB file."""
    url = store_url(explicit)
    if url.path is None or url.engine != "duckdb":
        raise StoreURLError(
            f"{url.describe()} is a ClickHouse store, not a DuckDB file: open it with "
            "open_store(url) or ClickHouseProcessor(url)"
        )
    return url.path


@dataclass(frozen=True)
class PruneResult:
    spans: int
    traces: int


class SpanStore:
    """A DuckDB span store file.

    `SpanStore(path=None, *, read_only=False)`: path None means `default_store_path()`.
    Read-write opens create the file and apply migrations; read-only opens need an existing
    store and fail fast with StoreLockedError while another process writes it.
    """

    # The SQL dialect its queries are written in (queries.py picks each query's form by it).
    dialect = "duckdb"

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False):
        self.path = default_store_path(path)
        self.read_only = read_only
        self._database: SharedDatabase | None = None
        database, opened = acquire(self.path, read_only)
        try:
            self._cursor = database.cursor()
            if opened and not database.read_only:
                with database.write_lock:
                    applied = apply_migrations(self._cursor, str(self.path))
                    database.rollups.catch_up(self._cursor, str(self.path))
                if applied:
                    logger.debug("store %s: applied migrations %s", self.path, applied)
            elif opened:
                self._check_readable()
        except BaseException:
            release(database)
            raise
        self._database = database

    def _check_readable(self) -> None:
        version = stored_version(self._cursor)
        if version is None:
            raise StoreSchemaError(
                f"{self.path} is not an Agentoscope store (it has no schema_version table)"
            )
        check_version(version, str(self.path))
        if version < SCHEMA_VERSION:
            logger.warning(
                "store %s has schema version %d (current %d); open it read-write once to "
                "migrate it. Queries may miss newer columns.",
                self.path,
                version,
                SCHEMA_VERSION,
            )

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._database is None

    def close(self) -> None:
        database, self._database = self._database, None
        if database is None:
            return
        try:
            self._cursor.close()
        finally:
            release(database)

    def __enter__(self) -> SpanStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"SpanStore({str(self.path)!r}, {mode}{', closed' if self.closed else ''})"

    def _open_database(self) -> SharedDatabase:
        if self._database is None:
            raise ValueError(f"the store {self.path} is closed")
        return self._database

    def _writable(self, what: str) -> SharedDatabase:
        database = self._open_database()
        if self.read_only:
            raise PermissionError(
                f"cannot {what}: the store {self.path} was opened read-only "
                "(SpanStore(path) without read_only=True writes)"
            )
        return database

    def threads(self, count: int | None = None) -> int:
        """DuckDB's worker threads, after setting them to `count` if given. The setting is the
        database's: every SpanStore and DuckDBProcessor of this file in this process shares it."""
        database = self._open_database()
        with database.write_lock:
            if count is not None:
                self._cursor.execute(f"SET threads = {int(count)}")
            row = self._cursor.execute("SELECT current_setting('threads')").fetchone()
        return int(row[0]) if row else 0

    def memory_limit(self, limit: str | None = None) -> str:
        """DuckDB's memory limit for this store file in this process (queries and writes), after
        setting it to `limit` (`"2GB"`, `"500MB"`) if given. Queries that need more fail."""
        database = self._open_database()
        with database.write_lock:
            if limit is not None:
                try:
                    self._cursor.execute("SET memory_limit = ?", [str(limit)])
                except duckdb.Error as error:
                    raise ValueError(f"memory limit {limit!r}: {error}") from None
            row = self._cursor.execute("SELECT current_setting('memory_limit')").fetchone()
        return str(row[0]) if row else ""

    @property
    def schema_version(self) -> int:
        self._open_database()
        return stored_version(self._cursor) or 0

    # -- writing ----------------------------------------------------------------------------------

    def ingest(
        self, records: Iterable[Mapping[str, Any]], *, validate: bool = True
    ) -> IngestResult:
        """Store span and trace records (as `span_record`/`trace_record` make them) in one
        transaction. Records already stored are skipped and counted as duplicates; inputs that
        are not records are skipped, logged and counted as rejected. `validate=False` skips
        the per-record checks, for records a processor made itself."""
        return self.write(self.prepare(records, validate=validate))

    def prepare(
        self, records: Iterable[Mapping[str, Any]], *, validate: bool = True
    ) -> PreparedBatch:
        """The first half of `ingest`: records to Arrow tables, without touching the database
        (no lock, any thread). A writer can `write()` one batch while the next is prepared."""
        return prepare_batch(split_records(records, validate=validate))

    def write(self, *prepared: PreparedBatch) -> IngestResult:
        """The second half of `ingest`: prepared batches, all in one transaction (a writer
        that collects several batches pays for one commit). Records repeated across the
        batches are stored once."""
        database = self._writable("ingest")
        with database.write_lock:
            cursor, sessions = self._cursor, database.rollups.sessions
            result = write_transaction(
                cursor,
                database.rollups,
                lambda: sum(
                    (write_prepared(cursor, batch, sessions) for batch in prepared),
                    IngestResult(),
                ),
            )
            database.rollups.catch_up(cursor, str(self.path))
        return result

    def ingest_jsonl(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        on_malformed: Callable[[MalformedLine], None] | None = None,
    ) -> JsonlIngestReport:
        """Ingest JSONL record files (a directory means its *.jsonl files). Malformed lines are
        skipped, counted and reported as file:line (also passed to `on_malformed`); good lines
        are kept; records already stored are skipped. One transaction per file (per 50k records
        for files with bad lines)."""
        database = self._writable("ingest")
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        report = JsonlIngestReport()
        for path in jsonl_files(paths):
            with database.write_lock:
                ingest_file(self._cursor, path, report, on_malformed, database.rollups)
        with database.write_lock:
            database.rollups.catch_up(self._cursor, str(self.path))
        return report

    def prune(self, before: datetime) -> PruneResult:
        """Delete traces that started before `before` (with all their spans), and any other
        span that started before it. One transaction."""
        database = self._writable("prune")
        cutoff = utc_naive(before)
        with database.write_lock:
            cursor = self._cursor
            with transaction(cursor, database.rollups):
                spans = cursor.execute(
                    "DELETE FROM spans WHERE started_at < $cutoff OR trace_id IN "
                    "(SELECT trace_id FROM traces WHERE started_at < $cutoff)",
                    {"cutoff": cutoff},
                ).fetchone()[0]
                traces = cursor.execute(
                    "DELETE FROM traces WHERE started_at < $cutoff", {"cutoff": cutoff}
                ).fetchone()[0]
                if traces:  # a session whose traces are all gone leaves the count
                    rebuild_sessions(cursor, database.rollups.sessions)
                if spans:
                    # Spans of a trace that began before the cutoff may start days after it:
                    # the rollups are built again from what is left.
                    database.rollups.clear(cursor)
            database.rollups.catch_up(cursor, str(self.path))
            cursor.execute("CHECKPOINT")
        return PruneResult(spans=int(spans), traces=int(traces))

    def rebuild_rollups(self) -> None:
        """Build the rollups (`agent_days`, `latency_hours`, `span_hours`, `span_quarters`, the
        trace rollups) again from `spans`, and `sessions` from `traces`. The store keeps them
        itself; this is for rows written into the file with one's own SQL (a bulk loader)."""
        database = self._writable("rebuild rollups")
        with database.write_lock:
            with transaction(self._cursor, database.rollups):
                database.rollups.clear(self._cursor)
                rebuild_sessions(self._cursor, database.rollups.sessions)
            database.rollups.refresh(self._cursor)

    def checkpoint(self) -> None:
        """Write the WAL into the main file now (also done on close)."""
        database = self._writable("checkpoint")
        with database.write_lock:
            self._cursor.execute("CHECKPOINT")

    # -- reading ----------------------------------------------------------------------------------

    def query(
        self,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        limits: QueryLimits | None = None,
    ) -> pd.DataFrame:
        """Run one read-only SELECT and return a DataFrame. Values go in `params` (a list for
        `?`, a dict for `$name`), never into the SQL text. Anything but a read is refused with
        ReadOnlyQueryError. With `limits` (time, result size), a query past one is stopped with
        QueryLimitError."""
        if limits is not None:
            return self._run_select(
                sql,
                params,
                lambda cursor, sql, params: run_limited(cursor, sql, params, limits),
            )
        return self._run_select(
            sql, params, lambda cursor, sql, params: cursor.execute(sql, params).df()
        )

    def query_arrow(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> pa.Table:
        """As `query`, returning a pyarrow Table."""
        # The relation API hands Arrow over without an extra copy of the rows.
        return self._run_select(
            sql, params, lambda cursor, sql, params: cursor.sql(sql, params=params).to_arrow_table()
        )

    def _run_select(
        self,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any] | None,
        fetch: Callable[[Any, str, Any], Any],
    ) -> Any:
        # A cursor per query, from the shared connection: concurrent callers (HTTP threads of
        # `agentoscope serve`, a writer thread) never wait on each other's results.
        cursor = self._open_database().cursor()
        try:
            checked_select(sql)
            return fetch(cursor, sql, _normalised(params))
        finally:
            cursor.close()

    def export_parquet(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """Write `traces.parquet` and `spans.parquet` (zstd, in time order) into `directory`."""
        cursor = self._open_database().cursor()
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for table in ("traces", "spans"):
            destination = target / f"{table}.parquet"
            cursor.execute(
                f"COPY (SELECT * FROM {table} ORDER BY started_at) TO "
                f"'{_sql_string(destination)}' (FORMAT parquet, COMPRESSION zstd)"
            )
            written[table] = destination
        return written


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


def _normalised(
    params: Sequence[Any] | Mapping[str, Any] | None,
) -> Sequence[Any] | Mapping[str, Any] | None:
    """Zoned datetimes become the store's naive UTC, so comparisons with stored times hold."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {key: _value(value) for key, value in params.items()}
    return [_value(value) for value in params]


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_naive(value)
    return value
