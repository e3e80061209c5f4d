"""Tool input/output guardrails: allow, reject_content (the model gets the message, the run goes
on) and raise_exception (the run stops), each a guardrail span under the call's function span."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentoscope.runtime import (
    Agent,
    Runner,
    ToolGuardrailFunctionOutput,
    ToolInputGuardrailData,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailData,
    ToolOutputGuardrailTripwireTriggered,
    UserError,
    function_tool,
    tool_input_guardrail,
    tool_output_guardrail,
)
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call
from agentoscope.tracing import set_trace_processors
from support.collect import CollectingProcessor


@tool_input_guardrail
def no_root(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
    args = json.loads(data.context.tool_arguments)
    if args["path"].startswith("/root"):
        return ToolGuardrailFunctionOutput.reject_content("Access to /root is not allowed.")
    if args["path"] == "/etc/shadow":
        return ToolGuardrailFunctionOutput.raise_exception(output_info={"path": args["path"]})
    return ToolGuardrailFunctionOutput.allow()


@tool_output_guardrail(name="secret_filter")
async def no_secrets(data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
    if "SECRET" in str(data.output):
        return ToolGuardrailFunctionOutput.reject_content("[redacted by guardrail]")
    if "PANIC" in str(data.output):
        return ToolGuardrailFunctionOutput.raise_exception()
    return ToolGuardrailFunctionOutput.allow(output_info="clean")


def _setup(path: str, content: str = "hello") -> tuple[Agent, list[str]]:
    reads: list[str] = []

    @function_tool(tool_input_guardrails=[no_root], tool_output_guardrails=[no_secrets])
    def read_file(path: str) -> str:
        """Read a file."""
        reads.append(path)
        return content

    model = ScriptedModel([[tool_call("read_file", {"path": path})], [text_message("done")]])
    return Agent(name="Files", tools=[read_file], model=model), reads


def _outputs(result: Any) -> list[str]:
    return [i.raw_item["output"] for i in result.new_items if i.type == "tool_call_output_item"]


async def test_allowed_call_runs_and_its_output_passes() -> None:
    collector = CollectingProcessor()
    set_trace_processors([collector])
    agent, reads = _setup("/tmp/a")
    result = await Runner.run(agent, "read")
    assert reads == ["/tmp/a"] and _outputs(result) == ["hello"]
    assert [r.output.behavior["type"] for r in result.tool_input_guardrail_results] == ["allow"]
    assert [r.output.output_info for r in result.tool_output_guardrail_results] == ["clean"]
    spans = collector.ended_spans
    function = next(s for s in spans if s.span_data.type == "function")
    guards = [s for s in spans if s.span_data.type == "guardrail"]
    assert [(g.span_data.name, g.span_data.triggered, g.span_data.source) for g in guards] == [
        ("no_root", False, "tool_input"),
        ("secret_filter", False, "tool_output"),
    ]
    assert all(g.parent_id == function.span_id for g in guards)


async def test_input_reject_content_skips_the_tool_and_tells_the_model() -> None:
    collector = CollectingProcessor()
    set_trace_processors([collector])
    agent, reads = _setup("/root/.ssh/id_rsa")
    result = await Runner.run(agent, "read")
    assert reads == []
    assert _outputs(result) == ["Access to /root is not allowed."]
    assert result.final_output == "done"
    guards = [s for s in collector.ended_spans if s.span_data.type == "guardrail"]
    assert [(g.span_data.name, g.span_data.triggered) for g in guards] == [("no_root", True)]


async def test_input_raise_exception_stops_the_run() -> None:
    collector = CollectingProcessor()
    set_trace_processors([collector])
    agent, reads = _setup("/etc/shadow")
    with pytest.raises(ToolInputGuardrailTripwireTriggered) as caught:
        await Runner.run(agent, "read")
    assert reads == []
    assert caught.value.guardrail.get_name() == "no_root"
    assert caught.value.output.output_info == {"path": "/etc/shadow"}
    function = next(s for s in collector.ended_spans if s.span_data.type == "function")
    assert function.error["data"]["guardrail"] == "no_root"


async def test_output_reject_content_replaces_the_output() -> None:
    agent, reads = _setup("/tmp/k", content="key=SECRET")
    result = await Runner.run(agent, "read")
    assert reads == ["/tmp/k"]
    assert _outputs(result) == ["[redacted by guardrail]"]
    # The model never saw the secret.
    assert "SECRET" not in json.dumps(agent.model.calls[1].input)  # type: ignore[union-attr]


async def test_output_raise_exception_stops_the_run() -> None:
    agent, _ = _setup("/tmp/p", content="PANIC")
    with pytest.raises(ToolOutputGuardrailTripwireTriggered) as caught:
        await Runner.run(agent, "read")
    assert caught.value.guardrail.get_name() == "secret_filter"


def test_wrong_guardrail_objects_are_refused_where_the_tool_is_defined() -> None:
    with pytest.raises(UserError, match="tool_input_guardrails"):

        @function_tool(tool_input_guardrails=[lambda data: None])
        def f() -> str:
            """f"""
            return ""


async def test_a_guardrail_returning_the_wrong_type_fails_clearly() -> None:
    @tool_input_guardrail
    def sloppy(data: ToolInputGuardrailData) -> Any:
        return True

    @function_tool(tool_input_guardrails=[sloppy])
    def g() -> str:
        """g"""
        return ""

    agent = Agent(name="A", tools=[g], model=ScriptedModel([[tool_call("g", {})]]))
    with pytest.raises(UserError, match="sloppy"):
        await Runner.run(agent, "x")
