"""Human approval of tool calls: which calls need it, what was decided, and how a decision shows
in the trace.

A tool with `needs_approval` (True, or a callable `(ctx, params, call_id) -> bool`, sync or
async) does not run until someone approves its call. The decisions live in an `ApprovalLedger` on
the run context: per call (`approve(item)`), or for every later call of that tool by that agent
(`always_approve=True` / `always_reject=True`). A call nobody has decided yet pauses the run.

Tracing: a pause leaves a custom span `tool_approval_requested` per waiting call, and the
resumed run records each decision it applies as a custom span `tool_approval_decision` (data:
tool_name, call_id, agent, approved, always), just before the tool's function span. A rejected
call's function span carries the error "Tool execution rejected", as the SDK's does.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal

from agentoscope.tracing import custom_span, function_span

from .approvals_ledger import DEFAULT_APPROVAL_REJECTION_MESSAGE, ApprovalLedger
from .exceptions import UserError
from .items import ToolApprovalItem, ToolCallOutputItem
from .run_context import RunContextWrapper, TContext

if TYPE_CHECKING:
    from .agent import Agent
    from .run_config import RunConfig
    from .tool import FunctionTool, FunctionToolResult

NeedsApproval = bool | Callable[..., Any]
"""True/False, or `(run_context, params: dict, call_id: str) -> bool` (may be async)."""


def check_needs_approval_setting(value: Any, where: str) -> None:
    """Fail at definition time on a needs_approval that is neither a bool nor a callable."""
    if not isinstance(value, bool) and not callable(value):
        raise UserError(
            f"{where}: needs_approval must be a bool or a callable "
            f"(run_context, params, call_id) -> bool, got {type(value).__name__}"
        )


async def call_needs_approval(
    tool: FunctionTool, context: RunContextWrapper[Any], arguments: str, call_id: str
) -> bool:
    setting = tool.needs_approval
    if isinstance(setting, bool):
        return setting
    try:
        params = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError:
        # A policy cannot judge arguments it cannot read: ask a human.
        return True
    decided = setting(context, params if isinstance(params, dict) else {}, call_id)
    if inspect.isawaitable(decided):
        decided = await decided
    return bool(decided)


@dataclass
class ToolCallPlan:
    """What to do with a turn's function calls, given the approvals so far."""

    ready: list[Any] = field(default_factory=list)
    """FunctionRuns to execute now (no approval needed, or approved)."""
    rejected: list[FunctionToolResult] = field(default_factory=list)
    """Answered with the rejection message; their tools never run."""
    pending: list[ToolApprovalItem] = field(default_factory=list)
    """Calls waiting for a decision: the run pauses on them."""


async def plan_tool_calls(
    runs: list[Any],
    agent: Agent[Any],
    context: RunContextWrapper[Any],
    run_config: RunConfig,
    ledger: ApprovalLedger,
    asked: frozenset[str] = frozenset(),
) -> ToolCallPlan:
    """`asked`: the calls the run paused on. Their function span was recorded at the pause,
    so a rejection of one is the decision span alone (as the SDK records it)."""
    plan = ToolCallPlan()
    for run in runs:
        call, tool = run.tool_call, run.tool
        status = ledger.status(agent.name, tool.name, call.call_id)
        if status is None:
            if not await call_needs_approval(tool, context, call.arguments, call.call_id):
                plan.ready.append(run)
                continue
            plan.pending.append(ToolApprovalItem(agent=agent, raw_item=call, tool_name=tool.name))
            continue
        record_decision(agent, tool.name, call.call_id, status, ledger)
        if status:
            plan.ready.append(run)
        else:
            message = await rejection_message(
                tool.name, call.call_id, "function", agent, context, run_config
            )
            traced = call.call_id not in asked
            plan.rejected.append(_rejection(run, agent, message, run_config, traced))
    return plan


@dataclass
class ToolErrorFormatterArgs(Generic[TContext]):
    """What RunConfig.tool_error_formatter gets. This runtime calls it for rejected approvals
    (kind "approval_rejected"); tool exceptions go through each tool's failure_error_function
    and an unknown tool raises ModelBehaviorError."""

    kind: Literal["approval_rejected", "tool_not_found", "tool_exception"]
    tool_type: Literal["function", "computer", "shell", "apply_patch", "custom"]
    tool_name: str
    call_id: str
    default_message: str
    run_context: RunContextWrapper[TContext]
    error: Exception | None = None


