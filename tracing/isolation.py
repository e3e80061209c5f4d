"""Processor isolation: a processor that raises is logged once per kind of error and counted; the
agent's run and the other processors carry on."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

logger = logging.getLogger("agentoscope.tracing")

_lock = threading.Lock()
_seen: set[tuple[str, str, str]] = set()
_errors: Counter[int] = Counter()


def processor_failed(processor: Any, method: str, error: BaseException) -> None:
    """Record that `processor.method` raised `error`. Never raises."""
    kind = (type(processor).__name__, method, type(error).__name__)
    with _lock:
        _errors[id(processor)] += 1
        first = kind not in _seen
        _seen.add(kind)
    if first:
        logger.error(
            "tracing processor %s raised %s in %s: %s (logged once per kind; the run goes on; "
            "see agentoscope.tracing.stats())",
            kind[0],
            kind[2],
            method,
            error,
            exc_info=error,
        )


def callback_errors(processor: Any) -> int:
    """How many times `processor` raised from one of its callbacks."""
    with _lock:
        return _errors[id(processor)]
