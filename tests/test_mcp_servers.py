"""MCP servers in runs: our FastMCP server over stdio, streamable HTTP and SSE (real processes on
127.0.0.1), and the third-party `mcp-server-time` from PyPI. Tools reach the model, results reach
the next model input, and every listing and call is a span naming the server."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agentoscope.runtime import (
    Agent,
    RunContextWrapper,
    Runner,
    ToolGuardrailFunctionOutput,
    UserError,
    function_tool,
    tool_input_guardrail,
)
from agentoscope.runtime.mcp import (
    MCPServerManager,
    MCPServerSse,
    MCPServerStdio,
    MCPServerStreamableHttp,
    create_static_tool_filter,
)
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call
from agentoscope.tracing import set_trace_processors
from support.collect import CollectingProcessor
from support.mcp_servers import HttpMCPServer, free_port, stdio_params

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def collector() -> CollectingProcessor:
    processor = CollectingProcessor()
    set_trace_processors([processor])
    return processor


@pytest.fixture(scope="module")
def http_server() -> Iterator[HttpMCPServer]:
    with HttpMCPServer("streamable-http") as server:
        yield server


def _stdio(**options: Any) -> MCPServerStdio:
    return MCPServerStdio(stdio_params(), name="test-stdio", **options)


def _http(
    server: HttpMCPServer, name: str = "test-http", **options: Any
) -> MCPServerStreamableHttp:
    """Most tests share one HTTP server process: a stdio server costs a Python start each."""
    return MCPServerStreamableHttp({"url": server.url}, name=name, **options)


def _spans(collector: CollectingProcessor, kind: str) -> list[Any]:
    return [s for s in collector.ended_spans if s.span_data.type == kind]


def _tool_names(model: ScriptedModel, call: int = 0) -> list[str]:
    return [tool.name for tool in model.calls[call].tools]


def _outputs(model: ScriptedModel, call: int) -> dict[str, Any]:
    """The function_call_output items of a model call's input, by call id."""
    items = model.calls[call].input
    assert isinstance(items, list)
    return {i["call_id"]: i["output"] for i in items if i.get("type") == "function_call_output"}


async def test_stdio_tools_results_and_spans(collector: CollectingProcessor) -> None:
    model = ScriptedModel(
        [
            [tool_call("add", {"a": 2, "b": 3}, "c-add"), tool_call("pixel", {}, "c-px")],
            [text_message("2 + 3 = 5")],
        ]
    )
    async with _stdio() as server:
        agent = Agent(name="Calculator", mcp_servers=[server], model=model)
        result = await Runner.run(agent, "What is 2 + 3?")
        pid = int((await server.call_tool("pid", {})).content[0].text)
        os.kill(pid, 0)
    # Leaving `async with` ended the server process and reaped it.
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(UserError, match="not connected"):
        await server.list_tools()

    assert result.final_output == "2 + 3 = 5"
    assert {"add", "echo", "forecast", "pixel", "fail", "slow", "die"} <= set(_tool_names(model))
    outputs = _outputs(model, 1)
    assert outputs["c-add"] == [{"type": "input_text", "text": "5"}]
    (image,) = outputs["c-px"]
    assert image["type"] == "input_image"
    assert image["image_url"].startswith("data:image/png;base64,iVBORw0KGgo")

    (agent_span,) = _spans(collector, "agent")
    # One listing per model call (the SDK's behaviour), each before the call it serves.
    listings, generations = _spans(collector, "mcp_tools"), _spans(collector, "generation")
    assert len(listings) == len(generations) == 2
    for listing, generation in zip(listings, generations, strict=True):
        assert listing.parent_id == agent_span.span_id
        assert listing.span_data.server == "test-stdio"
        assert "add" in listing.span_data.result
        assert listing.ended_at <= generation.started_at
    calls = {s.span_data.name: s for s in _spans(collector, "function")}
    assert set(calls) == {"add", "pixel"}
    for span in calls.values():
        assert span.parent_id == agent_span.span_id
        assert span.span_data.mcp_data == {"server": "test-stdio"}
        assert span.error is None
    assert calls["add"].span_data.input == '{"a": 2, "b": 3}'
    assert json.loads(calls["add"].span_data.output) == {"type": "text", "text": "5"}


