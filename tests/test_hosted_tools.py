"""Built-in tools with the real `openai` client against the local OpenAI-speaking server: the
request carries each tool's Responses wire shape; the output items come back, are executed when
they are ours (computer, shells), answered (hosted MCP approvals) or traced (the provider's)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from typing import Any

import pytest

from agentoscope.runtime import (
    Agent,
    AsyncComputer,
    CodeInterpreterTool,
    Computer,
    ComputerTool,
    FileSearchTool,
    HostedMCPTool,
    ImageGenerationTool,
    LocalShellTool,
    MCPApprovalRequestItem,
    MCPApprovalResponseItem,
    MCPListToolsItem,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    ShellCallOutcome,
    ShellCommandOutput,
    ShellResult,
    ShellTool,
    UserError,
    WebSearchTool,
)
from agentoscope.tracing import set_trace_processors
from support.collect import CollectingProcessor
from support.fake_openai import FakeOpenAIServer, text_reply
from support.fake_openai_bodies import FakeReply

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake-screen").decode()


@pytest.fixture
def collector() -> CollectingProcessor:
    processor = CollectingProcessor()
    set_trace_processors([processor])
    return processor


def _agent(server: FakeOpenAIServer, tools: list[Any], model: str = "gpt-4.1") -> Agent[Any]:
    return Agent(name="Operator", tools=tools, model=OpenAIResponsesModel(model, server.client()))


def _items(*items: dict[str, Any], text: str | None = None) -> FakeReply:
    return FakeReply(text=text, output_items=list(items))


def _functions(collector: CollectingProcessor) -> dict[str, Any]:
    return {s.span_data.name: s for s in collector.ended_spans if s.span_data.type == "function"}


class RecordingComputer(AsyncComputer):
    def __init__(self) -> None:
        self.actions: list[tuple[Any, ...]] = []

    @property
    def environment(self) -> Any:
        return "browser"

    @property
    def dimensions(self) -> tuple[int, int]:
        return (1280, 800)

    async def screenshot(self) -> str:
        self.actions.append(("screenshot",))
        return PNG

    async def click(self, x: int, y: int, button: Any) -> None:
        self.actions.append(("click", x, y, button))

    async def double_click(self, x: int, y: int) -> None:
        self.actions.append(("double_click", x, y))

    async def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int) -> None:
        self.actions.append(("scroll", x, y, scroll_x, scroll_y))

    async def type(self, text: str) -> None:
        self.actions.append(("type", text))

    async def wait(self) -> None:
        self.actions.append(("wait",))

    async def move(self, x: int, y: int) -> None:
        self.actions.append(("move", x, y))

    async def keypress(self, keys: list[str]) -> None:
        self.actions.append(("keypress", keys))

    async def drag(self, path: list[tuple[int, int]]) -> None:
        self.actions.append(("drag", path))


class SyncComputer(Computer):
    def __init__(self) -> None:
        self.typed: list[str] = []

    def screenshot(self) -> str:
        return PNG

    def click(self, x: int, y: int, button: Any) -> None: ...

    def double_click(self, x: int, y: int) -> None: ...

    def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int) -> None: ...

    def type(self, text: str) -> None:
        self.typed.append(text)

    def wait(self) -> None: ...

    def move(self, x: int, y: int) -> None: ...

    def keypress(self, keys: list[str]) -> None: ...

    def drag(self, path: list[tuple[int, int]]) -> None: ...


HOSTED_MCP = {
    "type": "mcp",
    "server_label": "deepwiki",
    "server_url": "https://mcp.deepwiki.com/mcp",
    "require_approval": "never",
}


async def test_request_carries_each_tools_wire_shape(server: FakeOpenAIServer) -> None:
    server.enqueue(text_reply("ok"))
    tools = [
        WebSearchTool(search_context_size="low", search_content_types=["text", "image"]),
        FileSearchTool(vector_store_ids=["vs_1"], max_num_results=3, include_search_results=True),
        CodeInterpreterTool({"type": "code_interpreter", "container": {"type": "auto"}}),
        ImageGenerationTool({"type": "image_generation", "quality": "low"}),
        HostedMCPTool(HOSTED_MCP),
        ComputerTool(RecordingComputer()),
        LocalShellTool(executor=lambda request: "ok"),
        ShellTool(executor=lambda request: "ok"),
    ]
    await Runner.run(_agent(server, tools), "hi")
    body = server.last_request.body
    assert body["tools"] == [
        {
            "type": "web_search",
            "search_context_size": "low",
            "search_content_types": ["text", "image"],
        },
        {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 3},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {"type": "image_generation", "quality": "low"},
        HOSTED_MCP,
        {"type": "computer"},
        {"type": "local_shell"},
        {"type": "shell", "environment": {"type": "local"}},
    ]
    assert sorted(body["include"]) == ["file_search_call.results", "web_search_call.results"]


async def test_preview_computer_models_get_the_preview_shape(server: FakeOpenAIServer) -> None:
    server.enqueue(text_reply("ok"))
    await Runner.run(
        _agent(server, [ComputerTool(RecordingComputer())], model="computer-use-preview"), "hi"
    )
    assert server.last_request.body["tools"] == [
        {
            "type": "computer_use_preview",
            "environment": "browser",
            "display_width": 1280,
            "display_height": 800,
        }
    ]


@pytest.mark.parametrize(
    "tool",
    [
        WebSearchTool(),
        FileSearchTool(vector_store_ids=["vs_1"]),
        CodeInterpreterTool({"type": "code_interpreter", "container": {"type": "auto"}}),
        ImageGenerationTool({"type": "image_generation"}),
        HostedMCPTool(HOSTED_MCP),
        ComputerTool(SyncComputer()),
        LocalShellTool(executor=lambda request: ""),
        ShellTool(executor=lambda request: ""),
    ],
    ids=lambda tool: type(tool).__name__,
)
async def test_chat_completions_refuses_hosted_tools(server: FakeOpenAIServer, tool: Any) -> None:
    agent = Agent(
        name="A", tools=[tool], model=OpenAIChatCompletionsModel("gpt-4.1", server.client())
    )
    with pytest.raises(UserError, match="Responses API"):
        await Runner.run(agent, "hi")
    assert server.requests == []


async def test_provider_run_calls_are_traced(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    server.enqueue(
        _items(
            {
                "type": "web_search_call",
                "id": "ws_1",
                "status": "completed",
                "action": {
                    "type": "search",
                    "query": "agentoscope",
                    "sources": [{"type": "url", "url": "https://example.org"}],
                },
            },
            {
                "type": "file_search_call",
                "id": "fs_1",
                "status": "completed",
                "queries": ["refund policy"],
                "results": [{"file_id": "f1", "filename": "policy.md", "text": "30 days"}],
            },
            {
                "type": "code_interpreter_call",
                "id": "ci_1",
                "status": "completed",
                "container_id": "cntr_1",
                "code": "print(6*7)",
                "outputs": [{"type": "logs", "logs": "42"}],
            },
            {
                "type": "image_generation_call",
                "id": "ig_1",
                "status": "completed",
                "result": PNG,
            },
            {
                "type": "mcp_list_tools",
                "id": "ml_1",
                "server_label": "deepwiki",
                "tools": [{"name": "ask_question", "input_schema": {"type": "object"}}],
            },
            {
                "type": "mcp_call",
                "id": "mc_1",
                "server_label": "deepwiki",
                "name": "ask_question",
                "arguments": '{"q": "what is MCP?"}',
                "output": "A protocol.",
            },
            text="Done: 42, 30 days, a protocol.",
        )
    )
    tools = [
        WebSearchTool(),
        FileSearchTool(vector_store_ids=["vs_1"]),
        CodeInterpreterTool({"type": "code_interpreter", "container": {"type": "auto"}}),
        ImageGenerationTool({"type": "image_generation"}),
        HostedMCPTool(HOSTED_MCP),
    ]
    result = await Runner.run(_agent(server, tools), "research")
    assert result.final_output == "Done: 42, 30 days, a protocol."
    assert len(server.requests) == 1
    kinds = [item.type for item in result.new_items]
    assert kinds.count("tool_call_item") == 5 and "mcp_list_tools_item" in kinds
    assert any(isinstance(item, MCPListToolsItem) for item in result.new_items)

    spans = _functions(collector)
    assert set(spans) == {
        "web_search",
        "file_search",
        "code_interpreter",
        "image_generation",
        "ask_question",
    }
    (agent_span,) = [s for s in collector.ended_spans if s.span_data.type == "agent"]
    assert all(s.parent_id == agent_span.span_id for s in spans.values())
    assert json.loads(spans["web_search"].span_data.input)["query"] == "agentoscope"
    assert "example.org" in spans["web_search"].span_data.output
    assert spans["file_search"].span_data.input == '["refund policy"]'
    assert spans["code_interpreter"].span_data.input == "print(6*7)"
    assert "42" in spans["code_interpreter"].span_data.output
    assert spans["image_generation"].span_data.output.startswith("image (")
    assert spans["ask_question"].span_data.mcp_data == {"server": "deepwiki", "hosted": True}
    assert spans["ask_question"].span_data.output == "A protocol."
    assert spans["web_search"].span_data.call_id == "ws_1"
    (listing,) = [s for s in collector.ended_spans if s.span_data.type == "mcp_tools"]
    assert listing.span_data.server == "deepwiki"
    assert listing.span_data.result == ["ask_question"]


async def test_a_failed_hosted_mcp_call_is_a_span_error(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    server.enqueue(
        _items(
            {
                "type": "mcp_call",
                "id": "mc_2",
                "server_label": "deepwiki",
                "name": "ask_question",
                "arguments": "{}",
                "error": {"type": "http_error", "code": 502, "message": "bad gateway"},
            },
            text="The wiki is down.",
        )
    )
    await Runner.run(_agent(server, [HostedMCPTool(HOSTED_MCP)]), "ask")
    span = _functions(collector)["ask_question"]
    assert span.error["message"] == "Hosted tool call failed"
    assert "bad gateway" in span.error["data"]["error"]


def _computer_call(call_id: str, *actions: dict[str, Any], checks: Any = ()) -> dict[str, Any]:
    return {
        "type": "computer_call",
        "id": f"cu_{call_id}",
        "call_id": call_id,
        "status": "completed",
        "pending_safety_checks": list(checks),
        "actions": list(actions),
    }


async def test_computer_calls_run_and_return_a_screenshot(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    computer = RecordingComputer()
    checked: list[str] = []

    def on_safety_check(data: Any) -> bool:
        checked.append(data.safety_check.code)
        return True

    server.enqueue(
        _items(
            _computer_call(
                "c1",
                {"type": "click", "x": 10, "y": 20, "button": "left"},
                {"type": "type", "text": "hello"},
                {"type": "keypress", "keys": ["ENTER"]},
                {"type": "drag", "path": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]},
                checks=[{"id": "sc_1", "code": "malicious_instructions", "message": "careful"}],
            )
        ),
        text_reply("Typed hello."),
    )
    tool = ComputerTool(computer, on_safety_check=on_safety_check)
    result = await Runner.run(_agent(server, [tool]), "type hello")
    assert result.final_output == "Typed hello."
    assert computer.actions == [
        ("click", 10, 20, "left"),
        ("type", "hello"),
        ("keypress", ["ENTER"]),
        ("drag", [(1, 2), (3, 4)]),
        ("screenshot",),
    ]
    assert checked == ["malicious_instructions"]
    (answer,) = [
        i for i in server.requests[1].body["input"] if i.get("type") == "computer_call_output"
    ]
    assert answer["call_id"] == "c1"
    assert answer["output"] == {
        "type": "computer_screenshot",
        "image_url": f"data:image/png;base64,{PNG}",
    }
    assert answer["acknowledged_safety_checks"][0]["id"] == "sc_1"
    span = _functions(collector)["computer"]
    assert span.span_data.call_id == "c1"
    assert [a["type"] for a in json.loads(span.span_data.input)] == [
        "click",
        "type",
        "keypress",
        "drag",
    ]


async def test_a_rejected_safety_check_stops_the_run(server: FakeOpenAIServer) -> None:
    computer = RecordingComputer()
    server.enqueue(
        _items(
            _computer_call(
                "c1",
                {"type": "wait"},
                checks=[{"id": "sc_9", "code": "sensitive_domain", "message": "bank"}],
            )
        )
    )
    tool = ComputerTool(computer, on_safety_check=lambda data: False)
    with pytest.raises(UserError, match="sensitive_domain"):
        await Runner.run(_agent(server, [tool]), "pay")
    assert computer.actions == []


async def test_sync_computer_from_a_factory_once_per_run(server: FakeOpenAIServer) -> None:
    made: list[SyncComputer] = []

    def factory(*, run_context: Any) -> SyncComputer:
        made.append(SyncComputer())
        return made[-1]

    server.enqueue(
        _items(_computer_call("c1", {"type": "type", "text": "a"})),
        _items(_computer_call("c2", {"type": "type", "text": "b"})),
        text_reply("ab"),
    )
    await Runner.run(_agent(server, [ComputerTool(factory)]), "type ab")
    assert len(made) == 1 and made[0].typed == ["a", "b"]


async def test_computer_call_without_a_computer_tool(server: FakeOpenAIServer) -> None:
    server.enqueue(_items(_computer_call("c1", {"type": "wait"})))
    with pytest.raises(Exception, match="has no ComputerTool"):
        await Runner.run(_agent(server, [WebSearchTool()]), "click")


async def test_local_shell_runs_a_real_command(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    def run(request: Any) -> str:
        action = request.data.action
        done = subprocess.run(action.command, capture_output=True, text=True, timeout=10)
        return done.stdout

    server.enqueue(
        _items(
            {
                "type": "local_shell_call",
                "id": "ls_1",
                "call_id": "sh1",
                "status": "completed",
                "action": {"type": "exec", "command": ["echo", "from the shell"], "env": {}},
            }
        ),
        text_reply("It printed."),
    )
    result = await Runner.run(_agent(server, [LocalShellTool(executor=run)]), "echo")
    assert result.final_output == "It printed."
    (answer,) = [
        i for i in server.requests[1].body["input"] if i.get("type") == "local_shell_call_output"
    ]
    assert answer == {
        "type": "local_shell_call_output",
        "call_id": "sh1",
        "output": "from the shell\n",
    }
    span = _functions(collector)["local_shell"]
    assert span.span_data.output == "from the shell\n"
    assert json.loads(span.span_data.input)["command"] == ["echo", "from the shell"]


def _shell_call(call_id: str, *commands: str, limit: int | None = None) -> dict[str, Any]:
    return {
        "type": "shell_call",
        "id": f"sc_{call_id}",
        "call_id": call_id,
        "status": "completed",
        "action": {"commands": list(commands), "timeout_ms": 5000, "max_output_length": limit},
    }


async def test_shell_tool_structured_results_and_failures(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    async def execute(request: Any) -> ShellResult:
        if request.data.action.commands == ["boom"]:
            raise RuntimeError("secret token abc123 leaked")
        outputs = []
        for command in request.data.action.commands:
            process = await asyncio.create_subprocess_shell(
                command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await process.communicate()
            outputs.append(
                ShellCommandOutput(
                    stdout=out.decode(),
                    stderr=err.decode(),
                    outcome=ShellCallOutcome(type="exit", exit_code=process.returncode),
                )
            )
        return ShellResult(output=outputs)

    server.enqueue(
        _items(_shell_call("s1", "echo one", "echo two >&2; exit 3", limit=100)),
        _items(_shell_call("s2", "boom")),
        text_reply("done"),
    )
    await Runner.run(
        _agent(server, [ShellTool(executor=execute)]),
        "run",
        run_config=RunConfig(trace_include_sensitive_data=False),
    )
    (first,) = [i for i in server.requests[1].body["input"] if i.get("type") == "shell_call_output"]
    assert first["output"] == [
        {"stdout": "one\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}},
        {"stdout": "", "stderr": "two\n", "outcome": {"type": "exit", "exit_code": 3}},
    ]
    assert first["max_output_length"] == 100
    failed = [i for i in server.requests[2].body["input"] if i.get("type") == "shell_call_output"]
    assert failed[-1]["output"][0]["stderr"] == "The command could not be run (RuntimeError)."
    shell_spans = [
        s for s in collector.ended_spans if getattr(s.span_data, "name", None) == "shell"
    ]
    assert [s.error is not None for s in shell_spans] == [False, True]
    assert "abc123" not in json.dumps([s.export() for s in shell_spans])
    assert all(s.span_data.input is None for s in shell_spans)  # sensitive data off


async def test_hosted_mcp_approvals_are_answered(
    server: FakeOpenAIServer, collector: CollectingProcessor
) -> None:
    asked: list[tuple[str, str]] = []

    async def decide(request: Any) -> dict[str, Any]:
        asked.append((request.data.server_label, request.data.name))
        if request.data.name == "delete_page":
            return {"approve": False, "reason": "deleting is not allowed"}
        return {"approve": True}

    approval = {"type": "mcp_approval_request", "server_label": "deepwiki", "arguments": "{}"}
    server.enqueue(
        _items(
            {**approval, "id": "apr_1", "name": "ask_question"},
            {**approval, "id": "apr_2", "name": "delete_page"},
        ),
        text_reply("Asked; did not delete."),
    )
    tool = HostedMCPTool({**HOSTED_MCP, "require_approval": "always"}, on_approval_request=decide)
    result = await Runner.run(_agent(server, [tool]), "ask and delete")
    assert result.final_output == "Asked; did not delete."
    assert asked == [("deepwiki", "ask_question"), ("deepwiki", "delete_page")]
    answers = [
        i for i in server.requests[1].body["input"] if i.get("type") == "mcp_approval_response"
    ]
    assert answers == [
        {"type": "mcp_approval_response", "approval_request_id": "apr_1", "approve": True},
        {
            "type": "mcp_approval_response",
            "approval_request_id": "apr_2",
            "approve": False,
            "reason": "deleting is not allowed",
        },
    ]
    kinds = [type(item) for item in result.new_items]
    assert kinds.count(MCPApprovalRequestItem) == 2 and kinds.count(MCPApprovalResponseItem) == 2
    decisions = [s.span_data for s in collector.ended_spans if s.span_data.type == "custom"]
    assert [(d.name, d.data["tool_name"], d.data["approved"]) for d in decisions] == [
        ("mcp_approval", "ask_question", True),
        ("mcp_approval", "delete_page", False),
    ]


async def test_streamed_run_with_a_computer(server: FakeOpenAIServer) -> None:
    computer = RecordingComputer()
    server.enqueue(_items(_computer_call("c1", {"type": "move", "x": 5, "y": 6})))
    server.enqueue(text_reply("Moved."))
    result = Runner.run_streamed(_agent(server, [ComputerTool(computer)]), "move")
    names = [event.name async for event in result.stream_events() if hasattr(event, "name")]
    assert result.final_output == "Moved."
    assert names[:2] == ["tool_called", "tool_output"]
    assert computer.actions == [("move", 5, 6), ("screenshot",)]


def test_bad_tool_configs_are_refused() -> None:
    with pytest.raises(UserError, match="type='code_interpreter'"):
        CodeInterpreterTool({"container": {"type": "auto"}})
    with pytest.raises(UserError, match="server_label"):
        HostedMCPTool({"type": "mcp"})
    with pytest.raises(UserError, match="needs an executor"):
        ShellTool()
    with pytest.raises(UserError, match="no executor"):
        ShellTool(executor=lambda request: "", environment={"type": "container_auto"})
    with pytest.raises(UserError, match="needs_approval must be a bool or a callable"):
        ShellTool(executor=lambda request: "", needs_approval="yes")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="hosted environment does not support needs_approval"):
        ShellTool(environment={"type": "container_auto"}, needs_approval=True)
    with pytest.raises(UserError, match="custom_data_extractor"):
        ComputerTool(SyncComputer(), custom_data_extractor=lambda context: None)


def test_an_approval_result_needs_only_approve() -> None:
    from agentoscope.runtime.hosted_tools import MCPToolApprovalFunctionResult

    assert MCPToolApprovalFunctionResult.__required_keys__ == frozenset({"approve"})
    assert MCPToolApprovalFunctionResult.__optional_keys__ == frozenset({"reason"})
