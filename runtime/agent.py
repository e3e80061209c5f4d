"""`Agent`: instructions, a model, tools, handoffs, guardrails and an output type."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias

from typing_extensions import TypedDict

from .agent_output import AgentOutputSchema, AgentOutputSchemaBase
from .exceptions import UserError
from .guardrail import InputGuardrail, OutputGuardrail
from .handoffs import Handoff, handoff, snake_case
from .lifecycle import AgentHooks
from .model_settings import ModelSettings
from .run_context import RunContextWrapper, TContext
from .tool import (
    FunctionTool,
    FunctionToolResult,
    Tool,
    ToolErrorFunction,
    default_tool_error_function,
    is_tool_enabled,
)

if TYPE_CHECKING:
    from .lifecycle import RunHooks
    from .models.interface import Model
    from .result import RunResult
    from .run_config import RunConfig


class StopAtTools(TypedDict):
    stop_at_tool_names: list[str]
    """A call to any of these tools ends the run with that tool's output as final output."""


@dataclass
class ToolsToFinalOutputResult:
    is_final_output: bool
    final_output: Any | None = None


ToolsToFinalOutputFunction: TypeAlias = Callable[
    [RunContextWrapper[Any], list[FunctionToolResult]], Any
]
"""(ctx, tool results) -> ToolsToFinalOutputResult (or an awaitable of one)."""


