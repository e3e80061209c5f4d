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

    traces = subparsers.add_parser("traces", help="list the latest traces")
    traces.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    traces.add_argument("--workflow", help="only this workflow")
    traces.add_argument("--errors", action="store_true", help="only traces with a failing span")
    traces.add_argument("--since", help="only traces started since: ISO time (UTC) or 30m, 2h, 7d")
    traces.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _reader_options(traces)
    traces.set_defaults(handler=run_traces)

    show = subparsers.add_parser("show", help="print one trace as a span tree")
    show.add_argument("trace_id", help="a trace id, or an unambiguous start of one")
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

    export = subparsers.add_parser("export", help="write the store's tables as Parquet files")
    export.add_argument("--format", choices=("parquet",), default="parquet")
    export.add_argument("directory", metavar="DIR", help="traces.parquet and spans.parquet go here")
    export.add_argument("--store", metavar="PATH", help=STORE_HELP)
    export.set_defaults(handler=run_export)

    prune = subparsers.add_parser(
        "prune",
        help="delete traces and spans that started before a date",
        description="Delete every trace that started before DATE (with all its spans) and any "
        "other span that started before it. Needs the store read-write.",
    )
    prune.add_argument("--before", required=True, metavar="DATE", help="ISO date/time (UTC) or 30d")
    prune.add_argument("--dry-run", action="store_true", help="only count what would go")
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
    except (
        StoreLockedError,
        StoreNotFoundError,
        StoreSchemaError,
        StoreURLError,
        CommandError,
    ) as error:
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


# -- output ----------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A cell as a JSON/CSV-friendly Python value."""
    import pandas as pd

    if value is None:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy scalars and arrays (DuckDB lists)
        return value.tolist()
    if isinstance(value, float) and value != value:  # NaN
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def print_frame(frame: Any, output_format: str, max_width: int = 60) -> None:
    import orjson

    if output_format == "json":
        rows = [
            {str(column): _plain(value) for column, value in zip(frame.columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)
        ]
        sys.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif output_format == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        sys.stdout.write(format_table(frame, max_width) + "\n")


def format_table(frame: Any, max_width: int = 60) -> str:
    if frame.empty:
        return "(no rows)" if len(frame.columns) else "(no result)"
    header = [str(column) for column in frame.columns]
    body = [
        [_cell(value, max_width) for value in row]
        for row in frame.itertuples(index=False, name=None)
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = [frame[column].dtype.kind in "iuf" for column in frame.columns]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    rows = [line(header), line(["-" * width for width in widths])]
    rows += [line(cells) for cells in body]
    rows.append(f"({len(body)} row{'s' if len(body) != 1 else ''})")
    return "\n".join(rows)


def _cell(value: Any, max_width: int) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    else:
        text = str(value).replace("\n", " ")
    if len(text) > max_width > 1:
        text = text[: max_width - 1] + "…"
    return text


# -- commands --------------------------------------------------------------------------------------


def run_sql(args: argparse.Namespace) -> int:
    def action(args: argparse.Namespace) -> int:
        params = _params(args.param)
        with open_reader(args) as reader:
            frame = reader.query(args.query, params)
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
                    (name or "") + (" (running)" if running else "")
                    for name, running in zip(frame["workflow_name"], frame["running"], strict=True)
                ],
                "duration": [format_duration(_plain(value)) for value in frame["duration_ms"]],
                "spans": frame["span_count"],
                "tokens": frame["total_tokens"],
                "errors": frame["error_count"],
            }
        )
        print_frame(table, "table", 60)
        return 0

    return _guarded("traces", args, action)


def _short_time(value: Any) -> str:
    plain = _plain(value)
    return plain[:19].replace("T", " ") if isinstance(plain, str) else ""


def run_show(args: argparse.Namespace) -> int:
    from agentoscope.tracing.store.queries import find_trace_id, trace_detail
    from agentoscope.tracing.tree import render_trace

    def action(args: argparse.Namespace) -> int:
        with open_reader(args) as reader:
            try:
                trace_id = find_trace_id(reader, args.trace_id)
            except ValueError as error:
                raise CommandError(str(error)) from None
            if trace_id is None:
                raise CommandError(f"no trace {args.trace_id!r} in the store")
            trace, spans = trace_detail(reader, trace_id)
        color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
        records = [span_record_from_row(row) for row in spans.to_dict("records")]
        trace_row = trace_record_from_row(trace)
        if trace_row and trace_row.get("inferred"):
            trace_row["workflow_name"] = None  # render_trace shows "(trace not finished)"
        print(render_trace(trace_row, records, color=color))
        return 0

    return _guarded("show", args, action)


def trace_record_from_row(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """A `traces` row as the record shape `render_trace` reads."""
    return {key: _plain(value) for key, value in (row or {}).items()} or None


def span_record_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A `spans` row (from the store or a server) as the record shape `render_trace` reads."""
    import orjson

    record = {key: _plain(value) for key, value in row.items()}
    for key in ("data", "error", "metadata"):
        if isinstance(record.get(key), str):
            try:
                record[key] = orjson.loads(record[key])
            except orjson.JSONDecodeError:
                pass
    return record


def run_ingest(args: argparse.Namespace) -> int:
    from agentoscope.tracing.store import open_store

    def action(args: argparse.Namespace) -> int:
        shown = 0

        def on_malformed(line: Any) -> None:
            nonlocal shown
            shown += 1
            if shown <= MAX_LISTED_PROBLEMS:
                print(f"{line}", file=sys.stderr)

        with open_store(args.store) as store:
            report = store.ingest_jsonl(args.files, on_malformed=on_malformed)
            where = store.path
        if shown > MAX_LISTED_PROBLEMS:
            print(f"... and {shown - MAX_LISTED_PROBLEMS} more malformed lines", file=sys.stderr)
        print(f"ingested {report} into {where}")
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
                counts = store.query(
                    "SELECT (SELECT count(*) FROM traces WHERE started_at < $before) AS traces, "
                    "(SELECT count(*) FROM spans WHERE started_at < $before OR trace_id IN "
                    "(SELECT trace_id FROM traces WHERE started_at < $before)) AS spans",
                    {"before": before},
                ).iloc[0]
            print(
                f"would delete {int(counts['traces']):,} traces and {int(counts['spans']):,} "
                f"spans started before {when} UTC"
            )
            return 0
        if url.is_clickhouse:
            with open_store(url) as store:
                result = store.prune(before)
        else:
            path = default_store_path(args.store)
            if not path.exists():  # a mistyped --store must not create an empty store
                raise StoreNotFoundError(f"no store at {path}: nothing to prune")
            with SpanStore(path) as store:
                result = store.prune(before)
        print(
            f"deleted {result.traces:,} traces and {result.spans:,} spans started before {when} UTC"
        )
        return 0

    return _guarded("prune", args, action)
