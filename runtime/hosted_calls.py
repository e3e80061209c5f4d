"""The built-in tools' output items in a run.

Calls the provider ran (web and file search, code interpreter, image generation, hosted MCP
calls and listings, hosted shell) are recorded as spans, one per item with its type, arguments
and results; they take no time of ours, so their spans are instants at the point the response
arrived. Calls we run (computer, local shell, local shell tool) execute through the user's
`Computer` or executor inside a `function` span, and their outputs go back to the model.
Hosted MCP approval requests and local shell calls that need approval are decided in
hosted_approvals.py (a callback, or a person through RunState).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from agentoscope.tracing import function_span, mcp_tools_span

from .computer import AsyncComputer, Computer
from .exceptions import ModelBehaviorError, UserError
from .hosted_approvals import decide_hosted_call, shell_action
from .hosted_tools import (
    ComputerTool,
    ComputerToolSafetyCheckData,
    HostedMCPTool,
    LocalShellCommandRequest,
    LocalShellTool,
    ShellCallData,
    ShellCommandRequest,
    ShellResult,
    ShellTool,
)
from .items import (
    MCPApprovalRequestItem,
    MCPListToolsItem,
    RunItem,
    ToolApprovalItem,
    ToolCallItem,
    ToolCallOutputItem,
)
from .lifecycle import RunHooks
from .run_config import RunConfig
from .run_context import RunContextWrapper
from .tool import _maybe_await

logger = logging.getLogger("agentoscope.runtime")

HOSTED_CALL_TYPES = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "computer_call",
        "local_shell_call",
        "shell_call",
        "shell_call_output",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
    }
)
_TRACE_NAMES = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
    "shell_call": "shell",
}

HostedKind = Literal["provider", "computer", "local_shell", "shell", "approval"]


@dataclass
class HostedCall:
    kind: HostedKind
    item: Any
    tool: Any = None


def _find(tools: list[Any], cls: type, what: str, agent: Any) -> Any:
    for tool in tools:
        if isinstance(tool, cls):
            return tool
    raise ModelBehaviorError(
        f"The model made a {what} but agent {agent.name!r} has no {cls.__name__}"
    )


def sort_hosted_call(agent: Any, tools: list[Any], output: Any, processed: Any) -> None:
    """Add a built-in tool's output item to `processed`: its run item and what to do with it."""
    kind = output.type
    processed.tools_used.append(kind)
    if kind == "mcp_list_tools":
        processed.new_items.append(MCPListToolsItem(agent=agent, raw_item=output))
        processed.hosted.append(HostedCall("provider", output))
        return
    if kind == "mcp_approval_request":
        label = output.server_label
        tool = next(
            (
                t
                for t in tools
                if isinstance(t, HostedMCPTool) and t.tool_config.get("server_label") == label
            ),
            None,
        )
        if tool is None:
            raise ModelBehaviorError(
                f"An approval request came from hosted MCP server {label!r}, which agent "
                f"{agent.name!r} does not have"
            )
        processed.new_items.append(MCPApprovalRequestItem(agent=agent, raw_item=output))
        processed.hosted.append(HostedCall("approval", output, tool))
        return
    if kind == "shell_call_output":
        processed.new_items.append(ToolCallOutputItem(agent=agent, raw_item=output))
        return
    processed.new_items.append(ToolCallItem(agent=agent, raw_item=output))
    if kind == "computer_call":
        tool = _find(tools, ComputerTool, "computer call", agent)
        processed.hosted.append(HostedCall("computer", output, tool))
    elif kind == "local_shell_call":
        tool = _find(tools, LocalShellTool, "local shell call", agent)
        processed.hosted.append(HostedCall("local_shell", output, tool))
    elif kind == "shell_call":
        tool = _find(tools, ShellTool, "shell call", agent)
        processed.hosted.append(HostedCall("shell" if tool.is_local else "provider", output, tool))
    else:
        processed.hosted.append(HostedCall("provider", output))


