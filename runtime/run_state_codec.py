"""JSON forms of what a RunState holds: run items, model responses, usage, guardrail results.

Items keep their Responses API payloads as the API's own JSON (pydantic `model_dump`), and
agents are stored by name: reading a state back resolves names against the agent graph the
caller passes (the starting agent and everything reachable through its handoffs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputItem,
    ResponseOutputMessage,
    ResponseReasoningItem,
)
from pydantic import BaseModel, TypeAdapter

from .exceptions import UserError
from .guardrail import (
    GuardrailFunctionOutput,
    InputGuardrail,
    InputGuardrailResult,
    OutputGuardrail,
    OutputGuardrailResult,
)
from .items import (
    HandoffCallItem,
    HandoffOutputItem,
    MCPApprovalRequestItem,
    MCPApprovalResponseItem,
    MCPListToolsItem,
    MessageOutputItem,
    ModelResponse,
    ReasoningItem,
    RunItem,
    ToolApprovalItem,
    ToolCallItem,
    ToolCallOutputItem,
)
from .usage import InputTokensDetails, OutputTokensDetails, RequestUsage, Usage

_OUTPUT_ITEM: TypeAdapter[Any] = TypeAdapter(ResponseOutputItem)


def agent_index(*roots: Any) -> dict[str, Any]:
    """Every agent reachable from `roots` through handoffs and agent tools, by name (first one
    wins)."""
    from .agent import Agent
    from .handoffs import Handoff

    found: dict[str, Any] = {}
    todo = [r for r in roots if r is not None]
    while todo:
        agent = todo.pop(0)
        if agent.name in found:
            continue
        found[agent.name] = agent
        for entry in agent.handoffs:
            if isinstance(entry, Agent):
                todo.append(entry)
            elif isinstance(entry, Handoff) and entry._agent is not None:
                todo.append(entry._agent)
        # The sub-agents of Agent.as_tool tools: their paused calls are the outer run's too.
        todo.extend(t._tool_agent for t in agent.tools if getattr(t, "_tool_agent", None))
    return found


def find_agent(agents: dict[str, Any], name: str | None, where: str) -> Any:
    if name is None:
        return None
    agent = agents.get(name)
    if agent is None:
        raise UserError(
            f"RunState JSON names agent {name!r} ({where}), which is not reachable from the "
            f"agent passed to from_json/from_string (known: {sorted(agents)})"
        )
    return agent


def json_value(value: Any) -> Any:
    """A JSON-able copy of `value`: pydantic models dumped, anything else unknown as str."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return str(value)


def raw_json(raw: Any) -> Any:
    """A Responses payload (or a plain dict) as JSON."""
    if isinstance(raw, BaseModel):
        return raw.model_dump(mode="json", exclude_unset=True)
    return json_value(raw)


def output_item(data: Any) -> Any:
    """A Responses output item from JSON; a payload the API types do not know stays a dict."""
    if isinstance(data, dict) and "type" in data:
        try:
            return _OUTPUT_ITEM.validate_python(data)
        except ValueError:
            return data
    return data


def item_to_json(item: RunItem) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": item.type,
        "agent": item.agent.name if item.agent is not None else None,
        "raw_item": raw_json(item.raw_item),
    }
    if isinstance(item, HandoffOutputItem):
        data["source_agent"] = item.source_agent.name if item.source_agent else None
        data["target_agent"] = item.target_agent.name if item.target_agent else None
    elif isinstance(item, ToolCallItem):
        data["description"] = item.description
    elif isinstance(item, ToolCallOutputItem):
        data["output"] = json_value(item.output)
    elif isinstance(item, ToolApprovalItem):
        data["tool_name"] = item.tool_name
        data["agent"] = item.agent_name
    return data


def item_from_json(data: dict[str, Any], agents: dict[str, Any]) -> RunItem:
    kind = data.get("type")
    agent = find_agent(agents, data.get("agent"), f"a {kind}")
    raw = data.get("raw_item")
    if kind == "message_output_item":
        return MessageOutputItem(agent=agent, raw_item=ResponseOutputMessage.model_validate(raw))
    if kind == "handoff_call_item":
        return HandoffCallItem(agent=agent, raw_item=ResponseFunctionToolCall.model_validate(raw))
    if kind == "handoff_output_item":
        return HandoffOutputItem(
            agent=agent,
            raw_item=cast(Any, raw),
            source_agent=find_agent(agents, data.get("source_agent"), "a handoff's source"),
            target_agent=find_agent(agents, data.get("target_agent"), "a handoff's target"),
        )
    if kind == "tool_call_item":
        return ToolCallItem(
            agent=agent, raw_item=output_item(raw), description=data.get("description")
        )
    if kind == "tool_call_output_item":
        return ToolCallOutputItem(agent=agent, raw_item=raw, output=data.get("output"))
    if kind == "reasoning_item":
        return ReasoningItem(agent=agent, raw_item=ResponseReasoningItem.model_validate(raw))
    if kind == "mcp_list_tools_item":
        return MCPListToolsItem(agent=agent, raw_item=output_item(raw))
    if kind == "mcp_approval_request_item":
        return MCPApprovalRequestItem(agent=agent, raw_item=output_item(raw))
    if kind == "mcp_approval_response_item":
        return MCPApprovalResponseItem(agent=agent, raw_item=raw)
    if kind == "tool_approval_item":
        approval = ToolApprovalItem(
            agent=agent, raw_item=output_item(raw), tool_name=data.get("tool_name")
        )
        approval._agent_name = data.get("agent")
        return approval
    raise UserError(f"RunState JSON has a run item of unknown type {kind!r}")