async def test_streamable_http_with_the_real_openai_client(
    http_server: HttpMCPServer, collector: CollectingProcessor
) -> None:
    from agentoscope.runtime import OpenAIResponsesModel
    from support.fake_openai import FakeOpenAIServer, text_reply, tool_call_reply

    with FakeOpenAIServer() as openai_server:
        openai_server.enqueue(tool_call_reply("echo", {"text": "over HTTP"}))
        openai_server.enqueue(text_reply("It said: over HTTP"))
        client = openai_server.client()
        server = MCPServerStreamableHttp({"url": http_server.url}, name="test-http")
        async with server:
            agent = Agent(
                name="Echoer",
                mcp_servers=[server],
                model=OpenAIResponsesModel("gpt-4.1", client),
            )
            result = await Runner.run(agent, "Echo 'over HTTP'")
        await openai_server.aclose_clients()
        first, second = openai_server.requests

    assert result.final_output == "It said: over HTTP"
    offered = {tool["name"]: tool for tool in first.body["tools"]}
    assert offered["echo"]["parameters"]["properties"]["text"]["type"] == "string"
    assert offered["echo"]["strict"] is False
    (answer,) = [i for i in second.body["input"] if i.get("type") == "function_call_output"]
    assert answer["output"] == [{"type": "input_text", "text": "over HTTP"}]
    (call,) = _spans(collector, "function")
    assert call.span_data.mcp_data == {"server": "test-http"}
    assert [s.span_data.server for s in _spans(collector, "mcp_tools")] == ["test-http"] * 2


@pytest.mark.slow
async def test_sse_transport_lists_and_calls() -> None:
    with HttpMCPServer("sse") as sse:
        async with MCPServerSse({"url": sse.url}) as server:
            assert server.name == f"sse: {sse.url}"
            tools = await server.list_tools()
            result = await server.call_tool("add", {"a": 40, "b": 2})
    assert "add" in {t.name for t in tools}
    assert result.content[0].text == "42"


async def test_chat_completions_model_calls_mcp_tools(http_server: HttpMCPServer) -> None:
    from agentoscope.runtime import OpenAIChatCompletionsModel
    from support.fake_openai import FakeOpenAIServer, text_reply, tool_call_reply

    with FakeOpenAIServer() as openai_server:
        openai_server.enqueue(tool_call_reply("add", {"a": 1, "b": 1}), text_reply("2"))
        async with MCPServerStreamableHttp({"url": http_server.url}) as server:
            agent = Agent(
                name="Adder",
                mcp_servers=[server],
                model=OpenAIChatCompletionsModel("gpt-4.1", openai_server.client()),
            )
            result = await Runner.run(agent, "1+1")
        await openai_server.aclose_clients()
        second = openai_server.requests[1]
    assert result.final_output == "2"
    (tool_message,) = [m for m in second.body["messages"] if m["role"] == "tool"]
    assert tool_message["content"] == "2"


