"""The drop-in path: our processors on runs of the official `openai-agents` SDK, unchanged.

    from agentoscope.tracing import instrument_openai_agents
    instrument_openai_agents(jsonl="traces.jsonl", duckdb="traces.duckdb")

Our processors implement the SDK's processor interface method for method, so they are simply
added to the SDK's provider. The SDK's own exporter (to the OpenAI dashboard) stays unless
`replace_default=True`.
"""

from __future__ import annotations

import os
from typing import Any

from ..sensitive import set_data_policy
from .configure import build_processors


def instrument_openai_agents(
    *,
    console: bool | None = None,
    jsonl: str | os.PathLike[str] | bool | None = None,
    duckdb: str | os.PathLike[str] | bool | None = None,
    otlp: Any = None,
    processors: list[Any] | None = None,
    replace_default: bool = False,
    include_sensitive_data: bool | None = None,
) -> list[Any]:
    """Add our processors to the official SDK's tracing in one call and return them.

    Arguments are those of `configure()` (None falls back to the same environment variables).
    With `replace_default=True` the SDK's processors, including its OpenAI exporter, are replaced.
    """
    try:
        import agents
    except ImportError as error:  # pragma: no cover - depends on the user's environment
        raise ImportError(
            "instrument_openai_agents() needs the official SDK: pip install openai-agents"
        ) from error

    set_data_policy(include_sensitive_data=include_sensitive_data)
    created = build_processors(console=console, jsonl=jsonl, duckdb=duckdb, otlp=otlp)
    created.extend(processors or [])
    if replace_default:
        agents.set_trace_processors(created)
    else:
        for processor in created:
            agents.add_trace_processor(processor)
    return created
