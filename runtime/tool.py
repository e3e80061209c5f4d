"""Tools: `FunctionTool` and the `@function_tool` decorator, plus the hosted tools a Responses
model can pass through (the provider runs those, not us).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, overload

from pydantic import ValidationError

from agentoscope.tracing import get_current_span

from .exceptions import ModelBehaviorError, ToolTimeoutError, UserError
from .function_schema import DocstringStyle, function_schema
from .hosted_tool_types import (  # the SDK's agents.tool has these names too
    ImageGenerationToolConfig as ImageGenerationToolConfig,
)
from .hosted_tool_types import (
    ShellOnApprovalFunctionResult as ShellOnApprovalFunctionResult,
)
from .hosted_tool_types import ShellToolEnvironment as ShellToolEnvironment
from .hosted_tool_types import ShellToolInlineSkill as ShellToolInlineSkill
from .hosted_tool_types import ShellToolLocalSkill as ShellToolLocalSkill
from .hosted_tool_types import ShellToolSkillReference as ShellToolSkillReference
from .hosted_tools import (
    CodeInterpreterTool,
    ComputerTool,
    HostedMCPTool,
    ImageGenerationTool,
    LocalShellTool,
    ShellTool,
)
from .run_context import RunContextWrapper, ToolContext

if TYPE_CHECKING:
    from .agent import Agent
    from .items import RunItem

MaybeAwaitable: TypeAlias = Any
ToolErrorFunction: TypeAlias = Callable[[RunContextWrapper[Any], Exception], Any]
"""Turns a tool's exception into the text the model sees (may be async)."""
ToolTimeoutBehavior: TypeAlias = Literal["error_as_result", "raise_exception"]


def default_tool_error_function(ctx: RunContextWrapper[Any], error: Exception) -> str:
    """The model sees a fixed message, never the exception's text (it may hold secrets or
    internals); the details go to the function span, subject to the sensitive-data switch."""
    return "An error occurred while running the tool. Please try again."


def default_tool_timeout_error_message(*, tool_name: str, timeout_seconds: float) -> str:
    return f"Tool '{tool_name}' timed out after {timeout_seconds:g} seconds."


@dataclass
class FunctionTool:
    """A tool backed by a Python function. `on_invoke_tool(ctx, arguments_json)` runs it."""

    name: str
    description: str
    params_json_schema: dict[str, Any]
    on_invoke_tool: Callable[[ToolContext[Any], str], Awaitable[Any]]
    strict_json_schema: bool = True
    is_enabled: bool | Callable[[RunContextWrapper[Any], Agent[Any]], MaybeAwaitable] = True
    """False (or a callable returning False) hides the tool from the model."""
    needs_approval: bool | Callable[..., Any] = False
    """True, or `(ctx, params, call_id) -> bool` (may be async): the call waits for a human
    decision and the run pauses (see RunState)."""
    timeout_seconds: float | None = None
    timeout_behavior: ToolTimeoutBehavior = "error_as_result"
    timeout_error_function: ToolErrorFunction | None = None
    defer_loading: bool = False
    tool_input_guardrails: list[Any] | None = None
    tool_output_guardrails: list[Any] | None = None
    _is_agent_tool: bool = field(default=False, kw_only=True, repr=False)
    _tool_agent: Any = field(default=None, kw_only=True, repr=False)
    """The sub-agent of an Agent.as_tool tool (RunState finds agents through it)."""

    def __post_init__(self) -> None:
        if not isinstance(self.needs_approval, bool) and not callable(self.needs_approval):
            raise UserError(
                f"Tool {self.name!r}: needs_approval must be a bool or a callable "
                f"(ctx, params, call_id) -> bool, got {type(self.needs_approval).__name__}"
            )
        if self.tool_input_guardrails or self.tool_output_guardrails:
            from .tool_guardrails import check_guardrail_lists

            check_guardrail_lists(self)
        if self.timeout_seconds is not None and self.timeout_seconds <= 0:
            raise ValueError(f"Tool {self.name!r}: timeout must be > 0, got {self.timeout_seconds}")
        if self.timeout_behavior not in ("error_as_result", "raise_exception"):
            raise ValueError(f"Tool {self.name!r}: unknown timeout_behavior")


