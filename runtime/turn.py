"""One model turn's aftermath: sort the model's output into run items, run the function tools
(concurrently), perform a handoff, and decide what comes next (final output, handoff, or
another model call)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentoscope.tracing import function_span, get_current_span, handoff_span

from .agent import Agent, ToolsToFinalOutputResult
from .exceptions import ModelBehaviorError, UserError
from .handoffs import Handoff, HandoffInputData
from .hosted_calls import HOSTED_CALL_TYPES, sort_hosted_call
from .items import (
    HandoffCallItem,
    HandoffOutputItem,
    ItemHelpers,
    MessageOutputItem,
    ModelResponse,
    ReasoningItem,
    RunItem,
    ToolCallItem,
    ToolCallOutputItem,
    TResponseInputItem,
    tool_output_text,
)
from .lifecycle import RunHooks
from .run_config import RunConfig
from .run_context import RunContextWrapper, ToolContext
from .stream_events import RunItemStreamEvent, StreamEvent
from .tool import FunctionTool, FunctionToolResult, invoke_function_tool
from .tool_guardrails import check_tool_input, check_tool_output, is_rejected
from .tool_output import structured_output

logger = logging.getLogger("agentoscope.runtime")

Emit = Callable[[StreamEvent], None] | None

_ITEM_EVENT_NAMES = {
    "message_output_item": "message_output_created",
    "tool_call_item": "tool_called",
    "handoff_call_item": "handoff_requested",
    "reasoning_item": "reasoning_item_created",
    "tool_call_output_item": "tool_output",
    "handoff_output_item": "handoff_occured",
    "mcp_list_tools_item": "mcp_list_tools",
    "mcp_approval_request_item": "mcp_approval_requested",
    "mcp_approval_response_item": "mcp_approval_response",
}


@dataclass
class FunctionRun:
    tool_call: Any
    tool: FunctionTool


@dataclass
class HandoffRun:
    tool_call: Any
    handoff: Handoff


@dataclass
class ProcessedResponse:
    new_items: list[RunItem] = field(default_factory=list)
    functions: list[FunctionRun] = field(default_factory=list)
    handoffs: list[HandoffRun] = field(default_factory=list)
    tools_used: list[str] = field(default_factory=list)
    hosted: list[Any] = field(default_factory=list)
    """Built-in tool calls: run here (computer, shell), answered (approvals), or traced."""


def emit_items(emit: Emit, items: list[RunItem]) -> None:
    if emit is not None:
        for item in items:
            emit(RunItemStreamEvent(name=_ITEM_EVENT_NAMES[item.type], item=item))  # type: ignore[arg-type]


def process_model_response(
    agent: Agent[Any], tools: list[Any], handoffs: list[Handoff], response: ModelResponse
) -> ProcessedResponse:
    """Sort the model's output into run items and the calls to execute."""
    processed = ProcessedResponse()
    handoff_by_name = {h.tool_name: h for h in handoffs}
    function_by_name = {t.name: t for t in tools if isinstance(t, FunctionTool)}
    for output in response.output:
        if output.type == "message":
            processed.new_items.append(MessageOutputItem(agent=agent, raw_item=output))
        elif output.type == "function_call":
            name = output.name
            processed.tools_used.append(name)
            target = handoff_by_name.get(name)
            if target is not None:
                processed.new_items.append(HandoffCallItem(agent=agent, raw_item=output))
                processed.handoffs.append(HandoffRun(output, target))
                continue
            tool = function_by_name.get(name)
            if tool is None:
                span = get_current_span()
                if span is not None:
                    span.set_error(
                        {
                            "message": "Tool not found",
                            "data": {"type": "ModelBehaviorError", "tool_name": name},
                        }
                    )
                raise ModelBehaviorError(f"Tool {name} not found in agent {agent.name}")
            processed.new_items.append(
                ToolCallItem(agent=agent, raw_item=output, description=tool.description)
            )
            processed.functions.append(FunctionRun(output, tool))
        elif output.type == "reasoning":
            processed.new_items.append(ReasoningItem(agent=agent, raw_item=output))
        elif output.type in HOSTED_CALL_TYPES:
            sort_hosted_call(agent, tools, output, processed)
        else:
            logger.warning("Ignoring model output item of unexpected type %r", output.type)
    return processed


