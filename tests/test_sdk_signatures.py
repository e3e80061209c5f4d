"""Every parameter of the SDK's Agent, RunConfig, function_tool, handoff, ModelSettings,
Agent.as_tool, Runner.run and sessions is accepted by ours; the ones this runtime does not
implement raise a UserError naming them when set (never silently ignored)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import agents
import pytest
from agents.extensions.memory import RedisSession as SDKRedisSession

from agentoscope.runtime import (
    Agent,
    ModelSettings,
    OpenAIConversationsSession,
    RunConfig,
    Runner,
    SQLiteSession,
    UserError,
    function_tool,
    handoff,
)
from agentoscope.runtime.memory import RedisSession
from agentoscope.runtime.models import ScriptedModel, text_message


def _tool() -> str:
    """A tool."""
    return "ok"


def _run_with(**run_kwargs: Any) -> None:
    agent = Agent(name="A", model=ScriptedModel([[text_message("hi")]]))
    Runner.run_sync(agent, "hi", **run_kwargs)


# (name, SDK callable, ours, {unsupported parameter: how to set it (raises UserError)},
#  parameters built by another package of this wave)
CASES: list[tuple[str, Any, Any, dict[str, Callable[[], Any]], set[str]]] = [
    (
        "Agent",
        agents.Agent,
        Agent,
        {
            "model_settings": lambda: _run_agent(Agent(name="A", model_settings=_retry())),
        },
        {"mcp_servers", "mcp_config"},  # MCP: runtime/mcp (issue 17)
    ),
    (
        "RunConfig",
        agents.RunConfig,
        RunConfig,
        {
            "nest_handoff_history": lambda: RunConfig(nest_handoff_history=True),
            "handoff_history_mapper": lambda: RunConfig(handoff_history_mapper=lambda x: x),
            "reasoning_item_id_policy": lambda: RunConfig(reasoning_item_id_policy="omit"),
            "sandbox": lambda: RunConfig(sandbox=object()),
            "tool_execution": lambda: RunConfig(tool_execution={"max_concurrency": 1}),
            "tool_not_found_behavior": lambda: RunConfig(tool_not_found_behavior="ignore"),
            "tool_name_collision_policy": lambda: RunConfig(tool_name_collision_policy="error"),
            "output_guardrail_blocked_message": lambda: RunConfig(
                output_guardrail_blocked_message="blocked"
            ),
            "tracing": lambda: RunConfig(tracing={"api_key": "sk-x"}),
            "model_settings": lambda: _run_with(run_config=RunConfig(model_settings=_retry())),
        },
        set(),
    ),
    (
        "function_tool",
        agents.function_tool,
        function_tool,
        {
            "defer_loading": lambda: function_tool(defer_loading=True)(_tool),
            "custom_data_extractor": lambda: function_tool(custom_data_extractor=lambda d: {})(
                _tool
            ),
            "allowed_callers": lambda: function_tool(allowed_callers=["code"])(_tool),
            "output_type": lambda: function_tool(output_type=str)(_tool),
            "output_json_schema": lambda: function_tool(output_json_schema={"type": "string"})(
                _tool
            ),
        },
        set(),
    ),
    (
        "handoff",
        agents.handoff,
        handoff,
        {"nest_handoff_history": lambda: handoff(Agent(name="B"), nest_handoff_history=True)},
        set(),
    ),
    (
        "ModelSettings",
        agents.ModelSettings,
        ModelSettings,
        {"retry": lambda: _run_agent(Agent(name="A", model_settings=_retry()))},
        set(),
    ),
    (
        "Agent.as_tool",
        agents.Agent.as_tool,
        Agent.as_tool,
        {
            "on_stream_max_pending_events": lambda: Agent(name="B").as_tool(
                "b", "b", on_stream=print, on_stream_max_pending_events=0
            ),
        },
        set(),
    ),
    (
        "Runner.run",
        agents.Runner.run,
        Runner.run,
        {"error_handlers": lambda: _run_with(error_handlers={"max_turns": lambda d: None})},
        set(),
    ),
    ("SQLiteSession", agents.SQLiteSession, SQLiteSession, {}, set()),
    ("RedisSession", SDKRedisSession, RedisSession, {}, set()),
    (
        "OpenAIConversationsSession",
        agents.OpenAIConversationsSession,
        OpenAIConversationsSession,
        {},
        set(),
    ),
]


def _retry() -> ModelSettings:
    return ModelSettings(retry={"max_retries": 2})


def _run_agent(agent: Agent) -> None:
    agent.model = ScriptedModel([[text_message("hi")]])
    Runner.run_sync(agent, "hi")


def _params(obj: Any) -> list[str]:
    return [p for p in inspect.signature(obj).parameters if p != "self"]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_sdk_parameter_is_accepted(case: tuple[Any, ...]) -> None:
    name, sdk, ours, _, _ = case
    missing = [p for p in _params(sdk) if p not in _params(ours)]
    assert missing == [], f"{name} lacks the SDK's parameters {missing}"
    # Same order for the positional ones, so positional calls mean the same thing.
    positional = [
        p.name
        for p in inspect.signature(sdk).parameters.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]
    assert _params(ours)[: len(positional)] == positional


UNSUPPORTED = [(case[0], param, setter) for case in CASES for param, setter in case[3].items()]


@pytest.mark.parametrize(
    ("owner", "param", "setter"), UNSUPPORTED, ids=[f"{u[0]}.{u[1]}" for u in UNSUPPORTED]
)
def test_unsupported_settings_raise_a_user_error_naming_them(
    owner: str, param: str, setter: Callable[[], Any]
) -> None:
    with pytest.raises(UserError) as raised:
        setter()
    named = "retry" if param == "model_settings" else param
    assert named in str(raised.value)


def test_the_defaults_of_unsupported_settings_are_fine() -> None:
    RunConfig(tracing={"include_task_and_turn_spans": False})
    function_tool(defer_loading=False)(_tool)
    _run_with(run_config=RunConfig(), error_handlers=None)
