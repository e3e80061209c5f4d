"""OTLP export and `agentoscope serve` ingest, side by side in one run.

    .venv/bin/python benchmarks/bench_otlp.py [--spans 20000] [--ingest-spans 100000] [--reps 5]
        [--sections 1234] [--clients 1000]

1. Export throughput: the same number of GenAI-like spans (traces of 10: an agent, 4 model calls,
   4 tool calls, a guardrail) through `OTLPProcessor` and through the OpenTelemetry SDK's
   `BatchSpanProcessor` + `OTLPSpanExporter`, both over OTLP/HTTP protobuf, timed from the first
   span to the end of the flush. Once into a local `agentoscope serve` (a subprocess; answers
   after commit) and once into a discarding OTLP endpoint (a subprocess), which isolates the
   client side.
2. `serve` ingest rate: pre-encoded ExportTraceServiceRequests (1000 spans each) posted by 4
   client threads; spans/s from first request to last answer (= committed), and the CPU time of
   serve and its decoding workers per span (median of --reps runs, a fresh serve each), split
   into serve's two steps (a worker's decode-and-prepare, the writer's `SpanStore.write`), each
   measured on its own in this process; their sum gives the in-process ceiling (one core, no
   HTTP) and serve's rate is given as a ratio of it. Our spans (serve reads two attributes) and
   plain OTel SDK spans (serve reads every attribute) separately.
   Target: >= 50k spans/s at 1,000 spans per request.
3. Caller-side cost per span (the agent's thread): JSONL alone, OTLP alone, JSONL + OTLP, run
   round-robin, median of the repetitions (the machine is shared, timings are noisy).
4. Load: --clients (1,000) concurrent clients, each on its own connection with one 100-span
   OTLP/HTTP request, all sent at once to a fresh `agentoscope serve` (defaults); meanwhile 100
   concurrent `GET /health`. Reports how many were answered 2xx, the spans stored, the time to
   the last answer, request latencies, the health checks' slowest answer and the load average.
   `--sections 24` gives the burst and the ingest rate of the same serve in one run.
Every section ends with the machine's load average (it is shared).
   Target: every request 2xx, every span stored, every health check within 1 s.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent
SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def subprocess_endpoint(
    command: list[str], url: str, health: str
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + health, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(60)


@contextmanager
def serve(store: Path, *options: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [
        str(BIN / "agentoscope"),
        "serve",
        "--store",
        str(store),
        "--http-port",
        str(port),
        *options,
    ]
    with subprocess_endpoint(
        [*command, "--grpc-port", "-1"], f"http://127.0.0.1:{port}", "/health"
    ) as p:
        yield f"http://127.0.0.1:{port}", p.pid


@contextmanager
def sink() -> Iterator[str]:
    port = free_port()
    with subprocess_endpoint(
        [sys.executable, "-c", SINK, str(port)], f"http://127.0.0.1:{port}", "/"
    ):
        yield f"http://127.0.0.1:{port}"


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_cpu_seconds(pid: int) -> float:
    """CPU time of serve and of its running children (the decoding worker, started by serve's
    main thread)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return process_cpu_seconds(pid) + sum(process_cpu_seconds(int(child)) for child in children)


# -- workloads ---------------------------------------------------------------------------------


def our_traces(spans: int) -> None:
    from agentoscope import tracing

    for index in range(spans // 10):
        with tracing.trace("bench workflow"):
            with tracing.agent_span("Planner", tools=["search"]):
                for step in range(4):
                    with tracing.generation_span(
                        model="gpt-4o-mini",
                        model_config={"temperature": 0.2},
                        usage={"input_tokens": 120 + step, "output_tokens": 30},
                    ):
                        pass
                    with tracing.function_span(
                        "search", input='{"q": "x"}', output="result", call_id=f"c{index}"
                    ):
                        pass
                with tracing.guardrail_span("no_pii", triggered=False):
                    pass


GENAI_ATTRIBUTES = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.temperature": 0.2,
    "gen_ai.usage.input_tokens": 120,
    "gen_ai.usage.output_tokens": 30,
    "gen_ai.response.id": "resp_abc",
    "gen_ai.agent.name": "Planner",
    "openinference.span.kind": "LLM",
    "llm.token_count.total": 150,
}


