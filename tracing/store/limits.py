"""Limits on one read-only query, for a store that answers SQL for others (`agentoscope serve`).

A query runs on its own DuckDB cursor, so it can be stopped without touching the writer:

- **time**: `timeout` seconds, then `cursor.interrupt()` (DuckDB checks for it between vectors of
  work and while results are fetched);
- **result size**: results are fetched in chunks and counted; past `max_result_bytes` the query
  is stopped;
- **memory**: DuckDB's `memory_limit` is the database's (one per store file in a process, shared
  with the writer): `SpanStore.memory_limit()` sets it, and a query that needs more fails with
  DuckDB's out-of-memory error, which is reported here naming the limit. Values built by one
  function call (a 2 GB `repeat()`) are not counted by DuckDB and not interruptible: the guard
  refuses those calls beforehand (guard.py, `MAX_GENERATED`).

Every refusal is a `QueryLimitError` whose message names the limit and how to change it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_QUERY_TIMEOUT = 30.0
DEFAULT_MAX_RESULT_BYTES = 256 * 1024 * 1024
DEFAULT_MEMORY_LIMIT = "2GB"
# Rows per fetched chunk (DuckDB vectors of 2,048 rows): the result size is checked this often.
_VECTORS_PER_CHUNK = 8

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(value: str | int, what: str) -> int:
    """Bytes from `1000`, `"100MB"`, `"2GiB"`, ...; ValueError naming `what` otherwise."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"{what} must be positive, got {value}")
        return value
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"{what}: cannot read {value!r} as a size (examples: 500MB, 2GB)")
    number, unit = float(match[1]), (match[2] or "").lower()
    base = 1024 if "i" in unit else None
    scale = _UNITS[unit[:1]] if base is None else base ** "bkmgt".index(unit[0])
    size = int(number * scale)
    if size <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return size


class QueryLimitError(RuntimeError):
    """A query went past one of its limits and was stopped; the message names the limit."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass(frozen=True)
class QueryLimits:
    """`timeout` seconds and `max_result_bytes` of result per query (None: no limit).
    `names` maps each limit to how the user changes it (a flag), for the error messages."""

    timeout: float | None = DEFAULT_QUERY_TIMEOUT
    max_result_bytes: int | None = DEFAULT_MAX_RESULT_BYTES
    memory_limit: str | None = None  # what the database was set to, for the message
    timeout_name: str = "timeout"
    max_result_bytes_name: str = "max_result_bytes"
    memory_limit_name: str = "memory_limit"

    def __post_init__(self) -> None:
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"{self.timeout_name} must be positive, got {self.timeout}")
        if self.max_result_bytes is not None and self.max_result_bytes <= 0:
            raise ValueError(
                f"{self.max_result_bytes_name} must be positive, got {self.max_result_bytes}"
            )


def run_limited(
    cursor: Any,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None,
    limits: QueryLimits,
) -> pd.DataFrame:
    """Run `sql` on `cursor` (its own) within `limits`; a DataFrame of the same types as
    `cursor.execute(sql).df()`."""
    import duckdb
    import pandas as pd

    timed_out = threading.Event()

    def interrupt() -> None:
        timed_out.set()
        cursor.interrupt()

    timer = threading.Timer(limits.timeout, interrupt) if limits.timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    chunks: list[pd.DataFrame] = []
    size = 0
    try:
        cursor.execute(sql, params)
        while True:
            chunk = cursor.fetch_df_chunk(_VECTORS_PER_CHUNK)
            if chunks and len(chunk) == 0:
                break
            chunks.append(chunk)
            if len(chunk) == 0:
                break
            size += int(chunk.memory_usage(index=False, deep=True).sum())
            if limits.max_result_bytes is not None and size > limits.max_result_bytes:
                raise QueryLimitError(
                    f"the result is larger than {limits.max_result_bytes:,} bytes "
                    f"({limits.max_result_bytes_name}) and was not sent: aggregate, select "
                    "fewer columns or add a LIMIT",
                    "max_result_bytes",
                )
    except duckdb.InterruptException:
        if timed_out.is_set():
            raise QueryLimitError(
                f"the query ran longer than {limits.timeout:g} s ({limits.timeout_name}) and "
                "was stopped",
                "timeout",
            ) from None
        raise
    except duckdb.OutOfMemoryException as error:
        limit = f" of {limits.memory_limit}" if limits.memory_limit else ""
        raise QueryLimitError(
            f"the query needs more memory than the store's limit{limit} "
            f"({limits.memory_limit_name}) and was stopped: aggregate or filter more "
            f"(DuckDB said: {str(error).splitlines()[0]})",
            "memory_limit",
        ) from None
    finally:
        if timer is not None:
            timer.cancel()
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
