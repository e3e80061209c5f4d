"""`agentoscope demo`: run the sample workflows, trace them into JSONL and DuckDB, then open the
dashboard on the result. Offline by default; `--model openai` runs the same agents on OpenAI."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, cast

SUMMARY_SQL = """
SELECT t.workflow_name AS workflow,
       count(DISTINCT t.trace_id) AS traces,
       count(s.span_id) AS spans,
       coalesce(sum(s.input_tokens + s.output_tokens), 0)::BIGINT AS tokens,
       count(*) FILTER (WHERE s.status = 'error') AS errors,
       round(median(t.duration_ms))::BIGINT AS median_ms
FROM traces t LEFT JOIN spans s USING (trace_id)
WHERE t.trace_id IN (SELECT unnest(?::VARCHAR[]))
GROUP BY ALL ORDER BY workflow
"""
KINDS_SQL = """
SELECT span_type, count(*) AS spans FROM spans
WHERE trace_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL ORDER BY spans DESC
"""
ERRORS_SQL = """
SELECT span_type, name, error_type, error_message FROM spans
WHERE status = 'error' AND trace_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY started_at
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run sample agent workflows, trace them to JSONL and DuckDB, open the dashboard",
        description=(
            "Runs a support desk of agents (handoffs, tools, a tripped guardrail, structured "
            "output, a failing tool that is retried, a three-turn session, a voice line and a "
            "parallel batch), traces everything into JSONL and a DuckDB store, prints a summary "
            "and opens the dashboard. Offline by default: no API key, no server."
        ),
    )
    parser.add_argument(
        "--model",
        choices=("scripted", "openai"),
        default="scripted",
        help="scripted (offline, the default) or openai (needs OPENAI_API_KEY)",
    )
    parser.add_argument(
        "--store",
        metavar="PATH",
        help="DuckDB store file (default: as `sql`; a ClickHouse URL is refused)",
    )
    parser.add_argument("--jsonl", metavar="PATH", help="JSONL file (default: beside the store)")
    parser.add_argument("--batch", type=int, default=8, help="runs in the parallel batch")
    parser.add_argument("--no-dashboard", action="store_true", help="do not start the dashboard")
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    parser.add_argument("--seed", type=int, default=7, help="seed for the scripted answers")
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from agentoscope import tracing
    from agentoscope.tracing.store import default_store_path

    console = Console(stderr=True)
    if not console.is_terminal:
        # In a log file a line is a line: no wrapping at a guessed 80 columns.
        console.soft_wrap = True
    online = args.model == "openai"
    if online and not os.environ.get("OPENAI_API_KEY"):
        console.print("[red]--model openai needs OPENAI_API_KEY[/red]; run without it offline.")
        return 2
    problem = _not_a_file(args.store)
    if problem:
        print(f"agentoscope demo: {problem}", file=sys.stderr)
        return 2
    store_path = default_store_path(args.store).resolve()
    store_path.parent.mkdir(parents=True, exist_ok=True)
    jsonl_path = Path(args.jsonl) if args.jsonl else store_path.with_name("traces.jsonl")
    session_db = store_path.with_name("demo-sessions.sqlite")

    collector = _TraceIds()
    try:
        tracing.configure(jsonl=jsonl_path, duckdb=store_path, processors=[collector])
    except tracing.StoreLockedError as error:
        console.print(f"[red]{error}[/red]")
        return 1
    console.print(
        f"[bold]Agentoscope demo[/bold] ({'OpenAI' if online else 'offline, scripted models'})"
        f"\n  traces -> {jsonl_path}\n  store  -> {store_path}"
    )
    results = _run_with_progress(console, online, session_db, args.batch, args.seed)
    tracing.flush_traces()
    stats = tracing.stats()
    tracing.shutdown_tracing()  # releases the store for the dashboard and the summary
    tracing.set_trace_processors([])

    failed = [r for r in results if not r.ok]
    _print_summary(console, store_path, collector.trace_ids, stats)
    if failed:
        for result in failed:
            console.print(f"[red]{result.name}: {result.detail}[/red]")
        return 1
    if args.no_dashboard:
        console.print(f"Open it with: agentoscope dashboard --store {store_path}", soft_wrap=True)
        return 0
    from .dashboard_command import run_dashboard

    dashboard_args = argparse.Namespace(
        store=str(store_path), server=None, token=None, port=args.port, host="127.0.0.1"
    )
    return run_dashboard(dashboard_args)


def _not_a_file(explicit: str | None) -> str | None:
    """Why the demo cannot use the store asked for, or None. It writes a DuckDB file only: its
    summary is DuckDB SQL and its session and JSONL files live beside the store."""
    from agentoscope.tracing.store import STORE_ENV, StoreURLError, store_url

    given = "--store" if explicit else STORE_ENV
    try:
        url = store_url(explicit)
    except StoreURLError as error:
        return f"{given}: {error}"
    if url.engine == "duckdb":
        return None
    return (
        f"{given} is a ClickHouse store ({url.describe()}); the demo writes a DuckDB file only: "
        "give it one with --store demo.duckdb (its traces.jsonl can then go to ClickHouse with "
        "`agentoscope ingest`)"
    )


