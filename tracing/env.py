"""How environment variables are read: one spelling of "on" and "off" for every switch."""

from __future__ import annotations

import os

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_text(name: str) -> str | None:
    """The variable's value without surrounding blanks; None when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


def is_true(text: str) -> bool:
    return text.strip().lower() in TRUE_WORDS


def is_false(text: str) -> bool:
    return text.strip().lower() in FALSE_WORDS


def env_flag(name: str, default: bool = False) -> bool:
    """A switch: true for 1/true/yes/on (any case), `default` when unset or blank."""
    value = env_text(name)
    return default if value is None else is_true(value)
