"""Function tools: schemas from hints and docstrings, concurrency, errors, timeouts, and what
happens after tools ran (tool_use_behavior)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from agentoscope.runtime import (
    Agent,
    FunctionToolResult,
    ModelBehaviorError,
    ModelSettings,
    RunContextWrapper,
    Runner,
    StopAtTools,
    ToolContext,
    ToolsToFinalOutputResult,
    ToolTimeoutError,
    UserError,
    function_tool,
)
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call


def _outputs(result: Any) -> list[str]:
    return [
        item.raw_item["output"] for item in result.new_items if item.type == "tool_call_output_item"
    ]


class Address(BaseModel):
    city: str
    zip_code: str | None = None


def test_schema_from_type_hints_and_google_docstring() -> None:
    @function_tool
    def ship(item: str, quantity: int, to: Address, mode: Literal["air", "sea"] = "sea") -> str:
        """Ship an item.

        Args:
            item: What to ship.
            quantity: How many.
            to: Where to.
            mode: Transport.
        """
        return "ok"

    schema = ship.params_json_schema
    assert ship.name == "ship" and ship.description == "Ship an item."
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["item", "quantity", "to", "mode"]  # strict: all required
    assert schema["properties"]["quantity"] == {
        "description": "How many.",
        "title": "Quantity",
        "type": "integer",
    }
    assert schema["properties"]["mode"]["enum"] == ["air", "sea"]
    address = schema["$defs"]["Address"]
    assert address["additionalProperties"] is False
    assert address["required"] == ["city", "zip_code"]
    # A $ref with a description beside it is inlined, as strict mode requires.
    to = schema["properties"]["to"]
    assert "$ref" not in to and to["description"] == "Where to."
    assert to["required"] == ["city", "zip_code"]


def test_tool_schemas_match_the_official_sdk() -> None:
    agents = pytest.importorskip("agents")

    def ship(item: str, quantity: int, to: Address, mode: Literal["air", "sea"] = "sea") -> str:
        """Ship an item.

        Args:
            item: What to ship.
            to: Where to.
        """
        return "ok"

    async def notes(tags: list[str], limit: int | None = None) -> str:
        """List notes.

        :param tags: Tags to match.
        """
        return ""

    for func in (ship, notes):
        ours, theirs = function_tool(func), agents.function_tool(func)
        assert (ours.name, ours.description) == (theirs.name, theirs.description)
        assert ours.params_json_schema == theirs.params_json_schema


def test_schema_from_sphinx_and_numpy_docstrings_and_context_param() -> None:
    @function_tool(name_override="lookup")
    def sphinx_style(ctx: RunContextWrapper[Any], key: str) -> str:
        """Look a key up.

        :param key: The key to find.
        """
        return key

    @function_tool
    def numpy_style(count: int) -> int:
        """Count things.

        Parameters
        ----------
        count : int
            How many things.
        """
        return count

    assert sphinx_style.name == "lookup"
    assert list(sphinx_style.params_json_schema["properties"]) == ["key"]  # ctx is not a param
    assert sphinx_style.params_json_schema["properties"]["key"]["description"] == (
        "The key to find."
    )
    assert numpy_style.params_json_schema["properties"]["count"]["description"] == (
        "How many things."
    )


def test_non_strict_tools_allow_open_dicts_and_strict_refuses_them() -> None:
    def configure(options: dict[str, int]) -> str:
        """Set options."""
        return "ok"

    loose = function_tool(configure, strict_mode=False)
    assert loose.params_json_schema["properties"]["options"]["additionalProperties"] == {
        "type": "integer"
    }
    with pytest.raises(UserError, match="additional properties"):
        function_tool(configure)


async def test_parallel_tool_calls_run_concurrently() -> None:
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    @function_tool
    async def wait_for_other(name: str, other: str) -> str:
        """Finishes only once the other call has started too."""
        started[name].set()
        await asyncio.wait_for(started[other].wait(), timeout=5)
        return f"{name} done"

    model = ScriptedModel(
        [
            [
                tool_call("wait_for_other", {"name": "a", "other": "b"}, "c1"),
                tool_call("wait_for_other", {"name": "b", "other": "a"}, "c2"),
            ],
            [text_message("both done")],
        ]
    )
    agent = Agent(name="P", tools=[wait_for_other], model=model)
    result = await Runner.run(agent, "go")
    assert result.final_output == "both done"
    assert _outputs(result) == ["a done", "b done"]  # results keep call order
    # The model saw both outputs, matched to their call ids.
    second_input = model.calls[1].input
    assert [i["call_id"] for i in second_input if i.get("type") == "function_call_output"] == [
        "c1",
        "c2",
    ]


async def test_sync_tools_run_in_threads_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=5)
    loop_thread = threading.get_ident()
    threads: list[int] = []

    @function_tool
    def blocking(n: int) -> int:
        """A blocking tool: both calls must be inside it at once to pass the barrier."""
        threads.append(threading.get_ident())
        barrier.wait()
        return n * 10

    model = ScriptedModel(
        [
            [tool_call("blocking", {"n": 1}), tool_call("blocking", {"n": 2})],
            [text_message("ok")],
        ]
    )
    result = await Runner.run(Agent(name="S", tools=[blocking], model=model), "go")
    assert _outputs(result) == ["10", "20"]
    assert loop_thread not in threads and len(set(threads)) == 2


async def test_tool_errors_are_returned_to_the_model_as_text() -> None:
    @function_tool
    def fragile(x: int) -> str:
        """Breaks."""
        raise RuntimeError("secret internals")

    @function_tool(failure_error_function=lambda ctx, err: f"tool failed: {err}")
    async def explained(x: int) -> str:
        """Breaks with a custom message."""
        raise KeyError("missing")

    model = ScriptedModel(
        [
            [
                tool_call("fragile", {"x": 1}),
                tool_call("explained", {"x": 1}),
                tool_call("fragile", "{not json"),
                tool_call("fragile", {"x": "not a number"}),
            ],
            [text_message("sorry")],
        ]
    )
    agent = Agent(name="E", tools=[fragile, explained], model=model)
    result = await Runner.run(agent, "go")
    assert result.final_output == "sorry"
    default = "An error occurred while running the tool. Please try again."
    assert _outputs(result) == [default, "tool failed: 'missing'", default, default]
    assert "secret internals" not in json.dumps(model.calls[1].input)


async def test_failure_error_function_none_fails_the_run() -> None:
    @function_tool(failure_error_function=None)
    def strict(x: int) -> str:
        """Raises through."""
        raise ValueError("boom")

    model = ScriptedModel([[tool_call("strict", {"x": 1})]])
    with pytest.raises(ValueError, match="boom"):
        await Runner.run(Agent(name="F", tools=[strict], model=model), "go")


async def test_unknown_tool_is_a_model_behavior_error() -> None:
    model = ScriptedModel([[tool_call("nope", {})]])
    with pytest.raises(ModelBehaviorError, match="Tool nope not found in agent X"):
        await Runner.run(Agent(name="X", model=model), "go")


async def test_tool_timeout_as_result_and_as_exception() -> None:
    @function_tool(timeout=0.05)
    async def slow() -> str:
        """Too slow."""
        await asyncio.sleep(5)
        return "late"

    @function_tool(timeout=0.05, timeout_behavior="raise_exception")
    async def slow_strict() -> str:
        """Too slow, and says so."""
        await asyncio.sleep(5)
        return "late"

    model = ScriptedModel([[tool_call("slow", {})], [text_message("gave up")]])
    result = await Runner.run(Agent(name="T", tools=[slow], model=model), "go")
    assert _outputs(result) == ["Tool 'slow' timed out after 0.05 seconds."]

    model = ScriptedModel([[tool_call("slow_strict", {})]])
    with pytest.raises(ToolTimeoutError) as caught:
        await Runner.run(Agent(name="T", tools=[slow_strict], model=model), "go")
    assert (caught.value.tool_name, caught.value.timeout_seconds) == ("slow_strict", 0.05)


async def test_tool_context_carries_the_call_and_user_context() -> None:
    seen: dict[str, Any] = {}

    @function_tool
    def whoami(ctx: ToolContext[dict[str, str]], greeting: str) -> str:
        """Greets the user from the context."""
        seen.update(name=ctx.tool_name, call_id=ctx.tool_call_id, args=ctx.tool_arguments)
        return f"{greeting} {ctx.context['user']}"

    model = ScriptedModel([[tool_call("whoami", {"greeting": "hi"}, "call-7")], [text_message("")]])
    agent = Agent(name="C", tools=[whoami], model=model)
    result = await Runner.run(agent, "go", context={"user": "ada"})
    assert _outputs(result) == ["hi ada"]
    assert seen == {"name": "whoami", "call_id": "call-7", "args": '{"greeting": "hi"}'}


@function_tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@function_tool
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@pytest.mark.parametrize(
    ("behavior", "expected"),
    [
        ("stop_on_first_tool", 5),
        (StopAtTools(stop_at_tool_names=["shout"]), "HEY"),
    ],
)
async def test_tool_use_behavior_stops_with_a_tool_output(behavior: Any, expected: Any) -> None:
    model = ScriptedModel(
        [[tool_call("add", {"a": 2, "b": 3}), tool_call("shout", {"text": "hey"})]]
    )
    agent = Agent(name="B", tools=[add, shout], model=model, tool_use_behavior=behavior)
    result = await Runner.run(agent, "go")
    assert result.final_output == expected
    assert len(model.calls) == 1


async def test_tool_use_behavior_function_decides() -> None:
    def decide(ctx: Any, results: list[FunctionToolResult]) -> ToolsToFinalOutputResult:
        total = sum(r.output for r in results if isinstance(r.output, int))
        return ToolsToFinalOutputResult(is_final_output=total > 4, final_output=total)

    model = ScriptedModel(
        [[tool_call("add", {"a": 1, "b": 1})], [tool_call("add", {"a": 2, "b": 3})]]
    )
    agent = Agent(name="B", tools=[add], model=model, tool_use_behavior=decide)
    result = await Runner.run(agent, "go")
    assert result.final_output == 5 and len(model.calls) == 2


async def test_disabled_tools_are_hidden_and_tool_choice_resets_after_use() -> None:
    hidden = function_tool(lambda: "x", name_override="hidden", is_enabled=False)

    async def only_for_admins(ctx: RunContextWrapper[Any], agent: Agent[Any]) -> bool:
        return ctx.context == "admin"

    def admin_only() -> str:
        """Only for admins."""
        return "secret"

    admin_tool = function_tool(admin_only, is_enabled=only_for_admins)
    model = ScriptedModel([[tool_call("add", {"a": 1, "b": 2})], [text_message("3")]])
    agent = Agent(
        name="H",
        tools=[add, hidden, admin_tool],
        model=model,
        model_settings=ModelSettings(tool_choice="required"),
    )
    await Runner.run(agent, "go", context="guest")
    assert [t.name for t in model.calls[0].tools] == ["add"]
    admin_model = ScriptedModel([[text_message("hi admin")]])
    await Runner.run(agent.clone(model=admin_model), "go", context="admin")
    assert [t.name for t in admin_model.calls[0].tools] == ["add", "admin_only"]
    assert model.calls[0].model_settings.tool_choice == "required"
    assert model.calls[1].model_settings.tool_choice is None  # reset after the tool ran
    assert agent.model_settings.tool_choice == "required"  # the agent's own settings untouched