@dataclass
class HostedOutcome:
    items: list[RunItem] = field(default_factory=list)
    """The turn's items for the model, in call order (with those of calls done before)."""
    fresh: list[RunItem] = field(default_factory=list)
    """Of those, the ones made now (not yet streamed)."""
    waiting: list[ToolApprovalItem] = field(default_factory=list)
    """Calls that wait for a person (hosted_approvals.py)."""


async def run_hosted_calls(
    calls: list[HostedCall],
    agent: Any,
    hooks: RunHooks[Any],
    context: RunContextWrapper[Any],
    run_config: RunConfig,
    done: dict[int, RunItem | None],
    asked: frozenset[str] = frozenset(),
) -> HostedOutcome:
    """Trace the provider's calls, run ours in order (one screen, one shell), answer approvals;
    calls waiting for a person are left for a resumed run. `done` (call index -> its item, None
    for a traced call) holds the calls handled so far and gets the ones handled now, so a
    resumed turn does none twice."""
    include = bool(run_config.trace_include_sensitive_data)
    outcome = HostedOutcome()
    for index, call in enumerate(calls):
        if index in done:
            earlier = done[index]
            if earlier is not None:
                outcome.items.append(earlier)
            continue
        decision = await decide_hosted_call(call, agent, context, run_config, asked)
        if decision.waiting is not None:
            outcome.waiting.append(decision.waiting)
            continue
        item = decision.item
        if item is None and call.kind == "provider":
            _trace_provider_call(call.item, include)
        elif item is None:
            item = await _run_local(call, agent, hooks, context, include)
        done[index] = item
        if item is not None:
            outcome.items.append(item)
            outcome.fresh.append(item)
    return outcome


# -- the provider's calls ----------------------------------------------------------------------


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(_dump(value), ensure_ascii=False, default=str)


def _provider_call_data(item: Any) -> tuple[str | None, str | None, str | None]:
    """(input, output, error) of a provider-run call item."""
    kind = item.type
    status = getattr(item, "status", None)
    error = f"status {status}" if status in ("failed", "incomplete") else None
    if kind == "web_search_call":
        action = getattr(item, "action", None)
        sources = getattr(action, "sources", None)
        return _json(action), _json(sources) if sources else status, error
    if kind == "file_search_call":
        return _json(item.queries), _json(item.results) if item.results else status, error
    if kind == "code_interpreter_call":
        return item.code, _json(item.outputs) if item.outputs else status, error
    if kind == "image_generation_call":
        produced = f"image ({len(item.result)} base64 characters)" if item.result else status
        failure = getattr(item, "error", None)
        if failure is not None:
            error = getattr(failure, "message", None) or "image generation failed"
        return getattr(item, "revised_prompt", None), produced, error
    if kind == "mcp_call":
        failure = _json(item.error) if item.error is not None else None
        return item.arguments, item.output if item.output is not None else failure, failure
    if kind == "shell_call":
        return _json(item.action.commands), status, error
    return None, status, error


def _trace_provider_call(item: Any, include: bool) -> None:
    if item.type == "mcp_list_tools":
        with mcp_tools_span(server=item.server_label) as listing:
            listing.span_data.result = [tool.name for tool in item.tools]
            if item.error:
                listing.set_error(
                    {
                        "message": "Hosted MCP listing failed",
                        "data": {"server": item.server_label, "error": item.error},
                    }
                )
        return
    name = item.name if item.type == "mcp_call" else _TRACE_NAMES[item.type]
    call_id = getattr(item, "call_id", None) or getattr(item, "id", None)
    arguments, result, error = _provider_call_data(item)
    with function_span(name, call_id=call_id) as span:
        if item.type == "mcp_call":
            span.span_data.mcp_data = {"server": item.server_label, "hosted": True}
        if include:
            span.span_data.input = arguments
            span.span_data.output = result
        if error is not None:
            data: dict[str, Any] = {"type": item.type, "tool_name": name}
            if include:
                data["error"] = error
            span.set_error({"message": "Hosted tool call failed", "data": data})


