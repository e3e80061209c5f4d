"""Human approval of tool calls: a run pauses on a call whose tool needs approval, the call runs
only once approved, and the run resumes exactly where it stopped (also from JSON in another
process, and streamed), in the same trace, with the pause and the decision on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agentoscope.runtime import (
    Agent,
    RunConfig,
    RunContextWrapper,
    Runner,
    RunState,
    SQLiteSession,
    ToolApprovalItem,
    UserError,
    function_tool,
)
from agentoscope.runtime.models import (
    OpenAIResponsesModel,
    ScriptedModel,
    text_message,
    tool_call,
)
from agentoscope.tracing import set_trace_processors, trace
from support.collect import CollectingProcessor
from support.fake_openai import FakeOpenAIServer, text_reply, tool_call_reply

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def collector() -> CollectingProcessor:
    processor = CollectingProcessor()
    set_trace_processors([processor])
    return processor


class Bank:
    """The tools' side effects, so a test sees exactly which calls ran."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.looked_up: list[str] = []

    def tools(self, needs_approval: Any = True) -> list[Any]:
        @function_tool(needs_approval=needs_approval)
        def delete_account(user: str) -> str:
            """Delete a user's account."""
            self.deleted.append(user)
            return f"deleted {user}"

        @function_tool
        def lookup(user: str) -> str:
            """Look a user up."""
            self.looked_up.append(user)
            return f"{user}: active"

        return [delete_account, lookup]


def _outputs(items: list[Any]) -> list[str]:
    return [i.raw_item["output"] for i in items if i.type == "tool_call_output_item"]


async def test_approved_call_runs_only_after_approval() -> None:
    bank = Bank()
    model = ScriptedModel(
        [
            [tool_call("delete_account", {"user": "ann"}), tool_call("lookup", {"user": "ann"})],
            [text_message("Ann's account is gone.")],
        ]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)

    result = await Runner.run(agent, "delete ann")

    assert result.final_output is None
    assert [i.name for i in result.interruptions] == ["delete_account"]
    assert json.loads(result.interruptions[0].arguments) == {"user": "ann"}
    assert result.interruptions[0].agent is agent
    assert bank.deleted == [] and bank.looked_up == ["ann"]  # the unguarded tool ran
    # In call order, the waiting call's approval item in the place of its result (the SDK's).
    assert [i.type for i in result.new_items] == [
        "tool_call_item",
        "tool_call_item",
        "tool_approval_item",
        "tool_call_output_item",
    ]
    assert result.new_items[2] is result.interruptions[0]
    assert model.remaining_turns == 1

    state = result.to_state()
    assert state.get_interruptions() == result.interruptions
    state.approve(result.interruptions[0])
    resumed = await Runner.run(agent, state)

    assert resumed.final_output == "Ann's account is gone."
    assert resumed.interruptions == []
    assert bank.deleted == ["ann"] and bank.looked_up == ["ann"]  # nothing ran twice
    # As in the SDK: the results from before the pause, then those of the resumed run.
    assert _outputs(resumed.new_items) == ["ann: active", "deleted ann"]
    second_input = model.calls[1].input
    outputs = [i["output"] for i in second_input if i.get("type") == "function_call_output"]
    assert outputs == ["ann: active", "deleted ann"]
    assert not any(i.get("type") == "tool_approval_item" for i in second_input)
    assert resumed.context_wrapper.usage.requests == 2


