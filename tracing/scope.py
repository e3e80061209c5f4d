"""The current trace and span, in `contextvars`.

Context variables, never module globals: asyncio tasks and `asyncio.to_thread` copy the context, so
concurrent runs each see their own trace and parallel tool calls see their own parent span.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spans import Span
    from .traces import Trace

current_trace: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
    "agentoscope_current_trace", default=None
)
current_span: contextvars.ContextVar[Span[Any] | None] = contextvars.ContextVar(
    "agentoscope_current_span", default=None
)


def get_current_trace() -> Trace | None:
    """The trace open in this context, or None."""
    return current_trace.get()


def get_current_span() -> Span[Any] | None:
    """The innermost span open in this context, or None."""
    return current_span.get()


def reset_var(var: contextvars.ContextVar[Any], token: contextvars.Token[Any]) -> None:
    """Reset with a token, tolerating tokens from another context (generators closed elsewhere)."""
    try:
        var.reset(token)
    except ValueError:
        var.set(token.old_value if token.old_value is not contextvars.Token.MISSING else None)