async def test_static_and_callable_filters_hide_tools(http_server: HttpMCPServer) -> None:
    def only_for_admins(context: Any, tool: Any) -> bool:
        assert context.server_name == "test-http"
        return tool.name != "die" or context.agent.name == "Admin"

    static = create_static_tool_filter(allowed_tool_names=["add", "echo", "die"])
    assert create_static_tool_filter() is None
    async with _http(http_server, tool_filter=static) as allow_list:
        model = ScriptedModel([[text_message("ok")]])
        await Runner.run(Agent(name="A", mcp_servers=[allow_list], model=model), "hi")
        assert sorted(_tool_names(model)) == ["add", "die", "echo"]

    blocked = create_static_tool_filter(blocked_tool_names=["die", "slow"])
    async with _http(http_server, tool_filter=blocked) as block_list:
        names = {t.name for t in await block_list.list_tools()}
        assert "add" in names and not {"die", "slow"} & names

    async with _http(http_server, tool_filter=only_for_admins) as dynamic:
        user_model, admin_model = (
            ScriptedModel([[text_message("u")]]),
            ScriptedModel([[text_message("a")]]),
        )
        await Runner.run(Agent(name="User", mcp_servers=[dynamic], model=user_model), "hi")
        await Runner.run(Agent(name="Admin", mcp_servers=[dynamic], model=admin_model), "hi")
        assert "die" not in _tool_names(user_model)
        assert "die" in _tool_names(admin_model)
        with pytest.raises(UserError, match="needs run_context and agent"):
            await dynamic.list_tools()


async def test_a_filtered_out_tool_cannot_be_called(http_server: HttpMCPServer) -> None:
    model = ScriptedModel([[tool_call("die", {})]])
    async with _http(http_server, tool_filter={"blocked_tool_names": ["die"]}) as server:
        agent = Agent(name="A", mcp_servers=[server], model=model)
        with pytest.raises(Exception, match="Tool die not found"):
            await Runner.run(agent, "crash the server")
        assert (await server.call_tool("add", {"a": 1, "b": 2})).content[0].text == "3"


async def test_cache_avoids_a_second_listing(http_server: HttpMCPServer) -> None:
    async def listings(server: MCPServerStreamableHttp) -> int:
        return int((await server.call_tool("listings", {})).content[0].text)

    async def baseline(server: MCPServerStreamableHttp) -> int:
        # mcp's client lists the tools itself after its first call on a session.
        await listings(server)
        return await listings(server)

    async with _http(http_server, cache_tools_list=True) as cached:
        assert cached.cached_tools is None
        before = await baseline(cached)
        for _ in range(3):
            await Runner.run(
                Agent(name="A", mcp_servers=[cached], model=ScriptedModel([[text_message("x")]])),
                "hi",
            )
        assert await listings(cached) == before + 1
        assert cached.cached_tools is not None
        assert cached.cached_tools[0].name == "add"
        cached.invalidate_tools_cache()
        await cached.list_tools()
        assert await listings(cached) == before + 2

    async with _http(http_server) as uncached:
        before = await baseline(uncached)
        await uncached.list_tools()
        await uncached.list_tools()
        assert await listings(uncached) == before + 2


async def test_a_raising_tool_is_an_error_the_model_sees(
    http_server: HttpMCPServer, collector: CollectingProcessor
) -> None:
    model = ScriptedModel(
        [[tool_call("fail", {"reason": "no stock"}, "c1")], [text_message("Sorry.")]]
    )
    async with _http(http_server) as server:
        result = await Runner.run(Agent(name="A", mcp_servers=[server], model=model), "go")
    assert result.final_output == "Sorry."
    assert _outputs(model, 1)["c1"] == [
        {"type": "input_text", "text": "Error executing tool fail: refused: no stock"}
    ]
    (span,) = _spans(collector, "function")
    assert span.span_data.mcp_data == {"server": "test-http"}
    assert span.error["message"] == "MCP tool returned an error"
    assert "refused: no stock" in span.span_data.output


