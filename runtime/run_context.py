"""The run context handed to tools, hooks, guardrails and dynamic instructions.

The user's `context` object never reaches the model; it is how code of theirs gets its
dependencies. `usage` is the run's token usage so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from .approvals_ledger import ApprovalLedger
from .usage import Usage

if TYPE_CHECKING:
    from .agent import Agent
    from .items import ToolApprovalItem, TResponseInputItem
    from .run_config import RunConfig

TContext = TypeVar("TContext", default=Any)


@dataclass
class RunContextWrapper(Generic[TContext]):
    """Wraps the context object passed to `Runner.run()`, with the run's usage so far."""

    context: TContext
    usage: Usage = field(default_factory=Usage)
    turn_input: list[TResponseInputItem] = field(default_factory=list)
    """The input of the current model turn."""
    tool_input: Any | None = None
    """Structured input of the current agent-as-tool run, when there is one."""
    _approvals: ApprovalLedger = field(default_factory=ApprovalLedger, repr=False)
    """Approval decisions on tool calls (see RunState.approve / reject)."""
    _tool_guardrail_results: dict[str, list[Any]] = field(
        default_factory=lambda: {"input": [], "output": []}, repr=False
    )
    """Results of tool input/output guardrails, for RunResult.tool_*_guardrail_results."""

    def approve_tool(self, approval_item: ToolApprovalItem, always_approve: bool = False) -> None:
        """Approve this call, or with always_approve every call of the tool by that agent."""
        self._approvals.approve(approval_item, always=always_approve)

    def reject_tool(
        self,
        approval_item: ToolApprovalItem,
        always_reject: bool = False,
        rejection_message: str | None = None,
    ) -> None:
        """Reject this call (or every call of the tool by that agent with always_reject); the
        model sees `rejection_message`, or "Tool execution was not approved."."""
        self._approvals.reject(approval_item, always=always_reject, message=rejection_message)

    def is_tool_approved(self, tool_name: str, call_id: str) -> bool | None:
        """True/False once decided for this call (by any agent), None while undecided."""
        return self._approvals.status_any_agent(tool_name, call_id)


@dataclass
class ToolContext(RunContextWrapper[TContext]):
    """The context of one tool call: the run context plus which call this is."""

    tool_name: str = ""
    tool_call_id: str = ""
    tool_arguments: str = ""
    tool_call: Any | None = None
    """The model's function_call item."""
    tool_namespace: str | None = None
    agent: Agent[Any] | None = None
    run_config: RunConfig | None = None

    @classmethod
    def from_run_context(
        cls,
        run_context: RunContextWrapper[Any],
        *,
        tool_name: str,
        tool_call_id: str,
        tool_arguments: str,
        tool_call: Any | None = None,
        agent: Agent[Any] | None = None,
        run_config: RunConfig | None = None,
    ) -> ToolContext[Any]:
        # Share the usage object so tools see (and agent-tools add to) the run's totals.
        return cls(
            context=run_context.context,
            usage=run_context.usage,
            turn_input=run_context.turn_input,
            tool_input=run_context.tool_input,
            _approvals=run_context._approvals,
            _tool_guardrail_results=run_context._tool_guardrail_results,
            tool_name=tool_name,
            tool_call_id=tool_call_id,
            tool_arguments=tool_arguments,
            tool_call=tool_call,
            agent=agent,
            run_config=run_config,
        )


@dataclass
class AgentHookContext(RunContextWrapper[TContext]):
    """The context passed to agent-start hooks."""
