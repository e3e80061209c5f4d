"""What both OpenAI models put on their spans: usage, model configuration and errors.

Kept in one place so a Responses call and a Chat Completions call look alike in a trace, and so
the rules about secrets live once: the model configuration comes from
`ModelSettings.to_traceable_dict()` (never headers or extra bodies, where keys travel), the base
URL loses any credentials and query string, and error details follow the sensitive-data switch.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from openai import NOT_GIVEN, Omit, omit

from agentoscope.tracing import SpanError

from ..model_settings import ModelSettings
from ..usage import Usage
from .interface import ModelTracing

logger = logging.getLogger("agentoscope.runtime.models")

REDACTED_ERROR = "Error details are redacted."


def omit_if_none(value: Any) -> Any:
    """`value`, or the openai package's `omit` marker so the field is not sent at all."""
    return omit if value is None else value


def timeout_param(seconds: float | None) -> Any:
    """ModelSettings.timeout as the client's per-attempt timeout (None would mean "never")."""
    return NOT_GIVEN if seconds is None else seconds


def is_omitted(value: Any) -> bool:
    return isinstance(value, Omit) or value is NOT_GIVEN


def usage_from_openai(raw_usage: Any) -> Usage:
    """Our Usage for one request; a provider that reports no usage still counts the request."""
    if raw_usage is None:
        return Usage(requests=1)
    return Usage.from_openai(raw_usage, requests=1)


def url_for_trace(url: object) -> str:
    """A base URL without user:password@ and without query or fragment."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def model_config_for_trace(
    model_settings: ModelSettings, tracing: ModelTracing, base_url: object | None
) -> dict[str, Any]:
    """The generation span's `model_config`: traceable settings and the sanitised base URL.
    Request metadata is user data, so it goes only when data may be recorded."""
    config = model_settings.to_traceable_dict()
    if not tracing.include_data():
        config.pop("metadata", None)
    if base_url is not None:
        config["base_url"] = url_for_trace(base_url)
    return config


def span_error(message: str, error: BaseException, tracing: ModelTracing) -> SpanError:
    """The span error for a failed call: the exception's class always, its text only when data
    may be recorded (provider errors can echo the request)."""
    data: dict[str, Any] = {"type": type(error).__name__}
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        data["status_code"] = status
    data["error"] = str(error) if tracing.include_data() else REDACTED_ERROR
    return {"message": message, "data": data}


def merge_extra_args(create_kwargs: dict[str, Any], extra_args: dict[str, Any] | None) -> None:
    """Add `ModelSettings.extra_args` to the request; a key we already send is a clear error
    rather than a silent override."""
    if not extra_args:
        return
    clashes = sorted(k for k in extra_args if not is_omitted(create_kwargs.get(k, omit)))
    if clashes:
        raise TypeError(
            f"ModelSettings.extra_args repeats request parameters already set: {', '.join(clashes)}"
        )
    create_kwargs.update(extra_args)
