"""`BatchTraceProcessor(exporter)` at the SDK's agents.tracing.processors path: an exporter
written against the SDK gets the run's trace and spans as objects, in batches."""

from __future__ import annotations

import threading
from typing import Any

from agentoscope.runtime import Agent, Runner, set_trace_processors
from agentoscope.runtime.models import ScriptedModel, text_message
from agentoscope.runtime.tracing import Span, Trace
from agentoscope.runtime.tracing.processor_interface import TracingExporter
from agentoscope.runtime.tracing.processors import BatchTraceProcessor


class Keep(TracingExporter):
    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def export(self, items: list[Any]) -> None:
        self.batches.append(list(items))


def test_exporter_gets_trace_and_spans_in_batches() -> None:
    exporter = Keep()
    processor = BatchTraceProcessor(exporter, max_batch_size=2, schedule_delay=60)
    set_trace_processors([processor])
    agent = Agent(name="A", model=ScriptedModel([[text_message("hi")]]))
    Runner.run_sync(agent, "hi")
    processor.force_flush()
    items = [item for batch in exporter.batches for item in batch]
    assert isinstance(items[0], Trace)
    assert {item.export()["span_data"]["type"] for item in items[1:]} == {"agent", "generation"}
    assert all(isinstance(item, Span) for item in items[1:])
    assert max(len(batch) for batch in exporter.batches) <= 2
    processor.shutdown()


class Stuck(Keep):
    """Holds its first export until released, so the queue behind it fills up."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.started = threading.Event()

    def export(self, items: list[Any]) -> None:
        self.started.set()
        self.release.wait(10)
        super().export(items)


def test_a_full_queue_drops_and_shutdown_drains() -> None:
    exporter = Stuck()
    processor = BatchTraceProcessor(exporter, max_queue_size=2, schedule_delay=60)
    set_trace_processors([processor])
    Runner.run_sync(Agent(name="A", model=ScriptedModel([[text_message("x")]])), "x")
    assert exporter.started.wait(10)  # the worker holds a batch in the stuck exporter
    for _ in range(2):
        Runner.run_sync(Agent(name="A", model=ScriptedModel([[text_message("x")]])), "x")
    exporter.release.set()
    processor.shutdown(timeout=5)
    exported = sum(len(batch) for batch in exporter.batches)
    # The runs never waited: what did not fit in the queue of 2 was dropped.
    assert exported < 9 and len(exporter.batches[-1]) <= 2
