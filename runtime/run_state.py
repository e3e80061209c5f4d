"""`RunState`: a paused run, to approve or reject its waiting tool calls and resume it, in this
process or, through `to_json()` / `from_json()`, in another one hours later.

    result = await Runner.run(agent, "delete the old invoices")
    while result.interruptions:
        state = result.to_state()
        for item in result.interruptions:
            state.approve(item)            # or state.reject(item, rejection_message="...")
        result = await Runner.run(agent, state)

A run pauses after a model turn whose tool calls include one that needs approval. Calls that
need none have run by then; the waiting ones run, or are answered with the rejection message,
when the state is resumed, and the turn then goes on exactly as it would have: tool results,
handoff, final output or the next model call. A state resumes once: running it a second time
raises UserError, so an approved call can never run twice.

The resumed run continues the paused run's trace (same trace id, no second trace record), unless
the caller opened a trace of their own around it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic

from agentoscope.tracing import Trace

from .exceptions import UserError
from .items import ItemHelpers, ModelResponse, RunItem, ToolApprovalItem, TResponseInputItem
from .run_context import RunContextWrapper, TContext
from .run_state_codec import (
    agent_index,
    find_agent,
    guardrail_results_to_json,
    input_guardrail_results_from_json,
    item_to_json,
    items_from_json,
    json_value,
    output_guardrail_results_from_json,
    output_item,
    raw_json,
    response_from_json,
    response_to_json,
    usage_from_json,
    usage_to_json,
)

if TYPE_CHECKING:
    from .agent import Agent
    from .handoffs import Handoff
    from .tool import FunctionToolResult
    from .turn import ProcessedResponse

logger = logging.getLogger("agentoscope.runtime")

SCHEMA_VERSION = "agentoscope.run_state/1"

ContextSerializer = Callable[[Any], Mapping[str, Any]]
ContextDeserializer = Callable[[Mapping[str, Any]], Any]


@dataclass
class PendingTurn:
    """The model turn a run paused in."""

    processed: ProcessedResponse
    done: list[FunctionToolResult]
    """Tool calls that already ran (needed no approval)."""
    approvals: list[ToolApprovalItem]
    """Tool calls waiting for a decision."""
    tools: list[Any]
    handoffs: list[Handoff]
    hosted_done: dict[int, RunItem | None] = field(default_factory=dict)
    """Built-in tool calls handled before the pause (index in processed.hosted -> the item
    that answers it, None for a call of the provider's that was only traced)."""

    def preview(self, generated: list[RunItem]) -> list[RunItem]:
        """What the paused result shows as new_items: the run so far, this turn's model
        output, and its results as of the pause."""
        return [*generated, *self.processed.new_items, *self.settled()]

    def settled(self) -> list[RunItem]:
        """The turn's results as of the pause in call order (function calls, then built-in
        ones), a waiting call's approval item in the place of its result, as the SDK lists
        them. A resumed run keeps them and adds the results of the calls decided since."""
        waiting = {item.call_id: item for item in self.approvals}
        ran = {getattr(r.run_item, "call_id", None): r.run_item for r in self.done}
        items: list[RunItem] = []
        for run in self.processed.functions:
            call_id = run.tool_call.call_id
            result = ran.get(call_id)
            if result is not None:
                items.append(result)
            elif call_id in waiting:
                items.append(waiting.pop(call_id))
        for index, call in enumerate(self.processed.hosted):
            if index in self.hosted_done:
                answered = self.hosted_done[index]
                if answered is not None:
                    items.append(answered)
                continue
            call_id = getattr(call.item, "call_id", None) or getattr(call.item, "id", None)
            if call_id in waiting:
                items.append(waiting.pop(call_id))
        # What is left waits inside an Agent.as_tool sub-agent: the SDK lists it on the
        # sub-agent's run, not among this turn's items.
        return items


@dataclass
class TraceRef:
    """The paused run's trace, to continue it when resuming."""

    trace_id: str
    workflow_name: str
    group_id: str | None
    metadata: dict[str, Any] | None

    @classmethod
    def of(cls, trace: Trace | None) -> TraceRef | None:
        if trace is None or trace.trace_id == "no-op":
            return None
        return cls(trace.trace_id, trace.name, trace.group_id, trace.metadata)

    def reattach(self) -> Trace:
        # No processors: the trace was announced (on_trace_start/end) by the run that paused;
        # the resumed run's spans join it under the same trace id, as the SDK's reattached
        # traces do.
        return Trace(self.workflow_name, self.trace_id, self.group_id, self.metadata, ())


class RunState(Generic[TContext]):
    """A paused run: its history, usage, approvals and the turn it stopped in."""

    def __init__(
        self,
        context: RunContextWrapper[TContext],
        original_input: str | list[Any],
        starting_agent: Agent[Any],
        max_turns: int = 10,
        *,
        conversation_id: str | None = None,
        previous_response_id: str | None = None,
        auto_previous_response_id: bool = False,
    ) -> None:
        self._context = context
        self._original_input: str | list[Any] = (
            original_input if isinstance(original_input, str) else list(original_input)
        )
        self._starting_agent = starting_agent
        self._current_agent = starting_agent
        self._max_turns = max_turns
        self._conversation_id = conversation_id
        self._previous_response_id = previous_response_id
        self._auto_previous_response_id = auto_previous_response_id
        self._current_turn = 0
        self._model_input: list[TResponseInputItem] = ItemHelpers.input_to_new_input_list(
            self._original_input
        )
        self._generated_items: list[RunItem] = []
        self._model_responses: list[ModelResponse] = []
        self._input_guardrail_results: list[Any] = []
        self._output_guardrail_results: list[Any] = []
        self._sent_to_server = 0
        self._session_saved = 0
        self._agents_used_tools: set[str] = set()
        self._pending: PendingTurn | None = None
        self._trace: TraceRef | None = None
        self._resumed = False

    # -- approvals -------------------------------------------------------------------------

    def get_interruptions(self) -> list[ToolApprovalItem]:
        """The tool calls this state waits on."""
        return list(self._pending.approvals) if self._pending is not None else []

    def _match(self, item: ToolApprovalItem) -> ToolApprovalItem:
        # Items from the paused result and from a state read back from JSON are different
        # objects for the same call: match by call id.
        for pending in self.get_interruptions():
            if pending.call_id == item.call_id and pending.tool_name == item.tool_name:
                return pending
        if not isinstance(item, ToolApprovalItem):
            raise UserError(f"approve/reject take a ToolApprovalItem, got {type(item).__name__}")
        return item

    def approve(self, approval_item: ToolApprovalItem, always_approve: bool = False) -> None:
        """Let this call run when the state resumes; with always_approve, every later call of
        the same tool by the same agent in this run too."""
        self._context.approve_tool(self._match(approval_item), always_approve=always_approve)

    def reject(
        self,
        approval_item: ToolApprovalItem,
        always_reject: bool = False,
        *,
        rejection_message: str | None = None,
    ) -> None:
        """Do not run this call: the model gets `rejection_message` (default: "Tool execution
        was not approved.") as its output. always_reject: every later call of the tool too."""
        self._context.reject_tool(
            self._match(approval_item),
            always_reject=always_reject,
            rejection_message=rejection_message,
        )

    # -- JSON ------------------------------------------------------------------------------

    def to_json(
        self,
        *,
        context_serializer: ContextSerializer | None = None,
        strict_context: bool = False,
        include_tracing_api_key: bool = False,
    ) -> dict[str, Any]:
        """The state as JSON-able data. The context object goes in when it is None or a
        JSON-able mapping, or through `context_serializer`; otherwise a warning says it was
        left out (an error with strict_context) and from_json needs `context_override`."""
        if include_tracing_api_key:
            raise UserError(
                "include_tracing_api_key: agentoscope never writes API keys into a RunState; "
                "pass the key again when resuming (RunConfig(tracing={'api_key': ...}))"
            )
        pending = self._pending
        return {
            "$schemaVersion": SCHEMA_VERSION,
            "current_agent": self._current_agent.name,
            "current_turn": self._current_turn,
            "max_turns": self._max_turns,
            "original_input": json_value(self._original_input),
            "model_input": json_value(self._model_input),
            "generated_items": [item_to_json(item) for item in self._generated_items],
            "model_responses": [response_to_json(r) for r in self._model_responses],
            "context": self._context_json(context_serializer, strict_context),
            "input_guardrail_results": guardrail_results_to_json(self._input_guardrail_results),
            "output_guardrail_results": guardrail_results_to_json(self._output_guardrail_results),
            "conversation_id": self._conversation_id,
            "previous_response_id": self._previous_response_id,
            "auto_previous_response_id": self._auto_previous_response_id,
            "sent_to_server": self._sent_to_server,
            "session_saved": self._session_saved,
            "agents_used_tools": sorted(self._agents_used_tools),
            "pending_turn": _pending_to_json(pending) if pending is not None else None,
            "trace": vars(self._trace) if self._trace is not None else None,
            "resumed": self._resumed,
        }

    def _context_json(self, serializer: ContextSerializer | None, strict: bool) -> dict[str, Any]:
        context = self._context
        value: Any = context.context
        entry: dict[str, Any] = {
            "usage": usage_to_json(context.usage),
            "approvals": context._approvals.to_json(),
            "value": None,
            "value_type": None
            if value is None
            else f"{type(value).__module__}.{type(value).__qualname__}",
            "value_stored": True,
        }
        if serializer is not None and value is not None:
            value = serializer(value)
            if not isinstance(value, Mapping):
                raise UserError("context_serializer must return a mapping")
        if value is None:
            return entry
        if isinstance(value, Mapping):
            try:
                entry["value"] = json.loads(json.dumps(dict(value)))
                return entry
            except (TypeError, ValueError) as exc:
                raise UserError(
                    f"The run's context mapping is not JSON-serialisable ({exc}); pass "
                    "context_serializer to to_json()"
                ) from exc
        if strict:
            raise UserError(
                f"The run's context ({entry['value_type']}) is not a mapping: pass "
                "context_serializer to to_json(), or strict_context=False to leave it out"
            )
        logger.warning(
            "RunState.to_json: context of type %s left out (not a mapping); pass "
            "context_serializer, or context_override when resuming",
            entry["value_type"],
        )
        entry["value_stored"] = False
        return entry

    def to_string(
        self,
        *,
        context_serializer: ContextSerializer | None = None,
        strict_context: bool = False,
        include_tracing_api_key: bool = False,
    ) -> str:
        """to_json() as a JSON string."""
        return json.dumps(
            self.to_json(
                context_serializer=context_serializer,
                strict_context=strict_context,
                include_tracing_api_key=include_tracing_api_key,
            ),
            indent=2,
        )

    @staticmethod
    async def from_json(
        initial_agent: Agent[Any],
        state_json: dict[str, Any],
        *,
        context_override: Any = None,
        context_deserializer: ContextDeserializer | None = None,
        strict_context: bool = False,
    ) -> RunState[Any]:
        """A state from to_json() output. Agents are found by name among `initial_agent` and
        the agents reachable through its handoffs. Only read states from storage you trust:
        a state holds approval decisions."""
        version = state_json.get("$schemaVersion") if isinstance(state_json, dict) else None
        if version != SCHEMA_VERSION:
            raise UserError(
                f"Not a RunState of this runtime: $schemaVersion is {version!r}, "
                f"expected {SCHEMA_VERSION!r}"
            )
        agents = agent_index(initial_agent)
        current = find_agent(agents, state_json["current_agent"], "the current agent")
        context = _context_from_json(
            state_json.get("context") or {}, context_override, context_deserializer, strict_context
        )
        state: RunState[Any] = RunState(
            context,
            state_json["original_input"],
            initial_agent,
            state_json["max_turns"],
            conversation_id=state_json.get("conversation_id"),
            previous_response_id=state_json.get("previous_response_id"),
            auto_previous_response_id=bool(state_json.get("auto_previous_response_id")),
        )
        state._current_agent = current
        state._current_turn = int(state_json["current_turn"])
        state._model_input = list(state_json.get("model_input") or [])
        state._generated_items = items_from_json(state_json.get("generated_items") or [], agents)
        state._model_responses = [
            response_from_json(r) for r in state_json.get("model_responses") or []
        ]
        state._input_guardrail_results = input_guardrail_results_from_json(
            state_json.get("input_guardrail_results") or []
        )
        state._output_guardrail_results = output_guardrail_results_from_json(
            state_json.get("output_guardrail_results") or [], current
        )
        state._sent_to_server = int(state_json.get("sent_to_server") or 0)
        state._session_saved = int(state_json.get("session_saved") or 0)
        state._agents_used_tools = set(state_json.get("agents_used_tools") or [])
        trace = state_json.get("trace")
        state._trace = TraceRef(**trace) if trace else None
        state._resumed = bool(state_json.get("resumed"))
        pending = state_json.get("pending_turn")
        if pending is not None:
            state._pending = await _pending_from_json(pending, current, context, agents)
        return state

    @staticmethod
    async def from_string(
        initial_agent: Agent[Any],
        state_string: str,
        *,
        context_override: Any = None,
        context_deserializer: ContextDeserializer | None = None,
        strict_context: bool = False,
    ) -> RunState[Any]:
        """from_json() of a to_string() string."""
        try:
            data = json.loads(state_string)
        except json.JSONDecodeError as exc:
            raise UserError(f"RunState.from_string: not JSON ({exc})") from exc
        return await RunState.from_json(
            initial_agent,
            data,
            context_override=context_override,
            context_deserializer=context_deserializer,
            strict_context=strict_context,
        )

    def __repr__(self) -> str:
        return (
            f"<RunState agent={self._current_agent.name!r} turn={self._current_turn} "
            f"interruptions={len(self.get_interruptions())}>"
        )


def _pending_to_json(pending: PendingTurn) -> dict[str, Any]:
    processed = pending.processed
    return {
        "new_items": [item_to_json(item) for item in processed.new_items],
        "functions": [
            {"call": json_value(run.tool_call), "tool": run.tool.name}
            for run in processed.functions
        ],
        "handoffs": [
            {"call": json_value(run.tool_call), "tool_name": run.handoff.tool_name}
            for run in processed.handoffs
        ],
        "tools_used": list(processed.tools_used),
        "done": [
            {"tool": r.tool.name, "item": item_to_json(r.run_item), "output": json_value(r.output)}
            for r in pending.done
            if r.run_item is not None
        ],
        "approvals": [item_to_json(item) for item in pending.approvals],
        "hosted": [raw_json(call.item) for call in processed.hosted],
        "hosted_done": [
            {"index": index, "item": item_to_json(item) if item is not None else None}
            for index, item in sorted(pending.hosted_done.items())
        ],
    }


async def _pending_from_json(
    data: dict[str, Any], agent: Agent[Any], context: RunContextWrapper[Any], agents: dict[str, Any]
) -> PendingTurn:
    from openai.types.responses import ResponseFunctionToolCall

    from .agent import get_handoffs_of
    from .hosted_calls import sort_hosted_call
    from .tool import FunctionTool, FunctionToolResult
    from .turn import FunctionRun, HandoffRun, ProcessedResponse

    tools = await agent.get_all_tools(context)
    by_name = {t.name: t for t in tools if isinstance(t, FunctionTool)}
    handoffs = get_handoffs_of(agent, {})
    handoff_by_name = {h.tool_name: h for h in handoffs}

    def tool(name: str) -> FunctionTool:
        found = by_name.get(name)
        if found is None:
            raise UserError(
                f"RunState JSON has a call of tool {name!r}, which agent {agent.name!r} no "
                "longer has (or has disabled)"
            )
        return found

    processed = ProcessedResponse(
        new_items=items_from_json(data.get("new_items") or [], agents),
        functions=[
            FunctionRun(ResponseFunctionToolCall.model_validate(f["call"]), tool(f["tool"]))
            for f in data.get("functions") or []
        ],
        tools_used=list(data.get("tools_used") or []),
    )
    for entry in data.get("handoffs") or []:
        target = handoff_by_name.get(entry["tool_name"])
        if target is None:
            raise UserError(
                f"RunState JSON has a handoff call {entry['tool_name']!r} that agent "
                f"{agent.name!r} no longer offers"
            )
        processed.handoffs.append(
            HandoffRun(ResponseFunctionToolCall.model_validate(entry["call"]), target)
        )
    done = []
    for entry in data.get("done") or []:
        item = items_from_json([entry["item"]], agents)[0]
        done.append(
            FunctionToolResult(tool=tool(entry["tool"]), output=entry["output"], run_item=item)
        )
    approvals = [
        a
        for a in items_from_json(data.get("approvals") or [], agents)
        if isinstance(a, ToolApprovalItem)
    ]
    # Built-in tool calls are sorted again from their items, which finds their tools on the
    # agent as the paused run did.
    sorted_again = ProcessedResponse()
    for raw in data.get("hosted") or []:
        sort_hosted_call(agent, tools, output_item(raw), sorted_again)
    processed.hosted = sorted_again.hosted
    hosted_done = {
        int(entry["index"]): (
            items_from_json([entry["item"]], agents)[0] if entry.get("item") else None
        )
        for entry in data.get("hosted_done") or []
    }
    return PendingTurn(processed, done, approvals, tools, handoffs, hosted_done)


def _context_from_json(
    data: dict[str, Any],
    override: Any,
    deserializer: ContextDeserializer | None,
    strict: bool,
) -> RunContextWrapper[Any]:
    from .approvals_ledger import ApprovalLedger

    if isinstance(override, RunContextWrapper):
        value = override.context
    elif override is not None:
        value = override
    elif not data.get("value_stored", True):
        if strict:
            raise UserError(
                f"The state's context ({data.get('value_type')}) was not stored: pass "
                "context_override to from_json()"
            )
        logger.warning(
            "RunState.from_json: the context (%s) was not stored; tools get None. Pass "
            "context_override to give them one",
            data.get("value_type"),
        )
        value = None
    elif deserializer is not None and data.get("value") is not None:
        value = deserializer(data["value"])
    else:
        value = data.get("value")
    context = RunContextWrapper(context=value, usage=usage_from_json(data.get("usage") or {}))
    context._approvals = ApprovalLedger.from_json(data.get("approvals") or {})
    return context


__all__ = ["PendingTurn", "RunState", "TraceRef"]
