"""Dashboard benchmark: every query the dashboard's pages run, on a 1M-span store. One table.

    .venv/bin/python benchmarks/bench_dashboard.py                  # build 1M spans, run all
    .venv/bin/python benchmarks/bench_dashboard.py --workdir .bench --reuse   # keep the store

The store is generated inside DuckDB by bench_store.generate_store (synthetic traces of 10-20
spans over 30 days up to now, rows in time order; no Python loop over rows). Each query runs on
one warm read-only SpanStore, as the dashboard holds it: one cold run (the first after opening),
one warm-up, then --repeats timed runs; the table shows the median. The windows are the pages'
own: "all time" (the dashboard's default) and the last 24 hours.

Target (issue 7): every page's queries answer within 100 ms warm at 1M spans.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_store import generate_store

from agentoscope.dashboard import pricing, reads
from agentoscope.dashboard import queries as q
from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store.queries import trace_detail

TARGET_MS = 100.0

Case = tuple[str, str, Callable[[Any], Any]]


def cases(store: SpanStore, end: datetime) -> list[Case]:
    """(page, query, action) for everything the pages run, with representative inputs."""
    everything = q.Window()
    day = q.Window(start=end - timedelta(days=1))
    week = q.Window(start=end - timedelta(days=7))
    models = q.model_names().run(store)["model"].tolist()
    prices = q.Prices(*pricing.price_lists(models, pricing.DEFAULT_PRICES), at_defaults=True)
    newest = q.trace_page(q.TraceFilters(), limit=200).run(store)["trace_id"].tolist()
    some_trace = newest[100]
    workflow = q.named("workflows").run(store)["workflow_name"].iloc[3]
    agent = q.agent_names().run(store)["agent_name"].iloc[0]
    group = q.session_page(everything).run(store)["group_id"].iloc[10]
    hourly, six_hourly = 3600, 6 * 3600

    def run(sql: q.Sql) -> Callable[[Any], Any]:
        return lambda reader: sql.run(reader)

    def canonical(name: str, window: q.Window, **params: Any) -> Callable[[Any], Any]:
        return run(q.named(name, **q.window_params(window), **params))

    def traces_page(filters: q.TraceFilters, offset: int = 0) -> Callable[[Any], Any]:
        """Both queries of a trace list page, as the page runs them."""
        return lambda reader: reads.trace_rows(reader_runner(reader), filters, prices, 50, offset)

    traces = q.TraceFilters()
    return [
        ("all", "store overview (sidebar)", run(q.named("overview"))),
        ("all", "model names (for prices)", run(q.model_names())),
        ("traces", "workflow names", run(q.named("workflows"))),
        ("traces", "agent names", run(q.agent_names())),
        ("traces", "count, all time", run(q.trace_count(traces))),
        ("traces", "page 1, all time", traces_page(traces)),
        ("traces", "page 100, all time", traces_page(traces, offset=4950)),
        ("traces", "count, failing only", run(q.trace_count(q.TraceFilters(status="error")))),
        ("traces", "page 1, failing only", traces_page(q.TraceFilters(status="error"))),
        ("traces", "page 1, ok only", traces_page(q.TraceFilters(status="ok"))),
        ("traces", "page 1, guardrail tripped",
         traces_page(q.TraceFilters(status="guardrail"))),
        ("traces", "page 1, guardrail tripped, 24 h",
         traces_page(q.TraceFilters(window=day, status="guardrail"))),
        ("traces", "page 1, one agent", traces_page(q.TraceFilters(agent=agent))),
        ("traces", "page 1, one workflow, 7 days",
         traces_page(q.TraceFilters(window=week, workflow=workflow))),
        ("traces", "page 1, text search",
         traces_page(q.TraceFilters(search="synthetic failure"))),
        # The page's default: counted within the window the list reads ("N+" when capped).
        ("traces", "count, text search",
         lambda reader: reads.search_count(
             reader_runner(reader), q.TraceFilters(search="synthetic failure"), 51)),
        ("traces", "exact count, text search (on request)",
         run(q.trace_count(q.TraceFilters(search="synthetic failure")))),
        ("trace", "one trace and its spans", lambda reader: trace_detail(reader, some_trace)),
        ("usage", "tokens+cost per model, all time",
         run(q.usage_over_time(everything, six_hourly, "model", prices))),
        ("usage", "tokens+cost per agent, all time",
         run(q.usage_over_time(everything, six_hourly, "agent_name", prices))),
        ("usage", "tokens+cost per model, 24 h", run(q.usage_over_time(day, 900, "model", prices))),
        ("usage", "top traces by cost, all time", run(q.top_traces_by_cost(everything, prices))),
        ("usage", "top traces by cost, 24 h", run(q.top_traces_by_cost(day, prices))),
        # The page's default: estimated from the latency_hours rollup (within 2.2%).
        ("latency", "p50/95/99 per span type, all time",
         canonical("latency_by_span_type_estimated", everything)),
        ("latency", "p50/95/99 per tool, all time",
         canonical("latency_by_tool_estimated", everything)),
        ("latency", "p50/95/99 per model, all time",
         canonical("latency_by_model_estimated", everything)),
        ("latency", "p50/95/99 per span type, 24 h",
         canonical("latency_by_span_type_estimated", day)),
        ("latency", "exact p50/95/99 per span type, all time (on request)",
         canonical("latency_by_span_type", everything)),
        ("latency", "histogram, all spans, all time", run(q.latency_histogram(everything))),
        ("latency", "histogram, one span type",
         run(q.latency_histogram(everything, "span_type", "generation"))),
        ("latency", "slowest spans, all time", run(q.slowest_spans(everything))),
        ("errors", "totals, all time", run(q.error_totals(everything))),
        ("errors", "error rate over time, all time",
         run(q.errors_over_time(everything, six_hourly))),
        ("errors", "error rate over time, 24 h", run(q.errors_over_time(day, hourly // 4))),
        ("errors", "errors by type, all time", run(q.errors_by_type(everything))),
        ("errors", "failing tools, all time", run(q.failing_tools(everything))),
        ("errors", "guardrail trips, all time", run(q.guardrail_trips(everything))),
        ("errors", "guardrail trips, 24 h", run(q.guardrail_trips(day))),
        ("errors", "latest failures",
         lambda reader: reads.latest_failures(reader_runner(reader), everything, 50)),
        ("sessions", "count", run(q.session_count(everything))),
        ("sessions", "page 1 with tokens and errors",
         lambda reader: reads.session_rows(reader_runner(reader), everything)),
        ("sessions", "one conversation",
         lambda reader: reads.session_traces(reader_runner(reader), group)),
        ("sql", "tables and columns", run(q.schema_columns())),
    ]  # fmt: skip


def reader_runner(reader: Any) -> reads.Runner:
    return lambda sql: sql.run(reader)


def measure(action: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(cold ms: the first run, median warm ms after one more warm-up run)."""
    began = time.perf_counter()
    action()
    cold = (time.perf_counter() - began) * 1000
    action()
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        timings.append((time.perf_counter() - began) * 1000)
    return cold, statistics.median(timings)