async def rejection_message(
    tool_name: str,
    call_id: str,
    tool_type: Literal["function", "computer", "shell", "apply_patch", "custom"],
    agent: Agent[Any],
    context: RunContextWrapper[Any],
    run_config: RunConfig,
) -> str:
    """The reject() call's message, else the run's tool_error_formatter's, else the default."""
    given = context._approvals.rejection_message(agent.name, tool_name, call_id)
    if given is not None:
        return given
    formatter = run_config.tool_error_formatter
    if formatter is not None:
        args = ToolErrorFormatterArgs(
            kind="approval_rejected",
            tool_type=tool_type,
            tool_name=tool_name,
            call_id=call_id,
            default_message=DEFAULT_APPROVAL_REJECTION_MESSAGE,
            run_context=context,
        )
        formatted = formatter(args)
        if inspect.isawaitable(formatted):
            formatted = await formatted
        if formatted is not None:
            if not isinstance(formatted, str):
                raise UserError(
                    "RunConfig.tool_error_formatter must return a str or None, got "
                    f"{type(formatted).__name__}"
                )
            return formatted
    return DEFAULT_APPROVAL_REJECTION_MESSAGE


def record_decision(
    agent: Agent[Any], tool_name: str, call_id: str, approved: bool, ledger: ApprovalLedger
) -> None:
    """The decision the run now applies, as a custom span (before the call's own span)."""
    data = {
        "tool_name": tool_name,
        "call_id": call_id,
        "agent": agent.name,
        "approved": approved,
        "always": ledger.is_permanent(agent.name, tool_name),
    }
    with custom_span("tool_approval_decision", data):
        pass


def record_rejected_call(
    tool_name: str, call_id: str, arguments: str | None, message: str, include: bool
) -> None:
    """The function span of a call that does not run: its error says it was rejected."""
    with function_span(tool_name, call_id=call_id) as span:
        if include:
            span.span_data.input = arguments
            span.span_data.output = message
        span.set_error(
            {
                # The message is the application's text: it reaches the span only when
                # sensitive data may.
                "message": message if include else "Tool execution rejected",
                "data": {
                    "tool_name": tool_name,
                    "error": f"Tool execution for {call_id} was rejected",
                },
            }
        )


def _rejection(
    run: Any, agent: Agent[Any], message: str, run_config: RunConfig, traced: bool
) -> FunctionToolResult:
    from .tool import FunctionToolResult

    call, tool = run.tool_call, run.tool
    if traced:
        include = bool(run_config.trace_include_sensitive_data)
        record_rejected_call(tool.name, call.call_id, call.arguments, message, include)
    raw = {"call_id": call.call_id, "output": message, "type": "function_call_output"}
    item = ToolCallOutputItem(agent=agent, raw_item=raw, output=message)
    return FunctionToolResult(tool=tool, output=message, run_item=item)


def result_call_id(result: FunctionToolResult) -> str | None:
    """The call id a tool result answers."""
    return getattr(result.run_item, "call_id", None)


def record_pause(pending: list[ToolApprovalItem], include: bool) -> None:
    """The pause in the trace: per waiting call a custom span `tool_approval_requested`, and
    for a call of ours (function or shell; not a hosted MCP request, which the provider runs)
    its function span, without output, as the SDK records a call that stops for approval."""
    for item in pending:
        if _field(item.raw_item, "type") in ("function_call", "shell_call"):
            with function_span(item.tool_name or "", call_id=item.call_id) as span:
                if include:
                    span.span_data.input = _call_input(item.raw_item)
        data = {
            "tool_name": item.tool_name,
            "call_id": item.call_id,
            "agent": item.agent_name,
        }
        with custom_span("tool_approval_requested", data):
            pass


def _field(raw: Any, key: str) -> Any:
    return raw.get(key) if isinstance(raw, dict) else getattr(raw, key, None)


def _call_input(raw: Any) -> str | None:
    if _field(raw, "type") == "shell_call":
        action = _field(raw, "action")
        return "\n".join(_field(action, "commands") or [])
    arguments = _field(raw, "arguments")
    return arguments if isinstance(arguments, str) else None


__all__ = [
    "DEFAULT_APPROVAL_REJECTION_MESSAGE",
    "ApprovalLedger",
    "NeedsApproval",
    "ToolCallPlan",
    "ToolErrorFormatterArgs",
    "call_needs_approval",
    "check_needs_approval_setting",
    "plan_tool_calls",
    "record_decision",
    "record_pause",
    "record_rejected_call",
    "rejection_message",
    "result_call_id",
]
