"""Run-wide settings (`RunConfig`), with the SDK's fields and defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic

from agentoscope.tracing.sensitive import env_include_sensitive

from .model_settings import ModelSettings
from .run_context import TContext

if TYPE_CHECKING:
    from .agent import Agent
    from .guardrail import InputGuardrail, OutputGuardrail
    from .handoffs import HandoffInputFilter
    from .items import TResponseInputItem
    from .models.interface import Model, ModelProvider

DEFAULT_MAX_TURNS = 10


@dataclass
class ModelInputData:
    """What is about to be sent to the model; `call_model_input_filter` may return a changed one."""

    input: list[TResponseInputItem]
    instructions: str | None


@dataclass
class CallModelData(Generic[TContext]):
    """Passed to `RunConfig.call_model_input_filter` before each model call."""

    model_data: ModelInputData
    agent: Agent[TContext]
    context: TContext | None


CallModelInputFilter = Callable[[CallModelData[Any]], Any]
"""Returns a ModelInputData (or an awaitable of one)."""
SessionInputCallback = Callable[[list[Any], list[Any]], Any]
"""(history, new_input) -> the combined input list (or an awaitable of it)."""


def _default_include_sensitive() -> bool:
    # AGENTOSCOPE_INCLUDE_SENSITIVE_DATA, else OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA, else on.
    return env_include_sensitive(True)


@dataclass
class RunConfig:
    """Settings for a whole run; those set here override the agents' own."""

    model: str | Model | None = None
    """Overrides every agent's model. A name is resolved by `model_provider`."""
    model_provider: ModelProvider | None = None
    """Resolves model names. None: a MultiProvider (OpenAI, prefixes like `openai/...`)."""
    model_settings: ModelSettings | dict[str, Any] | None = None
    """Applied on top of each agent's model settings."""
    handoff_input_filter: HandoffInputFilter | None = None
    """Used for handoffs that have no input_filter of their own."""
    nest_handoff_history: bool = False
    """Not supported: set to anything but its default, it raises UserError."""
    handoff_history_mapper: Any | None = None
    """Not supported: set to anything but its default, it raises UserError."""
    input_guardrails: list[InputGuardrail] | None = None
    """Run on the first agent's input, with the agent's own."""
    output_guardrails: list[OutputGuardrail] | None = None
    """Run on the final output, with the final agent's own."""
    tracing_disabled: bool = False
    """No trace and no spans for this run."""
    tracing: dict[str, Any] | None = None
    """The SDK's TracingConfig keys; see settings_check.py for what is accepted."""
    trace_include_sensitive_data: bool = field(default_factory=_default_include_sensitive)
    """False: spans are still made but model and tool inputs/outputs stay None."""
    workflow_name: str = "Agent workflow"
    trace_id: str | None = None
    group_id: str | None = None
    """Links traces of one conversation (e.g. a chat thread id)."""
    trace_metadata: dict[str, Any] | None = None
    session_input_callback: SessionInputCallback | None = None
    """How session history and new input combine; default: history + new input."""
    call_model_input_filter: CallModelInputFilter | None = None
    """Sees (and may change) the instructions and input of every model call."""
    tool_error_formatter: Any | None = None
    """`(ToolErrorFormatterArgs) -> str | None` (may be async): the message the model gets for
    a rejected approval, unless reject() gave one (None: the default message)."""
    session_settings: Any | None = None
    """Overrides the sessions' own SessionSettings (e.g. the history limit) for this run."""
    reasoning_item_id_policy: Any | None = None
    """Not supported: set to anything but its default, it raises UserError."""
    sandbox: Any | None = None
    """Not supported: set to anything but its default, it raises UserError."""
    tool_execution: Any | None = None
    """Not supported: set to anything but its default, it raises UserError."""
    tool_not_found_behavior: Any = "raise_error"
    """Not supported: set to anything but its default, it raises UserError."""
    tool_name_collision_policy: Any = "warn"
    """Not supported: set to anything but its default, it raises UserError."""
    output_guardrail_blocked_message: Any | None = None
    """Not supported: set to anything but its default, it raises UserError."""

    def __post_init__(self) -> None:
        from .settings_check import check_run_config

        check_run_config(self)
