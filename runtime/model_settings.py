"""Optional model configuration (temperature, tool choice, reasoning, ...), the SDK's fields.

A plain dataclass: settings are resolved once per model call, so no validation on that path.
Providers ignore the fields they do not support.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, TypeAlias


@dataclass
class MCPToolChoice:
    """Force a tool of a hosted MCP server."""

    server_label: str
    name: str


ToolChoice: TypeAlias = Literal["auto", "required", "none"] | str | MCPToolChoice | None

# Fields safe to put on a span (no headers, no extra bodies that may hold secrets).
_TRACEABLE_FIELDS = (
    "temperature",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "tool_choice",
    "parallel_tool_calls",
    "truncation",
    "max_tokens",
    "reasoning",
    "verbosity",
    "metadata",
    "store",
    "prompt_cache_retention",
    "include_usage",
    "response_include",
    "top_logprobs",
    "retry",
    "context_management",
    "prompt_cache_options",
    "timeout",
)


def _jsonable(value: Any) -> Any:
    """Settings values as JSON-ready data: pydantic models (e.g. openai's Reasoning) dumped,
    dataclasses and containers walked."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json", exclude_none=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return repr(value)


@dataclass
class ModelSettings:
    """Per-call model settings. Every field defaults to None, meaning "the provider's default"."""

    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None
    max_tokens: int | None = None
    reasoning: Any | None = None
    """openai.types.shared.Reasoning or an equivalent dict."""
    verbosity: Literal["low", "medium", "high"] | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    include_usage: bool | None = None
    response_include: list[str] | None = None
    top_logprobs: int | None = None
    extra_query: Mapping[str, object] | None = None
    extra_body: object | None = None
    extra_headers: Mapping[str, str] | None = None
    extra_args: dict[str, Any] | None = None
    """Passed as-is to the provider's API call."""
    retry: Any | None = None
    context_management: list[Any] | None = None
    prompt_cache_options: Any | None = None
    preserve_raw_usage: bool | None = None
    timeout: float | None = None
    """Seconds for one model attempt."""

    def resolve(self, override: ModelSettings | Mapping[str, Any] | None) -> ModelSettings:
        """A new ModelSettings: this one with the override's non-None fields on top.
        `extra_args` dicts are merged (the override's keys win) rather than replaced."""
        if override is None:
            return self
        if isinstance(override, Mapping):
            override = coerce_model_settings(override)
        changes = {
            f.name: value for f in fields(self) if (value := getattr(override, f.name)) is not None
        }
        if self.extra_args is not None or override.extra_args is not None:
            merged = {**(self.extra_args or {}), **(override.extra_args or {})}
            changes["extra_args"] = merged or None
        return replace(self, **changes) if changes else self

    def to_json_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready data (None included)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    def to_traceable_dict(self) -> dict[str, Any]:
        """The fields that may go on a span; headers and extra bodies are left out."""
        return {name: _jsonable(getattr(self, name)) for name in _TRACEABLE_FIELDS}


_FIELD_NAMES = frozenset(f.name for f in fields(ModelSettings))


def coerce_model_settings(value: ModelSettings | Mapping[str, Any] | None) -> ModelSettings:
    """Accept a ModelSettings or a dict of its fields; unknown keys are a clear error."""
    if value is None:
        return ModelSettings()
    if isinstance(value, ModelSettings):
        return value
    if not isinstance(value, Mapping):
        raise TypeError(f"model settings must be ModelSettings or a dict, got {type(value)!r}")
    unknown = sorted(str(k) for k in value if k not in _FIELD_NAMES)
    if unknown:
        raise TypeError(f"Unknown model settings: {', '.join(unknown)}")
    return ModelSettings(**value)
