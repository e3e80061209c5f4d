"""The Responses API's built-in tools beyond web and file search, with the SDK's names.

Run by the provider: `CodeInterpreterTool`, `ImageGenerationTool`, `HostedMCPTool` (its
approval requests answered by `on_approval_request`, or by a person through RunState). Run
here, by code the user supplies:
`ComputerTool` (a `Computer`/`AsyncComputer`), `LocalShellTool` and `ShellTool` (an executor).
Only OpenAI Responses models can use them; the Chat Completions model refuses them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from typing_extensions import TypedDict

from .computer import AsyncComputer, Computer
from .exceptions import UserError
from .hosted_tool_types import image_generation_config, normalize_shell_environment
from .run_context import RunContextWrapper


def _config_of(tool_config: Any, expected_type: str, cls_name: str) -> dict[str, Any]:
    if not isinstance(tool_config, Mapping):
        raise UserError(f"{cls_name}.tool_config must be a dict, got {type(tool_config)!r}")
    config = dict(tool_config)
    if config.get("type") != expected_type:
        raise UserError(
            f"{cls_name}.tool_config needs type={expected_type!r}, got {config.get('type')!r}"
        )
    return config


@dataclass
class CodeInterpreterTool:
    """Code run in a sandbox of the provider. `tool_config` is the API's tool param, e.g.
    `{"type": "code_interpreter", "container": {"type": "auto"}}`."""

    tool_config: dict[str, Any]

    def __post_init__(self) -> None:
        self.tool_config = _config_of(self.tool_config, "code_interpreter", "CodeInterpreterTool")

    @property
    def name(self) -> str:
        return "code_interpreter"


@dataclass
class ImageGenerationTool:
    """Image generation by the provider, e.g. `{"type": "image_generation", "quality": "low"}`
    (an ImageGenerationToolConfig, or the openai client's typed ImageGeneration)."""

    tool_config: dict[str, Any]

    def __post_init__(self) -> None:
        self.tool_config = _config_of(
            image_generation_config(self.tool_config), "image_generation", "ImageGenerationTool"
        )

    @property
    def name(self) -> str:
        return "image_generation"


@dataclass
class MCPToolApprovalRequest:
    """An approval request of a hosted MCP server, as `on_approval_request` receives it."""

    ctx_wrapper: RunContextWrapper[Any]
    data: Any
    """The `mcp_approval_request` output item (server_label, name, arguments)."""


class _MCPToolApprovalDecision(TypedDict):
    approve: bool


# `reason` is optional through `total=False`: under `from __future__ import annotations` a
# `NotRequired[...]` annotation is a string the TypedDict machinery cannot see through.
class MCPToolApprovalFunctionResult(_MCPToolApprovalDecision, total=False):
    reason: str
    """Why, when rejected (the model sees it)."""


MCPToolApprovalFunction = Callable[[MCPToolApprovalRequest], Any]
"""(request) -> MCPToolApprovalFunctionResult, or an awaitable of one."""


@dataclass
class HostedMCPTool:
    """A remote MCP server the provider calls for the model. `tool_config` is the API's `mcp`
    tool param (`server_label`, `server_url` or `connector_id`, `require_approval`, ...).
    When the server asks for approval, `on_approval_request` decides; without it the run pauses
    with the request in `interruptions`, to approve or reject on its RunState like any tool
    call (the provider then gets an `mcp_approval_response`)."""

    tool_config: dict[str, Any]
    on_approval_request: MCPToolApprovalFunction | None = None

    def __post_init__(self) -> None:
        self.tool_config = _config_of(self.tool_config, "mcp", "HostedMCPTool")
        if not self.tool_config.get("server_label"):
            raise UserError("HostedMCPTool.tool_config needs a server_label")

    @property
    def name(self) -> str:
        return "hosted_mcp"


@dataclass
class ComputerToolSafetyCheckData:
    """A pending safety check of a computer call, for `on_safety_check`."""

    ctx_wrapper: RunContextWrapper[Any]
    agent: Any
    tool_call: Any
    safety_check: Any


ComputerFactory = Callable[..., Any]
"""(run_context=...) -> a Computer or AsyncComputer (or an awaitable of one), once per run."""


@dataclass(eq=False)
class ComputerTool:
    """The model operates a computer: each `computer_call` is executed on `computer` and
    answered with a screenshot. `computer` is a Computer/AsyncComputer, or a factory called
    with `run_context=` once per run. `on_safety_check` returns True to acknowledge a pending
    safety check, False to stop the run; without it checks are logged and the call goes on."""

    computer: Computer | AsyncComputer | ComputerFactory
    on_safety_check: Callable[[ComputerToolSafetyCheckData], Any] | None = None
    custom_data_extractor: Callable[..., Any] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.computer, Computer | AsyncComputer) and not callable(self.computer):
            raise UserError(
                "ComputerTool.computer must be a Computer, an AsyncComputer or a factory"
            )
        if self.custom_data_extractor is not None:
            raise UserError("ComputerTool custom_data_extractor is not supported by this runtime")

    @property
    def name(self) -> str:
        return "computer_use_preview"

    @property
    def trace_name(self) -> str:
        return "computer"