async def _run_one_tool(
    run: FunctionRun,
    agent: Agent[Any],
    hooks: RunHooks[Any],
    context: RunContextWrapper[Any],
    run_config: RunConfig,
) -> FunctionToolResult:
    call, tool = run.tool_call, run.tool
    include_data = run_config.trace_include_sensitive_data
    with function_span(tool.name, call_id=call.call_id) as span:
        if include_data:
            span.span_data.input = call.arguments
        tool_context = ToolContext.from_run_context(
            context,
            tool_name=tool.name,
            tool_call_id=call.call_id,
            tool_arguments=call.arguments,
            tool_call=call,
            agent=agent,
            run_config=run_config,
        )
        await hooks.on_tool_start(tool_context, agent, tool)
        if agent.hooks is not None:
            await agent.hooks.on_tool_start(tool_context, agent, tool)
        result = await _guarded_call(tool, tool_context, agent, call.arguments)
        await hooks.on_tool_end(tool_context, agent, tool, result)
        if agent.hooks is not None:
            await agent.hooks.on_tool_end(tool_context, agent, tool, result)
        text = tool_output_text(result)
        if include_data:
            span.span_data.output = text
    # Images and files reach the model as content parts; everything else as text.
    raw = {
        "call_id": call.call_id,
        "output": structured_output(result) or text,
        "type": "function_call_output",
    }
    item = ToolCallOutputItem(agent=agent, raw_item=raw, output=result)
    return FunctionToolResult(tool=tool, output=result, run_item=item)


async def _guarded_call(
    tool: FunctionTool, tool_context: ToolContext[Any], agent: Agent[Any], arguments: str
) -> Any:
    """The tool call between its input and output guardrails (tool_guardrails.py)."""
    if not tool.tool_input_guardrails and not tool.tool_output_guardrails:
        return await invoke_function_tool(tool, tool_context, arguments)
    rejected = await check_tool_input(tool, tool_context, agent)
    if is_rejected(rejected):
        return rejected
    result = await invoke_function_tool(tool, tool_context, arguments)
    return await check_tool_output(tool, tool_context, agent, result)


async def execute_function_tools(
    runs: list[FunctionRun],
    agent: Agent[Any],
    hooks: RunHooks[Any],
    context: RunContextWrapper[Any],
    run_config: RunConfig,
) -> list[FunctionToolResult]:
    """Run the turn's tool calls concurrently; results come back in call order."""
    if len(runs) == 1:  # the common case, without a task per call
        return [await _run_one_tool(runs[0], agent, hooks, context, run_config)]
    return list(
        await asyncio.gather(*(_run_one_tool(r, agent, hooks, context, run_config) for r in runs))
    )


async def final_output_from_tools(
    agent: Agent[Any], results: list[FunctionToolResult], context: RunContextWrapper[Any]
) -> ToolsToFinalOutputResult:
    """Apply the agent's tool_use_behavior to the tool results."""
    behavior = agent.tool_use_behavior
    if not results or behavior == "run_llm_again":
        return ToolsToFinalOutputResult(is_final_output=False)
    if behavior == "stop_on_first_tool":
        return ToolsToFinalOutputResult(is_final_output=True, final_output=results[0].output)
    if isinstance(behavior, dict):
        names = behavior.get("stop_at_tool_names", [])
        for result in results:
            if result.tool.name in names:
                return ToolsToFinalOutputResult(is_final_output=True, final_output=result.output)
        return ToolsToFinalOutputResult(is_final_output=False)
    if callable(behavior):
        decided = behavior(context, results)
        if inspect.isawaitable(decided):
            decided = await decided
        if not isinstance(decided, ToolsToFinalOutputResult):
            raise UserError("tool_use_behavior function must return ToolsToFinalOutputResult")
        return decided
    raise UserError(f"Invalid tool_use_behavior: {behavior!r}")


