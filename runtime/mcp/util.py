"""MCP tools as function tools: listing (an `mcp_tools` span per server), conversion to
`FunctionTool`s the model sees like any other, and calls (inside the run's `function` span,
which gets `mcp_data` naming the server)."""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentoscope.tracing import get_current_span, mcp_tools_span

from ..exceptions import ModelBehaviorError, UserError
from ..run_context import RunContextWrapper, ToolContext
from ..strict_schema import ensure_strict_json_schema
from ..tool import FunctionTool, ToolErrorFunction, _maybe_await, _record_tool_error
from .connection import MCPRequestError

# The SDK keeps the tool-filter names in `agents.mcp.util`; SDK code imports them from here.
from .filters import (
    ToolFilter,
    ToolFilterCallable,
    ToolFilterContext,
    ToolFilterStatic,
    create_static_tool_filter,
)

if TYPE_CHECKING:
    from mcp.types import CallToolResult
    from mcp.types import Tool as MCPTool

    from .interface import MCPServer

logger = logging.getLogger("agentoscope.runtime.mcp")

_MAX_TOOL_NAME = 64  # the OpenAI APIs' limit on function names


def default_mcp_tool_error_function(ctx: RunContextWrapper[Any], error: Exception) -> str:
    """The model sees why an MCP request failed (server, operation, reason: closed, timed out,
    MCP error), in words we wrote; other errors stay generic."""
    if isinstance(error, MCPRequestError):
        return f"An error occurred while running the tool: {error.summary}"
    return "An error occurred while running the tool. Please try again."


@dataclass
class MCPToolMetaContext:
    """What a `tool_meta_resolver` sees before each call."""

    run_context: RunContextWrapper[Any]
    server_name: str
    tool_name: str
    arguments: dict[str, Any] | None


@dataclass
class MCPFunctionTool(FunctionTool):
    """A FunctionTool backed by a tool of an MCP server."""

    mcp_server_name: str = field(default="", kw_only=True)
    mcp_tool_name: str = field(default="", kw_only=True)
    """The tool's name on the server (the public name may carry a server prefix)."""


def _safe_name_part(value: str, fallback: str) -> str:
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in value)
    return safe.strip("_-") or fallback


def prefixed_tool_name(server_name: str, tool_name: str) -> str:
    """`mcp_<server>__<tool>`, shortened with a hash when longer than the APIs allow."""
    base = f"mcp_{_safe_name_part(server_name, 'server')}__{_safe_name_part(tool_name, 'tool')}"
    if len(base) <= _MAX_TOOL_NAME:
        return base
    digest = hashlib.sha1(f"{server_name}\0{tool_name}".encode()).hexdigest()[:8]
    return f"{base[: _MAX_TOOL_NAME - 9].rstrip('_-')}_{digest}"