async def test_a_server_killed_mid_run(collector: CollectingProcessor) -> None:
    """With a cached listing the model hears about every failed call; the process is reaped."""
    model = ScriptedModel(
        [
            # The failing call makes the server log its reason on stderr.
            [tool_call("pid", {}, "c-pid"), tool_call("fail", {"reason": "db-pw-7"}, "c-f")],
            [tool_call("die", {}, "c-die")],
            [tool_call("add", {"a": 1, "b": 1}, "c-add")],
            [text_message("The server is gone.")],
        ]
    )
    server = _stdio(cache_tools_list=True)
    await server.connect()
    try:
        result = await Runner.run(Agent(name="A", mcp_servers=[server], model=model), "go")
    finally:
        await server.cleanup()
    pid = int(_outputs(model, 1)["c-pid"][0]["text"])
    assert result.final_output == "The server is gone."
    for call_id, turn in (("c-die", 2), ("c-add", 3)):
        told = _outputs(model, turn)[call_id]
        assert "'test-stdio'" in told and "connection closed" in told
        # What the server printed stays out of the model's input.
        assert "stderr" not in told and "db-pw-7" not in told
    failed = {s.span_data.name: s for s in _spans(collector, "function") if s.error is not None}
    assert set(failed) == {"fail", "die", "add"}
    assert all(s.span_data.mcp_data == {"server": "test-stdio"} for s in failed.values())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # exited and reaped, not a zombie


async def test_a_dead_server_fails_the_next_listing(collector: CollectingProcessor) -> None:
    model = ScriptedModel([[tool_call("die", {}, "c-die")], [text_message("unreachable")]])
    async with _stdio() as server:
        agent = Agent(name="A", mcp_servers=[server], model=model)
        with pytest.raises(UserError, match=r"list tools on MCP server 'test-stdio'.*closed"):
            await Runner.run(agent, "go")
    broken = [s for s in _spans(collector, "mcp_tools") if s.error is not None]
    assert len(broken) == 1 and broken[0].error["data"]["server"] == "test-stdio"


async def test_a_slow_tool_times_out(
    http_server: HttpMCPServer, collector: CollectingProcessor
) -> None:
    model = ScriptedModel([[tool_call("slow", {"seconds": 30}, "c1")], [text_message("Too slow.")]])
    async with _http(http_server, client_session_timeout_seconds=0.5) as server:
        result = await Runner.run(Agent(name="A", mcp_servers=[server], model=model), "go")
        # The session survives a timed-out request.
        assert (await server.call_tool("add", {"a": 2, "b": 2})).content[0].text == "4"
    assert result.final_output == "Too slow."
    told = _outputs(model, 1)["c1"]
    assert "test-http" in told and "client_session_timeout_seconds" in told
    (span,) = _spans(collector, "function")
    assert span.error is not None and span.span_data.mcp_data == {"server": "test-http"}


async def test_failure_error_function_none_fails_the_run(http_server: HttpMCPServer) -> None:
    model = ScriptedModel([[tool_call("slow", {"seconds": 30})]])
    slow = _http(http_server, client_session_timeout_seconds=0.3, failure_error_function=None)
    async with slow as server:
        with pytest.raises(UserError, match="call tool 'slow' on MCP server 'test-http'"):
            await Runner.run(Agent(name="A", mcp_servers=[server], model=model), "go")


async def test_connect_failures_name_the_server() -> None:
    with pytest.raises(UserError) as missing:
        await MCPServerStdio({"command": "no-such-mcp-server", "args": ["--x"]}).connect()
    assert "stdio: no-such-mcp-server" in str(missing.value)
    assert "no-such-mcp-server --x" in str(missing.value)
    assert "command not found" in str(missing.value)

    crashing = MCPServerStdio(
        {
            "command": sys.executable,
            "args": ["-c", "import sys; sys.exit('config file missing: tools.yaml')"],
        },
        name="broken",
    )
    with pytest.raises(UserError) as crashed:
        await crashing.connect()
    assert "'broken'" in str(crashed.value)
    assert "config file missing: tools.yaml" in str(crashed.value)

    url = f"http://user:secret@127.0.0.1:{free_port()}/mcp?token=abc"
    with pytest.raises(UserError) as refused:
        await MCPServerStreamableHttp({"url": url, "timeout": 2}).connect()
    message = str(refused.value)
    assert f"127.0.0.1:{url.split(':')[3].split('/')[0]}/mcp" in message
    assert "secret" not in message and "token" not in message


