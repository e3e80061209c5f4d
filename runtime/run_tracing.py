"""Tracing glue of the run loop: the run's trace, agent spans, and errors on spans."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

from agentoscope.tracing import NoOpTrace, Span, Trace, agent_span, get_current_trace, trace

from .models.interface import ModelTracing
from .run_config import RunConfig


def trace_for_run(run_config: RunConfig, session: Any = None) -> Trace | None:
    """The trace a run must open: None when the caller's trace is current (the run nests in
    it), a NoOpTrace when tracing is disabled for the run (so every span inside is a no-op).
    A run with a session groups its trace under the session id unless RunConfig.group_id is
    set, so the traces of one conversation show together (the dashboard's Sessions page)."""
    if run_config.tracing_disabled:
        return NoOpTrace(run_config.workflow_name)
    if get_current_trace() is not None:
        return None
    return trace(
        workflow_name=run_config.workflow_name,
        trace_id=run_config.trace_id,
        group_id=run_config.group_id or _session_group(session),
        metadata=run_config.trace_metadata,
    )


def model_tracing(run_config: RunConfig) -> ModelTracing:
    if run_config.tracing_disabled:
        return ModelTracing.DISABLED
    if run_config.trace_include_sensitive_data:
        return ModelTracing.ENABLED
    return ModelTracing.ENABLED_WITHOUT_DATA


def start_agent_span(name: str, output_type: str) -> Span[Any]:
    """The agent's span, current until the agent hands off or the run ends; tools and
    handoffs are filled in once known."""
    span = agent_span(name=name, output_type=output_type)
    span.start(mark_as_current=True)
    return span


def record_run_io(span: Span[Any] | None, tracing: ModelTracing, **values: Any) -> None:
    """Put the run's `input` or final `output` on an agent span, as JSON values, when the run
    traces sensitive data (never otherwise): OTLP export shows them on the agent and workflow
    spans (`input.value`/`output.value`)."""
    if span is None or not tracing.include_data():
        return
    for key, value in values.items():
        try:
            value = to_jsonable_python(value)
        except Exception:  # a value pydantic cannot serialize: its text is still worth seeing
            value = str(value)
        setattr(span.span_data, key, value)


def set_span_error(span: Span[Any] | None, message: str, error_type: str, **data: Any) -> None:
    if span is not None:
        span.set_error({"message": message, "data": {"type": error_type, **data}})


def _session_group(session: Any) -> str | None:
    if session is None:
        return None
    try:
        session_id = session.session_id
    except Exception:  # e.g. a server-side conversation not created yet: no id to group by
        return None
    return str(session_id) if session_id else None
