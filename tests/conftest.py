"""Every test starts with no processors, tracing on and the default data policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentoscope.tracing import get_trace_provider, set_data_policy
from agentoscope.tracing.sensitive import DEFAULT_MAX_FIELD_CHARS, get_data_policy


@pytest.fixture(autouse=True)
def clean_tracing() -> Iterator[None]:
    provider = get_trace_provider()
    provider.set_processors([])
    provider.set_disabled(False)
    policy = get_data_policy()
    set_data_policy(True, DEFAULT_MAX_FIELD_CHARS)
    policy.redact = None
    yield
    provider.shutdown(timeout=5)
    provider.set_processors([])
    provider.set_disabled(False)
    set_data_policy(True, DEFAULT_MAX_FIELD_CHARS)
    policy.redact = None
