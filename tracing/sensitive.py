"""What may leave the process: the sensitive-data switch, API key masking and field truncation.

Applied once, when a finished span becomes a record, so every processor writes the same cleaned
data. API keys are masked whatever the switch says.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import ahocorasick
import orjson

from .env import env_text, is_true

INCLUDE_SENSITIVE_ENV = "AGENTOSCOPE_INCLUDE_SENSITIVE_DATA"
SDK_INCLUDE_SENSITIVE_ENV = "OPENAI_AGENTS_TRACE_INCLUDE_SENSITIVE_DATA"
MAX_FIELD_CHARS_ENV = "AGENTOSCOPE_MAX_FIELD_CHARS"
DEFAULT_MAX_FIELD_CHARS = 65_536
# Audio kept on transcription and speech spans (base64 PCM) has its own bound: the field limit
# would keep about 1.4 s of 24 kHz speech. 16 Mi characters hold about 4 minutes.
MAX_AUDIO_CHARS_ENV = "AGENTOSCOPE_MAX_AUDIO_CHARS"
DEFAULT_MAX_AUDIO_CHARS = 16 * 1024 * 1024
MASK = "[masked]"

# -- what a secret looks like ---------------------------------------------------------------------
#
# Each rule is (hints, pattern, replacement). The hints are lower-case substrings that every match
# of the pattern contains; a rule's regex runs only on text whose lower-cased form holds one of
# them. Substring tests are a fast memory search, where one regex alternation over all the shapes
# below would cost ~20 µs on a 400-character model reply: the worker cleans every record.
# Names that hold a secret (`OPENAI_API_KEY`, `client_secret`, `X-Api-Key`, `db.password`):
# the last part says what it is, whatever namespace comes before it (`_`, `-` or `.` apart).
# `tokens`/`max_tokens` are counts, not secrets: the name must end where the separator starts.
_SECRET_NAME = (
    r"(?:api[_\-]?key|x[_\-]api[_\-]key|secret(?:[_\-]?access)?(?:[_\-]?key)?"
    r"|client[_\-]?secret|passw(?:or)?d|pwd|pass[_\-]?phrase|(?:access|refresh|id|auth|bearer"
    r"|session|csrf|api)?[_\-]?token|private[_\-]?key|access[_\-]?key(?:[_\-]?id)?"
    r"|credentials?|(?:proxy[_\-])?authorization|(?:set[_\-])?cookie)"
)
_NAMED_VALUE = re.compile(
    r"(?i)(?<![a-z0-9])(" + _SECRET_NAME + r")"
    r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)"
    r"((?:(?:bearer|basic|token|digest)\s+)?[^\s\"'\\,;&<>)}\]]+)"
)
# Shell/env style with any prefix: `STRIPE_KEY=...`, `DB_PASS=...` (upper case, as env files are).
_ENV_VALUE = re.compile(
    r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]*_(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|CREDENTIALS?"
    r"|AUTH))(\s*=\s*[\"']?)([^\s\"']+)"
)
_PROVIDER_KEY = re.compile(
    # OpenAI (sk-, sk-proj-, ...), Anthropic (sk-ant-api03-...), Stripe secret/restricted keys.
    # The left boundary keeps `risk-assessment-...` and `desk-booking-...` whole.
    r"(?<![A-Za-z0-9_\-])(?:sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,})"
)
_CLOUD_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])|AIza[0-9A-Za-z_\-]{35})"
)
_GITHUB_TOKEN = re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,})")
_SLACK_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])xox[abposre]-[A-Za-z0-9\-]{10,}"
    r"|hooks\.slack\.com/services/[A-Za-z0-9/_\-]+"
)
_HF_TOKEN = re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}")
_BEARER = re.compile(r"(?i)(?<![a-z0-9])(bearer\s+)([A-Za-z0-9._~+/\-]{8,}=*)")
_BASIC = re.compile(r"(?i)(?<![a-z0-9])(basic\s+)([A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])")
_URL_CREDENTIALS = re.compile(r"(://[^\s/?#@:\"']*):([^\s/?#@\"']+)@")
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)"
)
_JWT = re.compile(
    r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"
)


def _bearer(match: re.Match[str]) -> str:
    credential = match.group(2)
    # `bearer authentication` is prose; a credential has a digit or is long.
    if len(credential) >= 24 or any(char.isdigit() for char in credential):
        return match.group(1) + MASK
    return match.group(0)


def _basic(match: re.Match[str]) -> str:
    # `Basic` credentials are base64 of `user:password`; `basic tier` is prose.
    credential = match.group(2)
    if len(credential) % 4 == 0:
        try:
            decoded = base64.b64decode(credential, validate=True)
        except (binascii.Error, ValueError):
            return match.group(0)
        if b":" in decoded:
            return match.group(1) + MASK
    return match.group(0)


# A secret name is followed (after an optional `d`/`word`, `_id`, a quote and spaces) by `:` or
# `=`; this confirms it where a name word was seen, before the (slower) exact pattern runs.
_NAME_WORDS = (
    "key",
    "secret",
    "passw",
    "pwd",
    "phrase",
    "token",
    "credential",
    "authoriz",
    "cookie",
)
_SEPARATOR_AFTER = re.compile(r"[a-z]{0,6}(?:_id)?\\?[\"']?\s*[:=]")

# (end index, hint number) of each hint found in the lower-cased text (the end is inclusive)
_Found = list[tuple[int, int]]


def _names_a_value(lowered: str, found: _Found) -> bool:
    """Whether a name word the automaton found is followed by a separator (checked right at
    each find's end, so no search repeats)."""
    match_after = _SEPARATOR_AFTER.match
    name_hints = _NAME_HINTS
    return any(hint in name_hints and match_after(lowered, end + 1) for end, hint in found)


def _has_at(lowered: str, found: _Found) -> bool:
    return "@" in lowered


def _keep_name(match: re.Match[str]) -> str:
    return match.group(1) + match.group(2) + MASK


_Replacement = str | Callable[[re.Match[str]], str]
_Confirm = Callable[[str, _Found], bool] | None
# (hints, confirm, pattern, replacement): the pattern runs when the lower-cased text holds a hint
# and `confirm(lowered, found)` (if any) agrees.
_RULES: tuple[tuple[tuple[str, ...], _Confirm, re.Pattern[str], _Replacement], ...] = (
    (("-----begin",), None, _PEM_PRIVATE_KEY, MASK),  # first: the block goes whole
    # Then named values, whole (`Authorization: Basic ...`), before the shapes inside them.
    (_NAME_WORDS, _names_a_value, _NAMED_VALUE, _keep_name),
    (
        ("_key", "_secret", "_token", "_pass", "_pwd", "_credential", "_auth"),
        None,
        _ENV_VALUE,
        _keep_name,
    ),
    (("sk-", "sk_", "rk_"), None, _PROVIDER_KEY, MASK),
    (("akia", "asia", "aiza"), None, _CLOUD_KEY, MASK),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), None, _GITHUB_TOKEN, MASK),
    (("xox", "hooks.slack"), None, _SLACK_TOKEN, MASK),
    (("hf_",), None, _HF_TOKEN, MASK),
    (("eyj",), None, _JWT, MASK),
    (("://",), _has_at, _URL_CREDENTIALS, r"\1:" + MASK + "@"),
    (("bearer",), None, _BEARER, _bearer),
    (("basic",), None, _BASIC, _basic),
)
_HINTS = tuple(sorted({hint for hints, _, _, _ in _RULES for hint in hints}))