def otel_traces(tracer: Any, spans: int) -> None:
    from opentelemetry import trace as otel

    for _ in range(spans // 10):
        root = tracer.start_span(
            "invoke_agent Planner", attributes={"gen_ai.operation.name": "invoke_agent"}
        )
        context = otel.set_span_in_context(root)
        for _ in range(9):
            tracer.start_span(
                "chat gpt-4o-mini", context=context, attributes=GENAI_ATTRIBUTES
            ).end()
        root.end()


# -- 1. export throughput ----------------------------------------------------------------------


def export_ours(endpoint: str, spans: int) -> tuple[float, float]:
    """Spans/s from the first span to the end of the flush, and this process's CPU µs/span."""
    from agentoscope import tracing
    from agentoscope.tracing.processors.otlp import OTLPProcessor

    exporter = OTLPProcessor(endpoint=endpoint, max_queue_size=spans * 2, flush_timeout=600)
    tracing.set_trace_processors([exporter])
    start, cpu = time.perf_counter(), time.process_time()
    our_traces(spans)
    exporter.force_flush()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    stats = exporter.stats()
    exporter.shutdown()
    tracing.set_trace_processors([])
    if stats["dropped"] or stats["failed_batches"]:
        raise RuntimeError(f"OTLPProcessor lost spans: {stats}")
    return stats["exported"] / elapsed, cpu / stats["exported"] * 1e6


def our_otel_spans(spans: int) -> list[Any]:
    """The OTel spans OTLPProcessor would send for `our_traces(spans)` (fresh ids each call)."""
    from agentoscope import tracing
    from agentoscope.tracing.otel.mapping import otel_spans_from_records

    records: list[dict[str, Any]] = []

    class Keep(tracing.BatchingProcessor):
        def export(self, batch: list[dict[str, Any]]) -> None:
            records.extend(batch)

    tracing.set_trace_processors([Keep(max_queue_size=spans * 2)])  # keep every span
    our_traces(spans)
    tracing.flush_traces()
    tracing.set_trace_processors([])
    return otel_spans_from_records(records)


def replay_with_sdk(tracer: Any, templates: list[Any]) -> int:
    """The same spans (names, kinds, attributes, trace shape) made with the OTel SDK's API."""
    from opentelemetry import trace as otel

    kinds = {"internal": otel.SpanKind.INTERNAL, "client": otel.SpanKind.CLIENT}
    children: list[Any] = []
    for template in templates:  # export order: a trace's spans, then its root
        if "agentoscope.span_type" in template.attributes:
            children.append(template)
            continue
        root = tracer.start_span(template.name, attributes=template.attributes)
        context = otel.set_span_in_context(root)
        for child in children:
            tracer.start_span(
                child.name, context=context, kind=kinds[child.kind], attributes=child.attributes
            ).end()
        root.end()
        children = []
    return len(templates)


def export_bsp(endpoint: str, spans: int) -> tuple[float, float]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    templates = our_otel_spans(spans)  # made before the clock starts
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"),
            max_queue_size=len(templates) * 2,
            max_export_batch_size=512,
        )
    )
    tracer = provider.get_tracer("bench")
    start, cpu = time.perf_counter(), time.process_time()
    count = replay_with_sdk(tracer, templates)
    provider.force_flush(600_000)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    provider.shutdown()
    return count / elapsed, cpu / count * 1e6


# -- 2. serve ingest rate ------------------------------------------------------------------------


def our_requests(spans: int, per_request: int = 1000) -> list[tuple[bytes, int]]:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource

    from agentoscope.tracing.processors.otlp import readable_span

    resource = Resource.create({})
    readable = [readable_span(span, resource) for span in our_otel_spans(spans)]
    chunks = [readable[i : i + per_request] for i in range(0, len(readable), per_request)]
    return [(encode_spans(chunk).SerializeToString(), len(chunk)) for chunk in chunks]


def otel_requests(spans: int, per_request: int = 1000) -> list[tuple[bytes, int]]:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    otel_traces(provider.get_tracer("bench"), spans)
    finished = list(memory.get_finished_spans())
    return [
        (
            encode_spans(finished[i : i + per_request]).SerializeToString(),
            len(finished[i : i + per_request]),
        )
        for i in range(0, len(finished), per_request)
    ]


def post_all(url: str, bodies: list[bytes], threads: int = 4) -> float:
    pending = list(bodies)
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    body = pending.pop()
                response = client.post(
                    f"{url}/v1/traces",
                    content=body,
                    headers={"Content-Type": "application/x-protobuf"},
                )
                if response.status_code != 200:
                    failures.append(str(response.status_code))

    start = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if failures:
        raise RuntimeError(f"serve refused requests: {failures[:3]}")
    return time.perf_counter() - start