async def test_prompts_and_resources_calls(http_server: HttpMCPServer) -> None:
    async with MCPServerStreamableHttp({"url": http_server.url}) as server:
        prompts = await server.list_prompts()
        assert [p.name for p in prompts.prompts] == ["greeting"]
        prompt = await server.get_prompt("greeting", {"name": "Ada"})
        assert prompt.messages[0].content.text == "Say hello to Ada."
        assert (await server.list_resources()).resources == []


async def test_structured_content_and_strict_schemas(http_server: HttpMCPServer) -> None:
    async with _http(http_server, use_structured_content=True) as server:
        model = ScriptedModel(
            [[tool_call("forecast", {"city": "Oslo"}, "c1")], [text_message("ok")]]
        )
        agent = Agent(
            name="A",
            mcp_servers=[server],
            mcp_config={"convert_schemas_to_strict": True},
            model=model,
        )
        await Runner.run(agent, "weather?")
    assert json.loads(_outputs(model, 1)["c1"]) == {"city": "Oslo", "celsius": 21, "sky": "clear"}
    add = next(t for t in model.calls[0].tools if t.name == "add")
    assert add.strict_json_schema is True
    assert add.params_json_schema["additionalProperties"] is False


async def test_two_servers_with_the_same_tools(http_server: HttpMCPServer) -> None:
    async with _http(http_server) as one, _http(http_server, name="other") as two:
        clash = Agent(name="A", mcp_servers=[one, two], model=ScriptedModel([]))
        with pytest.raises(UserError, match=r"Duplicate tool names.*add"):
            await Runner.run(clash, "hi")

        @function_tool
        def echo(text: str) -> str:
            """A local tool named like one of the server's."""
            return text

        local = Agent(name="A", tools=[echo], mcp_servers=[one], model=ScriptedModel([]))
        with pytest.raises(UserError, match=r"Duplicate tool names.*echo"):
            await Runner.run(local, "hi")
        model = ScriptedModel(
            [[tool_call("mcp_other__add", {"a": 1, "b": 2}, "c")], [text_message("x")]]
        )
        prefixed = Agent(
            name="A",
            mcp_servers=[one, two],
            mcp_config={"include_server_in_tool_names": True},
            model=model,
        )
        await Runner.run(prefixed, "hi")
    assert "mcp_test-http__add" in _tool_names(model)
    assert _outputs(model, 1)["c"] == [{"type": "input_text", "text": "3"}]


async def test_settings_we_cannot_honour_are_refused() -> None:
    with pytest.raises(UserError, match="custom_data_extractor"):
        _stdio(custom_data_extractor=lambda context: None)
    with pytest.raises(UserError, match="tool_input_guardrails takes ToolInputGuardrail"):
        _stdio(tool_input_guardrails=[object()])
    with pytest.raises(UserError, match="ignore_initialized_notification_failure"):
        MCPServerStreamableHttp(
            {"url": "http://127.0.0.1:1/mcp", "ignore_initialized_notification_failure": True}
        )
    with pytest.raises(UserError, match="tool_filter"):
        _stdio(tool_filter={"allow": ["add"]})
    with pytest.raises(UserError, match="client_session_timeout_seconds"):
        _stdio(client_session_timeout_seconds=-1)
    agent = Agent(name="A", mcp_servers=[_stdio()], mcp_config={"strict": True})
    with pytest.raises(UserError, match="unknown mcp_config keys"):
        await agent.get_mcp_tools(RunContextWrapper(context=None))


async def test_tool_meta_resolver_is_sent(http_server: HttpMCPServer) -> None:
    seen: list[Any] = []

    def resolver(context: Any) -> dict[str, Any]:
        seen.append((context.server_name, context.tool_name, context.arguments))
        return {"tenant": "acme"}

    model = ScriptedModel([[tool_call("echo", {"text": "hi"})], [text_message("done")]])
    async with MCPServerStreamableHttp(
        {"url": http_server.url}, name="meta", tool_meta_resolver=resolver
    ) as server:
        await Runner.run(Agent(name="A", mcp_servers=[server], model=model), "go")
    assert seen == [("meta", "echo", {"text": "hi"})]