@dataclass
class HandoffOutcome:
    new_agent: Agent[Any]
    original_input: str | list[TResponseInputItem]
    pre_handoff_items: list[RunItem]
    new_items: list[RunItem]
    """The handoff turn's items as the run keeps them (result.new_items, session)."""
    model_items: list[RunItem] | None
    """When the filter set input_items: the items the next agent sees instead of new_items."""
    filtered: bool = True
    """False when no input filter applied: the history simply continues."""


async def execute_handoff(
    agent: Agent[Any],
    runs: list[HandoffRun],
    original_input: str | list[TResponseInputItem],
    pre_handoff_items: list[RunItem],
    new_items: list[RunItem],
    hooks: RunHooks[Any],
    context: RunContextWrapper[Any],
    run_config: RunConfig,
    emit: Emit,
    server_managed: bool = False,
) -> HandoffOutcome:
    """Take the first handoff the model asked for (others are answered as ignored), record it,
    run the hooks and apply the input filter."""
    for extra in runs[1:]:
        message = "Multiple handoffs detected, ignoring this one."
        ignored = ToolCallOutputItem(
            agent=agent,
            raw_item=ItemHelpers.tool_call_output_item(extra.tool_call, message),
            output=message,
        )
        new_items.append(ignored)
        emit_items(emit, [ignored])
    chosen = runs[0]
    with handoff_span(from_agent=agent.name) as span:
        new_agent = await chosen.handoff.on_invoke_handoff(context, chosen.tool_call.arguments)
        span.span_data.to_agent = new_agent.name
        if len(runs) > 1:
            span.set_error(
                {
                    "message": "Multiple handoffs requested",
                    "data": {
                        "type": "MultipleHandoffs",
                        "requested_agents": [r.handoff.agent_name for r in runs],
                    },
                }
            )
        output_item = HandoffOutputItem(
            agent=agent,
            raw_item=ItemHelpers.tool_call_output_item(
                chosen.tool_call, chosen.handoff.get_transfer_message(new_agent)
            ),
            source_agent=agent,
            target_agent=new_agent,
        )
        new_items.append(output_item)
        emit_items(emit, [output_item])
        await hooks.on_handoff(context, agent, new_agent)
        if agent.hooks is not None:
            await agent.hooks.on_handoff(context, new_agent, agent)

        input_filter = chosen.handoff.input_filter or run_config.handoff_input_filter
        if input_filter is not None and server_managed:
            # The server holds the history; a local filter cannot change what it has seen.
            logger.warning(
                "Handoff input filter of %r ignored: the conversation is managed server-side "
                "(previous_response_id / conversation_id)",
                chosen.handoff.agent_name,
            )
            input_filter = None
        if input_filter is None:
            return HandoffOutcome(
                new_agent, original_input, pre_handoff_items, new_items, None, filtered=False
            )
        data = HandoffInputData(
            input_history=tuple(original_input)
            if isinstance(original_input, list)
            else original_input,
            pre_handoff_items=tuple(pre_handoff_items),
            new_items=tuple(new_items),
            run_context=context,
        )
        filtered = input_filter(data)
        if inspect.isawaitable(filtered):
            filtered = await filtered
        if not isinstance(filtered, HandoffInputData):
            span.set_error(
                {
                    "message": "Invalid input filter result",
                    "data": {"type": "UserError", "details": "not a HandoffInputData"},
                }
            )
            raise UserError(f"Handoff input filter returned {type(filtered).__name__}")
    history = filtered.input_history
    return HandoffOutcome(
        new_agent=new_agent,
        original_input=history if isinstance(history, str) else list(history),
        pre_handoff_items=list(filtered.pre_handoff_items),
        new_items=list(filtered.new_items),
        model_items=list(filtered.input_items) if filtered.input_items is not None else None,
    )
