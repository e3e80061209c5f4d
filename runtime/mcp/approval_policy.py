"""An MCP server's `require_approval`, in every form the SDK takes, turned into the
`needs_approval` of each tool it offers: its calls then pause the run for a person (RunState
approvals, see approvals.py) like any function tool's.

Forms: None/False/"never" (no tool), True/"always" (every tool), `{"tool": "always"|"never"|
bool}`, `{"always": {"tool_names": [...]}, "never": {"tool_names": [...]}}`, or a (sync or
async) callable `(run_context, agent, mcp_tool) -> bool` asked per call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..exceptions import UserError

ApprovalPolicy = bool | dict[str, bool] | Callable[..., Any]
"""The normalised setting: one answer, an answer per tool name, or a policy per call."""


def _to_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value == "always":
        return True
    if value == "never":
        return False
    raise UserError(f"Invalid {where}: expected 'always' or 'never', got {value!r}")


def _tool_names(entry: Any, where: str) -> list[str]:
    if not isinstance(entry, dict):
        raise UserError(f"Invalid {where}: expected {{'tool_names': [...]}}, got {entry!r}")
    names = entry.get("tool_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"Invalid {where}.tool_names: expected a list of strings, got {names!r}")
    return names


def _is_tool_lists(setting: dict[Any, Any]) -> bool:
    return any(
        isinstance(setting.get(key), dict) and "tool_names" in setting[key]
        for key in ("always", "never")
    )


def normalize_require_approval(setting: Any) -> ApprovalPolicy:
    """The setting as a bool, a name -> bool map or a callable; a malformed one is a UserError
    naming what is wrong (at server construction, not at the first call)."""
    if setting is None:
        return False
    if callable(setting):
        return setting
    if isinstance(setting, dict):
        if _is_tool_lists(setting):
            extra = sorted(str(k) for k in set(setting) - {"always", "never"})
            if extra:
                raise UserError(
                    f"Invalid require_approval: unexpected keys {extra}; expected only "
                    "'always' and 'never'"
                )
            always = _tool_names(setting.get("always", {}), "require_approval.always")
            never = _tool_names(setting.get("never", {}), "require_approval.never")
            both = sorted(set(always) & set(never))
            if both:
                raise UserError(f"Invalid require_approval: tools both in always and never: {both}")
            return {**{name: True for name in always}, **{name: False for name in never}}
        return {
            str(name): _to_bool(value, f"require_approval[{name!r}]")
            for name, value in setting.items()
        }
    return _to_bool(setting, "require_approval")


def needs_approval_for(policy: ApprovalPolicy, mcp_tool: Any, agent: Any) -> Any:
    """The `needs_approval` of the function tool made from `mcp_tool`."""
    if isinstance(policy, bool):
        return policy
    if isinstance(policy, dict):
        return policy.get(mcp_tool.name, False)
    if agent is None:
        # Converted outside a run (no agent to hand the policy): ask a person every time.
        return True

    async def per_call(run_context: Any, _params: dict[str, Any], _call_id: str) -> bool:
        decided = policy(run_context, agent, mcp_tool)
        if inspect.isawaitable(decided):
            decided = await decided
        return bool(decided)

    return per_call


__all__ = ["ApprovalPolicy", "needs_approval_for", "normalize_require_approval"]