def _time_server_command() -> list[str]:
    script = shutil.which("mcp-server-time", path=os.path.dirname(sys.executable))
    assert script, "mcp-server-time is a dev dependency: `make install` installs it"
    return [script, "--local-timezone", "UTC"]


@pytest.mark.slow
async def test_third_party_server_from_pypi(collector: CollectingProcessor) -> None:
    command, *args = _time_server_command()
    model = ScriptedModel(
        [
            [tool_call("get_current_time", {"timezone": "Europe/Paris"}, "c1")],
            [text_message("It is late in Paris.")],
        ]
    )
    async with MCPServerStdio({"command": command, "args": args}, name="time") as server:
        agent = Agent(name="Clock", mcp_servers=[server], model=model)
        result = await Runner.run(agent, "What time is it in Paris?")
    assert result.final_output == "It is late in Paris."
    assert {"get_current_time", "convert_time"} <= set(_tool_names(model))
    (part,) = _outputs(model, 1)["c1"]
    assert json.loads(part["text"])["timezone"] == "Europe/Paris"
    (span,) = _spans(collector, "function")
    assert span.span_data.mcp_data == {"server": "time"}


async def test_manager_keeps_going_with_the_servers_that_came_up(
    http_server: HttpMCPServer,
) -> None:
    broken = MCPServerStdio({"command": "no-such-mcp-server"}, name="broken")
    good = _http(http_server)
    unreachable = MCPServerStreamableHttp(
        {"url": f"http://127.0.0.1:{free_port()}/mcp", "timeout": 2}, name="unreachable"
    )
    async with MCPServerManager([broken, good, unreachable], connect_in_parallel=True) as manager:
        assert manager.active_servers == [good]
        assert manager.failed_servers == [broken, unreachable]
        assert "command not found" in str(manager.errors[broken])
        model = ScriptedModel([[tool_call("add", {"a": 1, "b": 1}, "c")], [text_message("2")]])
        agent = Agent(name="A", mcp_servers=manager.active_servers, model=model)
        assert (await Runner.run(agent, "1+1")).final_output == "2"
        assert await manager.reconnect() == [good]
    assert good.session is None  # cleaned up on exit

    with pytest.raises(UserError, match="broken"):
        async with MCPServerManager([_http(http_server), broken], strict=True):
            pass
    with pytest.raises(UserError, match="connect_timeout_seconds"):
        MCPServerManager([], connect_timeout_seconds=0)


async def test_server_tool_guardrails_apply_to_each_tool(http_server: HttpMCPServer) -> None:
    @tool_input_guardrail
    def no_big_numbers(data: Any) -> ToolGuardrailFunctionOutput:
        arguments = json.loads(data.context.tool_arguments or "{}")
        if arguments.get("a", 0) > 100:
            return ToolGuardrailFunctionOutput.reject_content("Numbers over 100 are refused.")
        return ToolGuardrailFunctionOutput.allow()

    model = ScriptedModel(
        [
            [
                tool_call("add", {"a": 1, "b": 2}, "small"),
                tool_call("add", {"a": 500, "b": 1}, "big"),
            ],
            [text_message("ok")],
        ]
    )
    async with _http(http_server, tool_input_guardrails=[no_big_numbers]) as server:
        result = await Runner.run(Agent(name="A", mcp_servers=[server], model=model), "add")
    assert result.final_output == "ok"
    outputs = _outputs(model, 1)
    assert outputs["small"] == [{"type": "input_text", "text": "3"}]
    assert outputs["big"] == "Numbers over 100 are refused."
    assert [r.output.behavior["type"] for r in result.tool_input_guardrail_results] == [
        "allow",
        "reject_content",
    ]