class MCPUtil:
    """Between MCP servers and function tools."""

    @classmethod
    async def get_all_function_tools(
        cls,
        servers: list[MCPServer],
        convert_schemas_to_strict: bool,
        run_context: RunContextWrapper[Any],
        agent: Any,
        failure_error_function: ToolErrorFunction | None = default_mcp_tool_error_function,
        include_server_in_tool_names: bool = False,
        reserved_tool_names: set[str] | None = None,
    ) -> list[FunctionTool]:
        """Every server's tools, in server order. Two servers offering the same tool name is a
        UserError unless names carry their server (`include_server_in_tool_names`)."""
        tools: list[FunctionTool] = []
        seen: set[str] = set(reserved_tool_names or ())
        for server in servers:
            server_tools = await cls.get_function_tools(
                server,
                convert_schemas_to_strict,
                run_context,
                agent,
                failure_error_function=failure_error_function,
                include_server_in_tool_names=include_server_in_tool_names,
            )
            clashes = sorted(seen & {t.name for t in server_tools})
            if clashes:
                raise UserError(
                    f"Duplicate tool names across MCP servers (or with the agent's tools): "
                    f"{', '.join(clashes)} (from {server.name!r}). Set mcp_config="
                    "{'include_server_in_tool_names': True} to prefix names with their server."
                )
            seen.update(t.name for t in server_tools)
            tools.extend(server_tools)
        return tools

    @classmethod
    async def get_function_tools(
        cls,
        server: MCPServer,
        convert_schemas_to_strict: bool,
        run_context: RunContextWrapper[Any],
        agent: Any,
        failure_error_function: ToolErrorFunction | None = default_mcp_tool_error_function,
        include_server_in_tool_names: bool = False,
    ) -> list[FunctionTool]:
        """One server's tools, listed inside an `mcp_tools` span."""
        with mcp_tools_span(server=server.name) as span:
            try:
                mcp_tools = await server.list_tools(run_context, agent)
            except Exception as error:
                span.set_error(
                    {
                        "message": "Error listing MCP tools",
                        "data": {"type": type(error).__name__, "server": server.name},
                    }
                )
                raise
            span.span_data.result = [tool.name for tool in mcp_tools]
        return [
            cls.to_function_tool(
                tool,
                server,
                convert_schemas_to_strict,
                agent,
                failure_error_function=failure_error_function,
                tool_name_override=(
                    prefixed_tool_name(server.name, tool.name)
                    if include_server_in_tool_names
                    else None
                ),
            )
            for tool in mcp_tools
        ]

    @classmethod
    def to_function_tool(
        cls,
        tool: MCPTool,
        server: MCPServer,
        convert_schemas_to_strict: bool,
        agent: Any | None = None,
        failure_error_function: ToolErrorFunction | None = default_mcp_tool_error_function,
        tool_name_override: str | None = None,
    ) -> MCPFunctionTool:
        """The tool as a FunctionTool. With `convert_schemas_to_strict` its input schema is made
        strict when it can be (otherwise it stays as the server gave it)."""
        public_name = tool_name_override or tool.name
        schema = copy.deepcopy(tool.input_schema) or {}
        schema.setdefault("type", "object")
        # MCP allows a schema without `properties`; the OpenAI APIs do not.
        schema.setdefault("properties", {})
        is_strict = False
        if convert_schemas_to_strict:
            try:
                schema = ensure_strict_json_schema(schema)
                is_strict = True
            except UserError as error:
                logger.info("MCP tool %r keeps its non-strict schema: %s", tool.name, error)
        on_failure = server._get_failure_error_function(failure_error_function)
        static_meta = tool.meta if isinstance(getattr(tool, "meta", None), dict) else None

        async def invoke(ctx: ToolContext[Any], arguments: str) -> Any:
            try:
                return await cls.invoke_mcp_tool(
                    server, tool, ctx, arguments, meta=static_meta, tool_display_name=public_name
                )
            except Exception as error:
                if on_failure is None:
                    raise
                _record_tool_error(ctx, error)
                return await _maybe_await(on_failure(ctx, error))

        return MCPFunctionTool(
            name=public_name,
            description=tool.description or tool.title or "",
            params_json_schema=schema,
            on_invoke_tool=invoke,
            strict_json_schema=is_strict,
            needs_approval=server._get_needs_approval_for_tool(tool, agent),
            tool_input_guardrails=list(server.tool_input_guardrails or []) or None,
            tool_output_guardrails=list(server.tool_output_guardrails or []) or None,
            mcp_server_name=server.name,
            mcp_tool_name=tool.name,
        )

    @classmethod
    async def invoke_mcp_tool(
        cls,
        server: MCPServer,
        tool: MCPTool,
        context: RunContextWrapper[Any],
        input_json: str,
        *,
        meta: dict[str, Any] | None = None,
        tool_display_name: str | None = None,
    ) -> Any:
        """Call the tool with the model's JSON arguments; returns what the model should see."""
        display_name = tool_display_name or tool.name
        span = get_current_span()
        function_data = _function_span_data(span)
        if function_data is not None:
            # Set first, so a failed call is attributed to its server too.
            function_data.mcp_data = {"server": server.name}
        try:
            arguments = json.loads(input_json) if input_json else {}
        except json.JSONDecodeError as error:
            raise ModelBehaviorError(f"Invalid JSON input for tool {display_name}") from error
        if not isinstance(arguments, dict):
            raise ModelBehaviorError(
                f"Invalid JSON input for tool {display_name}: expected a JSON object"
            )
        resolved = await _resolve_meta(server, context, tool.name, arguments)
        merged = {**(resolved or {}), **(meta or {})} or None
        result = await server.call_tool(tool.name, arguments, meta=merged)
        output = tool_output_of(result, server.use_structured_content)
        if function_data is not None and result.is_error:
            span.set_error(  # type: ignore[union-attr]
                {
                    "message": "MCP tool returned an error",
                    "data": {"tool_name": display_name, "server": server.name},
                }
            )
        return output


def _function_span_data(span: Any) -> Any:
    data = getattr(span, "span_data", None)
    return data if getattr(data, "type", None) == "function" else None


async def _resolve_meta(
    server: MCPServer, context: RunContextWrapper[Any], tool_name: str, arguments: dict[str, Any]
) -> dict[str, Any] | None:
    resolver = server.tool_meta_resolver
    if resolver is None:
        return None
    resolved = resolver(
        MCPToolMetaContext(
            run_context=context,
            server_name=server.name,
            tool_name=tool_name,
            arguments=copy.deepcopy(arguments),
        )
    )
    if inspect.isawaitable(resolved):
        resolved = await resolved
    if resolved is not None and not isinstance(resolved, Mapping):
        raise UserError(f"tool_meta_resolver of {server.name!r} must return a dict or None")
    return dict(resolved) if resolved is not None else None


def tool_output_of(result: CallToolResult, use_structured_content: bool) -> Any:
    """The SDK's shape: structured content as JSON text when asked for (and not an error);
    else one `{"type": "text"|"image", ...}` dict per content block (the dict alone when there
    is one), other blocks as their JSON."""
    if use_structured_content and result.structured_content and not result.is_error:
        return json.dumps(result.structured_content, ensure_ascii=False)
    parts: list[dict[str, Any]] = []
    for block in result.content:
        if block.type == "text":
            parts.append({"type": "text", "text": block.text})
        elif block.type == "image":
            parts.append(
                {"type": "image", "image_url": f"data:{block.mime_type};base64,{block.data}"}
            )
        else:
            parts.append({"type": "text", "text": block.model_dump_json()})
    if len(parts) == 1:
        return parts[0]
    return parts


__all__ = [
    "MCPFunctionTool",
    "MCPToolMetaContext",
    "MCPUtil",
    "ToolFilter",
    "ToolFilterCallable",
    "ToolFilterContext",
    "ToolFilterStatic",
    "create_static_tool_filter",
    "default_mcp_tool_error_function",
    "prefixed_tool_name",
    "tool_output_of",
]
