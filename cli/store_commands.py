"""Store commands: `sql`, `traces`, `show`, `ingest`, `export`, `prune`.

Readers (`sql`, `traces`, `show`) ask `agentoscope serve` when a server is given (--server or
env AGENTOSCOPE_SERVER) and otherwise open the store file read-only. Writers (`ingest`, `prune`)
need the file read-write: they say so clearly when another process owns it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from agentoscope.tracing.clock import utc_naive, utc_now

from .output import plain, print_frame, print_table

SERVER_ENV = "AGENTOSCOPE_SERVER"
STORE_HELP = (
    "store: a DuckDB file, clickhouse://user:password@host:8123/db or chdb:///folder "
    "(default: env AGENTOSCOPE_STORE, else ./.agentoscope/traces.duckdb)"
)
SERVER_HELP = f"ask this `agentoscope serve` URL instead of opening the file (env {SERVER_ENV})"
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_LISTED_PROBLEMS = 20


class CommandError(Exception):
    """A failure to report on stderr as `agentoscope <command>: <message>` (exit status 1)."""


def register(subparsers: Any) -> None:
    sql = subparsers.add_parser(
        "sql",
        help="run a read-only SQL query over the store",
        description="Run one read-only SELECT over the store's tables and views "
        "(spans, traces, agent_runs, generations, tool_calls, handoffs, guardrails, "
        "token_usage). Writes are refused.",
    )
    sql.add_argument("query", help='one SELECT statement, e.g. "SELECT count(*) FROM spans"')
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for $NAME in the query (repeatable); values are passed as parameters",
    )
    sql.add_argument("--max-width", type=int, default=60, help="cell width in table output")
    _reader_options(sql)
    sql.set_defaults(handler=run_sql)

    traces = subparsers.add_parser(
        "traces",
        help="list the latest traces",
        description="List the latest traces, newest first: start time, trace id, workflow, "
        "duration, spans, tokens and failing spans. Filter by workflow, failures or age.",
    )
    traces.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    traces.add_argument("--workflow", help="only this workflow")
    traces.add_argument("--errors", action="store_true", help="only traces with a failing span")
    traces.add_argument("--since", help="only traces started since: ISO time (UTC) or 30m, 2h, 7d")
    traces.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _reader_options(traces)
    traces.set_defaults(handler=run_traces)

    show = subparsers.add_parser(
        "show",
        help="print one trace as a span tree",
        description="Print one trace as a span tree: each span's type, name, duration, tokens "
        "and error. TRACE_ID may be any unambiguous start of the id, with or without `trace_`; "
        "a start that fits several traces lists the newest of them.",
    )
    show.add_argument(
        "trace_id", metavar="TRACE_ID", help="a trace id or its start (d1ac5f85, trace_d1ac)"
    )
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    _reader_options(show)
    show.set_defaults(handler=run_show)

    ingest = subparsers.add_parser(
        "ingest",
        help="load JSONL span/trace records into the store",
        description="Load JSONL records (as JSONLProcessor writes them) into the store. "
        "Malformed lines are reported as file:line and skipped; good lines are kept; records "
        "already stored are skipped. Exit status 1 if any line was malformed.",
    )
    ingest.add_argument("files", nargs="+", metavar="FILE.jsonl", help="files or directories")
    ingest.add_argument("--store", metavar="PATH", help=STORE_HELP)
    ingest.set_defaults(handler=run_ingest)

    export = subparsers.add_parser(
        "export",
        help="write the store's tables as Parquet files",
        description="Write the store's traces and spans tables as traces.parquet and "
        "spans.parquet into DIR (created when missing), for pandas, Polars, Spark or DuckDB.",
    )
    export.add_argument("--format", choices=("parquet",), default="parquet")
    export.add_argument("directory", metavar="DIR", help="traces.parquet and spans.parquet go here")
    export.add_argument("--store", metavar="PATH", help=STORE_HELP)
    export.set_defaults(handler=run_export)

    prune = subparsers.add_parser(
        "prune",
        help="delete traces and spans that started before a date",
        description="Delete every trace that started before DATE (with all its spans) and any "
        "other span that started before it. Counts what would go and asks first; --yes "
        "skips the question (needed when no one is at a terminal to answer). Needs the store "
        "read-write.",
    )
    prune.add_argument("--before", required=True, metavar="DATE", help="ISO date/time (UTC) or 30d")
    prune.add_argument("--dry-run", action="store_true", help="only count what would go")
    prune.add_argument("-y", "--yes", action="store_true", help="delete without asking")
    prune.add_argument("--store", metavar="PATH", help=STORE_HELP)
    prune.set_defaults(handler=run_prune)


def _reader_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="PATH", help=STORE_HELP)
    parser.add_argument("--server", metavar="URL", help=SERVER_HELP)


# -- helpers ---------------------------------------------------------------------------------------


def parse_time(text: str) -> datetime:
    """An ISO date or time (naive means UTC), or a span back from now: 90s, 30m, 2h, 7d, 1w.
    Returned as naive UTC, as the store keeps times."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = float(relative[1]), _UNITS[relative[2].lower()]
        return utc_now() - timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(
            f"cannot read the time {text!r}: use an ISO date or time such as 2026-01-31 or "
            "2026-01-31T12:00, or a span back from now such as 30m, 2h, 7d"
        ) from None
    return utc_naive(moment)


