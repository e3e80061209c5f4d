"""The busy run: 100 asyncio tasks make 200k spans with some CPU work each, with JSONL + DuckDB +
OTLP (to a local sink process) attached at their default settings. What a user would notice:
drops per sink, pauses on the agent's thread (span start + finish, p50/p99.9/max), garbage
collections, and how fast each processor drains *while* the caller works. The official
openai-agents SDK with its BatchTraceProcessor (default settings, a discarding exporter) runs
the same loop, each case in a fresh process.

    .venv/bin/python benchmarks/bench_busy.py [--spans 200000] [--tasks 100] [--runs 1] [--freeze]
        [--sinks jsonl,duckdb,otlp] [--promotions] [--otlp-in-process] [--attribute]

`--freeze`: both cases call `gc.collect(); gc.freeze()` once their processors are set up, as a
server does after start-up (then full collections skip everything alive at that point).
`--sinks`: which of our processors to attach (default all three; one alone shows its share).
`--otlp-in-process`: OTLP's exporter runs on a sender thread of the agent's process
(`in_process=True`) instead of its child process (the default): what the child saves the agent.
`--promotions`: count the objects each young collection of generation 1 moves into the oldest
generation (CPython 3.11 starts a full collection once those since the last full one pass a
quarter of the oldest generation); the probe lists the oldest generation around each such
collection, which costs ~1 ms each, so the pause figures of such a run are not the ones to quote.
`--attribute`: for every span start+finish over 2 ms, what the agent's thread did meanwhile (its
CPU, its voluntary and involuntary switches, its time waiting for a core, collections) and who
else ran: a table of the slow spans by cause (see `busy_attribution.py`; Linux only; its probes
cost ~7 µs a span, so its pause figures are for attribution, not for quoting).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.server
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from busy_attribution import Attribution, table


def _sink(port_out: Any) -> None:
    """A local OTLP/HTTP endpoint that accepts and discards, in its own process (its work must
    not compete with the agent for the GIL: a real collector runs elsewhere)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.send(server.server_address[1])
    server.serve_forever()


def _work(i: int) -> int:
    # Some CPU work per span (~10-20 µs): what a tool or a parser does between spans.
    total = 0
    for j in range(150):
        total += (i * j) % 7
    return total


async def _task(make_span: Any, make_trace: Any, spans: int, lat: np.ndarray, base: int) -> None:
    clock = time.perf_counter_ns
    with make_trace("busy task"):
        for i in range(spans):
            span = make_span("step")
            t0 = clock()
            span.start(mark_as_current=True)
            t1 = clock()
            _work(i)
            t2 = clock()
            span.finish(reset_current=True)
            t3 = clock()
            lat[base + i] = (t1 - t0) + (t3 - t2)
            if i % 20 == 19:
                await asyncio.sleep(0)  # tasks interleave, as agents awaiting I/O do


async def _task_attributed(
    make_span: Any, make_trace: Any, spans: int, lat: np.ndarray, base: int, probe: Attribution
) -> None:
    """`_task` with the probe read before each start and after each finish (`--attribute`).
    A copy of its loop, not a hook in it: the plain run must not pay a call per span."""
    clock = time.perf_counter_ns
    read = probe.probe
    with make_trace("busy task"):
        for i in range(spans):
            span = make_span("step")
            before = read()
            t0 = clock()
            span.start(mark_as_current=True)
            t1 = clock()
            _work(i)
            t2 = clock()
            span.finish(reset_current=True)
            t3 = clock()
            after = read()
            lat[base + i] = (t1 - t0) + (t3 - t2)
            probe.span(before, after, (t1 - t0) + (t3 - t2), t2 - t1)
            if i % 20 == 19:
                await asyncio.sleep(0)