def _hint_finder() -> Any:
    # One Aho-Corasick pass finds every hint at once (~1 µs for a 400-character reply, where a
    # loop of `in` tests takes ~20 µs and a regex alternation ~25 µs). pyahocorasick keeps the
    # GIL through a search: a search that lets it go (ahocorasick_rs did, on every call) hands
    # it to a busy agent thread, and the worker waited a switch interval (5 ms) to get it back,
    # which held its drain to ~1-3k records/s while the agent worked.
    automaton = ahocorasick.Automaton()
    for number, hint in enumerate(_HINTS):
        automaton.add_word(hint, number)
    automaton.make_automaton()
    return automaton


_HINT_FINDER = _hint_finder()
_NAME_HINTS = frozenset(_HINTS.index(word) for word in _NAME_WORDS)
_RULES_OF_HINT: tuple[tuple[int, ...], ...] = tuple(
    tuple(number for number, rule in enumerate(_RULES) if hint in rule[0]) for hint in _HINTS
)
_SHORTEST_SECRET = 6  # `pwd=xy`
_SECRET_NAMES = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "authorization",
        "proxy_authorization",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "cookie",
        "set_cookie",
        "credentials",
        "credential",
        "private_key",
        "client_secret",
        "access_token",
        "refresh_token",
        "tracing_api_key",
    }
)
_SECRET_NAME_ENDINGS = (
    "_api_key",
    "_apikey",
    "_secret",
    "_secret_key",
    "_password",
    "_passwd",
    "_pwd",
    "_passphrase",
    "_token",
    "_private_key",
    "_access_key",
    "_access_key_id",
    "_credentials",
    "_credential",
    "_authorization",
    "_cookie",
)
_MAX_DEPTH = 32
# Plain JSON types only: anything else (pydantic models, dataclasses, datetimes) takes the slow
# path, which turns it into plain JSON.
_STRICT_JSON = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