@dataclass
class FunctionToolResult:
    tool: FunctionTool
    output: Any
    run_item: RunItem | None


@dataclass
class WebSearchTool:
    """The Responses API's hosted web search."""

    user_location: Any | None = None
    filters: Any | None = None
    search_context_size: Literal["low", "medium", "high"] = "medium"
    external_web_access: bool | None = None
    search_content_types: list[Literal["text", "image"]] | None = None
    image_settings: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return "web_search"


@dataclass
class FileSearchTool:
    """The Responses API's hosted search over vector stores."""

    vector_store_ids: list[str]
    max_num_results: int | None = None
    include_search_results: bool = False
    ranking_options: Any | None = None
    filters: Any | None = None

    @property
    def name(self) -> str:
        return "file_search"


Tool: TypeAlias = (
    FunctionTool
    | WebSearchTool
    | FileSearchTool
    | CodeInterpreterTool
    | ImageGenerationTool
    | HostedMCPTool
    | ComputerTool
    | LocalShellTool
    | ShellTool
)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _record_tool_error(ctx: ToolContext[Any], exc: Exception) -> None:
    """Put the error on the current (function) span; details only when sensitive data is on."""
    span = get_current_span()
    if span is None:
        return
    include = ctx.run_config.trace_include_sensitive_data if ctx.run_config else True
    data: dict[str, Any] = {"type": type(exc).__name__, "tool_name": ctx.tool_name}
    if include:
        data["error"] = str(exc)
    span.set_error({"message": "Error running tool", "data": data})


async def handle_tool_failure(
    failure_error_function: ToolErrorFunction | None, ctx: ToolContext[Any], exc: Exception
) -> Any:
    """What the model sees when a tool raised: the error on the span and the failure function's
    text; with no failure function the error propagates and fails the run."""
    if failure_error_function is None:
        raise exc
    _record_tool_error(ctx, exc)
    return await _maybe_await(failure_error_function(ctx, exc))


@overload
def function_tool(func: Callable[..., Any], /) -> FunctionTool: ...


@overload
def function_tool(
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    docstring_style: DocstringStyle | None = None,
    use_docstring_info: bool = True,
    failure_error_function: ToolErrorFunction | None = default_tool_error_function,
    strict_mode: bool = True,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Agent[Any]], MaybeAwaitable] = True,
    needs_approval: bool | Callable[..., Any] = False,
    tool_input_guardrails: list[Any] | None = None,
    tool_output_guardrails: list[Any] | None = None,
    timeout: float | None = None,
    timeout_behavior: ToolTimeoutBehavior = "error_as_result",
    timeout_error_function: ToolErrorFunction | None = None,
    defer_loading: bool = False,
    custom_data_extractor: Any | None = None,
    allowed_callers: list[Any] | None = None,
    output_type: Any | None = None,
    output_json_schema: dict[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], FunctionTool]: ...


