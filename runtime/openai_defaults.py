"""Process-wide OpenAI defaults, as the SDK's `set_default_openai_key/client/api`: used by every
OpenAIProvider (and so the default MultiProvider) that was not given its own key or client.

`use_for_tracing` is accepted for the SDK's signature: agentoscope never sends traces to OpenAI
(spans go to the processors you configure), so the key or client is never used for tracing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from .exceptions import UserError

if TYPE_CHECKING:
    from openai import AsyncOpenAI

_key: str | None = None
_client: AsyncOpenAI | None = None
_use_responses: bool | None = None


def set_default_openai_key(key: str, use_for_tracing: bool = True) -> None:
    """The API key for OpenAI models that have no key or client of their own (instead of
    OPENAI_API_KEY)."""
    global _key
    if not isinstance(key, str) or not key:
        raise UserError("set_default_openai_key: key must be a non-empty string")
    _key = key
    _note_tracing(use_for_tracing)


def set_default_openai_client(client: AsyncOpenAI, use_for_tracing: bool = True) -> None:
    """The client for OpenAI models that have no key or client of their own."""
    global _client
    from openai import AsyncOpenAI

    if not isinstance(client, AsyncOpenAI):
        raise UserError(
            f"set_default_openai_client: expected an openai.AsyncOpenAI, got "
            f"{type(client).__name__}"
        )
    _client = client
    _note_tracing(use_for_tracing)


def set_default_openai_api(api: Literal["chat_completions", "responses"]) -> None:
    """Which OpenAI API models resolved by name use: the Responses API (the default) or Chat
    Completions."""
    global _use_responses
    if api not in ("chat_completions", "responses"):
        raise UserError(
            f"set_default_openai_api: api must be 'chat_completions' or 'responses', got {api!r}"
        )
    _use_responses = api == "responses"


def default_openai_key() -> str | None:
    return _key


def default_openai_client() -> AsyncOpenAI | None:
    return _client


def default_use_responses() -> bool:
    return True if _use_responses is None else _use_responses


def _note_tracing(use_for_tracing: bool) -> None:
    if use_for_tracing:
        logging.getLogger("agentoscope.runtime").debug(
            "use_for_tracing: traces are not sent to OpenAI by agentoscope; configure "
            "processors with agentoscope.tracing.configure(...)"
        )


def enable_verbose_stdout_logging() -> None:
    """Send the runtime's and tracing's debug logs to stdout."""
    import sys

    for name in ("agentoscope", "openai.agents"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        if not any(getattr(h, "_agentoscope_verbose", False) for h in logger.handlers):
            handler = logging.StreamHandler(sys.stdout)
            handler._agentoscope_verbose = True  # type: ignore[attr-defined]
            logger.addHandler(handler)


__all__ = [
    "enable_verbose_stdout_logging",
    "set_default_openai_api",
    "set_default_openai_client",
    "set_default_openai_key",
]