def items_from_json(data: Iterable[dict[str, Any]], agents: dict[str, Any]) -> list[RunItem]:
    return [item_from_json(entry, agents) for entry in data]


def usage_to_json(usage: Usage) -> dict[str, Any]:
    data = usage.to_span_usage()
    data["request_usage_entries"] = [
        {
            "input_tokens": entry.input_tokens,
            "output_tokens": entry.output_tokens,
            "total_tokens": entry.total_tokens,
            "input_tokens_details": {
                "cached_tokens": entry.input_tokens_details.cached_tokens,
                "cache_write_tokens": entry.input_tokens_details.cache_write_tokens,
            },
            "output_tokens_details": {
                "reasoning_tokens": entry.output_tokens_details.reasoning_tokens
            },
        }
        for entry in usage.request_usage_entries
    ]
    return data


def usage_from_json(data: dict[str, Any]) -> Usage:
    usage = Usage(
        requests=int(data.get("requests", 0)),
        input_tokens=int(data.get("input_tokens", 0)),
        input_tokens_details=data.get("input_tokens_details") or {},  # type: ignore[arg-type]
        output_tokens=int(data.get("output_tokens", 0)),
        output_tokens_details=data.get("output_tokens_details") or {},  # type: ignore[arg-type]
        total_tokens=int(data.get("total_tokens", 0)),
    )
    for entry in data.get("request_usage_entries") or []:
        details_in = entry.get("input_tokens_details") or {}
        details_out = entry.get("output_tokens_details") or {}
        usage.request_usage_entries.append(
            RequestUsage(
                entry["input_tokens"],
                entry["output_tokens"],
                entry["total_tokens"],
                InputTokensDetails(
                    details_in.get("cached_tokens", 0), details_in.get("cache_write_tokens", 0)
                ),
                OutputTokensDetails(details_out.get("reasoning_tokens", 0)),
            )
        )
    return usage


def response_to_json(response: ModelResponse) -> dict[str, Any]:
    return {
        "output": [raw_json(item) for item in response.output],
        "usage": usage_to_json(response.usage),
        "response_id": response.response_id,
        "request_id": response.request_id,
    }


def response_from_json(data: dict[str, Any]) -> ModelResponse:
    return ModelResponse(
        output=[output_item(item) for item in data.get("output") or []],
        usage=usage_from_json(data.get("usage") or {}),
        response_id=data.get("response_id"),
        request_id=data.get("request_id"),
    )


def _guardrail_output_json(output: GuardrailFunctionOutput) -> dict[str, Any]:
    return {
        "output_info": json_value(output.output_info),
        "tripwire_triggered": output.tripwire_triggered,
    }


def guardrail_results_to_json(
    results: Iterable[InputGuardrailResult | OutputGuardrailResult],
) -> list[dict[str, Any]]:
    return [
        {"name": r.guardrail.get_name(), "output": _guardrail_output_json(r.output)}
        for r in results
    ]


def _unavailable(*args: Any) -> Any:
    # A restored result names its guardrail; the guardrail function itself stays in the
    # application's code and is not re-run from a state.
    raise UserError("This guardrail was restored from a RunState and cannot run again")


def input_guardrail_results_from_json(data: Iterable[dict[str, Any]]) -> list[Any]:
    return [
        InputGuardrailResult(
            guardrail=InputGuardrail(_unavailable, name=entry["name"]),
            output=GuardrailFunctionOutput(**entry["output"]),
        )
        for entry in data
    ]


def output_guardrail_results_from_json(data: Iterable[dict[str, Any]], agent: Any) -> list[Any]:
    return [
        OutputGuardrailResult(
            guardrail=OutputGuardrail(_unavailable, name=entry["name"]),
            agent_output=None,
            agent=agent,
            output=GuardrailFunctionOutput(**entry["output"]),
        )
        for entry in data
    ]
