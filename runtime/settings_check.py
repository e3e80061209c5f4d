"""SDK settings this runtime does not implement: accepted in the signatures (so SDK code keeps
its shape) and refused with a UserError naming the setting when set to anything but its
default. No setting is silently ignored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import UserError

if TYPE_CHECKING:
    from .run_config import RunConfig

_RUN_CONFIG_UNSUPPORTED: dict[str, tuple[Any, str]] = {
    # field: (the default that is fine, what to do instead)
    "nest_handoff_history": (
        False,
        "shape what the next agent sees with handoff(agent, input_filter=...)",
    ),
    "handoff_history_mapper": (None, "use handoff(agent, input_filter=...)"),
    "reasoning_item_id_policy": (None, "reasoning items are replayed as the model returned them"),
    "sandbox": (None, "sandbox agents are not part of this runtime"),
    "tool_execution": (None, "tool calls of a turn always run concurrently"),
    "tool_not_found_behavior": (
        "raise_error",
        "a call of an unknown tool raises ModelBehaviorError (the SDK's default)",
    ),
    "tool_name_collision_policy": ("warn", "give tools unique names"),
    "output_guardrail_blocked_message": (
        None,
        "catch OutputGuardrailTripwireTriggered and answer the user yourself",
    ),
}


def unsupported(setting: str, instead: str) -> UserError:
    return UserError(f"{setting} is not supported by agentoscope.runtime: {instead}")


def check_run_config(config: RunConfig) -> None:
    for name, (default, instead) in _RUN_CONFIG_UNSUPPORTED.items():
        if getattr(config, name) != default:
            raise unsupported(f"RunConfig.{name}", instead)
    tracing = config.tracing
    if tracing is not None:
        if not isinstance(tracing, dict):
            raise UserError("RunConfig.tracing must be a dict (TracingConfig)")
        unknown = set(tracing) - {"api_key", "include_task_and_turn_spans"}
        if unknown:
            raise UserError(f"RunConfig.tracing has unknown keys {sorted(unknown)}")
        if tracing.get("api_key"):
            raise unsupported(
                "RunConfig.tracing['api_key']",
                "traces are never sent to OpenAI; configure processors with "
                "agentoscope.tracing.configure(...)",
            )
        if tracing.get("include_task_and_turn_spans"):
            raise unsupported(
                "RunConfig.tracing['include_task_and_turn_spans']",
                "this runtime emits no task/turn spans: agent spans are the top level "
                "(what the SDK does with include_task_and_turn_spans=False)",
            )


def check_model_settings(settings: Any, where: str) -> None:
    if settings is not None and getattr(settings, "retry", None) is not None:
        raise unsupported(
            f"{where}.retry",
            "the OpenAI models retry with the openai client's own retries "
            "(AsyncOpenAI(max_retries=...))",
        )


def check_run_inputs(agent: Any, run_config: RunConfig, error_handlers: Any = None) -> None:
    """At the start of a run: what only shows once the run's agents and settings meet."""
    if error_handlers is not None:
        raise unsupported(
            "Runner.run(error_handlers=...)",
            "catch MaxTurnsExceeded and other AgentsException around Runner.run; each carries "
            "run_data with what the run produced",
        )
    check_model_settings(agent.model_settings, f"Agent {agent.name!r} model_settings")
    if not isinstance(run_config.model_settings, dict):
        check_model_settings(run_config.model_settings, "RunConfig.model_settings")
    elif run_config.model_settings.get("retry") is not None:
        raise unsupported("RunConfig.model_settings.retry", "use the openai client's retries")


_TOOL_OPTIONS = {
    "defer_loading": (False, "tool search is not part of this runtime: give the agent the tool"),
    "custom_data_extractor": (None, "put extra data on the tool's output or in the run context"),
    "allowed_callers": (None, "programmatic tool calling is not part of this runtime"),
    "output_type": (None, "return text, a pydantic model (sent as JSON) or ToolOutput* parts"),
    "output_json_schema": (None, "return text, a pydantic model or ToolOutput* parts"),
}


def check_function_tool_options(**options: Any) -> None:
    for name, value in options.items():
        default, instead = _TOOL_OPTIONS[name]
        if value != default:
            raise unsupported(f"function_tool({name}=...)", instead)


__all__ = [
    "check_function_tool_options",
    "check_model_settings",
    "check_run_config",
    "check_run_inputs",
    "unsupported",
]
