"""Conversation history in a SQLite file (or in memory), safe to share between tasks, threads
and processes.

The tables are the official SDK's (`agent_sessions`, `agent_messages` with the same columns), so
a file written by either runtime opens in the other. What differs is how it is used:

- each session owns one connection and one worker thread: sqlite calls never block the event
  loop, and operations run in the order they were issued (a FIFO), without a pile of threads
  waiting on a lock;
- the file runs in WAL mode with a busy timeout, and writes take the write lock up front
  (`BEGIN IMMEDIATE`), so several processes can append to one file without "database is locked";
- `synchronous="NORMAL"` by default: in WAL mode this never corrupts the file; a power cut (not a
  crash of the process) can lose the last commits. `synchronous="FULL"` syncs every commit;
- a row that does not parse is reported (`corrupt_rows`, a log warning) and skipped, never deleted.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from .codec import decode_item, encode_item
from .errors import CorruptRow, CorruptRowLog, InvalidIdentifierError, SessionClosedError
from .session import (
    SessionABC,
    SessionSettings,
    TResponseInputItem,
    coerce_session_settings,
    resolve_session_limit,
)

_T = TypeVar("_T")

# Plain SQL identifiers only: table names end up in statements, where parameters cannot go.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
_SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def validate_identifier(name: str, what: str) -> str:
    """`name` if it is a plain SQL identifier (letters, digits, underscore), else an error."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidIdentifierError(
            f"{what} {name!r} is not a valid table name: use 1-63 letters, digits or "
            "underscores, not starting with a digit"
        )
    return name


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Put the file in WAL mode, waiting up to `busy_timeout` for other connections.

    The switch needs the file to itself, and while another connection holds the write lock
    SQLite reports "database is locked" at once, without calling the busy handler: two
    processes opening a new file together failed 63 times in 500 tries. The pragma is
    idempotent, so it is tried again until the timeout, as every other statement waits.
    """
    deadline = time.monotonic() + busy_timeout
    delay = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


class SQLiteSession(SessionABC):
    """Session history in SQLite. `db_path=":memory:"` keeps it for the life of this object."""

    def __init__(
        self,
        session_id: str,
        db_path: str | Path = ":memory:",
        sessions_table: str = "agent_sessions",
        messages_table: str = "agent_messages",
        session_settings: SessionSettings | dict[str, Any] | None = None,
        *,
        busy_timeout: float = 30.0,
        synchronous: str = "NORMAL",
    ) -> None:
        self.session_id = session_id
        self.session_settings = coerce_session_settings(session_settings)
        self.db_path = db_path
        self.sessions_table = validate_identifier(sessions_table, "sessions_table")
        self.messages_table = validate_identifier(messages_table, "messages_table")
        if synchronous.upper() not in _SYNCHRONOUS_MODES:
            raise ValueError(
                f"synchronous must be one of {_SYNCHRONOUS_MODES}, got {synchronous!r}"
            )
        self.synchronous = synchronous.upper()
        self._corrupt = CorruptRowLog("SQLiteSession")
        self._closed = False
        self._sql = _Statements(self.sessions_table, self.messages_table)
        # One thread per session: it owns the connection, and its queue is the operation order.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-session")
        self._conn = self._connect(busy_timeout)

    # -- connection --------------------------------------------------------------------------

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.db_path),
            timeout=busy_timeout,
            isolation_level=None,  # transactions are explicit, below
            check_same_thread=False,  # used only from the worker thread after this
        )
        try:
            if str(self.db_path) != ":memory:":
                _switch_to_wal(conn, busy_timeout)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")  # one of _SYNCHRONOUS_MODES
            self._in_write_transaction(conn, self._create_schema)
        except BaseException:
            conn.close()
            raise
        return conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        for statement in self._sql.schema:
            conn.execute(statement)

    @staticmethod
    def _in_write_transaction(
        conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], _T]
    ) -> _T:
        # IMMEDIATE takes the write lock now (waiting up to the busy timeout), so a transaction
        # never fails half-way when it upgrades from reading to writing.
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closed:
            raise SessionClosedError(f"SQLiteSession {self.session_id!r} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._worker, work, self._conn)
        except RuntimeError as exc:  # the executor was shut down by close() meanwhile
            if self._closed:
                raise SessionClosedError(f"SQLiteSession {self.session_id!r} is closed") from exc
            raise

    # -- Session -----------------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The newest `limit` items, oldest first. None uses `session_settings.limit` (all)."""
        session_limit = resolve_session_limit(limit, self.session_settings)
        if session_limit == 0:
            return await self._run(lambda conn: [])
        return await self._run(lambda conn: self._read_items(conn, session_limit))

    def _read_items(self, conn: sqlite3.Connection, limit: int | None) -> list[Any]:
        if limit is None:
            rows = conn.execute(self._sql.select_all, (self.session_id,))
            return [item for _, item in self._decode_rows(rows)]
        newest_first: list[Any] = []
        # Walk back from the newest row until `limit` readable items are found: corrupt rows
        # in between do not count, and are not deleted.
        for _, item in self._decode_rows(conn.execute(self._sql.select_desc, (self.session_id,))):
            newest_first.append(item)
            if len(newest_first) == limit:
                break
        newest_first.reverse()
        return newest_first

    def _decode_rows(self, rows: Any) -> Any:
        for row_id, text in rows:
            try:
                yield row_id, decode_item(text)
            except ValueError as exc:
                self._corrupt.report(self.session_id, row_id, str(exc), text)

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append `items` in one transaction: all of them, contiguous and in order, or none."""
        encoded = [(self.session_id, encode_item(item)) for item in items]
        if not encoded:
            await self._run(lambda conn: None)  # still refuses a closed session
            return

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(self._sql.touch_session, (self.session_id,))
            conn.executemany(self._sql.insert_message, encoded)

        await self._run(lambda conn: self._in_write_transaction(conn, insert))

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the newest readable item; corrupt rows stay where they are."""

        def pop(conn: sqlite3.Connection) -> Any:
            rows = conn.execute(self._sql.select_desc, (self.session_id,))
            for row_id, item in self._decode_rows(rows):
                conn.execute(self._sql.delete_message, (row_id,))
                return item
            return None

        return await self._run(lambda conn: self._in_write_transaction(conn, pop))

    async def clear_session(self) -> None:
        def clear(conn: sqlite3.Connection) -> None:
            conn.execute(self._sql.clear_messages, (self.session_id,))
            conn.execute(self._sql.clear_session, (self.session_id,))

        await self._run(lambda conn: self._in_write_transaction(conn, clear))

    # -- beyond the protocol -----------------------------------------------------------------

    async def get_session_stats(self) -> dict[str, Any]:
        """`{"session_id", "item_count", "first_item_time", "last_item_time"}` (UTC datetimes,
        None when the session is empty)."""
        count, first, last = await self._run(
            lambda conn: conn.execute(self._sql.stats, (self.session_id,)).fetchone()
        )
        return {
            "session_id": self.session_id,
            "item_count": count,
            "first_item_time": _parse_time(first),
            "last_item_time": _parse_time(last),
        }

    @property
    def corrupt_rows(self) -> list[CorruptRow]:
        """Rows this session skipped because they did not parse (they are still in the file)."""
        return self._corrupt.rows

    async def find_corrupt_rows(self) -> list[CorruptRow]:
        """Read every row of this session and return the ones that do not parse."""

        def scan(conn: sqlite3.Connection) -> None:
            for _ in self._decode_rows(conn.execute(self._sql.select_all, (self.session_id,))):
                pass

        await self._run(scan)
        return [row for row in self._corrupt.rows if row.session_id == self.session_id]

    def close(self) -> None:
        """Close the connection and stop the worker thread (after queued operations finish)."""
        if self._closed:
            return
        self._closed = True
        self._worker.submit(self._conn.close)
        self._worker.shutdown(wait=True)

    def __enter__(self) -> SQLiteSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteSession(session_id={self.session_id!r}, db_path={str(self.db_path)!r})"


