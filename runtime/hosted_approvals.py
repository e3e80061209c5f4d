"""Human approval of built-in tool calls: a hosted MCP server's approval requests and the local
`ShellTool`'s commands go through the same RunState approvals as function tools (approvals.py).

- Hosted MCP (`mcp_approval_request` items): the tool's `on_approval_request` answers at once
  when given; otherwise the request waits in `result.interruptions` (a `ToolApprovalItem` named
  after the MCP tool, its call id the request id). A decision becomes the
  `mcp_approval_response` input item the provider needs to run (or skip) the call.
- `ShellTool(needs_approval=...)`: a call that needs approval asks `on_approval` first when
  given; an undecided call waits. Rejected, it is answered with the rejection message on
  stderr (exit code 1) and the command never runs.

Every decision the run applies leaves a `tool_approval_decision` span, as for function tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentoscope.tracing import custom_span

from .approvals import record_decision, record_rejected_call, rejection_message
from .exceptions import UserError
from .hosted_tools import MCPToolApprovalRequest, ShellActionRequest, ShellTool
from .items import MCPApprovalResponseItem, RunItem, ToolApprovalItem, ToolCallOutputItem
from .run_config import RunConfig
from .run_context import RunContextWrapper
from .tool import _maybe_await


@dataclass
class HostedDecision:
    """What to do with one built-in tool call now: run it, answer it with `item` (without
    running anything of ours), or wait for a person (`waiting`)."""

    run: bool = False
    item: RunItem | None = None
    waiting: ToolApprovalItem | None = None


async def decide_hosted_call(
    call: Any,
    agent: Any,
    context: RunContextWrapper[Any],
    run_config: RunConfig,
    asked: frozenset[str] = frozenset(),
) -> HostedDecision:
    """`asked`: the calls the run paused on (their spans were recorded at the pause)."""
    if call.kind == "approval":
        return await _decide_mcp_request(call, agent, context, run_config)
    if call.kind == "shell" and call.tool.needs_approval is not False:
        traced = call.item.call_id not in asked
        return await _decide_shell(call.tool, call.item, agent, context, run_config, traced)
    return HostedDecision(run=True)


# -- hosted MCP --------------------------------------------------------------------------------


async def _decide_mcp_request(
    call: Any, agent: Any, context: RunContextWrapper[Any], run_config: RunConfig
) -> HostedDecision:
    request = call.item
    ledger = context._approvals
    status = ledger.status(agent.name, request.name, request.id)
    if status is None:
        if call.tool.on_approval_request is not None:
            include = bool(run_config.trace_include_sensitive_data)
            return HostedDecision(item=await _ask_callback(call, agent, context, include))
        return HostedDecision(
            waiting=ToolApprovalItem(agent=agent, raw_item=request, tool_name=request.name)
        )
    record_decision(agent, request.name, request.id, status, ledger)
    reason = None if status else ledger.rejection_message(agent.name, request.name, request.id)
    return HostedDecision(item=_mcp_response(agent, request.id, status, reason))


def _mcp_response(
    agent: Any, request_id: str, approve: bool, reason: str | None
) -> MCPApprovalResponseItem:
    raw: dict[str, Any] = {
        "type": "mcp_approval_response",
        "approval_request_id": request_id,
        "approve": approve,
    }
    if reason:
        raw["reason"] = reason
    return MCPApprovalResponseItem(agent=agent, raw_item=raw)


async def _ask_callback(
    call: Any, agent: Any, context: RunContextWrapper[Any], include: bool
) -> RunItem:
    """The tool's `on_approval_request` decides, in the run: no pause."""
    request = call.item
    decision = await _maybe_await(
        call.tool.on_approval_request(MCPToolApprovalRequest(ctx_wrapper=context, data=request))
    )
    if not isinstance(decision, Mapping) or not isinstance(decision.get("approve"), bool):
        raise UserError(
            "on_approval_request must return {'approve': bool, 'reason': str (optional)}, got "
            f"{decision!r}"
        )
    approve = decision["approve"]
    reason = str(decision["reason"]) if decision.get("reason") else None
    data: dict[str, Any] = {
        "server": request.server_label,
        "tool_name": request.name,
        "approved": approve,
    }
    if include:
        data["arguments"] = request.arguments
        if reason is not None:
            data["reason"] = reason
    with custom_span("mcp_approval", data):
        pass
    return _mcp_response(agent, request.id, approve, reason)


# -- the local shell ---------------------------------------------------------------------------


def shell_action(item: Any) -> ShellActionRequest:
    action = item.action
    return ShellActionRequest(
        commands=list(action.commands),
        timeout_ms=action.timeout_ms,
        max_output_length=action.max_output_length,
    )


async def _shell_needs_approval(
    tool: ShellTool, context: RunContextWrapper[Any], item: Any
) -> bool:
    setting = tool.needs_approval
    if isinstance(setting, bool):
        return setting
    return bool(await _maybe_await(setting(context, shell_action(item), item.call_id)))


async def _decide_shell(
    tool: ShellTool,
    item: Any,
    agent: Any,
    context: RunContextWrapper[Any],
    run_config: RunConfig,
    traced: bool,
) -> HostedDecision:
    ledger = context._approvals
    approval = ToolApprovalItem(agent=agent, raw_item=item, tool_name=tool.name)
    status = ledger.status(agent.name, tool.name, item.call_id)
    if status is None:
        if not await _shell_needs_approval(tool, context, item):
            return HostedDecision(run=True)
        if tool.on_approval is not None:
            decided = await _maybe_await(tool.on_approval(context, approval))
            if isinstance(decided, Mapping) and decided.get("approve") is True:
                ledger.approve(approval)
            elif isinstance(decided, Mapping) and decided.get("approve") is False:
                reason = decided.get("reason")
                ledger.reject(approval, message=reason if isinstance(reason, str) else None)
            status = ledger.status(agent.name, tool.name, item.call_id)
        if status is None:
            return HostedDecision(waiting=approval)
    record_decision(agent, tool.name, item.call_id, status, ledger)
    if status:
        return HostedDecision(run=True)
    message = await rejection_message(tool.name, item.call_id, "shell", agent, context, run_config)
    if traced:  # a call the run paused on had its span at the pause
        include = bool(run_config.trace_include_sensitive_data)
        commands = "\n".join(item.action.commands)
        record_rejected_call(tool.name, item.call_id, commands, message, include)
    raw = {
        "type": "shell_call_output",
        "call_id": item.call_id,
        "output": [{"stdout": "", "stderr": message, "outcome": {"type": "exit", "exit_code": 1}}],
    }
    return HostedDecision(item=ToolCallOutputItem(agent=agent, raw_item=raw, output=message))


__all__ = ["HostedDecision", "decide_hosted_call", "shell_action"]
