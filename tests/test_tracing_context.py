"""Parents and traces stay correct across asyncio tasks, gather, to_thread and threads."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import pytest

from agentoscope import tracing
from support.collect import CollectingProcessor


@pytest.fixture
def collector() -> CollectingProcessor:
    processor = CollectingProcessor()
    tracing.set_trace_processors([processor])
    return processor


async def _one_workflow(index: int) -> tuple[str, dict[str, str | None]]:
    expected: dict[str, str | None] = {}
    with tracing.trace(f"wf-{index}") as t:
        with tracing.agent_span(f"agent-{index}") as agent:
            expected[agent.span_id] = None

            async def tool(n: int) -> None:
                with tracing.function_span(f"tool-{index}-{n}") as fn:
                    expected[fn.span_id] = agent.span_id
                    await asyncio.sleep(0)

                    def in_thread() -> None:
                        with tracing.custom_span(f"thread-{index}-{n}") as inner:
                            expected[inner.span_id] = fn.span_id

                    await asyncio.to_thread(in_thread)
                    with tracing.generation_span(model="m") as gen:
                        expected[gen.span_id] = fn.span_id
                        await asyncio.sleep(0)

            await asyncio.gather(*(tool(n) for n in range(3)))
            assert tracing.get_current_span() is agent
    return t.trace_id, expected


async def test_100_concurrent_tasks_keep_parents_and_traces(collector: CollectingProcessor) -> None:
    results = await asyncio.gather(*(_one_workflow(i) for i in range(100)))
    assert tracing.get_current_trace() is None and tracing.get_current_span() is None
    by_id = {span.span_id: span for span in collector.ended_spans}
    assert len(by_id) == 100 * (1 + 3 * 3)
    for trace_id, expected in results:
        for span_id, parent_id in expected.items():
            span = by_id[span_id]
            assert span.trace_id == trace_id
            assert span.parent_id == parent_id
    assert len({t.trace_id for t in collector.ended_traces}) == 100


def test_plain_threads_with_copied_context(collector: CollectingProcessor) -> None:
    children: list[Any] = []
    with tracing.trace("threads") as t, tracing.agent_span("A") as agent:

        def work() -> None:
            with tracing.function_span("in-thread") as span:
                children.append(span)

        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(work,)) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(children) == 8
    assert all(c.parent_id == agent.span_id and c.trace_id == t.trace_id for c in children)


def test_thread_without_context_sees_no_trace(collector: CollectingProcessor) -> None:
    seen: list[Any] = []
    with tracing.trace("outer"):
        thread = threading.Thread(target=lambda: seen.append(tracing.function_span("x")))
        thread.start()
        thread.join()
    assert isinstance(seen[0], tracing.NoOpSpan)


def test_span_without_trace_is_noop_and_reaches_no_processor(
    collector: CollectingProcessor,
) -> None:
    with tracing.function_span("orphan") as span:
        assert isinstance(span, tracing.NoOpSpan)
    assert collector.events == []


def test_disabled_tracing_reaches_no_processor(collector: CollectingProcessor) -> None:
    tracing.set_tracing_disabled(True)
    with tracing.trace("off") as t, tracing.agent_span("A") as span:
        assert isinstance(t, tracing.NoOpTrace) and isinstance(span, tracing.NoOpSpan)
    tracing.set_tracing_disabled(False)
    assert collector.events == []


def test_explicit_parent(collector: CollectingProcessor) -> None:
    with tracing.trace("p") as t:
        first = tracing.agent_span("A", parent=t)
        first.start()
        second = tracing.function_span("f", parent=first)
        second.start()
        second.finish()
        first.finish()
    assert first.parent_id is None and second.parent_id == first.span_id


def test_exception_marks_span_error_and_reraises(collector: CollectingProcessor) -> None:
    with pytest.raises(KeyError):
        with tracing.trace("err"), tracing.agent_span("A") as agent:
            with tracing.function_span("boom") as fn:
                raise KeyError("missing")
    assert fn.error == {"message": "'missing'", "data": {"type": "KeyError"}}
    assert agent.error is not None and agent.error["data"] == {"type": "KeyError"}
    assert tracing.get_current_span() is None and tracing.get_current_trace() is None


def test_set_error_is_kept(collector: CollectingProcessor) -> None:
    with tracing.trace("err"), tracing.function_span("f") as fn:
        fn.set_error({"message": "tool failed", "data": {"tool": "f"}})
    assert fn.error == {"message": "tool failed", "data": {"tool": "f"}}
    record = tracing.span_record(fn)
    assert record["status"] == "error" and record["error_message"] == "tool failed"


def test_processor_event_order(collector: CollectingProcessor) -> None:
    with tracing.trace("order"), tracing.agent_span("A"), tracing.function_span("f"):
        pass
    kinds = [
        (kind, getattr(getattr(item, "span_data", None), "type", None))
        for kind, item in collector.events
    ]
    assert kinds == [
        ("trace_start", None),
        ("span_start", "agent"),
        ("span_start", "function"),
        ("span_end", "function"),
        ("span_end", "agent"),
        ("trace_end", None),
    ]
