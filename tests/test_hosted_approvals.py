"""Approval of built-in and MCP tool calls through the same RunState as function tools: a hosted
MCP server's approval requests (answered to the provider with `mcp_approval_response`), the
local ShellTool's `needs_approval`/`on_approval`, and an MCP server's `require_approval` in all
its forms. The real `openai` client against the local OpenAI-speaking server, and our real MCP
test server process."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentoscope.runtime import (
    Agent,
    HostedMCPTool,
    OpenAIResponsesModel,
    Runner,
    RunState,
    ShellTool,
    UserError,
)
from agentoscope.runtime.mcp import MCPServerStdio
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call
from agentoscope.tracing import set_trace_processors
from support.collect import CollectingProcessor
from support.fake_openai import FakeOpenAIServer, text_reply
from support.fake_openai_bodies import FakeReply
from support.mcp_servers import stdio_params

HOSTED_MCP = {
    "type": "mcp",
    "server_label": "deepwiki",
    "server_url": "https://mcp.deepwiki.com/mcp",
    "require_approval": "always",
}


@pytest.fixture
def collector() -> CollectingProcessor:
    processor = CollectingProcessor()
    set_trace_processors([processor])
    return processor


def _agent(server: FakeOpenAIServer, tools: list[Any]) -> Agent[Any]:
    return Agent(name="Wiki", tools=tools, model=OpenAIResponsesModel("gpt-4.1", server.client()))


def _approval_request(request_id: str, name: str, arguments: str = "{}") -> dict[str, Any]:
    return {
        "type": "mcp_approval_request",
        "id": request_id,
        "server_label": "deepwiki",
        "name": name,
        "arguments": arguments,
    }


def _sent(server: FakeOpenAIServer, request: int, kind: str) -> list[dict[str, Any]]:
    return [i for i in server.requests[request].body["input"] if i.get("type") == kind]


def _custom(collector: CollectingProcessor, name: str) -> list[dict[str, Any]]:
    return [
        s.span_data.data
        for s in collector.ended_spans
        if s.span_data.type == "custom" and s.span_data.name == name
    ]


async def test_hosted_mcp_request_pauses_and_resumes_from_json(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    server.enqueue(
        FakeReply(
            output_items=[
                _approval_request("apr_1", "ask_question", '{"q": "language?"}'),
                _approval_request("apr_2", "delete_page"),
            ]
        ),
        text_reply("Rust, and the page stays."),
    )
    agent = _agent(server, [HostedMCPTool(HOSTED_MCP)])
    paused = await Runner.run(agent, "ask, then delete the page")
    assert paused.final_output is None
    assert [(i.name, i.arguments) for i in paused.interruptions] == [
        ("ask_question", '{"q": "language?"}'),
        ("delete_page", "{}"),
    ]
    assert len(server.requests) == 1  # nothing goes to the provider until a person decides

    stored = json.dumps(paused.to_state().to_json())
    state = await RunState.from_json(agent, json.loads(stored))
    ask, delete = state.get_interruptions()
    state.approve(ask)
    state.reject(delete, rejection_message="Pages are never deleted.")
    result = await Runner.run(agent, state)

    assert result.final_output == "Rust, and the page stays."
    assert _sent(server, 1, "mcp_approval_response") == [
        {"type": "mcp_approval_response", "approval_request_id": "apr_1", "approve": True},
        {
            "type": "mcp_approval_response",
            "approval_request_id": "apr_2",
            "approve": False,
            "reason": "Pages are never deleted.",
        },
    ]
    # The provider sees its own requests again, each followed by the answer.
    assert [i["id"] for i in _sent(server, 1, "mcp_approval_request")] == ["apr_1", "apr_2"]
    assert [item.type for item in result.new_items].count("mcp_approval_response_item") == 2

    # One story in the trace: the pause, then the decisions, under one trace id.
    requested = _custom(collector, "tool_approval_requested")
    decided = _custom(collector, "tool_approval_decision")
    assert [(d["tool_name"], d["call_id"]) for d in requested] == [
        ("ask_question", "apr_1"),
        ("delete_page", "apr_2"),
    ]
    assert [(d["tool_name"], d["approved"]) for d in decided] == [
        ("ask_question", True),
        ("delete_page", False),
    ]
    assert len({s.trace_id for s in collector.ended_spans}) == 1


async def test_hosted_mcp_streamed_resume_with_always_approve(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    server.enqueue(
        FakeReply(output_items=[_approval_request("apr_1", "ask_question")]),
        FakeReply(output_items=[_approval_request("apr_2", "ask_question")]),
        text_reply("Answered twice."),
    )
    agent = _agent(server, [HostedMCPTool(HOSTED_MCP)])
    first = Runner.run_streamed(agent, "ask twice")
    async for _ in first.stream_events():
        pass
    assert [i.call_id for i in first.interruptions] == ["apr_1"]
    state = first.to_state()
    state.approve(first.interruptions[0], always_approve=True)
    resumed = Runner.run_streamed(agent, state)
    names = [e.name async for e in resumed.stream_events() if e.type == "run_item_stream_event"]
    # The second request of the same tool is approved by the standing decision: no pause.
    assert resumed.interruptions == []
    assert resumed.final_output == "Answered twice."
    assert names.count("mcp_approval_response") == 2
    assert _sent(server, 2, "mcp_approval_response")[-1] == {
        "type": "mcp_approval_response",
        "approval_request_id": "apr_2",
        "approve": True,
    }
    assert [d["always"] for d in _custom(collector, "tool_approval_decision")] == [True, True]


def _shell_call(call_id: str, *commands: str) -> dict[str, Any]:
    return {
        "type": "shell_call",
        "id": f"sc_{call_id}",
        "call_id": call_id,
        "status": "completed",
        "action": {"commands": list(commands), "timeout_ms": 5000, "max_output_length": None},
    }


async def test_shell_commands_wait_for_approval_and_a_rejected_one_never_runs(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    ran: list[list[str]] = []
    asked: list[tuple[list[str], str]] = []

    def execute(request: Any) -> str:
        ran.append(request.data.action.commands)
        return "ok"

    async def destructive(context: Any, action: Any, call_id: str) -> bool:
        asked.append((action.commands, call_id))
        return any(command.startswith("rm ") for command in action.commands)

    server.enqueue(
        FakeReply(output_items=[_shell_call("s1", "ls"), _shell_call("s2", "rm -rf build")]),
        text_reply("Listed; did not delete."),
    )
    agent = _agent(server, [ShellTool(executor=execute, needs_approval=destructive)])
    paused = await Runner.run(agent, "list and clean")
    assert ran == [["ls"]]  # the harmless call ran; the other waits
    assert asked == [(["ls"], "s1"), (["rm -rf build"], "s2")]
    assert [(i.name, i.call_id) for i in paused.interruptions] == [("shell", "s2")]

    state = paused.to_state()
    state.reject(paused.interruptions[0], rejection_message="Not on this machine.")
    result = await Runner.run(agent, state)
    assert result.final_output == "Listed; did not delete."
    assert ran == [["ls"]]
    outputs = {i["call_id"]: i["output"] for i in _sent(server, 1, "shell_call_output")}
    assert outputs["s1"][0]["stdout"] == "ok"
    exit_1 = {"type": "exit", "exit_code": 1}
    assert outputs["s2"] == [{"stdout": "", "stderr": "Not on this machine.", "outcome": exit_1}]
    shell_spans = [
        s for s in collector.ended_spans if getattr(s.span_data, "name", None) == "shell"
    ]
    # The command that ran, and the one that waited (its span at the pause, as in the SDK);
    # the rejection is the decision span.
    assert [(s.span_data.call_id, s.error) for s in shell_spans] == [("s1", None), ("s2", None)]
    assert [d["approved"] for d in _custom(collector, "tool_approval_decision")] == [False]


async def test_shell_on_approval_decides_or_leaves_it_to_a_person(
    server: FakeOpenAIServer,
) -> None:
    ran: list[list[str]] = []

    def execute(request: Any) -> str:
        ran.append(request.data.action.commands)
        return "done"

    def on_approval(context: Any, item: Any) -> Any:
        commands = item.raw_item.action.commands
        if commands == ["reboot"]:
            return {"approve": False, "reason": "Reboots need a change ticket."}
        if commands == ["uptime"]:
            return {"approve": True}
        return None  # undecided: a person decides

    server.enqueue(
        FakeReply(
            output_items=[
                _shell_call("a", "uptime"),
                _shell_call("b", "reboot"),
                _shell_call("c", "df"),
            ]
        ),
        text_reply("Checked."),
    )
    agent = _agent(
        server, [ShellTool(executor=execute, needs_approval=True, on_approval=on_approval)]
    )
    paused = await Runner.run(agent, "check the host")
    assert ran == [["uptime"]]
    assert [i.call_id for i in paused.interruptions] == ["c"]
    state = paused.to_state()
    state.approve(paused.interruptions[0])
    result = await Runner.run(agent, state)
    assert result.final_output == "Checked."
    assert ran == [["uptime"], ["df"]]
    outputs = {i["call_id"]: i["output"][0] for i in _sent(server, 1, "shell_call_output")}
    assert outputs["b"]["stderr"] == "Reboots need a change ticket."
    assert [outputs[c]["stdout"] for c in ("a", "c")] == ["done", "done"]


# -- MCP servers -------------------------------------------------------------------------------


def _outputs(model: ScriptedModel, call: int) -> dict[str, Any]:
    items = model.calls[call].input
    assert isinstance(items, list)
    return {i["call_id"]: i["output"] for i in items if i.get("type") == "function_call_output"}


@pytest.mark.timeout(120)
async def test_mcp_server_require_approval_pauses_the_listed_tools() -> None:
    model = ScriptedModel(
        [
            [
                tool_call("add", {"a": 1, "b": 2}, "c_add"),
                tool_call("echo", {"text": "hi"}, "c_echo"),
            ],
            [text_message("3 and hi")],
        ]
    )
    server = MCPServerStdio(
        stdio_params(),
        name="test-stdio",
        require_approval={"always": {"tool_names": ["add"]}, "never": {"tool_names": ["echo"]}},
    )
    async with server:
        agent = Agent(name="Calc", mcp_servers=[server], model=model)
        paused = await Runner.run(agent, "add and echo")
        assert [(i.name, i.call_id) for i in paused.interruptions] == [("add", "c_add")]
        # echo needed no approval and ran before the pause; add did not.
        outputs = [i for i in paused.new_items if i.type == "tool_call_output_item"]
        assert [o.raw_item["call_id"] for o in outputs] == ["c_echo"]
        state = await RunState.from_string(agent, paused.to_state().to_string())
        state.approve(state.get_interruptions()[0])
        result = await Runner.run(agent, state)
    assert result.final_output == "3 and hi"
    sent = _outputs(model, 1)
    assert sent["c_add"] == [{"type": "input_text", "text": "3"}]
    assert sent["c_echo"] == [{"type": "input_text", "text": "hi"}]


@pytest.mark.timeout(120)
async def test_mcp_server_require_approval_callable_and_dict_forms() -> None:
    seen: list[tuple[str, str]] = []

    async def policy(context: Any, agent: Any, tool: Any) -> bool:
        seen.append((agent.name, tool.name))
        return bool(tool.name == "echo")

    model = ScriptedModel(
        [
            [tool_call("add", {"a": 2, "b": 2}, "c1"), tool_call("echo", {"text": "x"}, "c2")],
            [text_message("done")],
        ]
    )
    server = MCPServerStdio(stdio_params(), name="test-stdio", require_approval=policy)
    async with server:
        agent = Agent(name="Calc", mcp_servers=[server], model=model)
        paused = await Runner.run(agent, "go")
        assert [i.name for i in paused.interruptions] == ["echo"]
        assert sorted(seen) == [("Calc", "add"), ("Calc", "echo")]
        state = paused.to_state()
        state.reject(paused.interruptions[0])
        result = await Runner.run(agent, state)
    assert result.final_output == "done"
    sent = _outputs(model, 1)
    assert sent["c2"] == "Tool execution was not approved."
    assert sent["c1"] == [{"type": "input_text", "text": "4"}]

    for setting, expected in (
        ("always", {"add": True, "echo": True}),
        ({"add": "always", "echo": "never"}, {"add": True, "echo": False}),
        (True, {"add": True, "echo": True}),
        (None, {"add": False, "echo": False}),
    ):
        plain = MCPServerStdio(stdio_params(), name="s", require_approval=setting)
        tools = {name: type("T", (), {"name": name})() for name in expected}
        assert {
            name: plain._get_needs_approval_for_tool(tool, None) for name, tool in tools.items()
        } == expected


def test_malformed_require_approval_is_refused_where_the_server_is_made() -> None:
    for setting, message in (
        ("sometimes", "expected 'always' or 'never'"),
        ({"add": "maybe"}, r"require_approval\['add'\]"),
        ({"always": {"tool_names": ["a"]}, "never": {"tool_names": ["a"]}}, "both in always"),
        ({"always": {"tool_names": "add"}}, "list of strings"),
        ({"always": {"tool_names": ["a"]}, "other": 1}, "unexpected keys"),
    ):
        with pytest.raises(UserError, match=message):
            MCPServerStdio(stdio_params(), name="s", require_approval=setting)