class _TraceIds:
    """Remembers the ids of the traces this demo run made, for its summary."""

    skip_own_span_starts = True

    def __init__(self) -> None:
        self.trace_ids: list[str] = []

    def on_trace_start(self, trace: Any) -> None:
        self.trace_ids.append(trace.trace_id)

    def on_trace_end(self, trace: Any) -> None: ...
    def on_span_start(self, span: Any) -> None: ...
    def on_span_end(self, span: Any) -> None: ...
    def shutdown(self) -> None: ...
    def force_flush(self) -> None: ...


def _run_with_progress(
    console: Any, online: bool, session_db: Path, batch: int, seed: int
) -> list[Any]:
    from .demo_workflows import expected_runs, run_all

    total = expected_runs(batch)

    def run(on_result: Any) -> list[Any]:
        return asyncio.run(
            run_all(
                online=online,
                session_db=session_db,
                batch_size=batch,
                on_result=on_result,
                seed=seed,
            )
        )

    if not console.is_terminal:
        # A file or a pipe gets no live bar (it would collapse to its last frame): one line
        # per finished run, the counter first.
        done = 0

        def log_result(result: Any) -> None:
            nonlocal done
            done += 1
            console.print(progress_line(done, total, result), markup=False, highlight=False)

        return run(log_result)
    return run_with_bar(console, total, run)


def progress_line(done: int, total: int, result: Any) -> str:
    """`[ 3/17] ✓ Support desk: <detail>`: one finished run, as a log line."""
    mark = "✓" if result.ok else "✗"
    detail = " ".join(str(result.detail).split())
    return f"[{done:>{len(str(total))}}/{total}] {mark} {result.name}: {detail}"


def run_with_bar(console: Any, total: int, run: Any) -> list[Any]:
    """A live bar on a terminal. The counter and the workflow keep their width at any terminal
    width; only the run's detail gives way (cut with an ellipsis)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Column

    with Progress(
        MofNCompleteColumn(table_column=Column(no_wrap=True, min_width=5)),
        BarColumn(bar_width=16),
        TextColumn("[bold blue]{task.description}", table_column=Column(no_wrap=True)),
        TextColumn(
            "{task.fields[detail]}",
            style="dim",
            table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
        ),
        console=console,
        transient=False,
        expand=True,
    ) as progress:
        task = progress.add_task("running", total=total, detail="")

        def on_result(result: Any) -> None:
            mark = "✓" if result.ok else "✗"
            detail = " ".join(str(result.detail).split())
            progress.update(task, advance=1, description=result.name, detail=f"{mark} {detail}")

        return cast(list[Any], run(on_result))


def _print_summary(
    console: Any, store_path: Path, trace_ids: list[str], stats: dict[str, Any]
) -> None:
    from rich.table import Table
    from rich.text import Text

    from agentoscope.tracing import SpanStore
    from agentoscope.tracing.store.queries import trace_detail

    from .trace_view import render_rows

    with SpanStore(store_path, read_only=True) as store:
        summary = store.query(SUMMARY_SQL, [trace_ids])
        kinds = store.query(KINDS_SQL, [trace_ids])
        errors = store.query(ERRORS_SQL, [trace_ids])
        refund = store.query(
            "SELECT trace_id FROM spans WHERE tool_name = 'issue_refund' AND status = 'error' "
            "AND trace_id IN (SELECT unnest(?::VARCHAR[])) LIMIT 1",
            [trace_ids],
        )
        detail = trace_detail(store, refund.iloc[0, 0]) if len(refund) else None
    if detail is not None:
        trace, spans = detail
        console.print("\nOne trace: the refund whose tool failed once and was retried\n")
        console.print(
            Text.from_ansi(
                render_rows(
                    trace,
                    spans,
                    color=console.is_terminal,
                    width=console.width if console.is_terminal else None,
                )
            ),
            soft_wrap=True,  # already folded between phrases to the terminal's width
        )

    table = Table(title="Traced workflows", title_justify="left")
    for column in summary.columns:
        table.add_column(column, justify="left" if column == "workflow" else "right")
    for _, row in summary.iterrows():
        table.add_row(*(str(value) for value in row))
    console.print(table)
    kind_counts = [f"{row.span_type} {row.spans}" for row in kinds.itertuples(index=False)]
    console.print(
        listed("Span kinds: ", kind_counts, console.width if console.is_terminal else None),
        soft_wrap=True,
    )
    for row in errors.itertuples(index=False):
        console.print(f"  [red]✗[/red] {row.span_type} {row.name}: {row.error_type}")
    lost = {name: s for name, s in stats.items() if s.get("dropped") or s.get("errors")}
    console.print(
        "Tracing: nothing dropped, no processor errors"
        if not lost
        else f"[yellow]Tracing problems: {lost}[/yellow]"
    )


def listed(lead: str, items: list[str], width: int | None) -> str:
    """`lead` and the items joined by commas; with `width`, lines broken between items only
    (never "handoff⏎11"), continued under the first item."""
    if width is None:
        return lead + ", ".join(items)
    lines, current = [], lead
    for position, item in enumerate(items):
        piece = item + ("," if position < len(items) - 1 else "")
        if current.strip() and len(current) + 1 + len(piece) > width and current != lead:
            lines.append(current.rstrip())
            current = " " * len(lead)
        current += piece if current in (lead, " " * len(lead)) else " " + piece
    lines.append(current)
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    from .main import main

    sys.exit(main(["demo", *sys.argv[1:]]))