def _gc_watch() -> list[tuple[int, float, float, bool]]:
    """Every collection while the callback is installed: (generation, wall seconds, CPU seconds
    of the collecting thread, whether it ran on the agent's thread). Wall time counts the OS
    preempting the process on a loaded machine; CPU time is the collection's own work."""
    agent = threading.get_ident()
    collections: list[tuple[int, float, float, bool]] = []
    started = [0.0, 0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            started[1] = time.thread_time()
        else:
            collections.append(
                (
                    info["generation"],
                    time.perf_counter() - started[0],
                    time.thread_time() - started[1],
                    threading.get_ident() == agent,
                )
            )

    gc.callbacks.append(callback)
    return collections


def _promotion_probe() -> list[int]:
    """Objects moved into the oldest generation by each collection of generation 1."""
    promoted: list[int] = []
    before = [0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 1:
            return
        size = len(gc.get_objects(generation=2))
        if phase == "start":
            before[0] = size
        else:
            promoted.append(size - before[0])

    gc.callbacks.append(callback)
    return promoted


def child(
    case: str,
    spans: int,
    tasks: int,
    freeze: bool = False,
    sinks: tuple[str, ...] = ("jsonl", "duckdb", "otlp"),
    promotions: bool = False,
    otlp_in_process: bool = False,
    attribute: bool = False,
) -> dict[str, Any]:
    per_task = spans // tasks
    lat = np.zeros(per_task * tasks, dtype=np.int64)
    result: dict[str, Any] = {"case": case, "sinks_attached": "+".join(sinks)}
    result["otlp_in_process"] = otlp_in_process
    tmp = tempfile.mkdtemp(prefix="bench-busy-")
    processes: dict[str, int] = {}  # other processes of the case, for `--attribute`
    if case == "ours":
        import requests  # noqa: F401 (an app with the OTLP HTTP exporter has this imported)

        from agentoscope import tracing
        from agentoscope.tracing import DuckDBProcessor, OTLPProcessor

        receiver, sender = multiprocessing.Pipe(duplex=False)
        sink = multiprocessing.Process(target=_sink, args=(sender,), daemon=True)
        sink.start()
        port = receiver.recv()
        made = {
            "jsonl": lambda: tracing.JSONLProcessor(Path(tmp) / "busy.jsonl"),
            "duckdb": lambda: DuckDBProcessor(Path(tmp) / "busy.duckdb"),
            "otlp": lambda: OTLPProcessor(f"http://127.0.0.1:{port}", in_process=otlp_in_process),
        }
        processors = [made[name]() for name in sinks]
        processes["sink process"] = sink.pid or 0
        for p in processors:
            sender = getattr(p.exporter, "process", None)
            if sender is not None and sender.pid:
                processes["OTLP child process"] = sender.pid
        tracing.set_trace_processors(processors)
        make_span: Any = lambda name: tracing.custom_span(name)  # noqa: E731
        make_trace: Any = tracing.trace
    else:
        import agents
        from agents.tracing.processor_interface import TracingExporter
        from agents.tracing.processors import BatchTraceProcessor

        class Discard(TracingExporter):
            def __init__(self) -> None:
                self.count = 0

            def export(self, items: list[Any]) -> None:
                for item in items:
                    item.export()  # what the SDK's backend exporter does per item
                self.count += len(items)

        exporter = Discard()
        sdk_processor = BatchTraceProcessor(exporter)
        agents.set_trace_processors([sdk_processor])
        make_span = lambda name: agents.custom_span(name)  # noqa: E731
        make_trace = agents.trace

    if freeze:
        gc.collect()
        gc.freeze()
    # The oldest generation as the run starts: a full collection is due once a quarter of it
    # has been promoted since the last one.
    result["old_at_start"] = len(gc.get_objects(generation=2))
    promoted = _promotion_probe() if promotions else None
    collections = _gc_watch()
    probe = Attribution(processes) if attribute else None

    async def run_all() -> None:
        if probe is not None:
            await asyncio.gather(
                *(
                    _task_attributed(make_span, make_trace, per_task, lat, k * per_task, probe)
                    for k in range(tasks)
                )
            )
            return
        await asyncio.gather(
            *(_task(make_span, make_trace, per_task, lat, k * per_task) for k in range(tasks))
        )

    start = time.perf_counter()
    asyncio.run(run_all())
    elapsed = time.perf_counter() - start
    result["caller_s"] = elapsed
    in_run = len(collections)  # what the caller can notice; the drain after it, apart
    if probe is not None:
        result["attribution"] = probe.close()
    if promoted is not None:
        result["promoted"] = sum(promoted)
    if case == "ours":
        during = {p.name: p.stats()["exported"] for p in processors}
        shutdown_start = time.perf_counter()
        tracing.shutdown_tracing()
        result["shutdown_s"] = time.perf_counter() - shutdown_start
        sinks = {}
        for p in processors:
            stats = p.stats()
            sinks[p.name] = {
                "drained_per_s": during[p.name] / elapsed,
                "dropped": stats["dropped"],
                "failed": stats["failed"],
                "exported": stats["exported"],
                "created": stats["created"],
            }
        result["sinks"] = sinks
        lines = [  # the file rotates at 100 MB: read every part
            line for part in Path(tmp).glob("busy*.jsonl") for line in part.read_text().splitlines()
        ]
        result["jsonl_spans"] = sum('"kind":"span"' in line for line in lines)
        result["jsonl_traces"] = sum('"kind":"trace"' in line for line in lines)
    else:
        shutdown_start = time.perf_counter()
        sdk_processor.shutdown()
        result["shutdown_s"] = time.perf_counter() - shutdown_start
        made = per_task * tasks + tasks
        result["sinks"] = {
            "SDK BatchTraceProcessor": {
                "drained_per_s": float("nan"),
                "dropped": made - exporter.count,
                "failed": 0,
                "exported": exporter.count,
                "created": made,
            }
        }
    gc.callbacks.clear()
    result["full_after_run"] = sum(g == 2 for g, *_ in collections[in_run:])
    del collections[in_run:]
    us = lat / 1000
    result["p50_us"] = float(np.percentile(us, 50))
    result["p999_us"] = float(np.percentile(us, 99.9))
    result["max_us"] = float(us.max())
    result["over_10ms"] = int((us > 10_000).sum())
    # Less noisy than the max for comparing two versions: how many spans took over 2 and 5 ms.
    result["over_2ms"] = int((us > 2_000).sum())
    result["over_5ms"] = int((us > 5_000).sum())
    for generation in (0, 1, 2):
        on_agent = [(w, c) for g, w, c, agent in collections if g == generation and agent]
        elsewhere = [w for g, w, _, agent in collections if g == generation and not agent]
        result[f"gc{generation}"] = {
            "agent_n": len(on_agent),
            "agent_max_ms": max((w for w, _ in on_agent), default=0) * 1000,
            "agent_max_cpu_ms": max((c for _, c in on_agent), default=0) * 1000,
            "agent_total_ms": sum(w for w, _ in on_agent) * 1000,
            "workers_n": len(elsewhere),
            "workers_max_ms": max(elsewhere, default=0) * 1000,
        }
    result["spans"] = int(lat.size)
    return result


def _label(result: dict[str, Any]) -> str:
    if result["case"] == "ours":
        names = {"jsonl": "JSONL", "duckdb": "DuckDB", "otlp": "OTLP"}
        label = "ours: " + " + ".join(names[n] for n in result["sinks_attached"].split("+"))
        if result.get("otlp_in_process") and "otlp" in result["sinks_attached"]:
            label += " (OTLP in process)"
        return label
    return "SDK: BatchTraceProcessor"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--freeze", action="store_true")
    parser.add_argument("--sinks", default="jsonl,duckdb,otlp")
    parser.add_argument("--promotions", action="store_true")
    parser.add_argument("--otlp-in-process", action="store_true")
    parser.add_argument("--attribute", action="store_true")
    parser.add_argument("--child", choices=("ours", "sdk"))
    args = parser.parse_args()
    if args.child:
        sinks = tuple(name for name in args.sinks.split(",") if name)
        unknown = set(sinks) - {"jsonl", "duckdb", "otlp"}
        if unknown or not sinks:
            parser.error(f"--sinks: choose among jsonl, duckdb, otlp (got {args.sinks!r})")
        print(
            json.dumps(
                child(
                    args.child,
                    args.spans,
                    args.tasks,
                    args.freeze,
                    sinks,
                    args.promotions,
                    args.otlp_in_process,
                    args.attribute,
                )
            )
        )
        return
    load_before = os.getloadavg()
    results = []
    for _ in range(args.runs):
        for case in ("ours", "sdk"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    case,
                    "--spans",
                    str(args.spans),
                    "--tasks",
                    str(args.tasks),
                    *(["--freeze"] if args.freeze else []),
                    *(["--promotions"] if args.promotions else []),
                    *(["--otlp-in-process"] if args.otlp_in_process else []),
                    *(["--attribute"] if args.attribute else []),
                    "--sinks",
                    args.sinks,
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    print(
        f"\nBusy run: {args.tasks} asyncio tasks, {args.spans:,} spans with CPU work, "
        "default settings, one fresh process per case"
        f"{', gc.freeze() after set-up' if args.freeze else ''}; load average "
        f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (2 cores)\n"
    )
    print(
        "| case | p50 µs | p99.9 µs | max ms | spans >10 ms | caller s | "
        "full collections while the caller ran / in the drain after |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        full = r["gc2"]["agent_n"] + r["gc2"]["workers_n"]
        print(
            f"| {_label(r)} | {r['p50_us']:.2f} | {r['p999_us']:.2f} | "
            f"{r['max_us'] / 1000:.2f} | {r['over_10ms']} | {r['caller_s']:.2f} | "
            f"{full} / {r['full_after_run']} |"
        )
    print(
        "\nWhat brings a full collection nearer while the caller runs: young collections "
        "(each one of generation 1 moves its survivors, the agent's live objects included, into "
        "the oldest generation; a full one is due once a quarter of the oldest generation at "
        "the last full collection has been moved there)\n"
    )
    print("| case | oldest generation at start | young collections gen 0 / gen 1 | promoted |")
    print("|---|---|---|---|")
    for r in results:
        young = [r[f"gc{g}"]["agent_n"] + r[f"gc{g}"]["workers_n"] for g in (0, 1)]
        promoted = f"{r['promoted']:,}" if "promoted" in r else "(--promotions)"
        print(f"| {_label(r)} | {r['old_at_start']:,} | {young[0]} / {young[1]} | {promoted} |")
    print(
        "\nGarbage collections while the caller ran, per generation: how many ran on the "
        "agent's thread (the longest in wall and CPU ms, all of them in wall ms) and on "
        "workers' threads (the longest, wall ms); a collection on any thread holds the GIL, so "
        "each one of generation 2 pauses the agent\n"
    )
    print(
        "| case | gen | on agent | agent max ms | agent max CPU ms | agent total ms | "
        "on workers | workers max ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for generation in (0, 1, 2):
            g = r[f"gc{generation}"]
            print(
                f"| {_label(r)} | {generation} | {g['agent_n']} | {g['agent_max_ms']:.2f} | "
                f"{g['agent_max_cpu_ms']:.2f} | {g['agent_total_ms']:.1f} | {g['workers_n']} | "
                f"{g['workers_max_ms']:.2f} |"
            )
    print("\n| case | sink | created | exported | dropped | failed | drained/s while working |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        for name, s in r["sinks"].items():
            print(
                f"| {r['case']} | {name} | {s['created']:,} | {s['exported']:,} | "
                f"{s['dropped']:,} | {s['failed']:,} | {s['drained_per_s']:,.0f} |"
            )
        if r["case"] == "ours":
            print(
                f"| ours | JSONL file lines | {r['jsonl_spans']:,} spans, "
                f"{r['jsonl_traces']} traces | | | | |"
            )
    if args.attribute:
        print("\n".join(table(results, _label)))


if __name__ == "__main__":
    main()