def ingest_rate(workdir: Path, name: str, requests: list[tuple[bytes, int]]) -> tuple[float, float]:
    """Spans/s and serve CPU µs/span; the first 2 requests warm up and are not counted."""
    bodies = [body for body, _ in requests]
    total = sum(count for _, count in requests)
    counted = sum(count for _, count in requests[2:])
    with serve(workdir / f"ingest-{name}.duckdb") as (url, pid):
        post_all(url, bodies[:2])
        cpu_before = serve_cpu_seconds(pid)
        elapsed = post_all(url, bodies[2:])
        cpu = serve_cpu_seconds(pid) - cpu_before
        ingested = httpx.get(f"{url}/health").json()["ingest"]
        stored = ingested["spans"] + ingested["traces"]
    if stored < total:
        raise RuntimeError(f"serve stored {stored} of {total} spans")
    return counted / elapsed, cpu / counted * 1e6


# -- 3. caller-side cost -------------------------------------------------------------------------


def caller_cost(processors: Callable[[], list[Any]], spans: int) -> tuple[float, float]:
    from agentoscope import tracing

    active = processors()
    tracing.set_trace_processors(active)
    gc.collect()  # the previous case's garbage is not this case's cost
    wall, cpu = time.perf_counter(), time.thread_time()
    our_traces(spans)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    for processor in active:
        processor.shutdown()
    tracing.set_trace_processors([])
    return wall / spans * 1e6, cpu / spans * 1e6


def ingest_breakdown(
    workdir: Path, name: str, requests: list[tuple[bytes, int]]
) -> tuple[float, float, float]:
    """Serve's own two steps in this process, with no HTTP and no other process: a decoding
    worker's (`decode_and_prepare`: OTLP bytes -> records -> Arrow tables, request by request)
    and the writer's (`SpanStore.write` of 4 requests' tables in one transaction, as with serve's
    4 senders). Returns their CPU µs/span and, from wall time, the spans/s of doing both one
    after the other on one thread: the in-process ceiling, which the machine's load slows as it
    slows serve."""
    from agentoscope.tracing.serve.workers import decode_and_prepare
    from agentoscope.tracing.store import SpanStore
    from agentoscope.tracing.store.arrow import combine_prepared

    total = sum(count for _, count in requests)
    wall, cpu = time.perf_counter(), time.process_time()
    for body, _ in requests:
        decode_and_prepare(body, None)
    decode_wall, decode = time.perf_counter() - wall, time.process_time() - cpu
    batches = [batch for body, _ in requests if (batch := decode_and_prepare(body, None))]
    with SpanStore(workdir / f"breakdown-{name}.duckdb") as store:
        wall, cpu = time.perf_counter(), time.process_time()
        for index in range(0, len(batches), 4):  # the writer commits the 4 senders' requests
            store.write(*combine_prepared(batches[index : index + 4]))
        write_wall, write = time.perf_counter() - wall, time.process_time() - cpu
    return decode / total * 1e6, write / total * 1e6, total / (decode_wall + write_wall)


def load_average() -> str:
    """The machine's load average now (it is shared: every figure is given beside it)."""
    one, five, fifteen = os.getloadavg()
    return (
        f"Load average {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} CPUs)."
    )


def _median(values: list[tuple[float, float]], index: int) -> float:
    return statistics.median(value[index] for value in values)


