"""An agent as a tool of another agent (`Agent.as_tool`).

The tool takes `{"input": "..."}` by default. With `parameters` (a pydantic model or any type
pydantic can validate) it takes structured arguments instead, and the sub-agent's input is built
from them: by `input_builder(options)` when given (options: `params`, `summary`,
`json_schema`), otherwise a short message with the arguments as JSON and the schema (a summary
of its fields, or the full JSON schema with include_input_schema=True).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from openai.types.responses import ResponseFunctionToolCall
from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from .exceptions import ModelBehaviorError, UserError
from .handoffs import snake_case
from .strict_schema import ensure_strict_json_schema
from .tool import FunctionTool, _maybe_await, handle_tool_failure

if TYPE_CHECKING:
    from .agent import Agent
    from .stream_events import StreamEvent


class AgentToolStreamEvent(TypedDict):
    """What `as_tool(on_stream=...)` gets for each event of the sub-agent's run."""

    event: StreamEvent
    agent: Agent[Any]
    """The sub-agent the event comes from."""
    tool_call: ResponseFunctionToolCall | None
    """The calling agent's tool call."""


_DEFAULT_SCHEMA = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The input for the agent"}},
    "required": ["input"],
    "additionalProperties": False,
}


def _schema_summary(schema: dict[str, Any]) -> str:
    lines = []
    required = set(schema.get("required") or [])
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type") or ("one of several types" if "anyOf" in prop else "object")
        text = f"- {name} ({kind}{', required' if name in required else ''})"
        if prop.get("description"):
            text += f": {prop['description']}"
        lines.append(text)
    return "\n".join(lines)


def default_input_builder(options: dict[str, Any]) -> str:
    """The sub-agent's input for structured tool arguments (our wording)."""
    parts = [
        "You were called as a tool with these structured arguments:",
        "```json",
        json.dumps(options.get("params"), indent=2, default=str),
        "```",
    ]
    if options.get("json_schema") is not None:
        parts += ["Their JSON schema:", "```json", json.dumps(options["json_schema"], indent=2)]
        parts.append("```")
    elif options.get("summary"):
        parts += ["Fields:", options["summary"]]
    return "\n".join(parts)


def build_agent_tool(
    agent: Agent[Any],
    tool_name: str | None,
    tool_description: str | None,
    *,
    custom_output_extractor: Callable[..., Any] | None,
    is_enabled: Any,
    run_config: Any,
    max_turns: int | None,
    hooks: Any,
    failure_error_function: Callable[..., Any] | None,
    needs_approval: Any,
    previous_response_id: str | None = None,
    conversation_id: str | None = None,
    session: Any = None,
    parameters: type[Any] | None = None,
    input_builder: Callable[[dict[str, Any]], Any] | None = None,
    include_input_schema: bool = False,
    on_stream: Callable[[AgentToolStreamEvent], Any] | None = None,
    on_stream_max_pending_events: int | None = 1024,
) -> FunctionTool:
    name = tool_name or snake_case(agent.name)
    if on_stream_max_pending_events is not None and on_stream_max_pending_events < 1:
        raise UserError(f"as_tool({name!r}): on_stream_max_pending_events must be >= 1 or None")
    adapter: TypeAdapter[Any] | None = None
    if parameters is not None:
        adapter = TypeAdapter(parameters)
        raw_schema = adapter.json_schema()
        if raw_schema.get("type") != "object":
            raise UserError(f"as_tool({name!r}): parameters must describe an object (fields)")
        schema = ensure_strict_json_schema(raw_schema)
    elif input_builder is not None or include_input_schema:
        raise UserError(
            f"as_tool({name!r}): input_builder / include_input_schema need parameters=<a type>"
        )
    else:
        schema = _DEFAULT_SCHEMA

    async def agent_input(arguments: str) -> Any:
        try:
            data = json.loads(arguments) if arguments else {}
        except json.JSONDecodeError as exc:
            raise ModelBehaviorError(f"Invalid JSON input for tool {name}: {arguments!r}") from exc
        if adapter is None:
            return data["input"]
        try:
            value = adapter.validate_python(data)
        except ValidationError as exc:
            raise ModelBehaviorError(f"Invalid input for tool {name}: {exc}") from exc
        params = value.model_dump(mode="json") if isinstance(value, BaseModel) else data
        options = {
            "params": params,
            "summary": _schema_summary(schema),
            "json_schema": schema if include_input_schema else None,
        }
        return await _maybe_await((input_builder or default_input_builder)(options))

    async def run_agent(ctx: Any, arguments: str) -> Any:
        from .run import DEFAULT_MAX_TURNS, Runner

        paused = await _paused_run_of(agent, ctx)
        try:
            options: dict[str, Any] = {
                "context": ctx.context,
                "max_turns": max_turns or DEFAULT_MAX_TURNS,
                "hooks": hooks,
                "run_config": run_config,
                "previous_response_id": previous_response_id,
                "conversation_id": conversation_id,
                "session": session,
            }
            prompt = paused if paused is not None else await agent_input(arguments)
            if on_stream is None:
                result: Any = await Runner.run(agent, prompt, **options)
            else:
                result = await _run_streamed(agent, prompt, options, on_stream, ctx)
        except Exception as exc:
            return await handle_tool_failure(failure_error_function, ctx, exc)
        if result.interruptions:
            # The outer run pauses on the sub-agent's waiting calls (turn.py); running this call
            # again after the decisions resumes the sub-agent where it stopped.
            return NestedPause(agent, ctx, result)
        try:
            if custom_output_extractor is not None:
                return await _maybe_await(custom_output_extractor(result))
            return result.final_output
        except Exception as exc:
            return await handle_tool_failure(failure_error_function, ctx, exc)

    return FunctionTool(
        name=name,
        description=tool_description or "",
        params_json_schema=schema,
        on_invoke_tool=run_agent,
        is_enabled=is_enabled,
        needs_approval=needs_approval,
        _is_agent_tool=True,
        _tool_agent=agent,
    )


