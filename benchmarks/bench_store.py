"""Store benchmark: ingest rates and dashboard query latency. One command, one table.

    .venv/bin/python benchmarks/bench_store.py                  # queries at 1M and 10M spans
    .venv/bin/python benchmarks/bench_store.py --sizes 1000000  # queries at 1M only (faster)

1. Ingest through `DuckDBProcessor.export` (records -> Arrow -> dedup -> insert -> trace rows,
   one transaction per 10k-record batch), side by side with raw pyarrow inserts of the same rows
   (`INSERT INTO spans SELECT * FROM arrow_table`, no dedup, no trace rows) in the same run,
   alternating rounds; the ratio is ours / raw.
2. The `agentoscope ingest` command (a new process: start, imports and the final checkpoint
   included) on the smallest query store written out as JSONL (1M spans, an 800 MB file): the
   row the JSONL target applies to. Beside it, `SpanStore.ingest_jsonl` (what the command runs)
   in-process on section 1's records as one file.
3. Query latency on a warm connection (median of --repeats runs after one warm-up) for the
   queries in `agentoscope.tracing.store.queries`, on stores of each size, generated inside DuckDB
   (synthetic traces of 10-20 spans over 30 days up to now, rows in time order).

Targets (issue 3): ingest >= 100k spans/s and within 20% of raw pyarrow; `agentoscope ingest` of
JSONL >= 300k spans/s;
latest traces <= 20 ms, one trace <= 10 ms, tokens/model/hour over 7 days <= 50 ms, latency
percentiles over 24 h <= 50 ms and over 30 days <= 300 ms, error rate per agent per day <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from agentoscope.tracing.clock import iso_from_ns
from agentoscope.tracing.processors.duckdb import DuckDBProcessor
from agentoscope.tracing.store import SpanStore
from agentoscope.tracing.store.arrow import span_table, trace_table
from agentoscope.tracing.store.queries import latest_traces, run, trace_detail
from agentoscope.tracing.store.schema import SPAN_COLUMN_NAMES

WORKFLOWS = [f"workflow_{k:02d}" for k in range(12)]
AGENTS = [f"agent_{k}" for k in range(10)]
MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o4-mini", "gpt-5-mini"]
TOOLS = [f"tool_{k:02d}" for k in range(24)]
DAYS = 30

# j, span_type, parent j (-1: the trace's root). A trace keeps the first 10-20 rows: a triage
# agent, a guardrail, model calls and tool calls, a handoff, then a specialist agent's work.
TEMPLATE = """(VALUES
    (0, 'agent', -1), (1, 'guardrail', 0), (2, 'generation', 0), (3, 'function', 0),
    (4, 'generation', 0), (5, 'handoff', 0), (6, 'agent', -1), (7, 'generation', 6),
    (8, 'function', 6), (9, 'guardrail', 6), (10, 'generation', 6), (11, 'function', 6),
    (12, 'custom', 6), (13, 'generation', 6), (14, 'function', 6), (15, 'guardrail', 6),
    (16, 'function', 6), (17, 'generation', 6), (18, 'custom', 6), (19, 'handoff', 6)
) AS template(j, span_type, parent_j)"""
SPAN_STEP_MS = 120


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{value}'" for value in values) + "]"


# -- synthetic stores, generated in SQL ----------------------------------------------------------


def generate_store(store: SpanStore, spans: int, end: datetime, chunk_traces: int = 80_000) -> int:
    """Fill an empty store with about `spans` spans of traces spread evenly over 30 days up to
    `end`. Generated in chunks of traces, each chunk inserted in start order."""
    con = store._cursor  # the benchmark writes rows directly, as a bulk loader would
    traces = max(1, round(spans / 15))
    start = end - timedelta(days=DAYS)
    step_us = DAYS * 86_400_000_000 // traces
    con.execute("CREATE OR REPLACE TEMP MACRO h(a, b) AS CAST(hash(a, b) % 1000000007 AS BIGINT)")
    for first in range(0, traces, chunk_traces):
        last = min(traces, first + chunk_traces)
        _generate_chunk(con, first, last, start, step_us)
    con.execute("CHECKPOINT")
    return int(con.execute("SELECT count(*) FROM spans").fetchone()[0])


def _generate_chunk(con: Any, first: int, last: int, start: datetime, step_us: int) -> None:
    con.execute(
        f"""
