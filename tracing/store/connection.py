"""One DuckDB database per store file per process, shared by every SpanStore and DuckDBProcessor
in that process, and a clear error when another process holds the file.

DuckDB lets one process open a file read-write, or several open it read-only, never both. In one
process, a second `connect()` to the same file with a different mode fails. So a process opens a
store once and hands out cursors: a notebook can `configure(duckdb=path)` and then query the same
file with `SpanStore(path)`. Writes are serialised by a lock per database.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from .rollup import Rollups

# WAL size that sets off an automatic checkpoint in a writing process (see acquire()).
CHECKPOINT_THRESHOLD = "64MB"

_HELD_BY = re.compile(r"held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class StoreLockedError(RuntimeError):
    """Another process holds the store file. The message names the cause and the ways out."""

    def __init__(self, message: str, *, path: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.pid = pid


class StoreNotFoundError(FileNotFoundError):
    """A reader asked for a store file that does not exist."""


def locked_error(path: str, read_only: bool, cause: str) -> StoreLockedError:
    match = _HELD_BY.search(cause)
    pid = int(match["pid"]) if match else None
    owner = f"{Path(match['program']).name}, PID {pid}" if match else "another process"
    if read_only:
        what = f"another process ({owner}) holds it read-write"
        wait = f"wait for the owner{f' (PID {pid})' if pid else ''} to exit"
    else:
        what = f"another process ({owner}) has it open"
        wait = f"wait for that process{f' (PID {pid})' if pid else ''} to exit or close the store"
    message = (
        f"cannot open the store {path} {'read-only' if read_only else 'read-write'}: {what}. "
        "DuckDB lets one process write a store file or several read it, never both at once. "
        f"Ways out: make one long-lived owner with `agentoscope serve --store {path}` and point "
        "readers at it (--server URL or AGENTOSCOPE_SERVER), agents at its spool directory or "
        f"OTLP endpoint; or {wait}, then try again. (DuckDB said: {cause})"
    )
    return StoreLockedError(message, path=path, pid=pid)


@dataclass(eq=False)
class SharedDatabase:
    """The process's one connection to a store file, and who is using it."""

    path: str
    connection: Any
    read_only: bool
    users: int = 0
    write_lock: threading.RLock = field(default_factory=threading.RLock)
    # What the writer knows of the store's rollups (read-write databases only).
    rollups: Rollups = field(default_factory=Rollups)

    def cursor(self) -> Any:
        return self.connection.cursor()


_databases: dict[str, SharedDatabase] = {}
_registry_lock = threading.Lock()


def _key(path: Path) -> str:
    return os.path.realpath(path)


def acquire(path: Path, read_only: bool) -> tuple[SharedDatabase, bool]:
    """The process's database for `path`, opened if needed. Returns (database, newly opened).
    A read-only request is served by an open read-write database of this process."""
    key = _key(path)
    with _registry_lock:
        database = _databases.get(key)
        if database is not None:
            if database.read_only and not read_only:
                raise StoreLockedError(
                    f"cannot open the store {path} read-write: this process already has it "
                    "open read-only (a SpanStore(read_only=True) or a dashboard reader). Close "
                    "those first, or open the writer before any reader.",
                    path=str(path),
                    pid=os.getpid(),
                )
            database.users += 1
            return database, False
        if read_only and not os.path.exists(path):
            raise StoreNotFoundError(
                f"no store at {path}: record traces into it first (configure(duckdb=...), "
                "DuckDBProcessor, `agentoscope ingest` or `agentoscope serve`), or point at "
                "another one with --store or AGENTOSCOPE_STORE"
            )
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise locked_error(str(path), read_only, str(error)) from error
            raise
        except duckdb.ConnectionException as error:
            raise StoreLockedError(
                f"cannot open the store {path}: this process already has it open with another "
                f"configuration outside Agentoscope ({error})",
                path=str(path),
                pid=os.getpid(),
            ) from error
        try:
            # Naive TIMESTAMPs are UTC; comparisons with zoned values must agree everywhere.
            connection.execute("SET GLOBAL TimeZone = 'UTC'")
            # No implicit scans of Python variables by name: batches are registered explicitly.
            connection.execute("SET GLOBAL python_enable_replacements = false")
            if not read_only:
                # DuckDB checkpoints when the WAL passes this size. At the default 16 MB a
                # steady ingest checkpoints every few batches and rewrites the same partly
                # filled row group each time: 64 MB measured ~20% faster ingest
                # (bench_store.py), for a few seconds more WAL replay after a crash.
                connection.execute(f"SET GLOBAL checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        except Exception:
            connection.close()
            raise
        database = SharedDatabase(str(path), connection, read_only, users=1)
        _databases[key] = database
        return database, True


def release(database: SharedDatabase) -> None:
    """One user is done; the last one checkpoints (read-write) and closes the file."""
    with _registry_lock:
        database.users -= 1
        if database.users > 0:
            return
        _databases.pop(_key(Path(database.path)), None)
    with database.write_lock:
        try:
            if not database.read_only:
                database.connection.execute("CHECKPOINT")
        finally:
            database.connection.close()


def _forget_after_fork() -> None:
    # A forked child must not use its parent's connection; it opens the file itself if it can.
    global _registry_lock
    _databases.clear()
    _registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