async def test_rejected_call_never_runs_and_the_model_hears_why() -> None:
    bank = Bank()
    model = ScriptedModel(
        [[tool_call("delete_account", {"user": "bob"})], [text_message("Not allowed, sorry.")]]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete bob")
    state = result.to_state()
    state.reject(result.interruptions[0], rejection_message="Bob's account is protected.")
    resumed = await Runner.run(agent, state)

    assert bank.deleted == []
    assert resumed.final_output == "Not allowed, sorry."
    assert _outputs(resumed.new_items) == ["Bob's account is protected."]


async def test_default_rejection_message() -> None:
    bank = Bank()
    model = ScriptedModel([[tool_call("delete_account", {"user": "bob"})], [text_message("ok")]])
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete bob")
    state = result.to_state()
    state.reject(result.interruptions[0])
    resumed = await Runner.run(agent, state)
    assert _outputs(resumed.new_items) == ["Tool execution was not approved."]


async def test_always_approve_covers_later_calls_of_that_tool() -> None:
    bank = Bank()
    model = ScriptedModel(
        [
            [tool_call("delete_account", {"user": "a"})],
            [tool_call("delete_account", {"user": "b"})],
            [text_message("both gone")],
        ]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete a and b")
    state = result.to_state()
    state.approve(result.interruptions[0], always_approve=True)
    resumed = await Runner.run(agent, state)
    assert resumed.interruptions == []  # the second call did not pause
    assert resumed.final_output == "both gone"
    assert bank.deleted == ["a", "b"]


async def test_always_reject_covers_later_calls_of_that_tool() -> None:
    bank = Bank()
    model = ScriptedModel(
        [
            [tool_call("delete_account", {"user": "a"})],
            [tool_call("delete_account", {"user": "b"})],
            [text_message("cannot")],
        ]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete a and b")
    state = result.to_state()
    state.reject(result.interruptions[0], always_reject=True, rejection_message="never")
    resumed = await Runner.run(agent, state)
    assert resumed.interruptions == [] and resumed.final_output == "cannot"
    assert bank.deleted == []
    assert _outputs(resumed.new_items) == ["never", "never"]


@pytest.mark.parametrize("is_async", [False, True])
async def test_callable_policy_decides_per_call(is_async: bool) -> None:
    seen: list[tuple[dict[str, Any], str]] = []

    def policy(ctx: RunContextWrapper[Any], params: dict[str, Any], call_id: str) -> bool:
        seen.append((params, call_id))
        return params["user"].startswith("vip")

    async def async_policy(ctx: RunContextWrapper[Any], params: dict[str, Any], cid: str) -> bool:
        return policy(ctx, params, cid)

    bank = Bank()
    model = ScriptedModel(
        [
            [
                tool_call("delete_account", {"user": "vip-carl"}, call_id="c1"),
                tool_call("delete_account", {"user": "dora"}, call_id="c2"),
            ],
            [text_message("dora deleted, carl waits")],
        ]
    )
    tools = bank.tools(needs_approval=async_policy if is_async else policy)
    agent = Agent(name="Admin", tools=tools, model=model)
    result = await Runner.run(agent, "clean up")
    assert [i.call_id for i in result.interruptions] == ["c1"]
    assert bank.deleted == ["dora"]
    assert seen == [({"user": "vip-carl"}, "c1"), ({"user": "dora"}, "c2")]


async def test_agent_as_tool_with_needs_approval() -> None:
    worker_model = ScriptedModel([[text_message("report written")]])
    worker = Agent(name="Writer", model=worker_model)
    boss_model = ScriptedModel(
        [[tool_call("write_report", {"input": "Q3"})], [text_message("Here it is.")]]
    )
    boss = Agent(
        name="Boss",
        model=boss_model,
        tools=[worker.as_tool("write_report", "Writes reports", needs_approval=True)],
    )
    result = await Runner.run(boss, "report please")
    assert [i.name for i in result.interruptions] == ["write_report"]
    assert worker_model.calls == []
    state = result.to_state()
    state.approve(result.interruptions[0])
    resumed = await Runner.run(boss, state)
    assert resumed.final_output == "Here it is."
    assert len(worker_model.calls) == 1
    assert _outputs(resumed.new_items) == ["report written"]


def test_bad_needs_approval_is_refused_where_defined() -> None:
    with pytest.raises(UserError, match="needs_approval"):

        @function_tool(needs_approval="yes")  # type: ignore[arg-type]
        def f() -> str:
            """f"""
            return ""


async def test_a_state_resumes_once_and_a_finished_run_has_none() -> None:
    bank = Bank()
    model = ScriptedModel([[tool_call("delete_account", {"user": "a"})], [text_message("ok")]])
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete a")
    state = result.to_state()
    state.approve(result.interruptions[0])
    done = await Runner.run(agent, state)
    with pytest.raises(UserError, match="already resumed"):
        await Runner.run(agent, state)
    assert bank.deleted == ["a"]
    with pytest.raises(UserError, match="to_input_list"):
        done.to_state()


async def test_undecided_call_pauses_again_without_running() -> None:
    bank = Bank()
    model = ScriptedModel(
        [
            [
                tool_call("delete_account", {"user": "a"}, call_id="c1"),
                tool_call("delete_account", {"user": "b"}, call_id="c2"),
            ],
            [text_message("done")],
        ]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete a and b")
    state = result.to_state()
    state.approve(result.interruptions[0])  # c2 left undecided
    again = await Runner.run(agent, state)
    assert [i.call_id for i in again.interruptions] == ["c2"]
    assert bank.deleted == ["a"] and model.remaining_turns == 1
    state2 = again.to_state()
    state2.approve(again.interruptions[0])
    final = await Runner.run(agent, state2)
    assert final.final_output == "done" and bank.deleted == ["a", "b"]


async def test_json_round_trip_keeps_history_usage_context_and_decisions() -> None:
    bank = Bank()
    model = ScriptedModel(
        [
            [tool_call("lookup", {"user": "a"})],
            [tool_call("delete_account", {"user": "a"})],
            [text_message("gone")],
        ]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete a", context={"tenant": "acme"})
    text = result.to_state().to_string()
    data = json.loads(text)
    assert data["$schemaVersion"] == "agentoscope.run_state/1"
    assert data["context"]["value"] == {"tenant": "acme"}

    restored = await RunState.from_string(agent, text)
    # An item of the paused result approves the restored state's matching call.
    restored.approve(result.interruptions[0])
    assert restored.to_json()["context"]["approvals"]
    resumed = await Runner.run(agent, restored)
    assert resumed.final_output == "gone" and bank.deleted == ["a"]
    assert resumed.context_wrapper.context == {"tenant": "acme"}
    assert resumed.context_wrapper.usage.requests == 3
    assert [i.type for i in resumed.new_items] == [
        "tool_call_item",
        "tool_call_output_item",
        "tool_call_item",
        "tool_approval_item",
        "tool_call_output_item",
        "message_output_item",
    ]


async def test_json_refuses_foreign_data_and_unknown_agents() -> None:
    agent = Agent(name="Admin")
    with pytest.raises(UserError, match="schemaVersion"):
        await RunState.from_json(agent, {"hello": 1})
    bank = Bank()
    model = ScriptedModel([[tool_call("delete_account", {"user": "a"})]])
    paused = await Runner.run(Agent(name="Other", tools=bank.tools(), model=model), "x")
    with pytest.raises(UserError, match="'Other'"):
        await RunState.from_json(agent, paused.to_state().to_json())


class Deps:
    def __init__(self, db: str) -> None:
        self.db = db


async def test_object_context_needs_a_serializer_or_an_override() -> None:
    seen: list[str] = []

    @function_tool(needs_approval=True)
    def drop(ctx: RunContextWrapper[Deps], table: str) -> str:
        """Drop a table."""
        seen.append(f"{ctx.context.db}.{table}")
        return "dropped"

    model = ScriptedModel([[tool_call("drop", {"table": "t"})], [text_message("ok")]])
    agent = Agent(name="DBA", tools=[drop], model=model)
    result = await Runner.run(agent, "drop t", context=Deps("prod"))
    state = result.to_state()
    with pytest.raises(UserError, match="context_serializer"):
        state.to_json(strict_context=True)
    data = state.to_json(context_serializer=lambda deps: {"db": deps.db})
    restored = await RunState.from_json(agent, data, context_deserializer=lambda d: Deps(d["db"]))
    restored.approve(restored.get_interruptions()[0])
    await Runner.run(agent, restored)
    assert seen == ["prod.t"]


async def test_streamed_run_pauses_and_resumes_streamed() -> None:
    bank = Bank()
    model = ScriptedModel(
        [[tool_call("delete_account", {"user": "eve"})], [text_message("Eve is gone.")]]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    streamed = Runner.run_streamed(agent, "delete eve")
    names = [e.name async for e in streamed.stream_events() if e.type == "run_item_stream_event"]
    assert names == ["tool_called"]
    assert streamed.is_complete and streamed.final_output is None
    assert [i.name for i in streamed.interruptions] == ["delete_account"]
    assert bank.deleted == []

    state = streamed.to_state()
    state.approve(streamed.interruptions[0])
    resumed = Runner.run_streamed(agent, state)
    events = [e async for e in resumed.stream_events()]
    item_events = [e.name for e in events if e.type == "run_item_stream_event"]
    assert item_events == ["tool_output", "message_output_created"]
    assert resumed.final_output == "Eve is gone."
    assert bank.deleted == ["eve"]


async def test_trace_shows_pause_and_decision_in_one_trace(
    collector: CollectingProcessor,
) -> None:
    bank = Bank()
    model = ScriptedModel(
        [
            [
                tool_call("delete_account", {"user": "a"}, call_id="c1"),
                tool_call("delete_account", {"user": "b"}, call_id="c2"),
            ],
            [text_message("a gone, b kept")],
        ]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete a and b", run_config=RunConfig(group_id="chat-7"))
    paused_spans = list(collector.ended_spans)
    state = result.to_state()
    state.approve(result.interruptions[0])
    state.reject(result.interruptions[1])
    await Runner.run(agent, state)

    traces = collector.ended_traces
    assert len(traces) == 1  # the resumed run announced no second trace
    spans = collector.ended_spans
    assert {s.trace_id for s in spans} == {traces[0].trace_id}

    requested = [s for s in paused_spans if s.span_data.type == "custom"]
    assert [(s.span_data.name, s.span_data.data["call_id"]) for s in requested] == [
        ("tool_approval_requested", "c1"),
        ("tool_approval_requested", "c2"),
    ]
    # Each waiting call has its function span at the pause (no output, no error), as in the SDK.
    waiting = [s for s in paused_spans if s.span_data.type == "function"]
    assert [(s.span_data.call_id, s.span_data.output, s.error) for s in waiting] == [
        ("c1", None, None),
        ("c2", None, None),
    ]
    resumed_spans = spans[len(paused_spans) :]
    summary = [
        (s.span_data.type, s.span_data.name if s.span_data.type != "generation" else "")
        for s in resumed_spans
    ]
    # The approved call runs in a function span; the rejected one is its decision span alone
    # (its function span was recorded at the pause), as the SDK records it.
    assert summary == [
        ("custom", "tool_approval_decision"),
        ("custom", "tool_approval_decision"),
        ("function", "delete_account"),
        ("generation", ""),
        ("agent", "Admin"),
    ]
    decisions = [s.span_data.data for s in resumed_spans[:2]]
    assert [(d["call_id"], d["approved"], d["always"]) for d in decisions] == [
        ("c1", True, False),
        ("c2", False, False),
    ]
    functions = {s.span_data.call_id: s for s in resumed_spans if s.span_data.type == "function"}
    assert list(functions) == ["c1"] and functions["c1"].error is None
    agent_span = resumed_spans[-1]
    assert all(s.parent_id == agent_span.span_id for s in resumed_spans[:-1])


async def test_resume_inside_a_callers_trace_nests_there(collector: CollectingProcessor) -> None:
    bank = Bank()
    model = ScriptedModel([[tool_call("delete_account", {"user": "a"})], [text_message("ok")]])
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    result = await Runner.run(agent, "delete a")
    state = result.to_state()
    state.approve(result.interruptions[0])
    with trace("approval desk") as desk:
        await Runner.run(agent, state)
    resumed_agent = collector.ended_spans[-1]
    assert resumed_agent.trace_id == desk.trace_id


async def test_session_gets_every_item_once_across_the_pause(tmp_path: Path) -> None:
    bank = Bank()
    model = ScriptedModel([[tool_call("delete_account", {"user": "a"})], [text_message("ok")]])
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    session = SQLiteSession("s1", tmp_path / "s.db")
    result = await Runner.run(agent, "delete a", session=session)
    # As with the SDK: the run so far, the waiting call included (its approval item is not).
    kinds = [i.get("type", i.get("role")) for i in await session.get_items()]
    assert kinds == ["user", "function_call"]
    state = await RunState.from_string(agent, result.to_state().to_string())
    state.approve(state.get_interruptions()[0])
    await Runner.run(agent, state, session=session)
    kinds = [i.get("type", i.get("role")) for i in await session.get_items()]
    assert kinds == ["user", "function_call", "function_call_output", "message"]


_RESUME_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from openai import AsyncOpenAI
    from agentoscope.runtime import Agent, Runner, RunState, function_tool
    from agentoscope.runtime.models import OpenAIResponsesModel

    @function_tool(needs_approval=True)
    def wire_money(amount: int, to: str) -> str:
        \"\"\"Send money.\"\"\"
        with open(os.environ["LEDGER"], "a") as f:
            f.write(f"{amount}->{to}\\n")
        return "sent"

    async def main():
        client = AsyncOpenAI(base_url=os.environ["BASE_URL"], api_key="test-key")
        agent = Agent(
            name="Treasurer",
            tools=[wire_money],
            model=OpenAIResponsesModel(model="gpt-4o", openai_client=client),
        )
        with open(sys.argv[1]) as f:
            state = await RunState.from_json(agent, json.load(f))
        for item in state.get_interruptions():
            state.approve(item)
        result = await Runner.run(agent, state)
        print(json.dumps({"final": result.final_output}))
        await client.close()

    asyncio.run(main())
    """
)


@pytest.mark.slow
async def test_resume_from_json_in_another_process(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.txt"
    os.environ["LEDGER"] = str(ledger)

    @function_tool(needs_approval=True)
    def wire_money(amount: int, to: str) -> str:
        """Send money."""
        raise AssertionError("must not run in the process that paused")

    agent = Agent(
        name="Treasurer",
        tools=[wire_money],
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=server.client()),
    )
    server.enqueue(tool_call_reply("wire_money", {"amount": 100, "to": "bob"}))
    server.enqueue(text_reply("Sent 100 to Bob."))
    result = await Runner.run(agent, "pay bob 100")
    assert [i.name for i in result.interruptions] == ["wire_money"]
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(result.to_state().to_json()))

    script = tmp_path / "resume.py"
    script.write_text(_RESUME_SCRIPT)
    env = {**os.environ, "BASE_URL": server.base_url, "LEDGER": str(ledger)}
    done = subprocess.run(
        [sys.executable, str(script), str(state_file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"final": "Sent 100 to Bob."}
    assert ledger.read_text() == "100->bob\n"
    # The resumed call sent the history, with the approved call's output.
    second = server.requests[-1].body["input"]
    assert [i.get("type", "message") for i in second] == [
        "message",
        "function_call",
        "function_call_output",
    ]
    assert second[-1]["output"] == "sent"


def test_approval_item_type_is_public() -> None:
    assert ToolApprovalItem.__name__ == "ToolApprovalItem"


async def test_tool_error_formatter_words_rejections_unless_reject_gave_a_message() -> None:
    from agentoscope.runtime import ToolErrorFormatterArgs

    seen: list[ToolErrorFormatterArgs[Any]] = []

    async def formatter(args: ToolErrorFormatterArgs[Any]) -> str | None:
        seen.append(args)
        return f"{args.tool_name} was vetoed"

    bank = Bank()
    model = ScriptedModel(
        [
            [
                tool_call("delete_account", {"user": "a"}, call_id="c1"),
                tool_call("delete_account", {"user": "b"}, call_id="c2"),
            ],
            [text_message("ok")],
        ]
    )
    agent = Agent(name="Admin", tools=bank.tools(), model=model)
    config = RunConfig(tool_error_formatter=formatter)
    result = await Runner.run(agent, "delete", run_config=config)
    state = result.to_state()
    state.reject(result.interruptions[0])
    state.reject(result.interruptions[1], rejection_message="b is protected")
    resumed = await Runner.run(agent, state, run_config=config)
    assert _outputs(resumed.new_items) == ["delete_account was vetoed", "b is protected"]
    assert [(a.kind, a.call_id, a.default_message) for a in seen] == [
        ("approval_rejected", "c1", "Tool execution was not approved.")
    ]


async def test_resume_keeps_the_server_side_conversation_chain(server: FakeOpenAIServer) -> None:
    bank = Bank()
    agent = Agent(
        name="Admin",
        tools=bank.tools(),
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=server.client()),
    )
    server.enqueue(tool_call_reply("delete_account", {"user": "a"}), text_reply("gone"))
    result = await Runner.run(agent, "delete a", auto_previous_response_id=True)
    state = await RunState.from_json(agent, result.to_state().to_json())
    state.approve(state.get_interruptions()[0])
    resumed = await Runner.run(agent, state)
    assert resumed.final_output == "gone"
    _first, second = (r.body for r in server.requests)
    # The resumed call continues the paused one's response and sends only the tool output.
    assert second["previous_response_id"] == result.raw_responses[0].response_id
    assert [i["type"] for i in second["input"]] == ["function_call_output"]


async def test_a_pause_inside_an_agent_tool_pauses_the_outer_run(
    collector: CollectingProcessor,
) -> None:
    bank = Bank()
    inner_model = ScriptedModel(
        [[tool_call("delete_account", {"user": "a"}, call_id="c_in")], [text_message("a gone")]]
    )
    inner = Agent(name="Ops", tools=bank.tools(), model=inner_model)
    outer_model = ScriptedModel(
        [[tool_call("ops", {"input": "delete a"}, call_id="c_out")], [text_message("done")]]
    )
    outer = Agent(
        name="Desk",
        tools=[inner.as_tool(tool_name="ops", tool_description="Operations")],
        model=outer_model,
    )
    paused = await Runner.run(outer, "delete a")
    assert paused.final_output is None
    assert [(i.name, i.agent_name) for i in paused.interruptions] == [("delete_account", "Ops")]
    assert bank.deleted == [] and outer_model.remaining_turns == 1

    # Through JSON: the sub-agent's paused run travels inside the outer state.
    state = await RunState.from_string(outer, paused.to_state().to_string())
    state.approve(state.get_interruptions()[0])
    result = await Runner.run(outer, state)
    assert result.final_output == "done"
    assert bank.deleted == ["a"]  # once
    # The sub-agent resumed where it stopped (no new first turn) and answered the outer call.
    assert inner_model.remaining_turns == 0
    sent = [i for i in outer_model.calls[1].input if i.get("type") == "function_call_output"]
    assert [(i["call_id"], i["output"]) for i in sent] == [("c_out", "a gone")]
    assert len({s.trace_id for s in collector.ended_spans}) == 1