CREATE OR REPLACE TEMP TABLE synthetic_traces AS
SELECT i, 'trace_' || md5(i::VARCHAR) AS trace_id,
       {_sql_list(WORKFLOWS)}[1 + h(i, 'w') % {len(WORKFLOWS)}] AS workflow_name,
       CASE WHEN h(i, 'g') % 3 = 0 THEN 'group_' || (i // 4) END AS group_id,
       TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' + to_microseconds(i * {step_us}) AS started_at,
       10 + h(i, 'n') % 11 AS n_spans,
       {_sql_list(AGENTS)}[1 + h(i, 'a') % {len(AGENTS)}] AS triage,
       {_sql_list(AGENTS)}[1 + h(i, 'b') % {len(AGENTS)}] AS specialist
FROM range({first}, {last}) AS r(i)"""
    )
    con.execute(
        f"""
INSERT INTO traces (trace_id, workflow_name, group_id, metadata, started_at, ended_at,
                    duration_ms)
SELECT trace_id, workflow_name, group_id, NULL, started_at,
       started_at + to_milliseconds((n_spans + 2) * {SPAN_STEP_MS}),
       (n_spans + 2) * {SPAN_STEP_MS}
FROM synthetic_traces ORDER BY started_at"""
    )
    con.execute(
        f"""
INSERT INTO spans
WITH rows AS (
    SELECT t.*, template.*,
           'span_' || left(md5(t.i::VARCHAR || '/' || j), 24) AS span_id,
           CASE WHEN parent_j < 0 THEN NULL
                ELSE 'span_' || left(md5(t.i::VARCHAR || '/' || parent_j), 24) END AS parent_id,
           CASE WHEN j < 6 THEN triage ELSE specialist END AS agent,
           {_sql_list(MODELS)}[1 + h(t.i * 32 + j, 'm') % {len(MODELS)}] AS model_pick,
           {_sql_list(TOOLS)}[1 + h(t.i * 32 + j, 't') % {len(TOOLS)}] AS tool_pick,
           h(t.i * 32 + j, 'e') % 1000 < 15 AS failed,
           CASE span_type
               WHEN 'generation' THEN 200 + h(t.i * 32 + j, 'd') % 2800
               WHEN 'function' THEN 5 + h(t.i * 32 + j, 'd') % 495
               WHEN 'agent' THEN (n_spans - j + 1) * {SPAN_STEP_MS}
               ELSE 1 + h(t.i * 32 + j, 'd') % 49 END AS span_ms,
           50 + h(t.i * 32 + j, 'in') % 3950 AS in_tok,
           10 + h(t.i * 32 + j, 'out') % 790 AS out_tok
    FROM synthetic_traces AS t JOIN {TEMPLATE} ON template.j < t.n_spans
)
SELECT trace_id, span_id, parent_id, span_type,
       CASE span_type WHEN 'agent' THEN agent WHEN 'generation' THEN model_pick
            WHEN 'function' THEN tool_pick WHEN 'guardrail' THEN 'policy_check'
            WHEN 'handoff' THEN triage || ' -> ' || specialist ELSE 'custom_step' END,
       agent,
       CASE WHEN span_type = 'function' THEN tool_pick END,
       CASE WHEN span_type = 'generation' THEN model_pick END,
       started_at + to_milliseconds(j * {SPAN_STEP_MS}),
       started_at + to_milliseconds(j * {SPAN_STEP_MS} + span_ms),
       span_ms::DOUBLE,
       CASE WHEN failed THEN 'error' ELSE 'ok' END,
       CASE WHEN failed THEN 'ValueError' END,
       CASE WHEN failed THEN 'synthetic failure' END,
       CASE WHEN span_type = 'generation' THEN in_tok END,
       CASE WHEN span_type = 'generation' THEN out_tok END,
       CASE WHEN span_type = 'generation' THEN in_tok + out_tok END,
       CASE WHEN span_type = 'generation' THEN in_tok // 4 END,
       CASE WHEN span_type = 'generation' AND model_pick LIKE 'o%' THEN out_tok // 2 END,
       CASE span_type
           WHEN 'generation' THEN '{{"type":"generation","model":"' || model_pick
               || '","input":[{{"role":"user","content":"question ' || i
               || ' about an order that did not arrive"}}],"output":[{{"role":"assistant",'
               || '"content":"an answer of moderate length for trace ' || i || '"}}],'
               || '"usage":{{"input_tokens":' || in_tok || ',"output_tokens":' || out_tok
               || '}}}}'
           WHEN 'function' THEN '{{"type":"function","name":"' || tool_pick
               || '","input":"{{\\"order\\": ' || i || '}}","output":"result ' || i || '"}}'
           WHEN 'guardrail' THEN '{{"type":"guardrail","name":"policy_check","triggered":'
               || (h(i, j) % 100 < 3)::VARCHAR || '}}'
           WHEN 'handoff' THEN '{{"type":"handoff","from_agent":"' || triage
               || '","to_agent":"' || specialist || '"}}'
           WHEN 'agent' THEN '{{"type":"agent","name":"' || agent
               || '","handoffs":["' || specialist || '"],"tools":["lookup","refund"]}}'
           ELSE '{{"type":"custom","name":"custom_step","data":{{"j":' || j || '}}}}'
       END,
       CASE WHEN failed THEN '{{"message":"synthetic failure","data":{{"type":"ValueError"}}}}'
       END,
       NULL,
       CASE WHEN span_type = 'guardrail' THEN h(i, j) % 100 < 3 END
FROM rows ORDER BY 9, 2"""
    )


# -- synthetic records, for the ingest paths ------------------------------------------------------


def synthetic_records(spans: int, seed: int = 7) -> list[dict[str, Any]]:
    """Span and trace records as the tracing core makes them (ended spans, then their trace),
    traces of 10-20 spans, starting now and 50 ms apart."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    clock = time.time_ns()
    while True:
        trace_id = f"trace_{rng.getrandbits(128):032x}"
        count = rng.randint(10, 20)
        agent = rng.choice(AGENTS)
        root = f"span_{rng.getrandbits(96):024x}"
        begin = clock
        for j in range(1, count):
            span_type = rng.choice(
                (
                    "generation",
                    "generation",
                    "function",
                    "function",
                    "guardrail",
                    "handoff",
                    "custom",
                )
            )
            started = begin + j * 2_000_000
            records.append(_span(rng, trace_id, root, span_type, agent, started))
        finish = begin + (count + 1) * 2_000_000
        records.append(
            _record(
                trace_id,
                root,
                None,
                "agent",
                agent,
                agent,
                None,
                None,
                begin,
                finish,
                {
                    "type": "agent",
                    "name": agent,
                    "handoffs": [],
                    "tools": TOOLS[:3],
                    "output_type": "str",
                },
                None,
            )
        )
        records.append(
            {
                "v": 1,
                "kind": "trace",
                "trace_id": trace_id,
                "workflow_name": rng.choice(WORKFLOWS),
                "group_id": None,
                "metadata": None,
                "started_at": iso_from_ns(begin),
                "ended_at": iso_from_ns(finish + 1000),
                "duration_ms": (finish - begin) / 1e6,
            }
        )
        clock += 50_000_000
        if len(records) >= spans * 16 // 15:
            break
    return records


def _span(
    rng: random.Random, trace_id: str, root: str, span_type: str, agent: str, started: int
) -> dict[str, Any]:
    model = tool = None
    data: dict[str, Any] = {"type": span_type}
    if span_type == "generation":
        model = rng.choice(MODELS)
        tokens = (rng.randint(50, 4000), rng.randint(10, 800))
        data.update(
            model=model,
            input=[{"role": "user", "content": "question about an order that did not arrive"}],
            output=[{"role": "assistant", "content": "an answer of moderate length"}],
            usage={"input_tokens": tokens[0], "output_tokens": tokens[1]},
        )
    elif span_type == "function":
        tool = rng.choice(TOOLS)
        data.update(name=tool, input='{"order": 42}', output="result text")
    else:
        data["name"] = span_type
    record = _record(
        trace_id,
        f"span_{rng.getrandbits(96):024x}",
        root,
        span_type,
        tool or model or span_type,
        agent,
        tool,
        model,
        started,
        started + rng.randint(1, 1500) * 1000,
        data,
        {"message": "boom", "data": {"type": "ValueError"}} if rng.random() < 0.015 else None,
    )
    if model:
        record.update(input_tokens=tokens[0], output_tokens=tokens[1], total_tokens=sum(tokens))
    return record


def _record(
    trace_id: str,
    span_id: str,
    parent_id: str | None,
    span_type: str,
    name: str,
    agent: str,
    tool: str | None,
    model: str | None,
    started: int,
    ended: int,
    data: dict[str, Any],
    error: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "span",
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_id": parent_id,
        "span_type": span_type,
        "name": name,
        "agent_name": agent,
        "tool_name": tool,
        "model": model,
        "started_at": iso_from_ns(started),
        "ended_at": iso_from_ns(ended),
        "duration_ms": (ended - started) / 1e6,
        "status": "error" if error else "ok",
        "error_type": "ValueError" if error else None,
        "error_message": "boom" if error else None,
        "input_tokens": None,
        "output_tokens": None,
        "total_tokens": None,
        "cached_input_tokens": None,
        "reasoning_tokens": None,
        "triggered": bool(data.get("triggered")) if span_type == "guardrail" else None,
        "data": data,
        "error": error,
        "metadata": None,
    }


# -- measurements ---------------------------------------------------------------------------------


def _fresh(directory: Path, name: str) -> Path:
    path = directory / name
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
    return path


@dataclass
class Timing:
    """Best wall-clock and best CPU seconds (all threads of this process) over rounds."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def measure(self, action: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)
        return result


def bench_processor_vs_raw(
    directory: Path, records: list[dict[str, Any]], rounds: int, batch: int
) -> tuple[Timing, Timing, int]:
    """DuckDBProcessor.export against raw pyarrow inserts of the same span and trace rows (plain
    INSERTs of Arrow tables built by the same code, no dedup, no inferred trace rows, no
    agent fill), alternating, `rounds` times each."""
    batches = [records[i : i + batch] for i in range(0, len(records), batch)]
    spans = sum(1 for record in records if record["kind"] == "span")
    ours, raw = Timing(), Timing()

    def through_processor() -> None:
        processor = DuckDBProcessor(_fresh(directory, "processor.duckdb"))
        for chunk in batches:
            processor.export(chunk)
        processor.close()

    def raw_inserts() -> None:
        store = SpanStore(_fresh(directory, "raw.duckdb"))
        cursor = store._cursor  # the baseline writes rows directly
        for chunk in batches:
            cursor.register("arrow_spans", span_table([r for r in chunk if r["kind"] == "span"]))
            cursor.register("arrow_traces", trace_table([r for r in chunk if r["kind"] == "trace"]))
            cursor.execute("INSERT INTO spans SELECT * FROM arrow_spans")
            cursor.execute(
                "INSERT INTO traces (trace_id, workflow_name, group_id, metadata, started_at, "
                "ended_at, duration_ms) SELECT * FROM arrow_traces"
            )
            cursor.unregister("arrow_spans")
            cursor.unregister("arrow_traces")
        store.close()

    for _ in range(rounds):
        ours.measure(through_processor)
        raw.measure(raw_inserts)
    return ours, raw, spans


def bench_jsonl(directory: Path, records: list[dict[str, Any]], rounds: int) -> tuple[Timing, int]:
    """`SpanStore.ingest_jsonl` (what `agentoscope ingest` runs) of the records as one file,
    into a new store, closing it (the final checkpoint) included."""
    source = directory / "records.jsonl"
    with open(source, "wb") as handle:
        handle.write(b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records))
    spans = sum(1 for record in records if record["kind"] == "span")
    timing = Timing()

    def ingest() -> Any:
        with SpanStore(_fresh(directory, "jsonl.duckdb")) as store:
            return store.ingest_jsonl(source)

    for _ in range(rounds):
        report = timing.measure(ingest)
        assert report.spans == spans and report.fast_files == 1, report
    return timing, spans


def _median_ms(action: Callable[[], Any], repeats: int) -> float:
    action()  # warm-up
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        action()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def query_cases(end: datetime) -> list[tuple[str, float, Callable[[SpanStore], Any]]]:
    day, week, month = (end - timedelta(days=d) for d in (1, 7, 30))
    return [
        ("latest 50 traces (span count, tokens, errors)", 20, lambda s: latest_traces(s)),
        (
            "latest 50 traces of one workflow",
            20,
            lambda s: latest_traces(s, workflow=WORKFLOWS[3]),
        ),
        (
            "latest 50 failing traces, last 7 days",
            20,
            lambda s: latest_traces(s, errors_only=True, since=week),
        ),
        ("all spans of one trace (time hint)", 10, None),  # filled per store
        (
            "tokens per model per hour, 7 days",
            50,
            lambda s: run(s, "tokens_per_model_per_hour", since=week),
        ),
        (
            "p50/p95/p99 per span type, 24 h",
            50,
            lambda s: run(s, "latency_by_span_type", since=day),
        ),
        ("p50/p95/p99 per tool, 24 h", 50, lambda s: run(s, "latency_by_tool", since=day)),
        ("p50/p95/p99 per model, 24 h", 50, lambda s: run(s, "latency_by_model", since=day)),
        (
            "p50/p95/p99 per span type, 30 days",
            300,
            lambda s: run(s, "latency_by_span_type", since=month),
        ),
        ("p50/p95/p99 per tool, 30 days", 300, lambda s: run(s, "latency_by_tool", since=month)),
        ("p50/p95/p99 per model, 30 days", 300, lambda s: run(s, "latency_by_model", since=month)),
        # What the dashboard runs beyond 7 days: bucketed percentiles, within 0.55% of exact.
        *(
            (
                f"  estimated, per {label}, 30 days",
                300,
                lambda s, name=name: run(s, f"{name}_estimated", since=month),
            )
            for label, name in (
                ("span type", "latency_by_span_type"),
                ("tool", "latency_by_tool"),
                ("model", "latency_by_model"),
            )
        ),
        (
            "error rate per agent per day, 7 days",
            50,
            lambda s: run(s, "error_rate_per_agent_per_day", since=week),
        ),
        (
            "error rate per agent per day, 30 days",
            50,
            lambda s: run(s, "error_rate_per_agent_per_day", since=month),
        ),
    ]


def bench_queries(
    directory: Path, sizes: list[int], repeats: int, reuse: bool
) -> tuple[dict[int, dict[str, float]], dict[int, float]]:
    end = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    results: dict[int, dict[str, float]] = {}
    build_seconds: dict[int, float] = {}
    for size in sizes:
        path = directory / f"synthetic-{size}.duckdb"
        if not (reuse and path.exists()):
            _fresh(directory, path.name)
            began = time.perf_counter()
            with SpanStore(path) as store:
                generate_store(store, size, end)
                store.rebuild_rollups()  # generate_store wrote its rows with its own SQL
            build_seconds[size] = time.perf_counter() - began
        else:
            with SpanStore(path):  # a reused store: migrated, and its rollups brought up to date
                pass
        store = SpanStore(path, read_only=True)
        try:
            picks = run(store, "latest_traces", limit=200)["trace_id"].tolist()[::40]
            results[size] = {}
            for label, _target, action in query_cases(end):
                if action is None:
                    timings = [
                        _median_ms(lambda t=trace_id, s=store: trace_detail(s, t), repeats)
                        for trace_id in picks
                    ]
                    results[size][label] = statistics.median(timings)
                else:
                    results[size][label] = _median_ms(lambda a=action, s=store: a(s), repeats)
        finally:
            store.close()
    return results, build_seconds


def bench_cli_ingest(directory: Path, source_store: Path, runs: int) -> tuple[list[float], int]:
    """`agentoscope ingest FILE.jsonl` as a user runs it (a new process, import time and the
    final checkpoint included), on the records of a generated store written out as JSONL, into
    a new store each run. Returns the seconds of each run."""
    source = directory / "cli-records.jsonl"
    with SpanStore(source_store, read_only=True) as store:
        cursor = store._cursor
        iso = "strftime({0}, '%Y-%m-%dT%H:%M:%S.%f+00:00') AS {0}"
        columns = ", ".join(
            iso.format(name) if name in ("started_at", "ended_at") else name
            for name in SPAN_COLUMN_NAMES
        )
        quoted = str(source).replace("'", "''")
        cursor.execute(
            f"COPY (SELECT 1 AS v, 'span' AS kind, {columns} FROM spans "
            "UNION ALL BY NAME SELECT 1 AS v, 'trace' AS kind, trace_id, workflow_name, "
            f"group_id, metadata, {iso.format('started_at')}, {iso.format('ended_at')}, "
            f"duration_ms FROM traces) TO '{quoted}' (FORMAT json)"
        )
        spans = int(cursor.execute("SELECT count(*) FROM spans").fetchall()[0][0])
    command = shutil.which("agentoscope", path=str(Path(sys.executable).parent)) or "agentoscope"
    seconds = []
    for _ in range(runs):
        target = _fresh(directory, "cli-ingest.duckdb")
        began = time.perf_counter()
        subprocess.run(
            [command, "ingest", str(source), "--store", str(target)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds.append(time.perf_counter() - began)
    return seconds, spans


# -- the table -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ingest-spans", type=int, default=200_000)
    parser.add_argument("--sizes", default="1000000,10000000", help="store sizes for queries")
    parser.add_argument("--rounds", type=int, default=3, help="ingest rounds (best is kept)")
    parser.add_argument(
        "--command-runs", type=int, default=5, help="runs of `agentoscope ingest` (median shown)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="warm runs per query (median)")
    parser.add_argument("--batch", type=int, default=10_000, help="records per ingest batch")
    parser.add_argument("--workdir", help="keep stores here (default: a temporary directory)")
    parser.add_argument("--reuse", action="store_true", help="reuse stores in --workdir")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]

    with tempfile.TemporaryDirectory(prefix="bench-store-") as scratch:
        directory = Path(args.workdir or scratch)
        directory.mkdir(parents=True, exist_ok=True)
        records = synthetic_records(args.ingest_spans)
        ours, raw, spans = bench_processor_vs_raw(directory, records, args.rounds, args.batch)
        jsonl, jsonl_spans = bench_jsonl(directory, records, args.rounds)
        queries, builds = bench_queries(directory, sizes, args.repeats, args.reuse)
        cli_seconds, cli_spans = bench_cli_ingest(
            directory, directory / f"synthetic-{min(sizes)}.duckdb", args.command_runs
        )

    load = os.getloadavg()[0]
    print(
        f"\nIngest: {spans:,} spans in traces of 10-20, batches of {args.batch:,} records, best "
        f"of {args.rounds} alternating rounds; {os.cpu_count()} cores, load average {load:.1f} "
        "at the start (other processes share the machine: CPU-seconds are the steadier figure)"
    )
    print(f"{'path':<58}{'spans/s':>11}{'per CPU-s':>11}{'target':>12}")
    rows = [
        ("DuckDBProcessor.export (dedup, trace rows, agent fill)", ours, ">= 100,000"),
        ("raw pyarrow INSERTs of the same span and trace rows", raw, ""),
        # In-process, on the smaller file of this section: per-file costs weigh more, and DuckDB
        # inserts ~1.6 row groups of staged rows on little more than one core.
        ("SpanStore.ingest_jsonl of the same records, one file", jsonl, ""),
    ]
    for label, timing, target in rows:
        count = jsonl_spans if timing is jsonl else spans
        print(
            f"{label:<58}{count / min(timing.wall):>11,.0f}{count / min(timing.cpu):>11,.0f}"
            f"{target:>12}"
        )
    print(
        f"{f'agentoscope ingest, the command: {cli_spans:,} spans':<58}"
        f"{cli_spans / statistics.median(cli_seconds):>11,.0f}{'':>11}{'>= 300,000':>12}"
    )
    print(
        f"{f'  (median of {len(cli_seconds)} runs; the fastest and the slowest)':<58}"
        f"{cli_spans / min(cli_seconds):>11,.0f}{cli_spans / max(cli_seconds):>11,.0f}"
    )
    print(
        f"{'  processor / raw':<58}{min(raw.wall) / min(ours.wall):>11.2f}"
        f"{min(raw.cpu) / min(ours.cpu):>11.2f}{'>= 0.80':>12}"
    )

    print(f"\nQuery latency, warm read-only connection, median of {args.repeats} (ms)")
    header = f"{'query':<48}" + "".join(f"{size:>12,}" for size in sizes) + f"{'target':>10}"
    print(header)
    for label, target, _action in query_cases(datetime.now(UTC)):
        cells = "".join(f"{queries[size][label]:>12.1f}" for size in sizes)
        print(f"{label:<48}{cells}{target:>10}")
    for size, seconds in builds.items():
        print(f"(generated the {size:,}-span store in {seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