@contextmanager
def open_reader(args: argparse.Namespace) -> Iterator[Any]:
    """The server's client when a server is configured, else the store file read-only."""
    server = getattr(args, "server", None) or os.environ.get(SERVER_ENV, "").strip() or None
    if server:
        from agentoscope.tracing.store.client import StoreClient

        client = StoreClient(server)
        try:
            yield client
        finally:
            client.close()
        return
    from agentoscope.tracing.store import open_store

    store = open_store(args.store, read_only=True)
    try:
        yield store
    finally:
        store.close()


def _guarded(command: str, args: argparse.Namespace, action: Any) -> int:
    """Run `action(args)`, turning the errors a user can act on into one clear line."""
    import duckdb

    from agentoscope.tracing.store import (
        ReadOnlyQueryError,
        StoreLockedError,
        StoreNotFoundError,
        StoreSchemaError,
        StoreURLError,
    )
    from agentoscope.tracing.store.clickhouse_connection import ClickHouseError

    try:
        return int(action(args) or 0)
    except ReadOnlyQueryError as error:
        _fail(command, f"refused: {error}")
    except StoreNotFoundError:
        _fail(command, no_store_message(args))
    except (StoreLockedError, StoreSchemaError, StoreURLError, CommandError) as error:
        _fail(command, str(error))
    except (duckdb.Error, ClickHouseError) as error:
        _fail(command, f"{type(error).__name__}: {error}")
    except (FileNotFoundError, PermissionError) as error:
        _fail(command, str(error))
    except Exception as error:
        if not _is_client_error(error):
            raise
        _fail(command, str(error))
    return 1


def no_store_message(args: argparse.Namespace) -> str:
    """Where we looked, and the quickest ways to have a store there."""
    from agentoscope.tracing.store import STORE_ENV, default_store_path

    path = default_store_path(getattr(args, "store", None)).resolve()
    return (
        f"no store at {path}. Run `agentoscope demo` to fill one with sample traces, record your "
        "own (configure(duckdb=...), `agentoscope ingest` or `agentoscope serve`), or point at "
        f"another store with --store or {STORE_ENV}"
    )


def _is_client_error(error: Exception) -> bool:
    try:
        from agentoscope.tracing.store.client import StoreClientError
    except ImportError:
        return False
    return isinstance(error, StoreClientError)


def _fail(command: str, message: str) -> None:
    print(f"agentoscope {command}: {message}", file=sys.stderr)


def _params(pairs: list[str]) -> dict[str, Any] | None:
    if not pairs:
        return None
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip().isidentifier():
            raise CommandError(f"--param takes NAME=VALUE, not {pair!r}")
        params[name.strip()] = value
    return params


# -- commands --------------------------------------------------------------------------------------


def run_sql(args: argparse.Namespace) -> int:
    def action(args: argparse.Namespace) -> int:
        import duckdb

        from .catalog import unknown_table_message

        params = _params(args.param)
        with open_reader(args) as reader:
            try:
                frame = reader.query(args.query, params)
            except (duckdb.CatalogException, RuntimeError) as error:
                message = unknown_table_message(error, reader)
                if message is None:
                    raise
                raise CommandError(message) from None
        print_frame(frame, args.format, args.max_width)
        return 0

    return _guarded("sql", args, action)


def run_traces(args: argparse.Namespace) -> int:
    from agentoscope.tracing.store.queries import latest_traces
    from agentoscope.tracing.tree import format_duration

    def action(args: argparse.Namespace) -> int:
        if args.limit < 1:
            raise CommandError("--limit must be at least 1")
        since = parse_time(args.since) if args.since else None
        with open_reader(args) as reader:
            frame = latest_traces(
                reader,
                limit=args.limit,
                errors_only=args.errors,
                since=since,
                workflow=args.workflow,
            )
        if args.format != "table":
            print_frame(frame, args.format)
            return 0
        import pandas as pd

        table = pd.DataFrame(
            {
                "started (UTC)": [_short_time(value) for value in frame["started_at"]],
                "trace_id": frame["trace_id"],
                "workflow": [
                    " ".join(filter(None, [plain(name), "(running)" if plain(running) else ""]))
                    for name, running in zip(frame["workflow_name"], frame["running"], strict=True)
                ],
                "duration": [format_duration(plain(value)) for value in frame["duration_ms"]],
                "spans": frame["span_count"],
                "tokens": frame["total_tokens"],
                "errors": frame["error_count"],
            }
        )
        print_table(table, 60, keep_whole=("trace_id",))
        return 0

    return _guarded("traces", args, action)


def _short_time(value: Any) -> str:
    text = plain(value)
    return text[:19].replace("T", " ") if isinstance(text, str) else ""


