"""Names of the SDK that this runtime leaves out on purpose.

Each resolves (so an import of SDK code still works) to a placeholder that raises UserError,
naming the alternative, as soon as it is used: called, instantiated, or an attribute read. The
table is also the list in docs/runtime.md ("Left out on purpose").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from .exceptions import UserError

_RETRY = (
    "retry policies are not supported: the OpenAI models retry with the openai client's own "
    "retries (AsyncOpenAI(max_retries=...)); pass such a client to OpenAIProvider or the model"
)
_COMPACTION = (
    "server-side compaction sessions are not supported: use SQLiteSession / RedisSession, and "
    "RunConfig(session_input_callback=...) or SessionSettings(limit=...) to bound history"
)
_WEBSOCKET = (
    "the Responses API over WebSocket is not supported: OpenAIResponsesModel uses HTTP "
    "(streaming included, via Runner.run_streamed)"
)
_HISTORY = (
    "nested handoff history is not supported: shape what the next agent sees with "
    "handoff(agent, input_filter=...) (see agentoscope.runtime.handoff_filters)"
)
_ERROR_HANDLERS = (
    "run error handlers are not supported: catch MaxTurnsExceeded and other AgentsException "
    "around Runner.run; each carries run_data with what the run produced"
)
_APPLY_PATCH = (
    "the apply_patch tool is not supported: give the agent a function_tool that edits files "
    "(or a ShellTool with an executor), and review its changes with needs_approval=True"
)
_TOOL_SEARCH = (
    "tool search (deferred tools and namespaces) is not supported: give the agent the tools it "
    "needs, or split them across agents with handoffs or Agent.as_tool"
)
_PROGRAMMATIC = (
    "programmatic tool calling is not supported: the model calls function tools directly, "
    "several in one turn with ModelSettings(parallel_tool_calls=True)"
)
_SESSIONS = "use SQLiteSession, RedisSession, OpenAIConversationsSession or CompressedSession"

ALTERNATIVES: dict[str, str] = {
    "OpenAIRealtimeSIPModel": (
        "realtime sessions over SIP (answering a phone call by its call id) are not supported: "
        "connect with OpenAIRealtimeWebSocketModel and bridge the call's audio to it"
    ),
    "ModelRetrySettings": _RETRY,
    "ModelRetryBackoffSettings": _RETRY,
    "ModelRetryAdvice": _RETRY,
    "ModelRetryAdviceRequest": _RETRY,
    "ModelRetryNormalizedError": _RETRY,
    "RetryDecision": _RETRY,
    "RetryPolicy": _RETRY,
    "RetryPolicyContext": _RETRY,
    "retry_policies": _RETRY,
    "OpenAIResponsesCompactionSession": _COMPACTION,
    "OpenAIResponsesCompactionArgs": _COMPACTION,
    "OpenAIResponsesCompactionAwareSession": _COMPACTION,
    "is_openai_responses_compaction_aware_session": _COMPACTION,
    "ResponsesWebSocketSession": _WEBSOCKET,
    "responses_websocket_session": _WEBSOCKET,
    "OpenAIResponsesWSModel": _WEBSOCKET,
    "OpenAIResponsesWebSocketOptions": _WEBSOCKET,
    "set_default_openai_responses_transport": _WEBSOCKET,
    "nest_handoff_history": _HISTORY,
    "default_handoff_history_mapper": _HISTORY,
    "get_conversation_history_wrappers": _HISTORY,
    "set_conversation_history_wrappers": _HISTORY,
    "reset_conversation_history_wrappers": _HISTORY,
    "RunErrorHandler": _ERROR_HANDLERS,
    "RunErrorHandlerInput": _ERROR_HANDLERS,
    "RunErrorHandlerResult": _ERROR_HANDLERS,
    "RunErrorHandlers": _ERROR_HANDLERS,
    "RunErrorData": _ERROR_HANDLERS,
    "set_trace_provider": (
        "the trace provider is agentoscope.tracing's; plug in with "
        "agentoscope.tracing.add_trace_processor / set_trace_processors"
    ),
    "set_tracing_export_api_key": (
        "there is no OpenAI trace exporter here: spans go to your processors "
        "(agentoscope.tracing.configure, add_trace_processor)"
    ),
    "run_demo_loop": "write the loop: input() -> Runner.run(agent, items, session=...)",
    "set_default_openai_harness": "not supported: configure the model and tracing directly",
    "set_default_openai_agent_registration": "not supported: agents are not registered anywhere",
    "OpenAIAgentRegistrationConfig": "not supported: agents are not registered anywhere",
    "AdvancedSQLiteSession": f"not included: {_SESSIONS}",
    "EncryptedSession": f"not included: {_SESSIONS} (encrypt at the storage layer)",
    "SQLAlchemySession": f"not included: {_SESSIONS}",
    "EncryptedEnvelope": f"not included: {_SESSIONS} (encrypt at the storage layer)",
    "AnyLLMModel": (
        "not included: use LitellmModel (agentoscope[litellm]) or the 'litellm/<provider>/"
        "<model>' names for other providers"
    ),
    "ApplyPatchTool": _APPLY_PATCH,
    "ApplyPatchEditor": _APPLY_PATCH,
    "ApplyPatchOperation": _APPLY_PATCH,
    "ApplyPatchResult": _APPLY_PATCH,
    "apply_diff": _APPLY_PATCH,
    "ToolSearchTool": _TOOL_SEARCH,
    "tool_namespace": _TOOL_SEARCH,
    "ProgrammaticToolCallingTool": _PROGRAMMATIC,
    "DaprSession": f"not included: {_SESSIONS}",
    "MongoDBSession": f"not included: {_SESSIONS}",
}


class LeftOut:
    """Stands for an SDK name this runtime does not provide; any use raises UserError."""

    def __init__(self, name: str, alternative: str | None = None) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_alternative", alternative)

    def _refuse(self) -> NoReturn:
        name = object.__getattribute__(self, "_name")
        alternative = object.__getattribute__(self, "_alternative") or ALTERNATIVES[name]
        raise UserError(f"{name} is not available in agentoscope.runtime: {alternative}")

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse()

    def __getattr__(self, attribute: str) -> NoReturn:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        self._refuse()

    def __getitem__(self, item: Any) -> LeftOut:
        return self  # `Name[Any]` in a type annotation is not a use

    def __or__(self, other: Any) -> Any:
        return Any  # `Name | None` in an annotation evaluated at runtime

    __ror__ = __or__

    def __repr__(self) -> str:
        return f"<left out: {object.__getattribute__(self, '_name')}>"


def left_out(name: str) -> Any:
    if name not in ALTERNATIVES:
        raise KeyError(f"{name} has no documented alternative")
    return LeftOut(name)


def left_out_module(module: str, names: list[str], alternative: str) -> Callable[[str], LeftOut]:
    """The module `__getattr__` of an SDK module left out as a whole: each of its names is a
    placeholder (its names, such as `ReasoningItem`, may also be real names elsewhere, so they
    stay out of ALTERNATIVES). `module` is the module's `__name__`."""
    short = module.rsplit(".", 1)[-1]
    placeholders = {name: LeftOut(f"{short}.{name}", alternative) for name in names}

    def module_getattr(name: str) -> LeftOut:
        if name in placeholders:
            return placeholders[name]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return module_getattr


__all__ = ["ALTERNATIVES", "LeftOut", "left_out", "left_out_module"]
