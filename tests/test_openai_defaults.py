"""`set_default_openai_client` / `set_default_openai_key`, as the SDK's: they serve every OpenAI
provider given nothing of its own, the agents' models and the voice pipeline's alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentoscope.runtime import (
    Agent,
    Runner,
    openai_defaults,
    set_default_openai_client,
    set_default_openai_key,
)
from agentoscope.runtime.voice import AudioInput, OpenAIVoiceModelProvider, STTModelSettings
from agentoscope.runtime.voice.model import VoiceModelProvider
from support.fake_openai import FakeOpenAIServer, FakeTranscription
from support.fake_openai_bodies import text_reply
from support.voice import RATE, tone


@pytest.fixture(autouse=True)
def no_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No key in the environment, and the process-wide defaults put back after each test."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setattr(openai_defaults, "_client", None)
    monkeypatch.setattr(openai_defaults, "_key", None)
    yield


async def _transcribe(provider: VoiceModelProvider) -> str:
    model = provider.get_stt_model(None)
    return await model.transcribe(AudioInput(tone(0.3), RATE), STTModelSettings(), False, False)


async def test_the_default_client_serves_agents_and_voice(server: FakeOpenAIServer) -> None:
    set_default_openai_client(server.client(api_key="sk-default-client"))
    server.enqueue(text_reply("hello"))
    result = await Runner.run(Agent(name="a", model="gpt-4.1"), "hi")
    assert result.final_output == "hello"
    server.enqueue(FakeTranscription("where is my order"))
    assert await _transcribe(OpenAIVoiceModelProvider()) == "where is my order"
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer sk-default-client",
        "Bearer sk-default-client",
    ]


async def test_the_default_key_serves_voice_and_a_provider_of_its_own_wins(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    set_default_openai_key("sk-default-key")
    server.enqueue(FakeTranscription("one"), FakeTranscription("two"))
    assert await _transcribe(OpenAIVoiceModelProvider()) == "one"
    # Options of its own: the default client is not used, even when one is set.
    set_default_openai_client(server.client(api_key="sk-default-client"))
    own = OpenAIVoiceModelProvider(api_key="sk-own", base_url=server.base_url)
    assert await _transcribe(own) == "two"
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer sk-default-key",
        "Bearer sk-own",
    ]


def test_without_any_key_the_error_names_every_way_to_give_one() -> None:
    with pytest.raises(Exception, match="set_default_openai_client/key"):
        OpenAIVoiceModelProvider().get_stt_model(None)
