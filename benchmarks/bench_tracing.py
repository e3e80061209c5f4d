"""Caller-side cost of a span, and JSONL drain throughput, side by side in one run.

    .venv/bin/python benchmarks/bench_tracing.py [--spans 20000] [--reps 5]

Rows (µs per span = one span started and finished inside an open trace, on the caller's thread):
  ours, no processor | ours + JSONLProcessor | official openai-agents SDK + one no-op processor |
  OpenTelemetry SDK + BatchSpanProcessor with a discarding exporter.
Cases run round-robin and the median of the repetitions is reported, because the machine is shared.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _ours_case(processors: Callable[[], list[Any]]) -> Callable[[int], float]:
    from agentoscope import tracing

    def run(n: int) -> float:
        active = processors()
        tracing.set_trace_processors(active)
        with tracing.trace("bench"):
            start = time.perf_counter()
            for _ in range(n):
                with tracing.custom_span("step"):
                    pass
            elapsed = time.perf_counter() - start
        for processor in active:
            processor.shutdown()
        tracing.set_trace_processors([])
        return elapsed

    return run


def _sdk_case() -> Callable[[int], float]:
    import agents

    class NoOp(agents.TracingProcessor):
        def on_trace_start(self, trace: Any) -> None: ...
        def on_trace_end(self, trace: Any) -> None: ...
        def on_span_start(self, span: Any) -> None: ...
        def on_span_end(self, span: Any) -> None: ...
        def shutdown(self) -> None: ...
        def force_flush(self) -> None: ...

    def run(n: int) -> float:
        agents.set_trace_processors([NoOp()])
        with agents.trace("bench"):
            start = time.perf_counter()
            for _ in range(n):
                with agents.custom_span("step"):
                    pass
            elapsed = time.perf_counter() - start
        agents.set_trace_processors([])
        return elapsed

    return run


def _otel_case() -> Callable[[int], float]:
    from opentelemetry import trace as otel_trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Discard(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    def run(n: int) -> float:
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=n + 10))
        tracer = provider.get_tracer("bench")
        with tracer.start_as_current_span("root") as root:
            ctx = otel_trace.set_span_in_context(root)
            start = time.perf_counter()
            for _ in range(n):
                tracer.start_span("step", context=ctx).end()
            elapsed = time.perf_counter() - start
        provider.shutdown()
        return elapsed

    return run


def drain_throughput(n: int) -> float:
    """Spans per second from queue to JSONL file, measured on the worker's side."""
    from agentoscope import tracing

    with tempfile.TemporaryDirectory() as directory:
        processor = tracing.JSONLProcessor(Path(directory) / "drain.jsonl", max_queue_size=n + 10)
        processor._start_worker = lambda: None  # type: ignore[method-assign] # fill, then drain
        tracing.set_trace_processors([processor])
        with tracing.trace("drain"):
            for i in range(n):
                with tracing.function_span("tool", input='{"q": 1}', output=f"result {i}"):
                    pass
        tracing.set_trace_processors([])
        start = time.perf_counter()
        processor.force_flush()
        elapsed = time.perf_counter() - start
        processor.shutdown()
        return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()

    from agentoscope import tracing

    tmp = tempfile.TemporaryDirectory()
    counter = iter(range(10**9))

    def jsonl() -> list[Any]:
        return [tracing.JSONLProcessor(Path(tmp.name) / f"bench-{next(counter)}.jsonl")]

    cases: dict[str, Callable[[int], float]] = {
        "ours, no processor": _ours_case(list),
        "ours + JSONLProcessor": _ours_case(jsonl),
        "openai-agents 0.24 + no-op processor": _sdk_case(),
        "OpenTelemetry SDK + BatchSpanProcessor": _otel_case(),
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for run in cases.values():  # warm-up
        run(1000)
    for _ in range(args.reps):
        for name, run in cases.items():
            gc.collect()
            timings[name].append(run(args.spans) / args.spans * 1e6)

    sdk = statistics.median(timings["openai-agents 0.24 + no-op processor"])
    print(f"\nCaller-side cost per span ({args.spans} spans x {args.reps} reps, median)\n")
    print(f"| {'case':<40} | {'µs/span':>8} | {'vs SDK':>7} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 9}|")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"| {name:<40} | {median:8.2f} | {median / sdk:6.2f}x |")
    ratio = statistics.median(timings["ours + JSONLProcessor"]) / sdk
    print(f"\nours + JSONL costs {ratio:.2f}x the official SDK per span (target <= 0.25x)")

    drains = [drain_throughput(50_000) for _ in range(3)]
    print(f"JSONL drain: {statistics.median(drains):,.0f} spans/s (median of 3, target >= 100k)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
