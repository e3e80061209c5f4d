"""Where the dashboard reads from, and running its queries.

A configured server (`--server URL` / AGENTOSCOPE_SERVER) is read through `StoreClient`; otherwise
the store file (`--store PATH` / AGENTOSCOPE_STORE / ./.agentoscope/traces.duckdb) is opened
read-only once per dashboard process (`st.cache_resource`): a new DuckDB connection costs 20-25 ms,
more than most queries. When the file is missing or owned by another process, the page says so and
how to fix it instead of showing a traceback.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from agentoscope.tracing.clock import utc_now

from .queries import Reader, Sql

SERVER_ENV = "AGENTOSCOPE_SERVER"
TOKEN_ENV = "AGENTOSCOPE_TOKEN"
STORE_ENV = "AGENTOSCOPE_STORE"
DEFAULT_STORE = Path(".agentoscope") / "traces.duckdb"
TIMINGS_KEY = "_query_timings"
T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """What to read: a server URL or a store file path."""

    kind: str  # "server" | "file" | "clickhouse"
    location: str
    token: str | None = None

    def where(self) -> str:
        """The location as shown on the page: a ClickHouse URL without its password."""
        if self.kind == "clickhouse":
            from agentoscope.tracing.store.url import StoreURLError, parse_store_url

            try:
                return parse_store_url(self.location).describe()
            except StoreURLError:
                return "the URL in AGENTOSCOPE_STORE"  # opening it says what is wrong
        return self.location

    def describe(self) -> str:
        return f"{'server' if self.kind == 'server' else 'store'} {self.where()}"


def configured_source() -> Source:
    from agentoscope.tracing.store.url import StoreURLError, parse_store_url

    server = os.environ.get(SERVER_ENV, "").strip()
    if server:
        return Source("server", server, os.environ.get(TOKEN_ENV) or None)
    store = os.environ.get(STORE_ENV, "").strip()
    if not store:
        return Source("file", str(DEFAULT_STORE.resolve()))
    # The store URL parser decides (a plain path, duckdb:///abs/path, a ClickHouse URL): a
    # duckdb:// URL taken as a path was /cwd/duckdb:/abs/path.
    try:
        url = parse_store_url(store)
    except StoreURLError:
        return Source("clickhouse", store)  # opening it shows the parser's message
    if url.engine == "duckdb":
        assert url.path is not None
        return Source("file", str(url.path.resolve()))
    return Source("clickhouse", store)


class ReaderUnavailable(Exception):
    """The store cannot be read right now; `advice` is markdown telling the user what to do."""

    def __init__(self, title: str, advice: str, *, waiting: bool = False) -> None:
        super().__init__(title)
        self.title = title
        self.advice = advice
        self.waiting = waiting  # true when it may fix itself (another process will exit)


def _locked_advice(path: str, detail: str) -> str:
    return f"""Another process holds **`{path}`** open for writing (DuckDB allows one writer *or*
many readers, never both).

```
{detail}
```

**Ways out**
- Let that process finish: a script or notebook with `DuckDBProcessor` releases the file when it
  exits. This page retries on its own.
- For a store that agents write to while you watch, run the store service and point the dashboard
  at it:
  ```
  agentoscope serve --store {path}
  agentoscope dashboard --server http://127.0.0.1:4318
  ```
"""


def _missing_advice(path: str) -> str:
    return f"""There is no trace store at **`{path}`** yet.

**Make one**
- Record traces from your agents: `agentoscope.tracing.configure(duckdb="{path}")`, or add
  `DuckDBProcessor("{path}")` to an `openai-agents` run.
- Or try the demo: `agentoscope demo`.
- Or open another store: `agentoscope dashboard --store path/to/traces.duckdb`
  (or set `AGENTOSCOPE_STORE`), or a running service with `--server URL`.
