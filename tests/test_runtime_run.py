"""The run loop: streaming events, hooks order, sessions, max turns, run_sync, dynamic input."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentoscope.runtime import (
    Agent,
    AgentHooks,
    MaxTurnsExceeded,
    ModelInputData,
    RunContextWrapper,
    RunHooks,
    Runner,
    function_tool,
)
from agentoscope.runtime.models import ScriptedModel, ScriptedTurn, text_message, tool_call


@function_tool
def ping(n: int) -> str:
    """Reply pong."""
    return f"pong {n}"


def _handoff_workflow() -> tuple[Agent[Any], Agent[Any]]:
    specialist = Agent(
        name="Specialist",
        tools=[ping],
        model=ScriptedModel([[tool_call("ping", {"n": 2})], [text_message("all done now")]]),
    )
    triage = Agent(
        name="Triage",
        handoffs=[specialist],
        model=ScriptedModel(
            [[text_message("passing on"), tool_call("transfer_to_specialist", {})]]
        ),
    )
    return triage, specialist


def _describe(event: Any) -> str:
    if event.type == "raw_response_event":
        return f"raw:{event.data.type}"
    if event.type == "run_item_stream_event":
        return f"item:{event.name}"
    return f"agent:{event.new_agent.name}"


async def test_streaming_event_order() -> None:
    triage, specialist = _handoff_workflow()
    result = Runner.run_streamed(triage, "help")
    assert result.is_complete is False and result.current_agent is triage
    events = [_describe(e) async for e in result.stream_events()]
    message = [
        "raw:response.output_item.added",
        "raw:response.content_part.added",
        "raw:response.output_text.delta",
        "raw:response.output_text.delta",
        "raw:response.output_text.delta",
        "raw:response.output_text.done",
        "raw:response.content_part.done",
        "raw:response.output_item.done",
    ]
    call = [
        "raw:response.output_item.added",
        "raw:response.function_call_arguments.delta",
        "raw:response.function_call_arguments.done",
        "raw:response.output_item.done",
    ]
    assert events == [
        "agent:Triage",
        "raw:response.created",
        *message[:3],
        *message[4:],  # "passing on": two words, two deltas
        *call,
        "raw:response.completed",
        "item:message_output_created",
        "item:handoff_requested",
        "item:handoff_occured",
        "agent:Specialist",
        "raw:response.created",
        *call,
        "raw:response.completed",
        "item:tool_called",
        "item:tool_output",
        "raw:response.created",
        *message,
        "raw:response.completed",
        "item:message_output_created",
    ]
    assert result.is_complete
    assert result.final_output == "all done now"
    assert result.current_agent is specialist and result.last_agent is specialist
    assert len(result.raw_responses) == 3 and len(result.new_items) == 6
    assert result.current_turn == 3


async def test_run_streamed_returns_before_the_model_is_called() -> None:
    model = ScriptedModel([[text_message("hi")]])
    result = Runner.run_streamed(Agent(name="A", model=model), "x")
    assert model.calls == []
    items = [e async for e in result.stream_events() if e.type == "run_item_stream_event"]
    assert len(items) == 1 and len(model.calls) == 1 and model.calls[0].streamed


async def test_streaming_raises_the_run_error_after_the_events() -> None:
    model = ScriptedModel([[tool_call("ping", {"n": 1})]])
    result = Runner.run_streamed(Agent(name="A", tools=[ping], model=model), "x", max_turns=1)
    seen: list[str] = []
    with pytest.raises(MaxTurnsExceeded):
        async for event in result.stream_events():
            seen.append(_describe(event))
    assert seen[-2:] == ["item:tool_called", "item:tool_output"]
    assert result.is_complete and isinstance(result.run_loop_exception, MaxTurnsExceeded)


async def test_streaming_cancel_stops_the_run() -> None:
    gate = asyncio.Event()

    @function_tool
    async def wait_forever() -> str:
        """Blocks until cancelled."""
        gate.set()
        await asyncio.sleep(30)
        return "never"

    model = ScriptedModel([[tool_call("wait_forever", {})]])
    result = Runner.run_streamed(Agent(name="A", tools=[wait_forever], model=model), "x")
    async for event in result.stream_events():
        if _describe(event) == "item:tool_called":
            await asyncio.wait_for(gate.wait(), 5)  # the tool is running now
            result.cancel()
    assert result.is_complete and result.final_output is None
    assert isinstance(result.run_loop_exception, asyncio.CancelledError)


class RecordingRunHooks(RunHooks[Any]):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def on_agent_start(self, context: Any, agent: Agent[Any]) -> None:
        self.log.append(f"run.agent_start {agent.name}")

    async def on_agent_end(self, context: Any, agent: Agent[Any], output: Any) -> None:
        self.log.append(f"run.agent_end {agent.name} {output}")

    async def on_llm_start(
        self, context: Any, agent: Agent[Any], system_prompt: Any, input_items: Any
    ) -> None:
        self.log.append(f"run.llm_start {agent.name}")

    async def on_llm_end(self, context: Any, agent: Agent[Any], response: Any) -> None:
        self.log.append(f"run.llm_end {agent.name}")

    async def on_handoff(self, context: Any, from_agent: Agent[Any], to_agent: Agent[Any]) -> None:
        self.log.append(f"run.handoff {from_agent.name}->{to_agent.name}")

    async def on_tool_start(self, context: Any, agent: Agent[Any], tool: Any) -> None:
        self.log.append(f"run.tool_start {tool.name}")

    async def on_tool_end(self, context: Any, agent: Agent[Any], tool: Any, result: Any) -> None:
        self.log.append(f"run.tool_end {tool.name} {result}")


class RecordingAgentHooks(AgentHooks[Any]):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def on_start(self, context: Any, agent: Agent[Any]) -> None:
        self.log.append(f"agent.start {agent.name}")

    async def on_end(self, context: Any, agent: Agent[Any], output: Any) -> None:
        self.log.append(f"agent.end {agent.name}")

    async def on_handoff(self, context: Any, agent: Agent[Any], source: Agent[Any]) -> None:
        self.log.append(f"agent.handoff {source.name}->{agent.name}")

    async def on_tool_start(self, context: Any, agent: Agent[Any], tool: Any) -> None:
        self.log.append(f"agent.tool_start {tool.name}")

    async def on_tool_end(self, context: Any, agent: Agent[Any], tool: Any, result: Any) -> None:
        self.log.append(f"agent.tool_end {tool.name}")

    async def on_llm_start(
        self, context: Any, agent: Agent[Any], system_prompt: Any, input_items: Any
    ) -> None:
        self.log.append(f"agent.llm_start {agent.name}")

    async def on_llm_end(self, context: Any, agent: Agent[Any], response: Any) -> None:
        self.log.append(f"agent.llm_end {agent.name}")


async def test_hooks_order() -> None:
    log: list[str] = []
    triage, specialist = _handoff_workflow()
    triage.hooks = RecordingAgentHooks(log)
    specialist.hooks = RecordingAgentHooks(log)
    await Runner.run(triage, "help", hooks=RecordingRunHooks(log))
    assert log == [
        "run.agent_start Triage",
        "agent.start Triage",
        "run.llm_start Triage",
        "agent.llm_start Triage",
        "run.llm_end Triage",
        "agent.llm_end Triage",
        "run.handoff Triage->Specialist",
        "agent.handoff Triage->Specialist",
        "run.agent_start Specialist",
        "agent.start Specialist",
        "run.llm_start Specialist",
        "agent.llm_start Specialist",
        "run.llm_end Specialist",
        "agent.llm_end Specialist",
        "run.tool_start ping",
        "agent.tool_start ping",
        "run.tool_end ping pong 2",
        "agent.tool_end ping",
        "run.llm_start Specialist",
        "agent.llm_start Specialist",
        "run.llm_end Specialist",
        "agent.llm_end Specialist",
        "run.agent_end Specialist all done now",
        "agent.end Specialist",
    ]


class ListSession:
    """A duck-typed session: the runtime needs only get_items and add_items."""

    def __init__(self, items: list[Any] | None = None) -> None:
        self.items = list(items or [])

    async def get_items(self, limit: int | None = None) -> list[Any]:
        return list(self.items if limit is None else self.items[-limit:])

    async def add_items(self, items: list[Any]) -> None:
        self.items.extend(items)


async def test_session_prepends_history_and_stores_the_turn() -> None:
    session = ListSession()
    model = ScriptedModel([[text_message("Hi Ada")], [text_message("You are Ada")]])
    agent = Agent(name="Chat", model=model)
    await Runner.run(agent, "I am Ada", session=session)
    await Runner.run(agent, "Who am I?", session=session)
    assert [i.get("role") for i in model.calls[1].input] == ["user", "assistant", "user"]
    assert [i.get("role") for i in session.items] == ["user", "assistant", "user", "assistant"]
    assert session.items[2] == {"content": "Who am I?", "role": "user"}

    def last_two(history: list[Any], new_input: list[Any]) -> list[Any]:
        return history[-1:] + new_input

    from agentoscope.runtime import RunConfig

    model2 = ScriptedModel([[text_message("ok")]])
    result = await Runner.run(
        agent.clone(model=model2),
        "again",
        session=session,
        run_config=RunConfig(session_input_callback=last_two),
    )
    assert len(model2.calls[0].input) == 2
    assert len(result.to_input_list()) == 3
    assert len(session.items) == 6  # the history item is not stored twice


async def test_max_turns_carries_what_the_run_produced() -> None:
    model = ScriptedModel([[tool_call("ping", {"n": i})] for i in range(3)])
    with pytest.raises(MaxTurnsExceeded, match=r"Max turns \(2\) exceeded") as caught:
        await Runner.run(Agent(name="L", tools=[ping], model=model), "x", max_turns=2)
    details = caught.value.run_data
    assert details.last_agent.name == "L" and len(details.raw_responses) == 2
    assert len(model.calls) == 2


def test_run_sync_and_its_misuse_inside_a_loop() -> None:
    agent = Agent(name="S", model=ScriptedModel([[text_message("sync ok")]]))
    assert Runner.run_sync(agent, "x").final_output == "sync ok"

    async def inside_loop() -> None:
        with pytest.raises(RuntimeError, match="running event loop"):
            Runner.run_sync(agent, "x")

    asyncio.run(inside_loop())


async def test_dynamic_instructions_and_model_input_filter() -> None:
    async def instructions(ctx: RunContextWrapper[dict[str, str]], agent: Agent[Any]) -> str:
        return f"Speak {ctx.context['lang']} as {agent.name}."

    def drop_old(data: Any) -> ModelInputData:
        return ModelInputData(
            input=data.model_data.input[-1:], instructions=data.model_data.instructions + "!"
        )

    model = ScriptedModel([[text_message("Hola")]])
    agent = Agent(name="Polyglot", instructions=instructions, model=model)
    result = await Runner.run(
        agent,
        [{"role": "user", "content": "old"}, {"role": "user", "content": "new"}],
        context={"lang": "Spanish"},
        run_config={"call_model_input_filter": drop_old},
    )
    assert result.final_output == "Hola"
    assert model.calls[0].system_instructions == "Speak Spanish as Polyglot.!"
    assert model.calls[0].input == [{"role": "user", "content": "new"}]
    assert len(result.to_input_list()) == 3  # the filter changes the call, not the history


async def test_server_managed_conversation_sends_only_unseen_items() -> None:
    model = ScriptedModel(
        [
            ScriptedTurn([tool_call("ping", {"n": 1}, "c1")], response_id="resp_1"),
            ScriptedTurn([text_message("done")], response_id="resp_2"),
        ]
    )
    agent = Agent(name="Server", tools=[ping], model=model)
    result = await Runner.run(agent, "hi", previous_response_id="resp_0")
    assert [c.previous_response_id for c in model.calls] == ["resp_0", "resp_1"]
    assert model.calls[0].input == [{"content": "hi", "role": "user"}]
    assert model.calls[1].input == [
        {"call_id": "c1", "output": "pong 1", "type": "function_call_output"}
    ]
    assert len(result.to_input_list()) == 4  # the local history is still complete

    model = ScriptedModel([[tool_call("ping", {"n": 1}, "c1")], [text_message("done")]])
    await Runner.run(agent.clone(model=model), "hi", conversation_id="conv_1")
    assert [c.conversation_id for c in model.calls] == ["conv_1", "conv_1"]
    assert [c.previous_response_id for c in model.calls] == [None, None]
    assert [len(c.input) for c in model.calls] == [1, 1]
