"""Agentoscope runtime: an agent runtime with the OpenAI Agents SDK's names and signatures
(`Agent`, `Runner`, `function_tool`, `handoff`, guardrails, models, sessions, streaming), where
every step is a span.

Code written for the SDK ports by changing its imports:

    from agentoscope.runtime import Agent, Runner, function_tool

Names load on first use, so `import agentoscope.runtime` is light, and an optional part that is
missing (e.g. the OpenAI models or a session backend) fails only when it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    # agent, runner, config, results
    "Agent": ".agent",
    "StopAtTools": ".agent",
    "ToolsToFinalOutputResult": ".agent",
    "ToolsToFinalOutputFunction": ".agent",
    "Runner": ".run",
    "DEFAULT_MAX_TURNS": ".run_config",
    "RunConfig": ".run_config",
    "ModelInputData": ".run_config",
    "CallModelData": ".run_config",
    "RunResult": ".result",
    "RunResultStreaming": ".result",
    "RunContextWrapper": ".run_context",
    "ToolContext": ".run_context",
    "AgentHookContext": ".run_context",
    "RunHooks": ".lifecycle",
    "AgentHooks": ".lifecycle",
    "Usage": ".usage",
    "RequestUsage": ".usage",
    "ModelSettings": ".model_settings",
    # items and events
    "TResponseInputItem": ".items",
    "TResponseOutputItem": ".items",
    "TResponseStreamEvent": ".items",
    "ModelResponse": ".items",
    "ItemHelpers": ".items",
    "RunItem": ".items",
    "MessageOutputItem": ".items",
    "ToolCallItem": ".items",
    "ToolCallOutputItem": ".items",
    "HandoffCallItem": ".items",
    "HandoffOutputItem": ".items",
    "ReasoningItem": ".items",
    "MCPListToolsItem": ".items",
    "MCPApprovalRequestItem": ".items",
    "MCPApprovalResponseItem": ".items",
    "ToolApprovalItem": ".items",
    "RunState": ".run_state",
    "StreamEvent": ".stream_events",
    "RawResponsesStreamEvent": ".stream_events",
    "RunItemStreamEvent": ".stream_events",
    "AgentUpdatedStreamEvent": ".stream_events",
    # tools, handoffs, guardrails, output
    "function_tool": ".tool",
    "FunctionTool": ".tool",
    "FunctionToolResult": ".tool",
    "Tool": ".tool",
    "WebSearchTool": ".tool",
    "FileSearchTool": ".tool",
    "default_tool_error_function": ".tool",
    # built-in tools (hosted by the provider, or run here through the user's executor)
    "CodeInterpreterTool": ".hosted_tools",
    "ImageGenerationTool": ".hosted_tools",
    "HostedMCPTool": ".hosted_tools",
    "MCPToolApprovalRequest": ".hosted_tools",
    "MCPToolApprovalFunction": ".hosted_tools",
    "MCPToolApprovalFunctionResult": ".hosted_tools",
    "ComputerTool": ".hosted_tools",
    "ComputerToolSafetyCheckData": ".hosted_tools",
    "LocalShellTool": ".hosted_tools",
    "LocalShellCommandRequest": ".hosted_tools",
    "LocalShellExecutor": ".hosted_tools",
    "ShellTool": ".hosted_tools",
    "ShellExecutor": ".hosted_tools",
    "ShellCommandRequest": ".hosted_tools",
    "ShellActionRequest": ".hosted_tools",
    "ShellCallData": ".hosted_tools",
    "ShellResult": ".hosted_tools",
    "ShellCommandOutput": ".hosted_tools",
    "ShellCallOutcome": ".hosted_tools",
    "ShellToolLocalSkill": ".hosted_tool_types",
    "ShellToolSkillReference": ".hosted_tool_types",
    "ShellToolInlineSkill": ".hosted_tool_types",
    "ShellToolInlineSkillSource": ".hosted_tool_types",
    "ShellToolContainerSkill": ".hosted_tool_types",
    "ShellToolContainerNetworkPolicy": ".hosted_tool_types",
    "ShellToolContainerNetworkPolicyAllowlist": ".hosted_tool_types",
    "ShellToolContainerNetworkPolicyDisabled": ".hosted_tool_types",
    "ShellToolContainerNetworkPolicyDomainSecret": ".hosted_tool_types",
    "ShellToolLocalEnvironment": ".hosted_tool_types",
    "ShellToolContainerAutoEnvironment": ".hosted_tool_types",
    "ShellToolContainerReferenceEnvironment": ".hosted_tool_types",
    "ShellToolHostedEnvironment": ".hosted_tool_types",
    "ShellToolEnvironment": ".hosted_tool_types",
    "ShellOnApprovalFunctionResult": ".hosted_tool_types",
    "ShellApprovalFunction": ".hosted_tool_types",
    "ShellOnApprovalFunction": ".hosted_tool_types",
    "ImageGenerationToolConfig": ".hosted_tool_types",
    "Computer": ".computer",
    "AsyncComputer": ".computer",
    "Environment": ".computer",
    "Button": ".computer",
    "function_schema": ".function_schema",
    "FuncSchema": ".function_schema",
    "ensure_strict_json_schema": ".strict_schema",
    "handoff": ".handoffs",
    "Handoff": ".handoffs",
    "HandoffInputData": ".handoffs",
    "HandoffInputFilter": ".handoffs",
    "input_guardrail": ".guardrail",
    "output_guardrail": ".guardrail",
    "InputGuardrail": ".guardrail",
    "OutputGuardrail": ".guardrail",
    "InputGuardrailResult": ".guardrail",
    "OutputGuardrailResult": ".guardrail",
    "GuardrailFunctionOutput": ".guardrail",
    "tool_input_guardrail": ".tool_guardrails",
    "tool_output_guardrail": ".tool_guardrails",
    "ToolGuardrailFunctionOutput": ".tool_guardrails",
    "ToolInputGuardrail": ".tool_guardrails",
    "ToolOutputGuardrail": ".tool_guardrails",
    "ToolInputGuardrailData": ".tool_guardrails",
    "ToolOutputGuardrailData": ".tool_guardrails",
    "ToolInputGuardrailResult": ".tool_guardrails",
    "ToolOutputGuardrailResult": ".tool_guardrails",
    "AgentOutputSchema": ".agent_output",
    "AgentOutputSchemaBase": ".agent_output",
    # exceptions
    "AgentsException": ".exceptions",
    "MaxTurnsExceeded": ".exceptions",
    "ModelBehaviorError": ".exceptions",
    "UserError": ".exceptions",
    "ToolTimeoutError": ".exceptions",
    "ModelTimeoutError": ".exceptions",
    "InputGuardrailTripwireTriggered": ".exceptions",
    "OutputGuardrailTripwireTriggered": ".exceptions",
    "RunErrorDetails": ".exceptions",
    "ToolInputGuardrailTripwireTriggered": ".exceptions",
    "ToolOutputGuardrailTripwireTriggered": ".exceptions",
    # models (the OpenAI ones are the models helper's modules)
    "Model": ".models.interface",
    "ModelProvider": ".models.interface",
    "ModelTracing": ".models.interface",
    "ScriptedModel": ".models.scripted",
    "ScriptedTurn": ".models.scripted",
    "OpenAIResponsesModel": ".models.openai_responses",
    "OpenAIChatCompletionsModel": ".models.openai_chatcompletions",
    "OpenAIProvider": ".models.openai_provider",
    "MultiProvider": ".models.multi_provider",
    # sessions (the sessions helper's modules)
    "Session": ".memory",
    "SessionABC": ".memory",
    "SessionSettings": ".memory",
    "SQLiteSession": ".memory",
    "RedisSession": ".memory",
    "OpenAIConversationsSession": ".memory",
    "CompressedSession": ".memory",
}
_SUBMODULES = {"handoff_filters", "models", "memory", "mcp", "computer"}

# SDK parity (issue 18): tracing re-exports, OpenAI defaults, and names left out on purpose.
from ._parity_names import LEFT_OUT_TOP_LEVEL, PARITY_LAZY, SUBMODULES  # noqa: E402

_LAZY.update(PARITY_LAZY)
_SUBMODULES |= SUBMODULES


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module_name = _LAZY.get(name)
    if module_name is None:
        if name in LEFT_OUT_TOP_LEVEL:  # resolves; raises UserError naming the alternative
            from .left_out import left_out

            return left_out(name)
        if name == "__version__":
            from importlib.metadata import version

            return version("agentoscope")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = sorted([*_LAZY, "handoff_filters"])
