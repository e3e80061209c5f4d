"""`MCPServer`: what an agent needs from an MCP server (connect, list and call tools, prompts,
resources, clean up), whatever the transport."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

from typing_extensions import TypedDict

from ..exceptions import UserError
from ..run_context import RunContextWrapper
from ..tool_guardrails import ToolInputGuardrail, ToolOutputGuardrail
from .approval_policy import needs_approval_for, normalize_require_approval

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


def _check_guardrails(guardrails: list[Any] | None, kind: type, label: str) -> None:
    for guardrail in guardrails or []:
        if not isinstance(guardrail, kind):
            raise UserError(
                f"MCP server {label} takes {kind.__name__} objects (made with @{label[:-1]}), "
                f"got {type(guardrail).__name__}"
            )


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
            require_approval: which tools' calls wait for a person's approval (the run
                pauses with `interruptions`, see docs/approvals.md): "always"/"never", a bool,
                `{tool_name: "always"|"never"}`, `{"always": {"tool_names": [...]}, "never":
                {...}}`, or a (sync or async) callable `(run_context, agent, mcp_tool) -> bool`.
            failure_error_function: turns a failed call into the text the model sees; None
                makes the run fail instead; unset defers to the agent's `mcp_config`.
            tool_meta_resolver: a (sync or async) function of an `MCPToolMetaContext` giving
                the `_meta` sent with each call.
            tool_input_guardrails / tool_output_guardrails: tool guardrails applied to every
                tool of this server (as on a function tool).
        """
        if custom_data_extractor is not None:
            raise UserError("MCP server custom_data_extractor is not supported by this runtime")
        _check_guardrails(tool_input_guardrails, ToolInputGuardrail, "tool_input_guardrails")
        _check_guardrails(tool_output_guardrails, ToolOutputGuardrail, "tool_output_guardrails")
        self._needs_approval_policy = normalize_require_approval(require_approval)
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

    def _get_needs_approval_for_tool(self, tool: MCPTool, agent: Any | None) -> Any:
        """The `needs_approval` of this server's `tool` as a function tool."""
        return needs_approval_for(self._needs_approval_policy, tool, agent)

    def _get_failure_error_function(
        self, agent_default: ToolErrorFunction | None
    ) -> ToolErrorFunction | None:
        if self._failure_error_function is UNSET:
            return agent_default
        return cast("ToolErrorFunction | None", self._failure_error_function)