def function_tool(
    func: Callable[..., Any] | None = None,
    *,
    name_override: str | None = None,
    description_override: str | None = None,
    docstring_style: DocstringStyle | None = None,
    use_docstring_info: bool = True,
    failure_error_function: ToolErrorFunction | None = default_tool_error_function,
    strict_mode: bool = True,
    is_enabled: bool | Callable[[RunContextWrapper[Any], Agent[Any]], MaybeAwaitable] = True,
    needs_approval: bool | Callable[..., Any] = False,
    tool_input_guardrails: list[Any] | None = None,
    tool_output_guardrails: list[Any] | None = None,
    timeout: float | None = None,
    timeout_behavior: ToolTimeoutBehavior = "error_as_result",
    timeout_error_function: ToolErrorFunction | None = None,
    defer_loading: bool = False,
    custom_data_extractor: Any | None = None,
    allowed_callers: list[Any] | None = None,
    output_type: Any | None = None,
    output_json_schema: dict[str, Any] | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a FunctionTool of a function, bare (`@function_tool`) or with options.

    The schema comes from the type hints and docstring. Sync functions run in a worker thread
    (`asyncio.to_thread`), async ones are awaited. A first parameter typed RunContextWrapper or
    ToolContext receives the context. If the function raises, `failure_error_function` turns the
    error into the text the model sees (None: the run fails instead).
    """

    from .settings_check import check_function_tool_options

    check_function_tool_options(
        defer_loading=defer_loading,
        custom_data_extractor=custom_data_extractor,
        allowed_callers=allowed_callers,
        output_type=output_type,
        output_json_schema=output_json_schema,
    )

    def build(the_func: Callable[..., Any]) -> FunctionTool:
        schema = function_schema(
            the_func,
            docstring_style=docstring_style,
            name_override=name_override,
            description_override=description_override,
            use_docstring_info=use_docstring_info,
            strict_json_schema=strict_mode,
        )
        is_async = inspect.iscoroutinefunction(the_func)
        params_model = schema.params_pydantic_model

        async def run_function(ctx: ToolContext[Any], arguments: str) -> Any:
            try:
                data = json.loads(arguments) if arguments else {}
            except json.JSONDecodeError as exc:
                raise ModelBehaviorError(
                    f"Invalid JSON input for tool {schema.name}: {arguments!r}"
                ) from exc
            try:
                parsed = params_model(**data) if data else params_model()
            except (ValidationError, TypeError) as exc:
                raise ModelBehaviorError(
                    f"Invalid JSON input for tool {schema.name}: {exc}"
                ) from exc
            args, kwargs = schema.to_call_args(parsed)
            if schema.takes_context:
                args.insert(0, ctx)
            if is_async:
                return await the_func(*args, **kwargs)
            return await asyncio.to_thread(the_func, *args, **kwargs)

        async def on_invoke_tool(ctx: ToolContext[Any], arguments: str) -> Any:
            try:
                return await run_function(ctx, arguments)
            except Exception as exc:
                return await handle_tool_failure(failure_error_function, ctx, exc)

        return FunctionTool(
            name=schema.name,
            description=schema.description or "",
            params_json_schema=schema.params_json_schema,
            on_invoke_tool=on_invoke_tool,
            strict_json_schema=strict_mode,
            is_enabled=is_enabled,
            needs_approval=needs_approval,
            tool_input_guardrails=tool_input_guardrails,
            tool_output_guardrails=tool_output_guardrails,
            timeout_seconds=timeout,
            timeout_behavior=timeout_behavior,
            timeout_error_function=timeout_error_function,
        )

    if callable(func):
        return build(func)
    return build


async def invoke_function_tool(tool: FunctionTool, ctx: ToolContext[Any], arguments: str) -> Any:
    """Run a tool call, enforcing the tool's timeout: the timeout message becomes the result,
    or ToolTimeoutError is raised when timeout_behavior="raise_exception"."""
    if tool.timeout_seconds is None:
        return await tool.on_invoke_tool(ctx, arguments)
    try:
        return await asyncio.wait_for(tool.on_invoke_tool(ctx, arguments), tool.timeout_seconds)
    except TimeoutError:
        error = ToolTimeoutError(tool.name, tool.timeout_seconds)
        span = get_current_span()
        if span is not None:
            span.set_error(
                {
                    "message": str(error),
                    "data": {"type": "ToolTimeoutError", "tool_name": tool.name},
                }
            )
        if tool.timeout_behavior == "raise_exception":
            raise error from None
        if tool.timeout_error_function is not None:
            return await _maybe_await(tool.timeout_error_function(ctx, error))
        return default_tool_timeout_error_message(
            tool_name=tool.name, timeout_seconds=tool.timeout_seconds
        )


async def is_tool_enabled(tool: Any, ctx: RunContextWrapper[Any], agent: Agent[Any]) -> bool:
    enabled = getattr(tool, "is_enabled", True)
    if callable(enabled):
        return bool(await _maybe_await(enabled(ctx, agent)))
    return bool(enabled)