class NestedPause:
    """What an agent tool returns when its sub-agent's run paused for approval: the outer run
    pauses on `interruptions`. The paused sub-run is kept (as RunState JSON) on the run's
    approval ledger under the outer call id, so it travels with the outer state."""

    def __init__(self, agent: Agent[Any], ctx: Any, result: Any) -> None:
        self.interruptions = list(result.interruptions)
        state = result.to_state()
        # The context object is the outer run's; it is given back when resuming.
        ctx._approvals.nested[ctx.tool_call_id] = state.to_json(context_serializer=_no_context)

    def __str__(self) -> str:
        names = ", ".join(sorted({str(item.name) for item in self.interruptions}))
        return f"(paused: waiting for approval of {names})"


def _no_context(_value: Any) -> dict[str, Any]:
    return {}


async def _paused_run_of(agent: Agent[Any], ctx: Any) -> Any:
    """The sub-agent's paused run for this call, if it paused before, ready to resume: its
    decisions are the outer run's (one ledger), its context the outer run's."""
    from .run_state import RunState

    ledger = getattr(ctx, "_approvals", None)
    if ledger is None:
        return None
    stored = ledger.nested.pop(ctx.tool_call_id, None)
    if stored is None:
        return None
    state = await RunState.from_json(agent, stored, context_override=ctx.context)
    for key, decisions in state._context._approvals._tools.items():
        ledger._tools.setdefault(key, decisions)
    state._context._approvals = ledger
    return state


async def _run_streamed(
    agent: Agent[Any],
    prompt: Any,
    options: dict[str, Any],
    on_stream: Callable[[AgentToolStreamEvent], Any],
    ctx: Any,
) -> Any:
    """The sub-agent streamed, each event handed to on_stream as it comes (awaited before the
    next, so events never pile up); the finished streaming result is the run's result."""
    from .run import Runner

    streamed = Runner.run_streamed(agent, prompt, **options)
    tool_call = getattr(ctx, "tool_call", None)
    async for event in streamed.stream_events():
        await _maybe_await(on_stream({"event": event, "agent": agent, "tool_call": tool_call}))
    return streamed


__all__ = ["AgentToolStreamEvent", "build_agent_tool", "default_input_builder"]
