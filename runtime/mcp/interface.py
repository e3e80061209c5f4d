"""`MCPServer`: what an agent needs from an MCP server (connect, list and call tools, prompts,
resources, clean up), whatever the transport."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

from typing_extensions import TypedDict

from ..exceptions import UserError
from ..run_context import RunContextWrapper

if TYPE_CHECKING:
    from mcp.types import (
        CallToolResult,
        GetPromptResult,
        ListPromptsResult,
        ListResourcesResult,
        ListResourceTemplatesResult,
        ReadResourceResult,
    )
    from mcp.types import Tool as MCPTool

    from ..tool import ToolErrorFunction


class RequireApprovalToolList(TypedDict, total=False):
    tool_names: list[str]


class RequireApprovalObject(TypedDict, total=False):
    always: RequireApprovalToolList
    never: RequireApprovalToolList


RequireApprovalSetting: TypeAlias = (
    Literal["always", "never"]
    | RequireApprovalObject
    | dict[str, Literal["always", "never"]]
    | Callable[..., Any]
    | bool
    | None
)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""`failure_error_function` left unset: the agent's `mcp_config` (or the default) decides."""

_APPROVAL_HINT = (
    "pausing a run for approval (RunState) covers function tools only, not MCP tools yet; "
    "leave require_approval unset (or 'never') and filter out the tools that must not run "
    "without a person's consent with tool_filter"
)


def _requires_approval(setting: Any) -> bool:
    """Whether an approval setting would make any tool wait for a person."""
    if setting is None or setting is False or setting == "never":
        return False
    if setting is True or setting == "always" or callable(setting):
        return True
    if isinstance(setting, dict):
        if "always" in setting or "never" in setting:
            always = setting.get("always") or {}
            return bool(always.get("tool_names")) if isinstance(always, dict) else True
        return any(value not in ("never", False) for value in setting.values())
    raise UserError(f"Invalid require_approval value: {setting!r}")


class MCPServer(abc.ABC):
    """An MCP server an agent can use (`Agent(mcp_servers=[...])`)."""

    def __init__(
        self,
        use_structured_content: bool = False,
        require_approval: RequireApprovalSetting = None,
        failure_error_function: ToolErrorFunction | Any | None = UNSET,
        tool_meta_resolver: Callable[..., Any] | None = None,
        custom_data_extractor: Callable[..., Any] | None = None,
        *,
        tool_input_guardrails: list[Any] | None = None,
        tool_output_guardrails: list[Any] | None = None,
    ) -> None:
        """
        Args:
            use_structured_content: give the model a result's `structuredContent` (as JSON)
                instead of its content blocks, when the server sends one.
            require_approval: only "never" (or None/False) for now: see the UserError raised.
            failure_error_function: turns a failed call into the text the model sees; None
                makes the run fail instead; unset defers to the agent's `mcp_config`.
            tool_meta_resolver: a (sync or async) function of an `MCPToolMetaContext` giving
                the `_meta` sent with each call.
        """
        if _requires_approval(require_approval):
            raise UserError(f"MCP server require_approval={require_approval!r}: {_APPROVAL_HINT}")
        for name, value in (
            ("custom_data_extractor", custom_data_extractor),
            ("tool_input_guardrails", tool_input_guardrails),
            ("tool_output_guardrails", tool_output_guardrails),
        ):
            if value:
                raise UserError(f"MCP server {name} is not supported by this runtime yet")
        self.use_structured_content = use_structured_content
        self.require_approval = require_approval
        self._failure_error_function = failure_error_function
        self.tool_meta_resolver = tool_meta_resolver
        self.custom_data_extractor = custom_data_extractor
        self.tool_input_guardrails = tool_input_guardrails
        self.tool_output_guardrails = tool_output_guardrails

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """A readable name: it names the server in spans and errors."""

    @abc.abstractmethod
    async def connect(self) -> None:
        """Start or reach the server; it stays connected until `cleanup()`."""

    @abc.abstractmethod
    async def cleanup(self) -> None:
        """Close the connection (and end the server process, for stdio)."""

    @abc.abstractmethod
    async def list_tools(
        self, run_context: RunContextWrapper[Any] | None = None, agent: Any | None = None
    ) -> list[MCPTool]:
        """The server's tools, after the tool filter."""

    @abc.abstractmethod
    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult: ...

    @abc.abstractmethod
    async def list_prompts(self) -> ListPromptsResult: ...

    @abc.abstractmethod
    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> GetPromptResult: ...

    async def list_resources(self, cursor: str | None = None) -> ListResourcesResult:
        raise NotImplementedError(f"MCP server {self.name!r} does not list resources")

    async def list_resource_templates(
        self, cursor: str | None = None
    ) -> ListResourceTemplatesResult:
        raise NotImplementedError(f"MCP server {self.name!r} does not list resource templates")

    async def read_resource(self, uri: str) -> ReadResourceResult:
        raise NotImplementedError(f"MCP server {self.name!r} does not read resources")

    @property
    def cached_tools(self) -> list[MCPTool] | None:
        """The last tool listing, when the server caches one."""
        return None

    def _get_failure_error_function(
        self, agent_default: ToolErrorFunction | None
    ) -> ToolErrorFunction | None:
        if self._failure_error_function is UNSET:
            return agent_default
        return cast("ToolErrorFunction | None", self._failure_error_function)