@dataclass
class LocalShellCommandRequest:
    ctx_wrapper: RunContextWrapper[Any]
    data: Any
    """The `local_shell_call` output item (its `action` has command, env, working_directory)."""


LocalShellExecutor = Callable[[LocalShellCommandRequest], Any]
"""(request) -> the command's output text (or an awaitable of it)."""


@dataclass
class LocalShellTool:
    """The model runs commands through `executor` (the legacy `local_shell` tool)."""

    executor: LocalShellExecutor

    @property
    def name(self) -> str:
        return "local_shell"


@dataclass
class ShellCallOutcome:
    type: Literal["exit", "timeout"]
    exit_code: int | None = None


@dataclass
class ShellCommandOutput:
    stdout: str = ""
    stderr: str = ""
    outcome: ShellCallOutcome = field(default_factory=lambda: ShellCallOutcome(type="exit"))
    command: str | None = None
    provider_data: dict[str, Any] | None = None


@dataclass
class ShellResult:
    output: list[ShellCommandOutput]
    max_output_length: int | None = None
    provider_data: dict[str, Any] | None = None


@dataclass
class ShellActionRequest:
    commands: list[str]
    timeout_ms: int | None = None
    max_output_length: int | None = None


@dataclass
class ShellCallData:
    call_id: str
    action: ShellActionRequest
    status: Literal["in_progress", "completed"] | None = None
    raw: Any | None = None


@dataclass
class ShellCommandRequest:
    ctx_wrapper: RunContextWrapper[Any]
    data: ShellCallData


ShellExecutor = Callable[[ShellCommandRequest], Any]
"""(request) -> a string or a ShellResult (or an awaitable of one)."""


@dataclass
class ShellTool:
    """The `shell` tool: commands run by `executor` here (environment `{"type": "local"}`, the
    default) or in a container of the provider (any other environment, with no executor).

    `needs_approval` (True, or `(run_context, action: ShellActionRequest, call_id) -> bool`,
    sync or async) makes a local call wait for a person: the run pauses with the call in
    `interruptions` (RunState approvals). `on_approval(run_context, approval_item)` may decide
    first, returning `{"approve": bool, "reason": str (optional)}`; anything else leaves the
    decision to a person."""

    executor: ShellExecutor | None = None
    name: str = "shell"
    needs_approval: bool | Callable[..., Any] = False
    on_approval: Callable[..., Any] | None = None
    environment: dict[str, Any] | None = None
    allowed_callers: list[str] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.needs_approval, bool) and not callable(self.needs_approval):
            raise UserError(
                "ShellTool needs_approval must be a bool or a callable (run_context, action, "
                f"call_id) -> bool, got {type(self.needs_approval).__name__}"
            )
        if self.on_approval is not None and not callable(self.on_approval):
            raise UserError("ShellTool on_approval must be a callable (run_context, item)")
        environment = normalize_shell_environment(self.environment)
        self.environment = environment
        if environment["type"] != "local" and (
            self.needs_approval is not False or self.on_approval is not None
        ):
            # The provider runs hosted commands: there is no call of ours to hold back.
            raise UserError(
                "ShellTool with a hosted environment does not support needs_approval or on_approval"
            )
        if environment["type"] == "local" and self.executor is None:
            raise UserError("ShellTool with a local environment needs an executor")
        if environment["type"] != "local" and self.executor is not None:
            raise UserError("ShellTool with a hosted environment takes no executor")

    @property
    def type(self) -> str:
        return "shell"

    @property
    def is_local(self) -> bool:
        return bool(self.environment and self.environment.get("type") == "local")
