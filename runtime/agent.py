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
from .handoffs import Handoff, handoff
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
    """MCP servers (`agentoscope.runtime.mcp`) whose tools the agent gets; connect them first."""
    mcp_config: dict[str, Any] = field(default_factory=dict)
    """`convert_schemas_to_strict`, `failure_error_function`, `include_server_in_tool_names`."""
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
        from .prompts import resolve_prompt

        return await resolve_prompt(self.prompt, run_context, self)

    async def get_mcp_tools(self, run_context: RunContextWrapper[TContext]) -> list[Tool]:
        """The tools of the agent's MCP servers (listed now, or from their caches)."""
        if not self.mcp_servers:
            return []
        from .mcp.agent_tools import mcp_tools_of

        return await mcp_tools_of(self, run_context)

    async def get_all_tools(self, run_context: RunContextWrapper[TContext]) -> list[Tool]:
        """The MCP servers' tools, then the agent's tools that are enabled for this context."""
        mcp_tools = await self.get_mcp_tools(run_context) if self.mcp_servers else []
        tools = self.tools
        if all(getattr(t, "is_enabled", True) is True for t in tools):
            return [*mcp_tools, *tools]
        return [*mcp_tools, *[t for t in tools if await is_tool_enabled(t, run_context, self)]]

    def as_tool(
        self,
        tool_name: str | None,
        tool_description: str | None,
        custom_output_extractor: Callable[[RunResult], Awaitable[str]] | None = None,
        is_enabled: bool | Callable[[RunContextWrapper[Any], Agent[Any]], Any] = True,
        on_stream: Callable[..., Any] | None = None,
        run_config: RunConfig | dict[str, Any] | None = None,
        max_turns: int | None = None,
        hooks: RunHooks[TContext] | None = None,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        session: Any | None = None,
        failure_error_function: ToolErrorFunction | None = default_tool_error_function,
        needs_approval: bool | Callable[..., Any] = False,
        parameters: type[Any] | None = None,
        input_builder: Callable[[dict[str, Any]], Any] | None = None,
        include_input_schema: bool = False,
        on_stream_max_pending_events: int | None = 1024,
    ) -> FunctionTool:
        """This agent as a tool of another agent: it gets the tool's `input` (or, with
        `parameters`, structured arguments) as its input, runs to completion in the same
        trace, and its final output is the tool's result. Unlike a handoff, the calling agent
        stays in charge. See agent_tool.py."""
        from .agent_tool import build_agent_tool

        return build_agent_tool(
            self,
            tool_name,
            tool_description,
            custom_output_extractor=custom_output_extractor,
            is_enabled=is_enabled,
            run_config=run_config,
            max_turns=max_turns,
            hooks=hooks,
            failure_error_function=failure_error_function,
            needs_approval=needs_approval,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            session=session,
            parameters=parameters,
            input_builder=input_builder,
            include_input_schema=include_input_schema,
            on_stream=on_stream,
            on_stream_max_pending_events=on_stream_max_pending_events,
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
