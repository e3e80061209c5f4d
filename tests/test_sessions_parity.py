"""Sessions as SDK code uses them: one session object across several event loops
(`asyncio.run` / `Runner.run_sync` repeated, threads) against a real redis-server, traces
grouped under the session id, and the seeds' CompressedSession signature."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio

from agentoscope.runtime import Agent, CompressedSession, RunConfig, Runner, SQLiteSession
from agentoscope.runtime.memory import RedisSession
from agentoscope.runtime.models import ScriptedModel, text_message
from agentoscope.tracing import set_trace_processors
from support.collect import CollectingProcessor
from support.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def _agent(replies: int) -> Agent:
    return Agent(
        name="Chat", model=ScriptedModel([[text_message(f"reply {i}")] for i in range(replies)])
    )


def _texts(items: list) -> list[str]:
    out = []
    for item in items:
        content = item["content"]
        out.append(content if isinstance(content, str) else content[0]["text"])
    return out


def test_redis_session_across_three_asyncio_runs(redis_server: RedisServer) -> None:
    session = RedisSession.from_url(f"chat-{uuid.uuid4().hex}", redis_server.url)
    agent = _agent(3)

    async def turn(text: str) -> str:
        result = await Runner.run(agent, text, session=session)
        return str(result.final_output)

    answers = [asyncio.run(turn(f"question {i}")) for i in range(3)]
    assert answers == ["reply 0", "reply 1", "reply 2"]
    history = asyncio.run(session.get_items())
    assert _texts(history) == [
        "question 0",
        "reply 0",
        "question 1",
        "reply 1",
        "question 2",
        "reply 2",
    ]
    # The third run's model call saw the whole conversation from Redis.
    assert len(agent.model.calls[2].input) == 5  # type: ignore[union-attr]
    asyncio.run(session.close())


def test_redis_session_with_a_given_client_across_run_sync_and_threads(
    redis_server: RedisServer,
) -> None:
    client = redis_asyncio.from_url(redis_server.url)
    session = RedisSession(f"chat-{uuid.uuid4().hex}", client)
    agent = _agent(4)
    Runner.run_sync(agent, "one", session=session)
    Runner.run_sync(agent, "two", session=session)
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            Runner.run_sync(agent, "three", session=session)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    assert errors == []
    assert _texts(asyncio.run(session.get_items()))[-2:] == ["three", "reply 2"]
    assert len(asyncio.run(session.get_items())) == 6

    async def close_all() -> None:
        await session.close()

    asyncio.run(close_all())


def test_run_with_a_session_groups_its_trace_under_the_session_id(tmp_path: Path) -> None:
    collector = CollectingProcessor()
    set_trace_processors([collector])
    session = SQLiteSession("chat-42", tmp_path / "s.db")
    agent = _agent(2)
    Runner.run_sync(agent, "hi", session=session)
    Runner.run_sync(agent, "again", session=session, run_config=RunConfig(group_id="mine"))
    first, second = collector.ended_traces
    assert first.group_id == "chat-42"
    assert second.group_id == "mine"  # an explicit group id wins


def test_compressed_session_takes_the_seeds_compression_level(tmp_path: Path) -> None:
    base = SQLiteSession("c", tmp_path / "c.db")
    seeds_style = CompressedSession(base_session=base, compression_level=9)
    assert seeds_style.level == 9 and seeds_style.compression_level == 9
    assert CompressedSession(base, compression_level=1).level == 1
    assert CompressedSession(base).level == 6
    with pytest.raises(ValueError, match="compression_level"):
        CompressedSession(base, level=2, compression_level=3)
    with pytest.raises(ValueError, match="level"):
        CompressedSession(base, compression_level=12)
    long_text = "tool output " * 500
    asyncio.run(seeds_style.add_items([{"role": "user", "content": long_text}]))
    assert asyncio.run(seeds_style.get_items())[0]["content"] == long_text