@dataclass
class Agent(Generic[TContext]):
    """An LLM with instructions, tools, handoffs, guardrails and an output type."""

    name: str
    handoff_description: str | None = None
    """Shown to other agents that can hand off to this one."""
    tools: list[Tool] = field(default_factory=list)
    mcp_servers: list[Any] = field(default_factory=list)
    """Accepted for source compatibility; MCP servers are not supported by this runtime."""
    mcp_config: dict[str, Any] = field(default_factory=dict)
    instructions: str | Callable[[RunContextWrapper[TContext], Agent[TContext]], Any] | None = None
    """The system prompt, or a (sync or async) function of (ctx, agent) returning it."""
    prompt: Any | None = None
    """A Responses API prompt template (OpenAI Responses models only)."""
    handoffs: list[Agent[Any] | Handoff] = field(default_factory=list)
    model: str | Model | None = None
    """A Model, or a name resolved by the run's model provider (None: its default)."""
    model_settings: ModelSettings = field(default_factory=ModelSettings)
    input_guardrails: list[InputGuardrail] = field(default_factory=list)
    output_guardrails: list[OutputGuardrail] = field(default_factory=list)
    output_type: type[Any] | AgentOutputSchemaBase | None = None
    """None or str: free text. Anything else: structured output, validated on return."""
    hooks: AgentHooks[TContext] | None = None
    tool_use_behavior: (
        Literal["run_llm_again", "stop_on_first_tool"] | StopAtTools | ToolsToFinalOutputFunction
    ) = "run_llm_again"
    """What happens after tools ran: call the model again (default), stop with the first tool's
    output, stop at named tools, or let a function decide."""
    reset_tool_choice: bool = True
    """Reset a forced tool_choice after a tool was used, so the model cannot loop on it."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"Agent name must be a string, got {type(self.name).__name__}")
        if isinstance(self.model_settings, dict):
            from .model_settings import coerce_model_settings

            self.model_settings = coerce_model_settings(self.model_settings)

    def clone(self, **kwargs: Any) -> Agent[TContext]:
        """A copy with the given fields changed (lists are shared, as in the SDK)."""
        return dataclasses.replace(self, **kwargs)

    async def get_system_prompt(self, run_context: RunContextWrapper[TContext]) -> str | None:
        instructions = self.instructions
        if instructions is None or isinstance(instructions, str):
            return instructions
        if callable(instructions):
            result = instructions(run_context, self)
            if inspect.isawaitable(result):
                result = await result
            return result
        raise UserError(f"Agent {self.name!r}: instructions must be a string or a function")

    async def get_prompt(self, run_context: RunContextWrapper[TContext]) -> Any | None:
        prompt = self.prompt
        if callable(prompt):
            prompt = prompt(run_context, self)
            if inspect.isawaitable(prompt):
                prompt = await prompt
        return prompt

    async def get_mcp_tools(self, run_context: RunContextWrapper[TContext]) -> list[Tool]:
        return []

    async def get_all_tools(self, run_context: RunContextWrapper[TContext]) -> list[Tool]:
        """The tools that are enabled for this run context."""
        tools = self.tools
        if all(getattr(t, "is_enabled", True) is True for t in tools):
            return list(tools)
        return [t for t in tools if await is_tool_enabled(t, run_context, self)]

    def as_tool(
        self,
        tool_name: str | None,
        tool_description: str | None,
        custom_output_extractor: Callable[[RunResult], Awaitable[str]] | None = None,
        is_enabled: bool | Callable[[RunContextWrapper[Any], Agent[Any]], Any] = True,
        run_config: RunConfig | None = None,
        max_turns: int | None = None,
        hooks: RunHooks[TContext] | None = None,
        failure_error_function: ToolErrorFunction | None = default_tool_error_function,
        needs_approval: bool | Callable[..., Any] = False,
    ) -> FunctionTool:
        """This agent as a tool of another agent: it gets the tool's `input` as its input, runs
        to completion in the same trace, and its final output is the tool's result. Unlike a
        handoff, the calling agent stays in charge."""
        name = tool_name or snake_case(self.name)
        schema = {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The input for the agent"}},
            "required": ["input"],
            "additionalProperties": False,
        }

        async def run_agent(ctx: Any, arguments: str) -> Any:
            import json

            from .run import DEFAULT_MAX_TURNS, Runner

            try:
                agent_input = json.loads(arguments)["input"]
                result = await Runner.run(
                    self,
                    agent_input,
                    context=ctx.context,
                    max_turns=max_turns or DEFAULT_MAX_TURNS,
                    hooks=hooks,
                    run_config=run_config,
                )
                if custom_output_extractor is not None:
                    return await custom_output_extractor(result)
                return result.final_output
            except Exception as exc:
                if failure_error_function is None:
                    raise
                from .tool import _maybe_await, _record_tool_error

                _record_tool_error(ctx, exc)
                return await _maybe_await(failure_error_function(ctx, exc))

        return FunctionTool(
            name=name,
            description=tool_description or "",
            params_json_schema=schema,
            on_invoke_tool=run_agent,
            is_enabled=is_enabled,
            needs_approval=needs_approval,
            _is_agent_tool=True,
        )


def get_handoffs_of(agent: Agent[Any], cache: dict[int, Handoff]) -> list[Handoff]:
    """The agent's handoffs as Handoff objects; `cache` (per run) avoids rebuilding them."""
    result: list[Handoff] = []
    for entry in agent.handoffs:
        if isinstance(entry, Handoff):
            result.append(entry)
        elif isinstance(entry, Agent):
            built = cache.get(id(entry))
            if built is None:
                built = cache[id(entry)] = handoff(entry)
            result.append(built)
        else:
            raise UserError(f"Agent {agent.name!r}: invalid handoff {entry!r}")
    return result


_schema_cache: dict[Any, AgentOutputSchemaBase] = {}


def get_output_schema(agent: Agent[Any]) -> AgentOutputSchemaBase | None:
    """The agent's output schema, None for free text. Built once per output type: building a
    pydantic TypeAdapter costs far more than a run."""
    output_type = agent.output_type
    if output_type is None or output_type is str:
        return None
    if isinstance(output_type, AgentOutputSchemaBase):
        return output_type
    try:
        cached = _schema_cache.get(output_type)
    except TypeError:  # an unhashable type annotation
        return AgentOutputSchema(output_type)
    if cached is None:
        cached = AgentOutputSchema(output_type)
        if len(_schema_cache) < 1024:
            _schema_cache[output_type] = cached
    return cached
