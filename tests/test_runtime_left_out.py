"""Names of the SDK left out on purpose resolve, and any use raises a UserError that names them
and the alternative; every one is in docs/sdk_parity.md."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentoscope.runtime as runtime
from agentoscope.runtime import UserError
from agentoscope.runtime._parity_names import LEFT_OUT_TOP_LEVEL
from agentoscope.runtime.left_out import ALTERNATIVES

DOCS = Path(__file__).resolve().parents[1] / "docs" / "sdk_parity.md"


@pytest.mark.parametrize("name", sorted(LEFT_OUT_TOP_LEVEL))
def test_top_level_left_out_names_refuse_every_use(name: str) -> None:
    value = getattr(runtime, name)
    with pytest.raises(UserError, match=name) as raised:
        value(1, key=2)
    assert ALTERNATIVES[name] in str(raised.value)
    with pytest.raises(UserError, match=name):
        value.some_attribute  # noqa: B018
    assert value[int] is value  # a subscript in an annotation is not a use


def test_extension_paths_resolve_their_left_out_names() -> None:
    from agentoscope.runtime.extensions.memory import EncryptedSession, SQLAlchemySession
    from agentoscope.runtime.extensions.models.any_llm_model import AnyLLMModel

    for value, name in (
        (EncryptedSession, "EncryptedSession"),
        (SQLAlchemySession, "SQLAlchemySession"),
        (AnyLLMModel, "AnyLLMModel"),
    ):
        with pytest.raises(UserError, match=name):
            value()


def test_experimental_modules_and_the_sip_model_resolve_and_refuse_use() -> None:
    from agentoscope.runtime.extensions.experimental.codex import (
        ReasoningItem,
        ThreadOptions,
        codex_tool,
    )
    from agentoscope.runtime.extensions.experimental.hosted_multi_agent import (
        OpenAIHostedMultiAgentModel,
    )
    from agentoscope.runtime.realtime import OpenAIRealtimeSIPModel

    for value, alternative in (
        (codex_tool, "function_tool"),
        (ThreadOptions, "function_tool"),
        (ReasoningItem, "function_tool"),  # codex's own ReasoningItem, not the run item
        (OpenAIHostedMultiAgentModel, "handoffs or Agent.as_tool"),
        (OpenAIRealtimeSIPModel, "OpenAIRealtimeWebSocketModel"),
    ):
        with pytest.raises(UserError, match=alternative):
            value()
    from agentoscope.runtime import ReasoningItem as RunReasoningItem

    assert isinstance(RunReasoningItem, type)


def test_every_left_out_name_is_documented() -> None:
    text = DOCS.read_text()
    assert [name for name in ALTERNATIVES if f"`{name}`" not in text] == []


def test_unknown_names_still_raise_attribute_error() -> None:
    with pytest.raises(AttributeError):
        runtime.DefinitelyNotAName  # noqa: B018