"""


def open_reader(source: Source) -> Any:
    """A reader for `source`, or ReaderUnavailable with advice.

    A store file's reader is one SpanStore for every browser session of this process: it runs
    each query on its own cursor, so sessions on different threads can share it."""
    if source.kind == "server":
        from agentoscope.tracing.store.client import StoreClient

        client = StoreClient(source.location, token=source.token)
        client.query("SELECT 1")  # fail here, with advice, when the server is not there
        _ = client.dialect  # asked once, here: the pages' queries are chosen by it
        return client
    if source.kind == "clickhouse":
        from agentoscope.tracing.store import open_store

        return open_store(source.location, read_only=True)
    from agentoscope.tracing.store import (
        SpanStore,
        StoreLockedError,
        StoreNotFoundError,
        StoreSchemaError,
    )

    path = Path(source.location)
    try:
        return SpanStore(str(path), read_only=True)
    except StoreNotFoundError as error:
        raise ReaderUnavailable(
            "No trace store yet", _missing_advice(str(path)), waiting=True
        ) from error
    except StoreLockedError as error:
        raise ReaderUnavailable(
            "The store is in use by another process",
            _locked_advice(str(path), str(error)),
            waiting=True,
        ) from error
    except StoreSchemaError as error:
        raise ReaderUnavailable(
            "This file is not a store this dashboard can read", f"```\n{error}\n```"
        ) from error


def _release(reader: Any) -> None:
    close = getattr(reader, "close", None)
    if close is not None:
        close()


@st.cache_resource(show_spinner=False, on_release=_release)
def cached_reader(source: Source) -> Any:
    return open_reader(source)


def release_reader() -> None:
    """Close the shared connection (frees the store file for a writer) and forget it, with the
    results read through it."""
    cached_reader.clear()
    cached_result.clear()


def reader() -> Reader:
    """The reader for this dashboard; on failure, shows the reason and stops the page."""
    source = configured_source()
    try:
        return cached_reader(source)
    except ReaderUnavailable as problem:
        show_unavailable(source, problem)
    except Exception as error:  # a server that is down, a broken file: say what and where
        show_unavailable(
            source,
            ReaderUnavailable(
                f"Cannot read the {source.describe()}",
                f"```\n{type(error).__name__}: {error}\n```",
                waiting=source.kind == "server",
            ),
        )
    raise AssertionError("unreachable")  # show_unavailable stops the script


def show_unavailable(source: Source, problem: ReaderUnavailable) -> None:
    st.title(f":material/troubleshoot: {problem.title}")
    st.markdown(problem.advice)
    st.caption(f"Reading: {source.describe()}")
    if problem.waiting:
        _retry_soon()
    st.stop()


@st.fragment(run_every=3)
def _retry_soon() -> None:
    """Try again on a timer: when the owning process exits, the dashboard appears by itself."""
    try:
        cached_reader(configured_source())  # failures are not cached, successes are
    except Exception:
        st.caption(f"Checking again every 3 s (last check {utc_now():%H:%M:%S} UTC).")
        return
    st.rerun()


def _timed(run: Callable[[], T], sql: str | None = None) -> T:
    """Run reads for a page, timed for the footer; a failure shows the error and stops the page
    (not a traceback)."""
    started = time.perf_counter()
    try:
        result = run()
    except Exception as error:
        st.error(f"Query failed: {type(error).__name__}: {error}")
        if sql:
            with st.expander("SQL"):
                st.code(sql, language="sql")
        st.stop()
    timings = st.session_state.setdefault(TIMINGS_KEY, [])
    timings.append((time.perf_counter() - started) * 1000)
    return result


@st.cache_data(show_spinner=False, max_entries=300)
def cached_result(source: Source, text: str, params_json: str, _reader: Any) -> pd.DataFrame:
    return _reader.query(text, json.loads(params_json))


def fetch(sql: Sql) -> pd.DataFrame:
    """Run one dashboard query. A store file cannot change while the dashboard has it open, so
    its results are kept: clicking around re-reads nothing. A server's store is live: always
    asked."""
    source = configured_source()
    form = sql.form_for(reader())
    text = form.text_for(reader())
    if source.kind != "file":
        return _timed(lambda: form.run(reader()), text)
    params = json.dumps(form.params, sort_keys=True, default=str)
    return _timed(lambda: cached_result(source, text, params, reader()), text)


def fetch_trace(trace_id: str) -> tuple[dict[str, Any] | None, pd.DataFrame]:
    """One trace row and its spans, by the store's own lookup (a time-hinted span read); an
    abbreviated id is completed when it names exactly one trace."""
    from agentoscope.tracing.store.queries import find_trace_id, trace_detail

    def lookup() -> tuple[dict[str, Any] | None, pd.DataFrame]:
        found = trace_detail(reader(), trace_id)
        if found[0] is None and found[1].empty:
            try:
                full_id = find_trace_id(reader(), trace_id)
            except ValueError:  # ambiguous prefix: show nothing rather than guess
                return found
            if full_id and full_id != trace_id:
                return trace_detail(reader(), full_id)
        return found

    return _timed(lookup)