def build(path: Path, spans: int, end: datetime) -> tuple[int, float]:
    began = time.perf_counter()
    with SpanStore(path) as store:
        count = generate_store(store, spans, end)
    return count, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000, help="store size")
    parser.add_argument("--repeats", type=int, default=7, help="warm runs per query (median)")
    parser.add_argument("--workdir", help="keep the store here (default: a temporary directory)")
    parser.add_argument("--reuse", action="store_true", help="reuse the store in --workdir")
    args = parser.parse_args(argv)

    end = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(args.workdir or scratch)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"dashboard-{args.spans}.duckdb"
        if args.reuse and path.exists():
            print(f"reusing {path}")
        else:
            path.unlink(missing_ok=True)
            Path(f"{path}.wal").unlink(missing_ok=True)
            count, seconds = build(path, args.spans, end)
            print(f"built {path}: {count:,} spans in {seconds:.1f} s (generated in SQL)")
        store = SpanStore(path, read_only=True)
        try:
            spans = int(q.named("overview").run(store)["spans"].iloc[0])
            rows = []
            for page, label, action in cases(store, end):
                cold, warm = measure(lambda a=action: a(store), args.repeats)
                rows.append((page, label, cold, warm))
        finally:
            store.close()

    print(f"\nDashboard queries on {spans:,} spans: warm median of {args.repeats} runs")
    print(f"{'page':<9} {'query':<36} {'cold ms':>8} {'warm ms':>8} {'target':>7} {'ratio':>6}  ")
    failures = 0
    for page, label, cold, warm in rows:
        ok = warm <= TARGET_MS
        failures += not ok
        print(
            f"{page:<9} {label:<36} {cold:>8.1f} {warm:>8.1f} {TARGET_MS:>7.0f} "
            f"{warm / TARGET_MS:>6.2f}  {'pass' if ok else 'FAIL'}"
        )
    slowest = max(rows, key=lambda row: row[3])
    print(
        f"\n{len(rows) - failures}/{len(rows)} within {TARGET_MS:.0f} ms; slowest: "
        f"{slowest[0]} / {slowest[1]} at {slowest[3]:.1f} ms. Timings are noisy on a shared "
        "machine: rerun with --workdir DIR --reuse to measure again without rebuilding."
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
