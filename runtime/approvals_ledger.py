"""The approval decisions of a run: per tool call, or permanent per (agent, tool). Kept on the
run context and carried by RunState across pauses and through JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .exceptions import UserError

if TYPE_CHECKING:
    from .items import ToolApprovalItem

DEFAULT_APPROVAL_REJECTION_MESSAGE = "Tool execution was not approved."
_NESTED = "\x1enested"  # no "agent\x1ftool" key has a \x1e


@dataclass
class _ToolDecisions:
    """Decisions about one tool of one agent: for every call (bool) or for given call ids."""

    approved: bool | set[str] = field(default_factory=set)
    rejected: bool | set[str] = field(default_factory=set)
    messages: dict[str, str] = field(default_factory=dict)
    """Rejection messages by call id ("*" for a permanent rejection)."""

    def to_json(self) -> dict[str, Any]:
        def encode(value: bool | set[str]) -> bool | list[str]:
            return value if isinstance(value, bool) else sorted(value)

        return {
            "approved": encode(self.approved),
            "rejected": encode(self.rejected),
            "messages": dict(self.messages),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _ToolDecisions:
        def decode(value: Any) -> bool | set[str]:
            return value if isinstance(value, bool) else set(value or [])

        return cls(
            approved=decode(data.get("approved")),
            rejected=decode(data.get("rejected")),
            messages=dict(data.get("messages") or {}),
        )


def _key(agent_name: str | None, tool_name: str) -> str:
    # Permanent decisions are per agent, as in the SDK: approving "delete" for one agent does
    # not approve another agent's tool of the same name.
    return f"{agent_name or ''}\x1f{tool_name}"


class ApprovalLedger:
    """The approval decisions of one run (kept in its RunState across pauses)."""

    def __init__(self) -> None:
        self._tools: dict[str, _ToolDecisions] = {}
        self.nested: dict[str, dict[str, Any]] = {}
        """Paused runs of Agent.as_tool sub-agents (RunState JSON), by the outer call id: the
        outer run pauses on their approvals and resumes them when it runs that call again."""

    def _decisions(self, item: ToolApprovalItem) -> _ToolDecisions:
        if not item.tool_name:
            raise UserError("Cannot decide on an approval item without a tool name")
        key = _key(item.agent_name, item.tool_name)
        return self._tools.setdefault(key, _ToolDecisions())

    def approve(self, item: ToolApprovalItem, always: bool = False) -> None:
        decisions = self._decisions(item)
        if always:
            decisions.approved, decisions.rejected = True, set()
            decisions.messages.pop("*", None)
            return
        call_id = _call_id_of(item)
        if isinstance(decisions.approved, set):
            decisions.approved.add(call_id)
        if isinstance(decisions.rejected, set):
            decisions.rejected.discard(call_id)
        decisions.messages.pop(call_id, None)

    def reject(
        self, item: ToolApprovalItem, always: bool = False, message: str | None = None
    ) -> None:
        decisions = self._decisions(item)
        if always:
            decisions.rejected, decisions.approved = True, set()
            if message is not None:
                decisions.messages["*"] = message
            return
        call_id = _call_id_of(item)
        if isinstance(decisions.rejected, set):
            decisions.rejected.add(call_id)
        if isinstance(decisions.approved, set):
            decisions.approved.discard(call_id)
        if message is not None:
            decisions.messages[call_id] = message

    def status(self, agent_name: str | None, tool_name: str, call_id: str) -> bool | None:
        """True approved, False rejected, None not decided yet. A decision about this very call
        wins over a permanent one."""
        decisions = self._tools.get(_key(agent_name, tool_name))
        if decisions is None:
            return None
        if isinstance(decisions.approved, set) and call_id in decisions.approved:
            return True
        if isinstance(decisions.rejected, set) and call_id in decisions.rejected:
            return False
        if decisions.approved is True:
            return True
        if decisions.rejected is True:
            return False
        return None

    def status_any_agent(self, tool_name: str, call_id: str) -> bool | None:
        for key in self._tools:
            agent_name, _, name = key.partition("\x1f")
            if name == tool_name:
                status = self.status(agent_name, tool_name, call_id)
                if status is not None:
                    return status
        return None

    def is_permanent(self, agent_name: str | None, tool_name: str) -> bool:
        decisions = self._tools.get(_key(agent_name, tool_name))
        return decisions is not None and (decisions.approved is True or decisions.rejected is True)

    def rejection_message(self, agent_name: str | None, tool_name: str, call_id: str) -> str | None:
        """The message given with the rejection (per call, else the permanent one), if any."""
        decisions = self._tools.get(_key(agent_name, tool_name))
        if decisions is None:
            return None
        return decisions.messages.get(call_id) or decisions.messages.get("*")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {key: d.to_json() for key, d in self._tools.items()}
        if self.nested:
            data[_NESTED] = dict(self.nested)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApprovalLedger:
        ledger = cls()
        for key, value in (data or {}).items():
            if key == _NESTED:
                ledger.nested = dict(value)
            else:
                ledger._tools[key] = _ToolDecisions.from_json(value)
        return ledger


def _call_id_of(item: ToolApprovalItem) -> str:
    call_id = item.call_id
    if not call_id:
        raise UserError(f"Approval item for tool {item.tool_name!r} has no call id")
    return call_id


__all__ = ["DEFAULT_APPROVAL_REJECTION_MESSAGE", "ApprovalLedger"]