# -- calls we run ------------------------------------------------------------------------------


async def _run_local(
    call: HostedCall,
    agent: Any,
    hooks: RunHooks[Any],
    context: RunContextWrapper[Any],
    include: bool,
) -> RunItem:
    tool, item = call.tool, call.item
    name = tool.trace_name if isinstance(tool, ComputerTool) else tool.name
    with function_span(name, call_id=item.call_id) as span:
        if include:
            span.span_data.input = _local_input(call)
        await hooks.on_tool_start(context, agent, tool)
        if agent.hooks is not None:
            await agent.hooks.on_tool_start(context, agent, tool)
        try:
            if call.kind == "computer":
                raw, output = await _run_computer(tool, item, agent, context)
            elif call.kind == "local_shell":
                raw, output = await _run_local_shell(tool, item, context)
            else:
                raw, output = await _run_shell(tool, item, context)
        except Exception as error:
            data: dict[str, Any] = {"type": type(error).__name__, "tool_name": name}
            if include:
                data["error"] = str(error)
            span.set_error({"message": "Error running tool", "data": data})
            if call.kind == "computer" or isinstance(error, UserError):
                raise  # a broken computer cannot go on blind, as in the SDK
            raw, output = _failed_shell_output(call, error)
        await hooks.on_tool_end(context, agent, tool, output)
        if agent.hooks is not None:
            await agent.hooks.on_tool_end(context, agent, tool, output)
        if include:
            span.span_data.output = output
    return ToolCallOutputItem(agent=agent, raw_item=raw, output=output)


def _local_input(call: HostedCall) -> str | None:
    item = call.item
    if call.kind == "computer":
        return _json(list(item.actions) if item.actions else item.action)
    return _json(item.action)


async def _resolve_computer(tool: ComputerTool, context: RunContextWrapper[Any]) -> Any:
    if isinstance(tool.computer, Computer | AsyncComputer):
        return tool.computer
    # A factory makes one computer per run; the run context is the run's identity.
    made: dict[int, Any] = context.__dict__.setdefault("_agentoscope_computers", {})
    computer = made.get(id(tool))
    if computer is None:
        computer = await _maybe_await(tool.computer(run_context=context))
        if not isinstance(computer, Computer | AsyncComputer):
            raise UserError("The ComputerTool factory did not return a Computer or AsyncComputer")
        made[id(tool)] = computer
    return computer


async def _computer_method(computer: Any, method: str, *args: Any) -> Any:
    function = getattr(computer, method)
    if isinstance(computer, AsyncComputer):
        return await function(*args)
    return await asyncio.to_thread(function, *args)


async def _run_computer(
    tool: ComputerTool, item: Any, agent: Any, context: RunContextWrapper[Any]
) -> tuple[dict[str, Any], str]:
    acknowledged: list[dict[str, Any]] = []
    for check in item.pending_safety_checks or ():
        if tool.on_safety_check is None:
            logger.warning("Computer call %s has an unacknowledged safety check", item.call_id)
            continue
        ok = await _maybe_await(
            tool.on_safety_check(
                ComputerToolSafetyCheckData(
                    ctx_wrapper=context, agent=agent, tool_call=item, safety_check=check
                )
            )
        )
        if not ok:
            raise UserError(f"Computer tool safety check {check.code or check.id} not accepted")
        acknowledged.append(check.model_dump(exclude_none=True))
    computer = await _resolve_computer(tool, context)
    actions = list(item.actions) if item.actions else ([item.action] if item.action else [])
    screenshot: str | None = None
    for action in actions:
        screenshot = None
        kind = action.type
        if kind == "click":
            await _computer_method(computer, "click", action.x, action.y, action.button)
        elif kind == "double_click":
            await _computer_method(computer, "double_click", action.x, action.y)
        elif kind == "drag":
            path = [(point.x, point.y) for point in action.path]
            await _computer_method(computer, "drag", path)
        elif kind == "keypress":
            await _computer_method(computer, "keypress", list(action.keys))
        elif kind == "move":
            await _computer_method(computer, "move", action.x, action.y)
        elif kind == "screenshot":
            screenshot = await _computer_method(computer, "screenshot")
        elif kind == "scroll":
            await _computer_method(
                computer, "scroll", action.x, action.y, action.scroll_x, action.scroll_y
            )
        elif kind == "type":
            await _computer_method(computer, "type", action.text)
        elif kind == "wait":
            await _computer_method(computer, "wait")
        else:
            raise ModelBehaviorError(f"Unknown computer action {kind!r}")
    if screenshot is None:
        screenshot = await _computer_method(computer, "screenshot")
    image_url = f"data:image/png;base64,{screenshot}" if screenshot else ""
    raw: dict[str, Any] = {
        "type": "computer_call_output",
        "call_id": item.call_id,
        "output": {"type": "computer_screenshot", "image_url": image_url},
    }
    if acknowledged:
        raw["acknowledged_safety_checks"] = acknowledged
    return raw, image_url


