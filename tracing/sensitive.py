"""What may leave the process: the sensitive-data switch, API key masking and field truncation.

Applied once, when a finished span becomes a record, so every processor writes the same cleaned
data. API keys are masked whatever the switch says.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from .env import env_text, is_true

INCLUDE_SENSITIVE_ENV = "AGENTOSCOPE_INCLUDE_SENSITIVE_DATA"
SDK_INCLUDE_SENSITIVE_ENV = "OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA"
MAX_FIELD_CHARS_ENV = "AGENTOSCOPE_MAX_FIELD_CHARS"
DEFAULT_MAX_FIELD_CHARS = 65_536
MASK = "[masked]"

_KEY_PATTERN = re.compile(
    r"sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}"
    r"|Bearer\s+[A-Za-z0-9._~+/\-]{16,}=*"
    r"|AKIA[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
    r"|hf_[A-Za-z0-9]{30,}"
)
_SECRET_NAMES = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "x-api-key",
        "authorization",
        "proxy-authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "tracing_api_key",
    }
)
_MAX_DEPTH = 32
_SHORTEST_SECRET = 15  # no pattern above matches fewer characters (`xoxb-` + 10)
# Substrings that any secret (or secret-named key) we mask contains, lower-cased. One pass of a
# case-sensitive alternation of literals over the lower-cased text finds them; the exact (and much
# slower, case-insensitive) patterns run only when one is present.
_SECRET_HINTS = (
    "sk-",
    "bearer",
    "akia",
    "aiza",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "xox",
    "hf_",
    "api_key",
    "apikey",
    "api-key",
    "authorization",
    "passw",
    "secret",
    "access_token",
    "refresh_token",
)
_HINT_TEXT = re.compile("|".join(re.escape(hint) for hint in _SECRET_HINTS))
_HINT_BYTES = re.compile(b"|".join(re.escape(hint.encode()) for hint in _SECRET_HINTS))
# Plain JSON types only: anything else (pydantic models, dataclasses, datetimes) takes the slow
# path, which turns it into plain JSON.
_STRICT_JSON = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _may_hold_secret(text: str) -> bool:
    return _HINT_TEXT.search(text.lower()) is not None


Redactor = Callable[[dict[str, Any]], dict[str, Any]]


@dataclasses.dataclass
class DataPolicy:
    """`include_sensitive_data=False` keeps model and tool inputs and outputs out of spans;
    `max_field_chars` truncates longer strings with a marker; `redact` sees each finished record
    last and returns the record to keep."""

    include_sensitive_data: bool = True
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
    redact: Redactor | None = None


def env_include_sensitive(default: bool = True) -> bool:
    """The switch from `AGENTOSCOPE_INCLUDE_SENSITIVE_DATA`, else the SDK's variable."""
    for name in (INCLUDE_SENSITIVE_ENV, SDK_INCLUDE_SENSITIVE_ENV):
        value = env_text(name)
        if value is not None:
            return is_true(value)
    return default


def _env_max_chars() -> int:
    try:
        return max(64, int(os.environ.get(MAX_FIELD_CHARS_ENV, DEFAULT_MAX_FIELD_CHARS)))
    except ValueError:
        return DEFAULT_MAX_FIELD_CHARS


_policy = DataPolicy(env_include_sensitive(), _env_max_chars())


def get_data_policy() -> DataPolicy:
    return _policy


def set_data_policy(
    include_sensitive_data: bool | None = None,
    max_field_chars: int | None = None,
    redact: Redactor | None = None,
) -> DataPolicy:
    """Change the process-wide policy; arguments left as None keep their current value."""
    if include_sensitive_data is not None:
        _policy.include_sensitive_data = include_sensitive_data
    if max_field_chars is not None:
        _policy.max_field_chars = max(64, max_field_chars)
    if redact is not None:
        _policy.redact = redact
    return _policy


def mask_secrets(text: str) -> str:
    """Replace anything that looks like an API key or bearer token."""
    return _KEY_PATTERN.sub(MASK, text)


_secret_name_cache: dict[str, bool] = {}


def _is_secret_name(key: str) -> bool:
    known = _secret_name_cache.get(key)
    if known is None:
        lowered = key.lower()
        known = lowered in _SECRET_NAMES or lowered.endswith(("_api_key", "_secret", "_password"))
        if len(_secret_name_cache) < 10_000:  # keys are few in practice; never grow unbounded
            _secret_name_cache[key] = known
    return known


def clean(value: Any, max_chars: int, depth: int = 0) -> Any:
    """A JSON-safe copy of `value` with secrets masked and long strings truncated."""
    kind = type(value)
    if kind is str:
        return clean_text(value, max_chars)
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if depth >= _MAX_DEPTH:
        return "[max depth]"
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            name = key if type(key) is str else str(key)
            item_kind = type(item)
            if item is None or item_kind is bool or item_kind is int or item_kind is float:
                cleaned[name] = item
            elif _is_secret_name(name) and not isinstance(item, Mapping):
                cleaned[name] = MASK
            elif item_kind is str:
                cleaned[name] = clean_text(item, max_chars)
            else:
                cleaned[name] = clean(item, max_chars, depth + 1)
        return cleaned
    if isinstance(value, list | tuple | set | frozenset):
        return [clean(item, max_chars, depth + 1) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"
    if isinstance(value, str):
        return clean_text(str(value), max_chars)
    if isinstance(value, int | float):
        return value
    dumped = _to_plain(value)
    if dumped is not value:
        return clean(dumped, max_chars, depth + 1)
    return clean_text(str(value), max_chars)


def clean_fast(value: Any, max_chars: int) -> Any:
    """`clean(value)`, but returns `value` itself when it provably needs nothing: plain JSON
    whose serialized form is shorter than `max_chars` (so no string in it is longer) and shows
    nothing that could be a secret. Otherwise the exact, slower `clean`."""
    try:
        blob = orjson.dumps(value, option=_STRICT_JSON)
    except TypeError:
        return clean(value, max_chars)
    if len(blob) <= max_chars and _HINT_BYTES.search(blob.lower()) is None:
        return value
    return clean(value, max_chars)


def clean_text(text: str, max_chars: int) -> str:
    if len(text) > max_chars:
        text = f"{text[:max_chars]}…[truncated {len(text) - max_chars} chars]"
    if len(text) >= _SHORTEST_SECRET and _may_hold_secret(text):
        text = _KEY_PATTERN.sub(MASK, text)
    return text


def _to_plain(value: Any) -> Any:
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        try:
            return model_dump(mode="json", exclude_none=True)
        except Exception:
            return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value
