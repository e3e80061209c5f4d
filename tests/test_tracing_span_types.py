"""Every span type exports exactly the official SDK's shape; spans and traces export like it."""

from __future__ import annotations

import re
from typing import Any

import agents.tracing.span_data as sdk
import pytest

from agentoscope import tracing as ours

# (our class, SDK class, constructor args) — the same arguments must give the same export().
CASES: list[tuple[type, type, dict[str, Any]]] = [
    (
        ours.AgentSpanData,
        sdk.AgentSpanData,
        {"name": "A", "handoffs": ["B"], "tools": ["t"], "output_type": "str"},
    ),
    (ours.TaskSpanData, sdk.TaskSpanData, {"name": "wf", "usage": {"input_tokens": 3}}),
    (ours.TurnSpanData, sdk.TurnSpanData, {"turn": 2, "agent_name": "A"}),
    (ours.FunctionSpanData, sdk.FunctionSpanData, {"name": "f", "input": '{"x":1}', "output": 42}),
    (
        ours.GenerationSpanData,
        sdk.GenerationSpanData,
        {
            "input": [{"role": "user", "content": "hi"}],
            "output": [],
            "model": "m",
            "model_config": {"t": 1},
            "usage": {"input_tokens": 1},
        },
    ),
    (ours.ResponseSpanData, sdk.ResponseSpanData, {"response": None, "usage": {"input_tokens": 1}}),
    (ours.HandoffSpanData, sdk.HandoffSpanData, {"from_agent": "A", "to_agent": "B"}),
    (ours.CustomSpanData, sdk.CustomSpanData, {"name": "c", "data": {"k": [1, 2]}}),
    (ours.GuardrailSpanData, sdk.GuardrailSpanData, {"name": "g", "triggered": True}),
    (
        ours.TranscriptionSpanData,
        sdk.TranscriptionSpanData,
        {"input": "abc", "input_format": "pcm", "output": "hi", "model": "w"},
    ),
    (
        ours.SpeechSpanData,
        sdk.SpeechSpanData,
        {
            "input": "hi",
            "output": "b64",
            "output_format": "mp3",
            "model": "tts",
            "first_content_at": "x",
        },
    ),
    (ours.SpeechGroupSpanData, sdk.SpeechGroupSpanData, {"input": "hi"}),
    (ours.MCPListToolsSpanData, sdk.MCPListToolsSpanData, {"server": "s", "result": ["a", "b"]}),
]


@pytest.mark.parametrize(("mine", "theirs", "kwargs"), CASES, ids=[c[0].__name__ for c in CASES])
def test_export_matches_official_sdk(mine: type, theirs: type, kwargs: dict[str, Any]) -> None:
    assert mine(**kwargs).export() == theirs(**kwargs).export()
    assert mine(**kwargs).type == theirs(**kwargs).type


def test_all_sdk_span_data_classes_are_covered() -> None:
    sdk_classes = {
        cls.__name__
        for cls in vars(sdk).values()
        if isinstance(cls, type) and issubclass(cls, sdk.SpanData) and cls is not sdk.SpanData
    }
    assert sdk_classes == {case[1].__name__ for case in CASES}


def test_our_additions_are_exported_only_when_set() -> None:
    assert "call_id" not in ours.FunctionSpanData("f", None, None).export()
    assert ours.FunctionSpanData("f", None, None, call_id="c1").export()["call_id"] == "c1"
    assert ours.GuardrailSpanData("g", False, source="input").export()["source"] == "input"


def test_span_and_trace_export_shapes() -> None:
    with ours.trace("Flow", group_id="g1", metadata={"k": "v"}) as t:
        with ours.agent_span("A") as agent:
            with ours.function_span("lookup", input="{}") as fn:
                pass
    assert t.export() == {
        "object": "trace",
        "id": t.trace_id,
        "workflow_name": "Flow",
        "group_id": "g1",
        "metadata": {"k": "v"},
    }
    exported = fn.export()
    assert exported is not None
    assert set(exported) == {
        "object",
        "id",
        "trace_id",
        "parent_id",
        "started_at",
        "ended_at",
        "span_data",
        "error",
    }
    assert exported["object"] == "trace.span"
    assert exported["parent_id"] == agent.span_id
    assert exported["span_data"]["type"] == "function"
    assert t.started_at is not None and t.ended_at is not None
    assert t.started_at <= agent.started_at <= fn.ended_at <= t.ended_at


def test_ids_have_sdk_shapes() -> None:
    with ours.trace("x") as t, ours.custom_span("c") as span:
        pass
    assert t.trace_id.startswith("trace_") and len(t.trace_id) == 6 + 32
    assert span.span_id.startswith("span_") and len(span.span_id) == 5 + 24
    assert ours.gen_group_id().startswith("group_")
    int(t.trace_id[6:], 16)  # the 128 bits are valid hex
    # Fixed width and lowercase, also when the leading digits are zeros (1 in 16 ids).
    shapes = {
        ours.gen_trace_id: re.compile(r"trace_[0-9a-f]{32}"),
        ours.gen_span_id: re.compile(r"span_[0-9a-f]{24}"),
        ours.gen_group_id: re.compile(r"group_[0-9a-f]{24}"),
    }
    for make, shape in shapes.items():
        ids = [make() for _ in range(2000)]
        assert all(shape.fullmatch(value) for value in ids), make
        assert len(set(ids)) == len(ids)
        assert any(value[value.index("_") + 1] == "0" for value in ids)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: ours.agent_span("a"),
        lambda: ours.generation_span(model="m"),
        lambda: ours.response_span(),
        lambda: ours.function_span("f"),
        lambda: ours.handoff_span("a", "b"),
        lambda: ours.guardrail_span("g"),
        lambda: ours.custom_span("c", {}),
        lambda: ours.mcp_tools_span("s", []),
        lambda: ours.transcription_span("w"),
        lambda: ours.speech_span("t"),
        lambda: ours.speech_group_span(),
        lambda: ours.task_span("wf"),
        lambda: ours.turn_span(1, "a"),
    ],
)
def test_factories_work_with_explicit_start_finish(factory: Any) -> None:
    collector_spans: list[Any] = []

    class Keep(ours.TracingProcessor):
        def on_trace_start(self, trace: Any) -> None: ...
        def on_trace_end(self, trace: Any) -> None: ...
        def on_span_start(self, span: Any) -> None: ...
        def on_span_end(self, span: Any) -> None:
            collector_spans.append(span)

        def shutdown(self) -> None: ...
        def force_flush(self) -> None: ...

    ours.set_trace_processors([Keep()])
    t = ours.trace("explicit")
    t.start(mark_as_current=True)
    span = factory()
    assert span.started_at is None
    span.start(mark_as_current=True)
    assert ours.get_current_span() is span
    span.finish(reset_current=True)
    assert ours.get_current_span() is None
    t.finish(reset_current=True)
    assert ours.get_current_trace() is None
    assert collector_spans == [span]
    assert span.parent_id is None and span.trace_id == t.trace_id


def test_custom_span_data_made_later_is_exported() -> None:
    """A custom span opened without data gets its dict on first use, like the SDK's `{}`."""
    with ours.trace("x"), ours.custom_span("step") as span:
        span.span_data.data["rows"] = 3
    with ours.trace("y"), ours.custom_span("quiet") as quiet:
        pass
    assert span.span_data.export()["data"] == {"rows": 3}
    assert quiet.span_data.export() == {"type": "custom", "name": "quiet", "data": {}}
    assert quiet.export()["id"] == quiet.span_id  # the lazily spelled id is stable
