"""`agents.extensions.experimental.codex` is left out: running the Codex CLI as a tool is an
experimental SDK feature this runtime does not build. Every name is a placeholder that raises a
UserError naming the alternative when used."""

from __future__ import annotations

from ...left_out import left_out_module

ALTERNATIVE = (
    "the experimental Codex tool is not part of this runtime: run the `codex` CLI from a "
    "function_tool (or a ShellTool executor) with needs_approval=True"
)

# The SDK module's public names (openai-agents 0.24.0).
NAMES = [
    "Codex",
    "CodexOptions",
    "Thread",
    "Turn",
    "RunResult",
    "RunStreamedResult",
    "Input",
    "UserInput",
    "ThreadOptions",
    "TurnOptions",
    "ApprovalMode",
    "SandboxMode",
    "ModelReasoningEffort",
    "WebSearchMode",
    "ThreadEvent",
    "ThreadStartedEvent",
    "TurnStartedEvent",
    "TurnCompletedEvent",
    "TurnFailedEvent",
    "ItemStartedEvent",
    "ItemUpdatedEvent",
    "ItemCompletedEvent",
    "ThreadError",
    "ThreadErrorEvent",
    "Usage",
    "ThreadItem",
    "AgentMessageItem",
    "ReasoningItem",
    "CommandExecutionItem",
    "FileChangeItem",
    "FileUpdateChange",
    "McpToolCallItem",
    "McpToolCallResult",
    "McpToolCallError",
    "WebSearchItem",
    "TodoItem",
    "TodoListItem",
    "ErrorItem",
    "codex_tool",
    "CodexToolOptions",
    "CodexToolResult",
    "CodexToolStreamEvent",
    "OutputSchemaDescriptor",
]

__getattr__ = left_out_module(__name__, NAMES, ALTERNATIVE)

__all__ = NAMES  # served by __getattr__ above