Redactor = Callable[[dict[str, Any]], dict[str, Any]]


@dataclasses.dataclass
class DataPolicy:
    """`include_sensitive_data=False` keeps model and tool inputs and outputs out of spans;
    `max_field_chars` truncates longer strings with a marker; `redact` sees each finished record
    last and returns the record to keep."""

    include_sensitive_data: bool = True
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
    redact: Redactor | None = None
    max_audio_chars: int = DEFAULT_MAX_AUDIO_CHARS


def env_include_sensitive(default: bool = True) -> bool:
    """The switch from `AGENTOSCOPE_INCLUDE_SENSITIVE_DATA`, else the SDK's variable."""
    for name in (INCLUDE_SENSITIVE_ENV, SDK_INCLUDE_SENSITIVE_ENV):
        value = env_text(name)
        if value is not None:
            return is_true(value)
    return default


def _env_chars(name: str, default: int) -> int:
    try:
        return max(64, int(os.environ.get(name, default)))
    except ValueError:
        return default


_policy = DataPolicy(
    env_include_sensitive(),
    _env_chars(MAX_FIELD_CHARS_ENV, DEFAULT_MAX_FIELD_CHARS),
    max_audio_chars=_env_chars(MAX_AUDIO_CHARS_ENV, DEFAULT_MAX_AUDIO_CHARS),
)


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
    """Replace anything that looks like a credential: provider API keys (OpenAI, Anthropic,
    AWS, Google, GitHub, Slack, Hugging Face, Stripe), bearer and basic authorization, values of
    secret-named keys (`OPENAI_API_KEY=...`, `"password": "..."`), passwords in URLs, PEM
    private keys and JWTs. Names and schemes stay, so a reader sees what was there."""
    for pattern, replacement in _rules_for(text.lower()):
        text = pattern.sub(replacement, text)
    return text


def _rules_for(lowered: str) -> list[tuple[re.Pattern[str], _Replacement]]:
    """The rules whose hints are in `lowered` and whose confirmation agrees, in rule order."""
    found: _Found = list(_HINT_FINDER.iter(lowered))
    if not found:
        return []
    rules_of_hint = _RULES_OF_HINT
    numbers = sorted({number for _, hint in found for number in rules_of_hint[hint]})
    rules = []
    for number in numbers:
        _, confirm, pattern, replacement = _RULES[number]
        if confirm is None or confirm(lowered, found):
            rules.append((pattern, replacement))
    return rules


_secret_name_cache: dict[str, bool] = {}


def _is_secret_name(key: str) -> bool:
    known = _secret_name_cache.get(key)
    if known is None:
        lowered = key.lower().replace("-", "_").replace(".", "_")
        known = lowered in _SECRET_NAMES or lowered.endswith(_SECRET_NAME_ENDINGS)
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
            if item is None or item_kind is bool:
                cleaned[name] = item
            elif _is_secret_name(name) and not isinstance(item, Mapping):
                cleaned[name] = MASK
            elif item_kind is int or item_kind is float:
                cleaned[name] = item
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
    if len(blob) <= max_chars:
        # A secret-named key shows as `"name":` in the blob, which the named-value rule's
        # confirmation sees: no rule to run means no string and no key needs masking.
        if not _rules_for(blob.decode().lower()):
            return value
    return clean(value, max_chars)


def clean_text(text: str, max_chars: int) -> str:
    """`text` with secrets masked, cut at `max_chars` with a marker."""
    size = len(text)
    if size > max_chars:
        # Mask a little past the cut, so a key that straddles it goes whole, not half.
        head = text[: max_chars + 512]
        masked = mask_secrets(head) if len(head) >= _SHORTEST_SECRET else head
        return f"{masked[:max_chars]}…[truncated {size - max_chars} chars]"
    if size >= _SHORTEST_SECRET:
        return mask_secrets(text)
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
