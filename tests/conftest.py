"""Every test starts with no processors, tracing on and the default data policy, and with the
`__main__` module it was started with; `server` is the local OpenAI-speaking server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from agentoscope.tracing import get_trace_provider, set_data_policy
from agentoscope.tracing.sensitive import DEFAULT_MAX_FIELD_CHARS, get_data_policy
from support.fake_openai import FakeOpenAIServer


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


@pytest.fixture(autouse=True)
def original_main_module() -> Iterator[None]:
    """Streamlit's AppTest leaves the dashboard script installed as `__main__`. A
    multiprocessing child (serve's decode workers) re-runs the parent's `__main__` file, so a
    later test would start workers that run the dashboard: put the original back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    """The local OpenAI-speaking server, for tests that run models through the real `openai`
    client (a test file with its own `server` fixture overrides this one)."""
    with FakeOpenAIServer() as fake:
        yield fake
        await fake.aclose_clients()