def run_show(args: argparse.Namespace) -> int:
    from agentoscope.tracing.store.queries import trace_detail

    from .lookup import AmbiguousTraceId, resolve_trace_id
    from .output import console
    from .trace_view import render_rows

    def action(args: argparse.Namespace) -> int:
        with open_reader(args) as reader:
            try:
                trace_id = resolve_trace_id(reader, args.trace_id)
            except AmbiguousTraceId as error:
                raise CommandError(str(error)) from None
            if trace_id is None:
                raise CommandError(
                    f"no trace id starts with {args.trace_id!r} in the store "
                    "(`agentoscope traces` lists the latest)"
                )
            trace, spans = trace_detail(reader, trace_id)
        terminal = sys.stdout.isatty()
        color = args.color == "always" or (args.color == "auto" and terminal)
        width = console().width if terminal else None
        print(render_rows(trace, spans, color=color, width=width))
        return 0

    return _guarded("show", args, action)


def run_ingest(args: argparse.Namespace) -> int:
    from agentoscope.tracing.store import open_store
    from agentoscope.tracing.validate import record_warnings

    def action(args: argparse.Namespace) -> int:
        shown = 0

        def on_malformed(line: Any) -> None:
            nonlocal shown
            shown += 1
            if shown <= MAX_LISTED_PROBLEMS:
                print(f"{line}", file=sys.stderr)

        before = record_warnings()
        with open_store(args.store) as store:
            report = store.ingest_jsonl(args.files, on_malformed=on_malformed)
            where = store.path
        if shown > MAX_LISTED_PROBLEMS:
            print(f"... and {shown - MAX_LISTED_PROBLEMS} more malformed lines", file=sys.stderr)
        print(f"ingested {report} into {where}")
        repaired = {
            field: count - before.get(field, 0)
            for field, count in sorted(record_warnings().items())
            if count > before.get(field, 0)
        }
        if repaired:
            fields = ", ".join(f"{field} {count:,}" for field, count in repaired.items())
            print(
                f"agentoscope ingest: impossible values repaired, their rows kept: {fields}",
                file=sys.stderr,
            )
        if report.malformed_count:
            print(
                f"agentoscope ingest: {report.malformed_count} malformed line(s) skipped "
                "(listed above); every good line was stored",
                file=sys.stderr,
            )
            return 1
        return 0

    return _guarded("ingest", args, action)


def run_export(args: argparse.Namespace) -> int:
    from agentoscope.tracing.store import open_store

    def action(args: argparse.Namespace) -> int:
        with open_store(args.store, read_only=True) as store:
            written = store.export_parquet(args.directory)
            counts = store.query(
                "SELECT (SELECT count(*) FROM traces) AS traces, "
                "(SELECT count(*) FROM spans) AS spans"
            ).iloc[0]
        for table, path in written.items():
            print(f"{path}  ({int(counts[table]):,} {table})")
        return 0

    return _guarded("export", args, action)


def run_prune(args: argparse.Namespace) -> int:
    from agentoscope.tracing.store import (
        SpanStore,
        StoreNotFoundError,
        default_store_path,
        open_store,
        store_url,
    )

    def action(args: argparse.Namespace) -> int:
        before = parse_time(args.before)
        when = before.isoformat(sep=" ", timespec="seconds")
        url = store_url(args.store)
        if args.dry_run:
            with open_store(url, read_only=True) as store:
                traces, spans = _prune_counts(store, before)
            print(f"would delete {traces:,} traces and {spans:,} spans started before {when} UTC")
            return 0
        if url.is_clickhouse:
            opened = open_store(url)
            where = url.describe()
        else:
            path = default_store_path(args.store)
            if not path.exists():  # a mistyped --store must not create an empty store
                raise StoreNotFoundError(f"no store at {path.resolve()}: nothing to prune")
            opened = SpanStore(path)
            where = str(path)
        with opened as store:
            if not args.yes:
                traces, spans = _prune_counts(store, before)
                if not traces and not spans:
                    print(f"nothing started before {when} UTC: nothing to delete")
                    return 0
                what = f"{traces:,} traces and {spans:,} spans started before {when} UTC"
                if not _confirm(f"Delete {what} from {where}?"):
                    raise CommandError(f"kept everything: answer y to delete {what}, or pass --yes")
            result = store.prune(before)
        print(
            f"deleted {result.traces:,} traces and {result.spans:,} spans started before {when} UTC"
        )
        return 0

    return _guarded("prune", args, action)


def _prune_counts(store: Any, before: datetime) -> tuple[int, int]:
    counts = store.query(
        "SELECT (SELECT count(*) FROM traces WHERE started_at < $before) AS traces, "
        "(SELECT count(*) FROM spans WHERE started_at < $before OR trace_id IN "
        "(SELECT trace_id FROM traces WHERE started_at < $before)) AS spans",
        {"before": before},
    ).iloc[0]
    return int(counts["traces"]), int(counts["spans"])


def _confirm(question: str) -> bool:
    """Ask on the terminal; with no one there to answer (a script, CI, a pipe), refuse to guess."""
    if not sys.stdin.isatty():
        raise CommandError(
            "not deleting without a yes: stdin is not a terminal, so nobody can answer the "
            "question. Pass --yes to delete, or --dry-run to count"
        )
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
