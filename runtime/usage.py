"""Token usage: per model call and aggregated over a run, with the SDK's field names.

Plain dataclasses rather than pydantic models: a run adds usage once per model call and the
hot path must stay cheap. `from_openai()` accepts the `openai` package's Responses or Chat
Completions usage objects (or dicts of either shape), so every model builds Usage the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class InputTokensDetails:
    cached_tokens: int = 0
    """Input tokens served from the provider's prompt cache."""
    cache_write_tokens: int = 0
    """Input tokens written to the prompt cache."""


@dataclass(slots=True)
class OutputTokensDetails:
    reasoning_tokens: int = 0
    """Output tokens spent on hidden reasoning."""


@dataclass(slots=True)
class RequestUsage:
    """Usage of one model request, kept so cost can be computed per request."""

    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens_details: OutputTokensDetails


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


@dataclass(slots=True)
class Usage:
    requests: int = 0
    """Model requests made."""
    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = field(default_factory=InputTokensDetails)
    output_tokens: int = 0
    output_tokens_details: OutputTokensDetails = field(default_factory=OutputTokensDetails)
    total_tokens: int = 0
    request_usage_entries: list[RequestUsage] = field(default_factory=list)
    """One entry per request added with `add()`, for per-request cost."""

    def __post_init__(self) -> None:
        # Accept dicts or provider objects (e.g. openai's InputTokensDetails) for the details,
        # and providers that report None for a detail: normalise to our dataclasses.
        details = self.input_tokens_details
        if not isinstance(details, InputTokensDetails):
            self.input_tokens_details = InputTokensDetails(
                _int(_get(details, "cached_tokens")), _int(_get(details, "cache_write_tokens"))
            )
        out = self.output_tokens_details
        if not isinstance(out, OutputTokensDetails):
            self.output_tokens_details = OutputTokensDetails(_int(_get(out, "reasoning_tokens")))

    @classmethod
    def from_openai(cls, usage: Any, requests: int = 1) -> Usage:
        """Usage from a Responses usage (input/output tokens) or a Chat Completions usage
        (prompt/completion tokens), as objects or dicts. None gives zero tokens."""
        input_tokens = _get(usage, "input_tokens")
        if input_tokens is None:
            input_tokens = _get(usage, "prompt_tokens")
        output_tokens = _get(usage, "output_tokens")
        if output_tokens is None:
            output_tokens = _get(usage, "completion_tokens")
        input_tokens, output_tokens = _int(input_tokens), _int(output_tokens)
        total = _get(usage, "total_tokens")
        in_details = _get(usage, "input_tokens_details") or _get(usage, "prompt_tokens_details")
        out_details = _get(usage, "output_tokens_details") or _get(
            usage, "completion_tokens_details"
        )
        return cls(
            requests=requests,
            input_tokens=input_tokens,
            input_tokens_details=InputTokensDetails(
                _int(_get(in_details, "cached_tokens")),
                _int(_get(in_details, "cache_write_tokens")),
            ),
            output_tokens=output_tokens,
            output_tokens_details=OutputTokensDetails(_int(_get(out_details, "reasoning_tokens"))),
            total_tokens=total if isinstance(total, int) else input_tokens + output_tokens,
        )

    def add(self, other: Usage) -> None:
        """Aggregate `other` into this usage and keep its per-request breakdown."""
        self.requests += other.requests or 0
        self.input_tokens += other.input_tokens or 0
        self.output_tokens += other.output_tokens or 0
        self.total_tokens += other.total_tokens or 0
        mine, theirs = self.input_tokens_details, other.input_tokens_details
        self.input_tokens_details = InputTokensDetails(
            mine.cached_tokens + theirs.cached_tokens,
            mine.cache_write_tokens + theirs.cache_write_tokens,
        )
        self.output_tokens_details = OutputTokensDetails(
            self.output_tokens_details.reasoning_tokens
            + other.output_tokens_details.reasoning_tokens
        )
        if other.request_usage_entries:
            self.request_usage_entries.extend(other.request_usage_entries)
        elif other.requests == 1 and (other.input_tokens or other.output_tokens):
            self.request_usage_entries.append(
                RequestUsage(
                    other.input_tokens,
                    other.output_tokens,
                    other.total_tokens,
                    InputTokensDetails(theirs.cached_tokens, theirs.cache_write_tokens),
                    OutputTokensDetails(other.output_tokens_details.reasoning_tokens),
                )
            )

    def to_span_usage(self) -> dict[str, Any]:
        """The `usage` dict of a generation span (the SDK's shape: Responses field names)."""
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "input_tokens_details": {
                "cached_tokens": self.input_tokens_details.cached_tokens,
                "cache_write_tokens": self.input_tokens_details.cache_write_tokens,
            },
            "output_tokens_details": {
                "reasoning_tokens": self.output_tokens_details.reasoning_tokens
            },
        }