def export_sections(
    workdir: Path, args: argparse.Namespace
) -> tuple[dict[tuple[str, str], list[tuple[float, float]]], dict[str, list[tuple[float, float]]]]:
    """Sections 1 and 3, measured before section 2 (they share a serve and a sink): the export
    runs and the caller-side costs."""
    from agentoscope import tracing
    from agentoscope.tracing.processors.otlp import OTLPProcessor

    with serve(workdir / "export.duckdb") as (serve_url, _), sink() as sink_url:
        export_ours(sink_url, 2_000)  # warm up imports and connections
        export_bsp(sink_url, 2_000)
        runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(max(1, args.reps // 2) if "1" in args.sections else 0):
            for target, url in (("serve", serve_url), ("sink", sink_url)):
                for name, export in (("ours", export_ours), ("bsp", export_bsp)):
                    runs.setdefault((name, target), []).append(export(url, args.spans))

        cases: dict[str, Callable[[], list[Any]]] = {
            "JSONLProcessor alone": lambda: [tracing.JSONLProcessor(workdir / "a.jsonl")],
            "OTLPProcessor alone (to serve)": lambda: [OTLPProcessor(endpoint=serve_url)],
            "JSONLProcessor + OTLPProcessor": lambda: [
                tracing.JSONLProcessor(workdir / "b.jsonl"),
                OTLPProcessor(endpoint=serve_url),
            ],
        }
        costs: dict[str, list[tuple[float, float]]] = {}
        for _ in range(args.reps if "3" in args.sections else 0):
            for name, make in cases.items():
                costs.setdefault(name, []).append(caller_cost(make, args.spans))

    return runs, costs


def print_export(runs: dict[tuple[str, str], list[tuple[float, float]]], spans: int) -> None:
    print(f"\n1. OTLP/HTTP export, {spans} spans per case (traces of 10), median of runs\n")
    print(f"| {'pipeline':<48} | {'into serve':>12} | {'into a sink':>12} | {'CPU µs/span':>11} |")
    print(f"|{'-' * 50}|{'-' * 14}|{'-' * 14}|{'-' * 13}|")
    medians = {key: (_median(v, 0), _median(v, 1)) for key, v in runs.items()}
    for name, label in (
        ("ours", "agentoscope OTLPProcessor (records -> OTel)"),
        ("bsp", "same spans: OTel SDK + BatchSpanProcessor"),
    ):
        into_serve, into_sink = medians[(name, "serve")][0], medians[(name, "sink")][0]
        cpu = medians[(name, "sink")][1]
        print(f"| {label:<48} | {into_serve:>10,.0f}/s | {into_sink:>10,.0f}/s | {cpu:11.1f} |")
    ratio_serve = medians[("ours", "serve")][0] / medians[("bsp", "serve")][0]
    ratio_sink = medians[("ours", "sink")][0] / medians[("bsp", "sink")][0]
    print(
        f"\nOTLPProcessor / BatchSpanProcessor throughput: {ratio_serve:.2f}x into serve, "
        f"{ratio_sink:.2f}x into a sink (CPU µs/span: this process, all threads, sink runs)"
    )


def ingest_section(workdir: Path, args: argparse.Namespace) -> None:
    """Section 2: each row's requests are built once, then posted to a fresh serve per
    repetition (the machine is shared: the median of the repetitions is printed)."""
    rows = []
    for name, label, build, size in (
        ("ours", "OTLPProcessor spans, 1000/request", our_requests, 1000),
        ("ours4096", "OTLPProcessor spans, 4096/request (collector)", our_requests, 4096),
        ("otel", "plain OTel SDK spans (10 attrs), 1000/request", otel_requests, 1000),
    ):
        requests = build(args.ingest_spans, size)
        rates = [ingest_rate(workdir, f"{name}-{rep}", requests) for rep in range(args.reps)]
        decode, store, ceiling = ingest_breakdown(workdir, name, requests)
        low, high = min(rate for rate, _ in rates), max(rate for rate, _ in rates)
        rows.append(
            (
                label,
                _median(rates, 0),
                f"{low / 1000:.1f}-{high / 1000:.1f}k",
                _median(rates, 1),
                decode,
                store,
                ceiling,
            )
        )

    print(
        f"\n2. serve ingest over OTLP/HTTP protobuf ({args.ingest_spans} spans per row, "
        f"4 senders, median of {args.reps} runs and the range)\n"
    )
    print(
        f"| {'requests':<46} | {'spans/s':>9} | {'runs':>11} | {'serve CPU µs/span':>17} | "
        f"{'decode µs':>9} | {'store µs':>8} | {'in-process/s':>12} | {'ratio':>5} |"
    )
    print(
        f"|{'-' * 48}|{'-' * 11}|{'-' * 13}|{'-' * 19}|{'-' * 11}|{'-' * 10}|{'-' * 14}|{'-' * 7}|"
    )
    for label, rate, spread, serve_cpu, decode, store, ceiling in rows:
        print(
            f"| {label:<46} | {rate:>9,.0f} | {spread:>11} | {serve_cpu:17.1f} | {decode:9.1f} | "
            f"{store:8.1f} | {ceiling:>12,.0f} | {rate / ceiling:4.2f}x |"
        )
    print(
        "\nTarget: >= 50,000 spans/s. decode = a worker's step (OTLP bytes -> records -> Arrow "
        "tables, serve/workers.py), store = the writer's (SpanStore.write, 4 requests per "
        "transaction), both CPU µs/span measured in this process; in-process/s = the same two "
        "steps one after the other on one thread of this process (wall time, no HTTP, no other "
        "process), and ratio = serve's rate over it (above 1: the workers' second core pays; "
        f"the machine's load slows both). {load_average()}"
    )


def print_caller_cost(costs: dict[str, list[tuple[float, float]]], spans: int, reps: int) -> None:
    print(f"\n3. Caller-side cost per span ({spans} spans x {reps} reps, median)\n")
    print(f"| {'processors':<34} | {'wall µs/span':>12} | {'CPU µs/span':>11} | {'vs JSONL':>8} |")
    print(f"|{'-' * 36}|{'-' * 14}|{'-' * 13}|{'-' * 10}|")
    base = _median(costs["JSONLProcessor alone"], 1)
    for name, values in costs.items():
        wall, cpu = _median(values, 0), _median(values, 1)
        print(f"| {name:<34} | {wall:12.2f} | {cpu:11.2f} | {cpu / base:7.2f}x |")
    print(
        "\nCPU = the agent thread's own CPU time (thread_time); wall includes waiting for the GIL."
    )


# -- 4. load: a burst of concurrent clients --------------------------------------------------------


async def _post(port: int, body: bytes) -> tuple[int, float]:
    import asyncio

    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    status = await reader.readline()
    await reader.read()
    writer.close()
    return int(status.split()[1]), time.perf_counter() - start


async def _health(port: int) -> tuple[int, float]:
    import asyncio

    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    await writer.drain()
    status = await reader.readline()
    await reader.read()
    writer.close()
    return int(status.split()[1]), time.perf_counter() - start


async def _burst(port: int, bodies: list[bytes], health_checks: int) -> tuple[list, list, float]:
    import asyncio

    start = time.perf_counter()
    posts = [asyncio.ensure_future(_post(port, body)) for body in bodies]
    await asyncio.sleep(0.2)  # the burst is under way
    checks = await asyncio.gather(*(_health(port) for _ in range(health_checks)))
    answers = await asyncio.gather(*posts, return_exceptions=True)
    return list(answers), list(checks), time.perf_counter() - start


def load_section(workdir: Path, args: argparse.Namespace) -> None:
    import asyncio

    per_request = 100
    requests = our_requests(args.clients * per_request, per_request)[: args.clients]
    bodies = [body for body, _ in requests]
    expected = sum(count for _, count in requests)
    rows = []
    for rep in range(args.reps):
        load = os.getloadavg()[0]
        with serve(workdir / f"load-{rep}.duckdb", *args.serve_option) as (url, _pid):
            port = int(url.rsplit(":", 1)[1])
            answers, checks, elapsed = asyncio.run(_burst(port, bodies, 100))
            ingested = httpx.get(f"{url}/health").json()["ingest"]
            stored = ingested["spans"] + ingested["traces"]  # a root OTel span is a trace row
        ok = [
            latency
            for answer in answers
            if isinstance(answer, tuple) and 200 <= answer[0] < 300
            for latency in [answer[1]]
        ]
        failed = len(answers) - len(ok)
        health_ok = sum(1 for status, _ in checks if status == 200)
        latencies = sorted(ok) or [float("nan")]
        rows.append(
            (
                len(ok),
                failed,
                stored,
                elapsed,
                latencies[len(latencies) // 2],
                latencies[int(len(latencies) * 0.99) - 1],
                health_ok,
                max(latency for _, latency in checks),
                load,
            )
        )
    print(
        f"\n4. Load: {args.clients} concurrent clients x one {per_request}-span OTLP/HTTP request "
        f"each (own connection), plus 100 concurrent GET /health, {args.reps} runs\n"
    )
    print(
        "| run | 2xx | failed | spans stored | last answer s | p50 s | p99 s | health 200 | "
        "slowest health s | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for index, (ok, failed, stored, elapsed, p50, p99, health_ok, health_max, load) in enumerate(
        rows
    ):
        print(
            f"| {index + 1} | {ok} | {failed} | {stored:,} | {elapsed:.2f} | {p50:.2f} | "
            f"{p99:.2f} | {health_ok} | {health_max:.3f} | {load:.2f} |"
        )
    print(
        f"\nTarget: {args.clients} of {args.clients} 2xx, {expected:,} spans "
        f"stored (span and trace rows), every health check within 1 s. {load_average()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--ingest-spans", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--clients", type=int, default=1000, help="section 4's clients")
    parser.add_argument(
        "--serve-option",
        action="append",
        default=[],
        help="an option for section 4's `agentoscope serve` (repeatable), e.g. --serve-option=-v",
    )
    parser.add_argument(
        "--sections", default="1234", help="which sections to run, e.g. 2 or 14 (default 1234)"
    )
    args = parser.parse_args()

    print(load_average())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        runs, costs = {}, {}
        if "1" in args.sections or "3" in args.sections:
            runs, costs = export_sections(workdir, args)
        if runs:
            print_export(runs, args.spans)
        if "2" in args.sections:
            ingest_section(workdir, args)
        if costs:
            print_caller_cost(costs, args.spans, args.reps)
        if "4" in args.sections:
            load_section(workdir, args)


if __name__ == "__main__":
    main()