class _Statements:
    """Every statement a session runs, built once from validated table names."""

    def __init__(self, sessions: str, messages: str) -> None:
        self.schema = (
            f"""CREATE TABLE IF NOT EXISTS "{sessions}" (
                session_id TEXT PRIMARY KEY,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)""",
            f"""CREATE TABLE IF NOT EXISTS "{messages}" (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                session_id TEXT NOT NULL,
                message_data TEXT NOT NULL,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                FOREIGN KEY (session_id) REFERENCES "{sessions}" (session_id) ON DELETE CASCADE)""",
            f"""CREATE INDEX IF NOT EXISTS "idx_{messages}_session_id"
                ON "{messages}" (session_id, id)""",
        )
        self.touch_session = (
            f'INSERT INTO "{sessions}" (session_id, created_at, updated_at) '
            f"VALUES (?, {_NOW}, {_NOW}) "
            f"ON CONFLICT (session_id) DO UPDATE SET updated_at = {_NOW}"
        )
        self.insert_message = (
            f'INSERT INTO "{messages}" (session_id, message_data, created_at) VALUES (?, ?, {_NOW})'
        )
        self.select_all = (
            f'SELECT id, message_data FROM "{messages}" WHERE session_id = ? ORDER BY id ASC'
        )
        self.select_desc = (
            f'SELECT id, message_data FROM "{messages}" WHERE session_id = ? ORDER BY id DESC'
        )
        self.delete_message = f'DELETE FROM "{messages}" WHERE id = ?'
        self.clear_messages = f'DELETE FROM "{messages}" WHERE session_id = ?'
        self.clear_session = f'DELETE FROM "{sessions}" WHERE session_id = ?'
        self.stats = (
            f'SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM "{messages}" '
            "WHERE session_id = ?"
        )


def _parse_time(value: str | None) -> datetime | None:
    """SQLite's UTC text timestamps (`YYYY-MM-DD HH:MM:SS[.fff]`) as aware datetimes."""
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
