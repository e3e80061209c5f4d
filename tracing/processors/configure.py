"""`configure()`: one call (or environment variables) that sets up the processors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..env import env_flag, is_false, is_true
from ..provider import get_trace_provider
from ..sensitive import Redactor, env_include_sensitive, get_data_policy, set_data_policy
from .console import ConsoleProcessor
from .jsonl import JSONLProcessor

ENV_CONSOLE = "AGENTOSCOPE_CONSOLE"
ENV_JSONL = "AGENTOSCOPE_JSONL"
ENV_DUCKDB = "AGENTOSCOPE_DUCKDB"
ENV_OTLP = "AGENTOSCOPE_OTLP"
ENV_DISABLED = "AGENTOSCOPE_TRACING_DISABLED"

_configured: list[Any] = []


def _env_path(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _otlp_from(value: Any) -> Any:
    from .otlp import OTLPProcessor

    if isinstance(value, OTLPProcessor):
        return value
    if value is True:
        return OTLPProcessor()
    if isinstance(value, str):
        return OTLPProcessor(endpoint=value)
    if isinstance(value, Mapping):
        return OTLPProcessor(**value)
    raise TypeError(
        f"otlp= takes True, an endpoint URL, a dict of options or an OTLPProcessor, not {value!r}"
    )


def build_processors(
    *,
    console: bool | None = None,
    jsonl: str | os.PathLike[str] | bool | None = None,
    duckdb: str | os.PathLike[str] | bool | None = None,
    otlp: Any = None,
) -> list[Any]:
    """The processors these arguments ask for; None falls back to the environment variables."""
    if console is None:
        console = env_flag(ENV_CONSOLE)
    if jsonl is None:
        jsonl = _env_path(ENV_JSONL)
    if duckdb is None:
        duckdb = _env_path(ENV_DUCKDB)
    if otlp is None:
        env_otlp = _env_path(ENV_OTLP)
        if env_otlp is not None and not is_false(env_otlp):
            otlp = True if is_true(env_otlp) else env_otlp

    created: list[Any] = []
    if console:
        created.append(ConsoleProcessor())
    if jsonl:
        created.append(JSONLProcessor("traces.jsonl" if jsonl is True else jsonl))
    if duckdb:
        from .duckdb import DuckDBProcessor

        created.append(DuckDBProcessor(None if duckdb is True else duckdb))
    if otlp:
        created.append(_otlp_from(otlp))
    return created


def configure(
    *,
    console: bool | None = None,
    jsonl: str | os.PathLike[str] | bool | None = None,
    duckdb: str | os.PathLike[str] | bool | None = None,
    otlp: Any = None,
    include_sensitive_data: bool | None = None,
    max_field_chars: int | None = None,
    redact: Redactor | None = None,
    disabled: bool | None = None,
    processors: list[Any] | None = None,
    replace: bool = True,
) -> list[Any]:
    """Set up tracing in one call and return the processors now registered.

    Each argument left as None falls back to its environment variable: `AGENTOSCOPE_CONSOLE=1`,
    `AGENTOSCOPE_JSONL=path`, `AGENTOSCOPE_DUCKDB=path`, `AGENTOSCOPE_OTLP=1|endpoint` (then the
    standard `OTEL_EXPORTER_OTLP_*` variables apply), `AGENTOSCOPE_INCLUDE_SENSITIVE_DATA=0`,
    `AGENTOSCOPE_TRACING_DISABLED=1`. `processors` adds processors of your own. With `replace`
    (the default) processors set up by an earlier `configure()` are flushed, closed and removed.
    """
    if include_sensitive_data is None:
        include_sensitive_data = env_include_sensitive(get_data_policy().include_sensitive_data)
    set_data_policy(include_sensitive_data, max_field_chars, redact)
    provider = get_trace_provider()
    if disabled is None:
        disabled = env_flag(ENV_DISABLED)
    provider.set_disabled(disabled)

    created = build_processors(console=console, jsonl=jsonl, duckdb=duckdb, otlp=otlp)
    created.extend(processors or [])

    if replace:
        old = [p for p in provider.processors if p in _configured]
        keep = [p for p in provider.processors if p not in _configured]
        provider.set_processors([*keep, *created])
        for processor in old:
            processor.shutdown()
        _configured.clear()
    else:
        for processor in created:
            provider.register_processor(processor)
    _configured.extend(created)
    return list(provider.processors)
