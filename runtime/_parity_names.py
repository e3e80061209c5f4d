"""Top-level names added for SDK parity (merged into `agentoscope.runtime`'s lazy table): the
tracing names re-exported from agentoscope.tracing, OpenAI defaults, decorators' types, and the
names left out on purpose (see left_out.py)."""

from __future__ import annotations

from .left_out import ALTERNATIVES

_TRACING = (
    "trace",
    "custom_span",
    "agent_span",
    "function_span",
    "generation_span",
    "guardrail_span",
    "handoff_span",
    "mcp_tools_span",
    "response_span",
    "speech_group_span",
    "speech_span",
    "task_span",
    "turn_span",
    "transcription_span",
    "gen_trace_id",
    "gen_span_id",
    "set_tracing_disabled",
    "add_trace_processor",
    "set_trace_processors",
    "flush_traces",
    "get_current_span",
    "get_current_trace",
    "Span",
    "Trace",
    "SpanError",
    "SpanData",
    "TracingProcessor",
    "AgentSpanData",
    "CustomSpanData",
    "FunctionSpanData",
    "GenerationSpanData",
    "GuardrailSpanData",
    "HandoffSpanData",
    "MCPListToolsSpanData",
    "ResponseSpanData",
    "SpeechGroupSpanData",
    "SpeechSpanData",
    "TaskSpanData",
    "TranscriptionSpanData",
    "TurnSpanData",
)

PARITY_LAZY: dict[str, str] = {
    **{name: ".tracing" for name in _TRACING},
    "set_default_openai_key": ".openai_defaults",
    "set_default_openai_client": ".openai_defaults",
    "set_default_openai_api": ".openai_defaults",
    "enable_verbose_stdout_logging": ".openai_defaults",
    "AgentBase": ".agent_base",
    "AgentToolStreamEvent": ".agent_tool",
    "TContext": ".run_context",
    "Prompt": ".prompts",
    "GenerateDynamicPromptData": ".prompts",
    "DynamicPromptFunction": ".prompts",
    "ToolErrorFormatterArgs": ".approvals",
    "ToolOutputText": ".tool_output",
    "ToolOutputTextDict": ".tool_output",
    "ToolOutputImage": ".tool_output",
    "ToolOutputImageDict": ".tool_output",
    "ToolOutputFileContent": ".tool_output",
    "ToolOutputFileContentDict": ".tool_output",
}

_NOT_TOP_LEVEL = {
    "AdvancedSQLiteSession",
    "EncryptedSession",
    "SQLAlchemySession",
    "DaprSession",
    "MongoDBSession",
    "EncryptedEnvelope",
    "AnyLLMModel",
}
LEFT_OUT_TOP_LEVEL = frozenset(ALTERNATIVES) - _NOT_TOP_LEVEL
SUBMODULES = frozenset({"decorators", "extensions", "tracing"})

__all__ = ["LEFT_OUT_TOP_LEVEL", "PARITY_LAZY", "SUBMODULES"]
