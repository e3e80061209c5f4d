"""Multi-turn runs through Runner with each session type: the model sees the history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentoscope.runtime import (
    Agent,
    CompressedSession,
    OpenAIConversationsSession,
    RedisSession,
    RunConfig,
    Runner,
    Session,
    SessionSettings,
    SQLiteSession,
    function_tool,
)
from agentoscope.runtime.memory import SessionBackendError
from agentoscope.runtime.models import ScriptedModel, text_message, tool_call
from support.fake_conversations import FakeConversationsServer
from support.redis_server import RedisServer

BACKENDS = ["sqlite-memory", "sqlite-file", "redis", "conversations", "compressed-sqlite"]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def conversations_server() -> Iterator[FakeConversationsServer]:
    with FakeConversationsServer() as server:
        yield server


@pytest.fixture(params=BACKENDS)
async def session(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Session]:
    backend = request.param
    closers: list[Callable[[], Awaitable[Any]]] = []
    if backend == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        made: Session = RedisSession.from_url(uuid.uuid4().hex, server.url)
        closers.append(made.close)  # type: ignore[attr-defined]
    elif backend == "conversations":
        fake: FakeConversationsServer = request.getfixturevalue("conversations_server")
        client = fake.client()
        made = OpenAIConversationsSession(openai_client=client)
        closers.append(client.close)
    else:
        path = ":memory:" if backend == "sqlite-memory" else tmp_path / "runs.db"
        sqlite = SQLiteSession("user-42", path)
        closers.append(_async(sqlite.close))
        made = (
            CompressedSession(sqlite, threshold=20) if backend.startswith("compressed") else sqlite
        )
    yield made
    for close in closers:
        await close()


def _async(function: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        function()

    return call


def texts(items: list[Any]) -> list[str]:
    """One line per item: the message text, or the tool call / output it stands for."""
    lines = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call":
            lines.append(f"call {item['name']}")
        elif kind == "function_call_output":
            lines.append(f"output {item['output']}")
        else:
            content = item["content"]
            lines.append(content if isinstance(content, str) else content[0]["text"])
    return lines


@function_tool
def remember(fact: str) -> str:
    """Store a fact about the user."""
    return f"stored {fact}"


async def test_three_turn_conversation_carries_its_history(session: Session) -> None:
    model = ScriptedModel(
        [
            text_message("Hello Ada."),
            tool_call("remember", {"fact": "likes tea"}),
            text_message("Noted."),
            text_message("You are Ada and you like tea."),
        ]
    )
    agent = Agent(name="assistant", instructions="Be brief.", model=model, tools=[remember])

    first = await Runner.run(agent, "My name is Ada.", session=session)
    assert first.final_output == "Hello Ada."
    await Runner.run(agent, "I like tea.", session=session)
    third = await Runner.run(agent, "Who am I?", session=session)
    assert third.final_output == "You are Ada and you like tea."

    conversation = [
        "My name is Ada.",
        "Hello Ada.",
        "I like tea.",
        "call remember",
        "output stored likes tea",
        "Noted.",
        "Who am I?",
    ]
    assert texts(model.calls[0].input) == conversation[:1]
    assert texts(model.calls[1].input) == conversation[:3]
    assert texts(model.calls[3].input) == conversation
    assert texts(await session.get_items()) == [*conversation, "You are Ada and you like tea."]


async def test_callback_decides_what_the_model_sees() -> None:
    session = SQLiteSession("callback")
    await session.add_items([{"role": "user", "content": f"old {n}"} for n in range(5)])
    model = ScriptedModel([text_message("ok")])
    agent = Agent(name="a", model=model)

    def newest_two(history: list[Any], new_input: list[Any]) -> list[Any]:
        return history[-2:] + new_input

    config = RunConfig(session_input_callback=newest_two)
    await Runner.run(agent, "new", session=session, run_config=config)
    assert texts(model.calls[0].input) == ["old 3", "old 4", "new"]
    # the history is kept whole; only the new input and the answer are appended
    assert texts(await session.get_items()) == [*(f"old {n}" for n in range(5)), "new", "ok"]
    session.close()


async def test_async_callback_is_awaited() -> None:
    session = SQLiteSession("async-callback")
    await session.add_items([{"role": "user", "content": "earlier"}])
    model = ScriptedModel([text_message("ok")])

    async def new_input_first(history: list[Any], new_input: list[Any]) -> list[Any]:
        return new_input + history

    config = RunConfig(session_input_callback=new_input_first)
    await Runner.run(Agent(name="a", model=model), "now", session=session, run_config=config)
    assert texts(model.calls[0].input) == ["now", "earlier"]
    assert texts(await session.get_items()) == ["earlier", "now", "ok"]
    session.close()


async def test_session_settings_limit_how_much_history_the_model_sees() -> None:
    session = SQLiteSession("limited", session_settings=SessionSettings(limit=3))
    await session.add_items([{"role": "user", "content": str(n)} for n in range(6)])
    model = ScriptedModel([text_message("a"), text_message("b")])
    agent = Agent(name="a", model=model)

    await Runner.run(agent, "x", session=session)
    assert texts(model.calls[0].input) == ["3", "4", "5", "x"]
    config = RunConfig(session_settings=SessionSettings(limit=1))
    await Runner.run(agent, "y", session=session, run_config=config)
    assert texts(model.calls[1].input) == ["a", "y"]
    session.close()


async def test_streamed_run_saves_to_the_session() -> None:
    session = SQLiteSession("streamed")
    model = ScriptedModel([text_message("first"), text_message("second")])
    agent = Agent(name="a", model=model)
    await Runner.run(agent, "hi", session=session)
    result = Runner.run_streamed(agent, "again", session=session)
    async for _ in result.stream_events():
        pass
    assert result.final_output == "second"
    assert texts(model.calls[1].input) == ["hi", "first", "again"]
    assert texts(await session.get_items()) == ["hi", "first", "again", "second"]
    session.close()


def test_run_sync_with_a_session_file(tmp_path: Path) -> None:
    model = ScriptedModel([text_message("one"), text_message("two")])
    agent = Agent(name="a", model=model)
    with SQLiteSession("sync", tmp_path / "sync.db") as session:
        Runner.run_sync(agent, "a", session=session)
    with SQLiteSession("sync", tmp_path / "sync.db") as reopened:
        result = Runner.run_sync(agent, "b", session=reopened)
    assert result.final_output == "two"
    assert texts(model.calls[1].input) == ["a", "one", "b"]


async def test_a_run_stops_with_a_clear_error_when_its_redis_is_gone() -> None:
    server = RedisServer().start()
    session = RedisSession.from_url(uuid.uuid4().hex, server.url)
    model = ScriptedModel([text_message("hi"), text_message("unreachable")])
    agent = Agent(name="a", model=model)
    try:
        await Runner.run(agent, "hello", session=session)
        server.stop()
        with pytest.raises(SessionBackendError, match="get_items"):
            await Runner.run(agent, "again", session=session)
        assert len(model.calls) == 1  # the model never ran on a history that looked empty
    finally:
        server.stop()
        await session.close()


async def test_a_failed_run_keeps_the_users_input_in_the_session() -> None:
    """As in the official SDK, the new input is saved before the run: a model error does not
    lose what the user said."""
    from agentoscope.runtime import Agent, Runner, SQLiteSession
    from agentoscope.runtime.models import ScriptedModel

    session = SQLiteSession("failing")
    agent = Agent(name="A", model=ScriptedModel([RuntimeError("model down")]))
    with pytest.raises(RuntimeError, match="model down"):
        await Runner.run(agent, "remember me", session=session)
    items = await session.get_items()
    assert [item["content"] for item in items] == ["remember me"]
