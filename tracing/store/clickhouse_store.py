"""`ClickHouseStore`: the span store on ClickHouse, a server (clickhouse-connect) or in this
process (chdb), with the same surface as `SpanStore`: ingest (records, prepared Arrow batches,
JSONL files), prune, read-only SQL as DataFrames, Parquet export.

Many writers may share one ClickHouse (stateless `agentoscope serve` processes behind a load
balancer): nothing here holds a lock on the store. A batch is merged as DuckDB's is, in Python and
Arrow around three statements: read the stored rows of the batch's traces, insert the trace rows
it changes, insert the spans not stored yet. Two writers racing with the same span both insert
it; ReplacingMergeTree and the FINAL views make that one span when both copies have one start,
and each writer settles the batch's traces after inserting (deletes the copies of a span
with another start than its first copy's), so one span it is whatever its copies' starts.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import utc_naive, utc_now
from ..schema import MalformedLine, read_jsonl
from .clickhouse_connection import ClickHouseError, Connection, bind, connect, literal
from .clickhouse_guard import checked_clickhouse_select, limit_settings
from .clickhouse_retention import reconcile_retention
from .clickhouse_schema import (
    SCHEMA_VERSION,
    SLOT,
    SPAN_COLUMN_NAMES,
    SPAN_TABLE,
    TRACE_COLUMN_NAMES,
    TRACE_COPY_KEY,
    TRACE_TABLE,
    VERSION_COLUMN,
    VERSION_TABLE,
    duplicate_copies,
    migrations,
    stale_trace_copies,
)
from .ingest import IngestResult, PreparedBatch, earliest, prepare_batch, split_records
from .jsonl import JsonlIngestReport, jsonl_files
from .limits import QueryLimits
from .schema import StoreSchemaError
from .span_store import PruneResult
from .url import StoreURL, store_url

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

logger = logging.getLogger("agentoscope.tracing")

_JSONL_BATCH = 50_000
_CLOCK_MARGIN = timedelta(minutes=5)
_MAX_DEPTH = 256


class ClickHouseStore:
    """A span store in ClickHouse. `ClickHouseStore(url, read_only=False)`: url a StoreURL or
    text (`clickhouse://user:password@host:8123/db`, `chdb:///folder`); None means
    AGENTOSCOPE_STORE. Read-write opens create the database and apply migrations."""

    dialect = "clickhouse"

    def __init__(self, url: StoreURL | str | None = None, *, read_only: bool = False) -> None:
        parsed = url if isinstance(url, StoreURL) else store_url(url)
        if not parsed.is_clickhouse:
            raise ValueError(f"{parsed.describe()} is not a ClickHouse store URL")
        self.url = parsed
        self.path = parsed.describe()
        self.read_only = read_only or parsed.otel_table is not None
        self._memory_limit: str | None = None
        self._user_readonly: int | None = None  # the user's own `readonly`, asked once
        self._write_lock = threading.Lock()
        self._versions = itertools.count(time.time_ns())
        try:
            self._connection: Connection | None = connect(parsed)
        except ClickHouseError as error:
            raise _readonly_user(self.path, error) or error from None
        try:
            self._open()
        except ClickHouseError as error:
            self.close()
            raise _readonly_user(self.path, error) or error from None
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        connection = self._conn()
        database = self.url.database
        if self.url.otel_table is not None:
            self._open_otel(connection, database, self.url.otel_table)
            return
        if not self.read_only:
            connection.command(f"CREATE DATABASE IF NOT EXISTS {database}")
        connection.use(database)
        if self.read_only:
            version = self.schema_version
            if version == 0:
                raise StoreSchemaError(
                    f"{self.path} is not an Agentoscope store (it has no schema_version table)"
                )
            self._check(version)
            reconcile_retention(
                connection, self.url.retention_days, read_only=True, where=self.path
            )
            return
        connection.command(VERSION_TABLE)
        current = self.schema_version
        self._check(current)
        for migration in migrations(self.url.retention_days):
            if migration.version <= current:
                continue
            for statement in migration.statements:
                if callable(statement):
                    statement(connection)
                else:
                    connection.command(statement)
            connection.command(
                "INSERT INTO schema_version VALUES "
                f"({migration.version}, {literal(migration.description)}, "
                f"{literal(utc_now())})"
            )
        # The migrations' CREATE TABLE IF NOT EXISTS keeps an existing table's TTL as it was.
        reconcile_retention(connection, self.url.retention_days, read_only=False, where=self.path)

    def _open_otel(self, connection: Connection, database: str, table: str) -> None:
        """Views over the Collector's table, in our database: nothing is copied, and the store
        is read-only (the Collector writes the table). Made, or replaced, only when they are
        missing or another Agentoscope's: a reader whose user may not create (readonly=2) opens
        a database the views are current in."""
        from .clickhouse_otel import install_otel_views, otel_views_current

        if otel_views_current(connection, database, table):
            connection.use(database)
            return
        try:
            connection.command(f"CREATE DATABASE IF NOT EXISTS {database}")
            connection.use(database)
            install_otel_views(connection, table)
        except ClickHouseError as error:
            raise StoreSchemaError(
                f"{self.path}: the views over {table} in database {database} are missing or "
                f"were made by another Agentoscope version, and making them failed "
                f"({str(error).splitlines()[0][:300]}). Open this URL once as a user that "
                f"may CREATE DATABASE and CREATE VIEW in {database}; readers then need SELECT "
                f"on it and on {table} (readonly=2 will do)"
            ) from None

    def _check(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreSchemaError(
                f"{self.path}: schema version {version} was written by a newer Agentoscope "
                f"(this one knows up to {SCHEMA_VERSION}); upgrade agentoscope to open it"
            )

    # -- lifecycle --------------------------------------------------------------------------------

    def _conn(self) -> Connection:
        if self._connection is None:
            raise ValueError(f"the store {self.path} is closed")
        return self._connection

    @property
    def closed(self) -> bool:
        return self._connection is None

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def __enter__(self) -> ClickHouseStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"ClickHouseStore({self.path!r}, {mode}{', closed' if self.closed else ''})"

    @property
    def schema_version(self) -> int:
        connection = self._conn()
        found = connection.query_df(
            "SELECT count() FROM system.tables WHERE database = currentDatabase() "
            "AND name = 'schema_version'"
        )
        if not int(found.iloc[0, 0]):
            return 0
        row = connection.query_df("SELECT coalesce(max(version), 0) FROM schema_version")
        return int(row.iloc[0, 0])

    def memory_limit(self, limit: str | None = None) -> str:
        """The memory a reader's query may use (ClickHouse's max_memory_usage), after setting it
        to `limit` if given."""
        if limit is not None:
            from .limits import parse_size

            parse_size(limit, "memory limit")
            self._memory_limit = str(limit)
        return self._memory_limit or ""

    def threads(self, count: int | None = None) -> int:
        """For the DuckDB writer's tuning, which does not apply here: ClickHouse schedules its
        own threads per query (max_threads, the server's setting). Always 0."""
        return 0

    def checkpoint(self) -> None:
        """Nothing to do: every insert is durable when it returns (for DuckDB's API)."""

    # -- writing ----------------------------------------------------------------------------------

    def _writable(self, what: str) -> Connection:
        connection = self._conn()
        if self.read_only:
            raise PermissionError(f"cannot {what}: the store {self.path} was opened read-only")
        return connection

    def ingest(
        self, records: Iterable[Mapping[str, Any]], *, validate: bool = True
    ) -> IngestResult:
        """Store span and trace records (see SpanStore.ingest)."""
        return self.write(self.prepare(records, validate=validate))

    def prepare(
        self, records: Iterable[Mapping[str, Any]], *, validate: bool = True
    ) -> PreparedBatch:
        return prepare_batch(split_records(records, validate=validate))

    def write(self, *prepared: PreparedBatch) -> IngestResult:
        connection = self._writable("ingest")
        result = IngestResult()
        with self._write_lock:
            for batch in prepared:
                result = result + self._write_batch(connection, batch)
        return result

    def _version(self) -> int:
        return max(next(self._versions), time.time_ns())

    def _write_batch(self, connection: Connection, batch: PreparedBatch) -> IngestResult:
        import pyarrow as pa
        import pyarrow.compute as pc

        ids: set[str] = set()
        for table in (batch.spans, batch.traces, batch.span_traces):
            if table is not None:
                ids.update(pc.unique(table.column("trace_id")).to_pylist())
        stored = self._stored_traces(connection, ids)
        rows, stored_count = _merged_trace_rows(batch, stored)
        trace_version = 0
        if rows:
            version = trace_version = self._version()
            table = pa.Table.from_pylist(
                [{**row, VERSION_COLUMN: version} for row in rows],
                schema=_trace_schema(),
            )
            connection.insert_arrow(TRACE_TABLE, table)
            self._settle_traces(connection, [row["trace_id"] for row in rows])
        added = 0
        changed_from = None
        if batch.spans is not None and batch.starts is not None:
            spans = _filled(batch.spans)
            existing = self._stored_keys(connection, spans, batch, stored)
            if existing:
                keys = pc.binary_join_element_wise(spans["trace_id"], spans["span_id"], "\x00")
                spans = spans.filter(pc.invert(pc.is_in(keys, pa.array(list(existing)))))
            spans, changed_from = self._fill_agent_names(connection, spans, stored)
            if spans.num_rows:
                version = self._version()
                spans = spans.append_column(
                    VERSION_COLUMN, pa.array([version] * spans.num_rows, pa.uint64())
                )
                connection.insert_arrow(SPAN_TABLE, spans)
                added = spans.num_rows - self._settle(connection, spans, stored, trace_version)
                changed_from = earliest(changed_from, batch.starts.low)
        duplicates = batch.repeated + batch.span_count - added + batch.trace_count - stored_count
        return IngestResult(added, stored_count, duplicates, batch.rejected, changed_from)

    def _settle(
        self,
        connection: Connection,
        spans: pa.Table,
        stored: dict[str, dict[str, Any]],
        trace_version: int,
    ) -> int:
        """Delete copies of the just inserted spans that another writer stored with another start
        (its version of the record, written while this batch was merged): the copy written
        first stays. Returns how many of `spans` were such late copies.

        Only traces another writer may have written spans of are looked at: those stored before
        this batch, and new ones with a trace row this writer did not write (every writer writes
        a new trace's row before its spans), found by the trace table's key."""
        import pyarrow.compute as pc

        ids = set(pc.unique(spans.column("trace_id")).to_pylist())
        suspects = ids & set(stored)
        fresh = sorted(ids - suspects)
        if fresh:
            others = connection.query_arrow(
                f"SELECT DISTINCT trace_id FROM {TRACE_TABLE} WHERE trace_id IN "
                f"{literal(fresh)} AND {VERSION_COLUMN} != {int(trace_version)}"
            )
            suspects.update(others.column("trace_id").to_pylist())
        if not suspects:
            return 0
        suspect_ids = literal(sorted(suspects))
        copies = connection.query_arrow(duplicate_copies(f"trace_id IN {suspect_ids}")).to_pylist()
        if not copies:
            return 0
        keys = ", ".join(
            f"({literal(row['trace_id'])}, {literal(row['span_id'])}, {int(row['slot'])})"
            for row in copies
        )
        connection.command(
            f"DELETE FROM {SPAN_TABLE} WHERE trace_id IN {suspect_ids} "
            f"AND (trace_id, span_id, {SLOT}) IN ({keys})"
        )
        deleted = {(row["trace_id"], row["span_id"], int(row["slot"])) for row in copies}
        return sum(
            (trace_id, span_id, _slot(start)) in deleted
            for trace_id, span_id, start in zip(
                spans.column("trace_id").to_pylist(),
                spans.column("span_id").to_pylist(),
                spans.column("started_at").to_pylist(),
                strict=True,
            )
        )

    def _settle_traces(self, connection: Connection, ids: list[str]) -> None:
        """Delete the copies of the just written trace rows left in another day (the row's
        start moved to another day, here or by another writer racing with this one): the
        copy with the highest version stays, as ReplacingMergeTree keeps it within a day."""
        where = f"trace_id IN {literal(sorted(set(ids)))}"
        stale = connection.query_arrow(stale_trace_copies(where)).to_pylist()
        if not stale:
            return
        keys = ", ".join(
            f"({literal(row['trace_id'])}, toDate({literal(row['day'])}), {int(row['version'])})"
            for row in stale
        )
        connection.command(
            f"DELETE FROM {TRACE_TABLE} WHERE {where} AND {TRACE_COPY_KEY} IN ({keys})"
        )

    def _stored_traces(self, connection: Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        # In version order: a trace's copy in another day not settled yet (a writer racing with
        # this one) is read before the latest one, which replaces it here.
        table = connection.query_arrow(
            f"SELECT {', '.join(TRACE_COLUMN_NAMES)} FROM {TRACE_TABLE} FINAL "
            f"WHERE trace_id IN {literal(sorted(ids))} ORDER BY {VERSION_COLUMN}"
        )
        return {row["trace_id"]: _naive(row) for row in table.to_pylist()}

    def _stored_keys(
        self,
        connection: Connection,
        spans: pa.Table,
        batch: PreparedBatch,
        stored: dict[str, dict[str, Any]],
    ) -> set[str]:
        """(trace_id, span_id) of the batch's spans already stored, as trace_id NUL span_id."""
        import pyarrow.compute as pc

        assert batch.starts is not None
        ids = sorted(set(pc.unique(spans.column("trace_id")).to_pylist()))
        if not any(trace_id in stored for trace_id in ids):
            return set()  # a span is stored only with its trace's row
        low, high = batch.starts.low, batch.starts.high
        for trace_id in ids:
            row = stored.get(trace_id)
            if row is None:
                continue
            if row["started_at"] is None:
                low = high = None
                break
            low = min(low, row["started_at"]) if low else row["started_at"]
            end = row["ended_at"] or row["started_at"]
            high = max(high, end) if high else end
        window = (
            f"(started_at BETWEEN {literal(low)} AND {literal(high)} OR started_at IS NULL)"
            if low is not None and high is not None
            else "1"
        )
        found = connection.query_arrow(
            "SELECT concat(trace_id, '\\0', span_id) AS k FROM spans "
            f"WHERE trace_id IN {literal(ids)} AND {window}"
        )
        return set(found.column("k").to_pylist())

    def _fill_agent_names(
        self, connection: Connection, spans: pa.Table, stored: dict[str, dict[str, Any]]
    ) -> tuple[pa.Table, datetime | None]:
        """Spans without agent_name get their nearest ancestor's (as the DuckDB store does):
        the batch's new spans, and stored spans of the batch's traces (written again)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = sorted(set(pc.unique(spans.column("trace_id")).to_pylist()))
        if not ids:
            return spans, None
        batch_open = pc.sum(
            pc.and_(pc.is_null(spans["agent_name"]), pc.is_valid(spans["parent_id"]))
        ).as_py()
        # A span is stored only with its trace's row (every writer writes a new trace's row
        # before its spans), and starts at or after it: only traces stored before this batch
        # can have stored spans, from their start on. Looking up every trace of the batch in
        # every day of spans took 1 s a batch at 10M spans.
        stored_ids = [trace_id for trace_id in ids if trace_id in stored]
        starts = [stored[trace_id]["started_at"] for trace_id in stored_ids]
        since = "1"
        if starts and None not in starts:
            since = f"(started_at >= {literal(min(starts) - _CLOCK_MARGIN)} OR started_at IS NULL)"
        of_stored = f"trace_id IN {literal(stored_ids)} AND {since}"
        stored_open = 0
        if stored_ids:
            stored_open = int(
                connection.query_df(
                    f"SELECT count() FROM spans WHERE {of_stored} "
                    "AND agent_name IS NULL AND parent_id IS NOT NULL"
                ).iloc[0, 0]
            )
        if not batch_open and not stored_open:
            return spans, None
        family = []
        if stored_ids:
            family = connection.query_arrow(
                "SELECT trace_id, span_id, parent_id, agent_name, span_type, name FROM spans "
                f"WHERE {of_stored}"
            ).to_pylist()
        known: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        for row in (*family, *spans.to_pylist()):
            agent = row["agent_name"] or (row["name"] if row["span_type"] == "agent" else None)
            known[(row["trace_id"], row["span_id"])] = (row["parent_id"], agent)

        def resolve(trace_id: str, span_id: str) -> str | None:
            parent, agent = known.get((trace_id, span_id), (None, None))
            depth = 0
            while agent is None and parent is not None and depth < _MAX_DEPTH:
                parent, agent = known.get((trace_id, parent), (None, None))
                depth += 1
            return agent

        names = spans.column("agent_name").to_pylist()
        for index, (trace_id, span_id) in enumerate(
            zip(
                spans.column("trace_id").to_pylist(),
                spans.column("span_id").to_pylist(),
                strict=True,
            )
        ):
            if names[index] is None:
                names[index] = resolve(trace_id, span_id)
        spans = spans.set_column(
            spans.schema.get_field_index("agent_name"), "agent_name", pa.array(names, pa.string())
        )
        changed_from = None
        if stored_open:
            open_rows = connection.query_arrow(
                f"SELECT {', '.join(SPAN_COLUMN_NAMES)} FROM spans WHERE {of_stored} "
                "AND agent_name IS NULL AND parent_id IS NOT NULL"
            ).to_pylist()
            changed = []
            for row in map(_naive, open_rows):
                agent = resolve(row["trace_id"], row["span_id"])
                if agent is not None:
                    changed.append({**row, "agent_name": agent})
                    if row["started_at"] is not None:
                        changed_from = earliest(changed_from, row["started_at"])
            if changed:
                version = self._version()
                table = pa.Table.from_pylist(
                    [{**row, VERSION_COLUMN: version} for row in changed], schema=_span_schema()
                )
                connection.insert_arrow(SPAN_TABLE, table)
        return spans, changed_from

    def ingest_jsonl(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        on_malformed: Callable[[MalformedLine], None] | None = None,
    ) -> JsonlIngestReport:
        """Ingest JSONL record files (a directory means its *.jsonl files), in batches."""
        self._writable("ingest")
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        report = JsonlIngestReport()

        def malformed(line: MalformedLine) -> None:
            report.note_malformed(line)
            if on_malformed is not None:
                on_malformed(line)

        for path in jsonl_files(paths):
            report.files += 1
            records = read_jsonl(path, on_error=malformed)
            while batch := list(itertools.islice(records, _JSONL_BATCH)):
                report.add(self.ingest(batch))
        return report

    def prune(self, before: datetime) -> PruneResult:
        """Delete traces that started before `before` (with all their spans), and any other
        span that started before it."""
        connection = self._writable("prune")
        cutoff = literal(utc_naive(before))
        old_traces = f"SELECT trace_id FROM traces WHERE started_at < {cutoff}"
        span_rows = f"started_at < {cutoff} OR trace_id IN ({old_traces})"
        with self._write_lock:
            counts = connection.query_df(
                f"SELECT (SELECT count() FROM spans WHERE {span_rows}) AS spans, "
                f"(SELECT count() FROM traces WHERE started_at < {cutoff}) AS traces"
            ).iloc[0]
            if int(counts["spans"]):
                connection.command(f"DELETE FROM {SPAN_TABLE} WHERE {span_rows}")
            if int(counts["traces"]):
                connection.command(f"DELETE FROM {TRACE_TABLE} WHERE trace_id IN ({old_traces})")
        return PruneResult(spans=int(counts["spans"]), traces=int(counts["traces"]))

    # -- reading ----------------------------------------------------------------------------------

    def _checked(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None
    ) -> tuple[Connection, str]:
        from .queries import clickhouse_form

        connection = self._conn()
        text = bind(clickhouse_form(sql), params)
        return connection, checked_clickhouse_select(connection, text)

    def query(
        self,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        limits: QueryLimits | None = None,
    ) -> pd.DataFrame:
        """One read-only SELECT as a DataFrame (see SpanStore.query). A named query's DuckDB
        text is answered with its ClickHouse form. ClickHouse itself enforces read-only and the
        limits (time, result size, memory)."""
        from .limits import QueryLimitError

        connection, text = self._checked(sql, params)
        settings = self._read_settings(connection, limits)
        try:
            return connection.query_df(text, settings)
        except ClickHouseError as error:
            message = str(error)
            for code, limit, name in (
                ("TIMEOUT_EXCEEDED", "timeout", "timeout_name"),
                ("TOO_MANY_ROWS_OR_BYTES", "max_result_bytes", "max_result_bytes_name"),
                ("MEMORY_LIMIT_EXCEEDED", "memory_limit", "memory_limit_name"),
            ):
                if code in message and limits is not None:
                    raise QueryLimitError(
                        f"the query went past its {limit} ({getattr(limits, name)}) and was "
                        f"stopped (ClickHouse said: {message.splitlines()[0][:300]})",
                        limit,
                    ) from None
            raise

    def query_arrow(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> pa.Table:
        connection, text = self._checked(sql, params)
        return connection.query_arrow(text, self._read_settings(connection, None))

    def _read_settings(self, connection: Connection, limits: QueryLimits | None) -> dict[str, Any]:
        """A reader's query settings, for what the user's profile allows (see clickhouse_guard)."""
        if self._user_readonly is None:
            try:
                frame = connection.query_df("SELECT toUInt8(getSetting('readonly')) AS readonly")
            except ClickHouseError as error:
                raise _readonly_user(self.path, error) or error from None
            self._user_readonly = int(frame.iloc[0, 0])
        return limit_settings(limits, self._memory_limit, session_readonly=self._user_readonly)

    def export_parquet(self, directory: str | os.PathLike[str]) -> dict[str, Path]:
        """Write `traces.parquet` and `spans.parquet` (zstd, in time order) into `directory`."""
        import pyarrow.parquet as pq

        connection = self._conn()
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for table in ("traces", "spans"):
            destination = target / f"{table}.parquet"
            data = connection.query_arrow(f"SELECT * FROM {table} ORDER BY started_at")
            pq.write_table(data, destination, compression="zstd")
            written[table] = destination
        return written


def _readonly_user(path: str, error: ClickHouseError) -> PermissionError | None:
    """What to do when the user's profile has readonly=1: it refuses every setting the store
    sends (session_timezone, join_use_nulls, the query limits), so nothing can be read. The
    server says "... setting in readonly mode"; clickhouse-connect "Setting ... is readonly"."""
    text = str(error)
    # Only a refused setting: a write refused to a read-only user is another matter.
    if "setting in readonly mode" not in text and not re.search(r"Setting \S+ is readonly", text):
        return None
    return PermissionError(
        f"the ClickHouse user of {path} may not set the settings every store query sends "
        f"(readonly=1 refuses them: {text.splitlines()[0][:200]}); give a reader readonly=2 "
        "(reads, and settings may be set) and SELECT on the database"
    )


def _span_schema() -> pa.Schema:
    import pyarrow as pa

    from .arrow import span_table

    return span_table([]).schema.append(pa.field(VERSION_COLUMN, pa.uint64()))


def _trace_schema() -> pa.Schema:
    import pyarrow as pa

    from .arrow import trace_table

    return (
        trace_table([])
        .schema.append(pa.field("inferred", pa.bool_()))
        .append(pa.field(VERSION_COLUMN, pa.uint64()))
    )


def _filled(spans: pa.Table) -> pa.Table:
    """As the DuckDB merge fills them: an agent span's agent_name is its own name; a guardrail
    record from before `triggered` carries the verdict in `data`."""
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc

    is_agent = pc.equal(spans["span_type"], "agent")
    agent = pc.coalesce(spans["agent_name"], pc.if_else(is_agent, spans["name"], None))
    spans = spans.set_column(spans.schema.get_field_index("agent_name"), "agent_name", agent)
    types = spans.column("span_type").to_pylist()
    triggered = spans.column("triggered").to_pylist()
    if "guardrail" in types and None in triggered:
        data = spans.column("data").to_pylist()
        for index, kind in enumerate(types):
            if kind == "guardrail" and triggered[index] is None and data[index]:
                value = orjson.loads(data[index]).get("triggered")
                if isinstance(value, bool):
                    triggered[index] = value
        spans = spans.set_column(
            spans.schema.get_field_index("triggered"), "triggered", pa.array(triggered, pa.bool_())
        )
    return spans


def _slot(start: datetime | None) -> int:
    """`start` as clickhouse_schema.SLOT has it: microseconds since 1970 (UTC), 0 for none."""
    if start is None:
        return 0
    return (start.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )


def _naive(row: dict[str, Any]) -> dict[str, Any]:
    """A row read back through Arrow, its times as the store's naive UTC."""
    return {
        key: utc_naive(value) if isinstance(value, datetime) else value
        for key, value in row.items()
    }


def _duration(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start) / timedelta(microseconds=1) / 1000.0


def _merged_trace_rows(
    batch: PreparedBatch, stored: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """The trace rows to write (DuckDB's upsert, in Python): a trace record makes a new row or
    replaces a row inferred from spans; spans of a trace without a record make an inferred row
    or widen one. Returns (rows, how many trace records were stored)."""
    rows: list[dict[str, Any]] = []
    records_stored = 0
    for record in batch.traces.to_pylist() if batch.traces is not None else []:
        before = stored.get(record["trace_id"])
        if before is not None and not before["inferred"]:
            continue  # the trace's record is stored already: a duplicate
        row = {**record, "inferred": False}
        if before is not None:
            for name in ("started_at", "ended_at", "duration_ms"):
                if row[name] is None:
                    row[name] = before[name]
        rows.append(row)
        records_stored += 1
    for found in batch.span_traces.to_pylist() if batch.span_traces is not None else []:
        before = stored.get(found["trace_id"])
        if before is not None and not before["inferred"]:
            continue
        start, end = found["started_at"], found["ended_at"]
        row = {
            "trace_id": found["trace_id"],
            "workflow_name": None,
            "group_id": None,
            "metadata": None,
        }
        if before is not None:
            starts = [moment for moment in (before["started_at"], start) if moment is not None]
            ends = [moment for moment in (before["ended_at"], end) if moment is not None]
            start = min(starts) if starts else None
            end = max(ends) if ends else None
            row.update({key: before[key] for key in ("workflow_name", "group_id", "metadata")})
        row.update(started_at=start, ended_at=end, duration_ms=_duration(start, end), inferred=True)
        rows.append(row)
    return rows, records_stored