async def _run_local_shell(
    tool: LocalShellTool, item: Any, context: RunContextWrapper[Any]
) -> tuple[dict[str, Any], str]:
    output = await _maybe_await(tool.executor(LocalShellCommandRequest(context, item)))
    text = output if isinstance(output, str) else str(output)
    return {"type": "local_shell_call_output", "call_id": item.call_id, "output": text}, text


def _shell_entries(result: Any, limit: int | None) -> tuple[list[dict[str, Any]], str]:
    entries: list[dict[str, Any]]
    if isinstance(result, ShellResult):
        entries = []
        for out in result.output:
            outcome: dict[str, Any] = {"type": out.outcome.type}
            if out.outcome.type == "exit":
                outcome["exit_code"] = out.outcome.exit_code or 0
            entries.append({"stdout": out.stdout, "stderr": out.stderr, "outcome": outcome})
        if result.max_output_length is not None:
            limit = min(limit, result.max_output_length) if limit else result.max_output_length
    else:
        text = result if isinstance(result, str) else str(result)
        entries = [{"stdout": text, "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}]
    if limit is not None:
        for entry in entries:
            entry["stdout"], entry["stderr"] = entry["stdout"][:limit], entry["stderr"][:limit]
    rendered = "\n".join(e["stdout"] + (f"\n{e['stderr']}" if e["stderr"] else "") for e in entries)
    return entries, rendered


async def _run_shell(
    tool: ShellTool, item: Any, context: RunContextWrapper[Any]
) -> tuple[dict[str, Any], str]:
    action = item.action
    request = ShellCommandRequest(
        ctx_wrapper=context,
        data=ShellCallData(
            call_id=item.call_id,
            action=shell_action(item),
            status=item.status if item.status != "incomplete" else None,
            raw=item,
        ),
    )
    assert tool.executor is not None  # a local ShellTool has one (checked at construction)
    result = await _maybe_await(tool.executor(request))
    entries, rendered = _shell_entries(result, action.max_output_length)
    raw: dict[str, Any] = {"type": "shell_call_output", "call_id": item.call_id, "output": entries}
    if action.max_output_length is not None:
        raw["max_output_length"] = action.max_output_length
    return raw, rendered


def _failed_shell_output(call: HostedCall, error: Exception) -> tuple[dict[str, Any], str]:
    """A failed executor is reported to the model (without the exception's text, which may
    hold secrets), so it can try something else."""
    message = f"The command could not be run ({type(error).__name__})."
    item = call.item
    if call.kind == "local_shell":
        return {"type": "local_shell_call_output", "call_id": item.call_id, "output": message}, (
            message
        )
    entry = {"stdout": "", "stderr": message, "outcome": {"type": "exit", "exit_code": 1}}
    return {"type": "shell_call_output", "call_id": item.call_id, "output": [entry]}, message
