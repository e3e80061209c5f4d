"""RedisSession against a real redis-server started by the tests on 127.0.0.1."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as redis_asyncio

from agentoscope.runtime.memory import RedisSession, SessionBackendError, SessionClosedError
from support.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[redis_asyncio.Redis]:
    client = redis_asyncio.from_url(redis_server.url)
    yield client
    await client.aclose()


def message(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def contents(items: list[dict]) -> list[str]:
    return [item["content"] for item in items]


def fresh_id() -> str:
    return f"s-{uuid.uuid4().hex}"


async def test_from_url_owns_and_closes_its_client(redis_server: RedisServer) -> None:
    session = RedisSession.from_url(fresh_id(), redis_server.url, key_prefix="t")
    await session.add_items([message("hi")])
    assert contents(await session.get_items()) == ["hi"]
    assert await session.ping() is True
    await session.close()
    with pytest.raises(SessionClosedError):
        await session.get_items()
    reopened = RedisSession.from_url(session.session_id, url=redis_server.url, key_prefix="t")
    assert contents(await reopened.get_items()) == ["hi"]  # the data outlives the client
    await reopened.close()


async def test_session_info_reports_count_ttl_and_times(client: redis_asyncio.Redis) -> None:
    session = RedisSession(fresh_id(), client, ttl=600)
    empty = await session.get_session_info()
    assert empty["item_count"] == 0 and empty["ttl_remaining"] is None
    assert empty["created_at"] is None
    before = time.time()
    await session.add_items([message("a"), message("b")])
    await session.add_items([message("c")])
    info = await session.get_session_info()
    assert info["item_count"] == 3
    assert 590 <= info["ttl_remaining"] <= 600
    assert info["created_at"] <= info["updated_at"]
    assert before - 2 <= info["created_at"].timestamp() <= time.time() + 2
    without_ttl = RedisSession(fresh_id(), client)
    await without_ttl.add_items([message("kept")])
    assert (await without_ttl.get_session_info())["ttl_remaining"] is None


async def test_writes_renew_the_ttl(client: redis_asyncio.Redis) -> None:
    session = RedisSession(fresh_id(), client, ttl=300)
    await session.add_items([message("a")])
    await client.expire(session.messages_key, 5)
    assert await client.ttl(session.messages_key) <= 5
    await session.add_items([message("b")])
    assert await client.ttl(session.messages_key) > 200
    assert await client.ttl(session.session_key) > 200


async def test_history_expires_after_its_ttl(client: redis_asyncio.Redis) -> None:
    session = RedisSession(fresh_id(), client, ttl=1)
    await session.add_items([message("short-lived")])
    assert contents(await session.get_items()) == ["short-lived"]
    deadline = time.monotonic() + 5
    while await client.exists(session.messages_key) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert await session.get_items() == []
    assert (await session.get_session_info())["item_count"] == 0


def test_ttl_must_be_positive(client: redis_asyncio.Redis) -> None:
    with pytest.raises(ValueError, match="ttl"):
        RedisSession("x", client, ttl=0)


async def test_fifty_tasks_lose_nothing_and_keep_their_order(client: redis_asyncio.Redis) -> None:
    session = RedisSession(fresh_id(), client)

    async def writer(task: int) -> None:
        for n in range(20):
            await session.add_items([message(f"{task}:{n}")])

    await asyncio.gather(*(writer(task) for task in range(50)))
    items = contents(await session.get_items())
    assert len(items) == 1000
    for task in range(50):
        assert [i for i in items if i.startswith(f"{task}:")] == [f"{task}:{n}" for n in range(20)]


async def test_concurrent_pops_never_return_the_same_item(redis_server: RedisServer) -> None:
    session_id = fresh_id()
    clients = [redis_asyncio.from_url(redis_server.url) for _ in range(2)]
    writer = RedisSession(session_id, clients[0])
    await writer.add_items([message(str(n)) for n in range(200)])
    popped: list[str] = []

    async def popper(client: redis_asyncio.Redis) -> None:
        session = RedisSession(session_id, client)
        while (item := await session.pop_item()) is not None:
            popped.append(item["content"])

    await asyncio.gather(*(popper(clients[n % 2]) for n in range(10)))
    for client in clients:
        await client.aclose()
    assert sorted(popped, key=int) == [str(n) for n in range(200)]


async def test_decoded_responses_client_works_too(redis_server: RedisServer) -> None:
    client = redis_asyncio.from_url(redis_server.url, decode_responses=True)
    session = RedisSession(fresh_id(), client)
    await session.add_items([message("é"), message("z")])
    assert contents(await session.get_items(1)) == ["z"]
    assert contents([await session.pop_item()]) == ["z"]
    await client.aclose()


async def test_corrupt_items_are_reported_skipped_and_kept(
    client: redis_asyncio.Redis,
) -> None:
    session = RedisSession(fresh_id(), client)
    await session.add_items([message("0"), message("1")])
    await client.rpush(session.messages_key, '{"role": "us', "[1, 2]")  # rows 2 and 3
    await session.add_items([message("2")])

    assert contents(await session.get_items()) == ["0", "1", "2"]
    assert contents(await session.get_items(2)) == ["1", "2"]  # walks past the corrupt rows
    reasons = {row.row_id: row.reason for row in session.corrupt_rows}
    assert set(reasons) == {2, 3}
    assert "not valid JSON" in reasons[2]
    assert "expected an object" in reasons[3]
    assert all(row.session_id == session.session_id for row in session.corrupt_rows)

    assert contents([await session.pop_item() for _ in range(3)]) == ["2", "1", "0"]
    assert await session.pop_item() is None
    remaining = await client.lrange(session.messages_key, 0, -1)
    assert remaining == [b'{"role": "us', b"[1, 2]"]


async def test_pop_steps_over_a_corrupt_tail_without_losing_concurrent_appends(
    redis_server: RedisServer,
) -> None:
    session_id = fresh_id()
    clients = [redis_asyncio.from_url(redis_server.url) for _ in range(2)]
    popper = RedisSession(session_id, clients[0])
    writer = RedisSession(session_id, clients[1])
    await writer.add_items([message(str(n)) for n in range(30)])
    await clients[1].rpush(writer.messages_key, "not json")

    async def append() -> None:
        for n in range(30, 60):
            await writer.add_items([message(str(n))])

    popped: list[str] = []

    async def pop() -> None:
        for _ in range(20):
            item = await popper.pop_item()
            assert item is not None
            popped.append(item["content"])

    await asyncio.gather(append(), pop())
    left = contents(await writer.get_items())
    raw = await clients[0].lrange(writer.messages_key, 0, -1)
    for client in clients:
        await client.aclose()
    assert sorted(left + popped, key=int) == [str(n) for n in range(60)]
    assert b"not json" in raw  # the corrupt row was stepped over, not removed


async def test_data_is_shared_with_the_official_sdk(client: redis_asyncio.Redis) -> None:
    from agents.extensions.memory import RedisSession as SDKRedisSession

    session_id = fresh_id()
    sdk = SDKRedisSession(session_id, redis_client=client)
    await sdk.add_items([message("from the sdk")])
    ours = RedisSession(session_id, client)
    assert contents(await ours.get_items()) == ["from the sdk"]
    await ours.add_items([message("from agentoscope")])
    assert contents(await sdk.get_items()) == ["from the sdk", "from agentoscope"]
    assert (await ours.get_session_info())["item_count"] == 2
    await ours.clear_session()
    assert await sdk.get_items() == []


async def test_a_key_of_another_type_raises_instead_of_looking_empty(
    client: redis_asyncio.Redis,
) -> None:
    session = RedisSession(fresh_id(), client)
    await client.set(session.messages_key, "not a list")
    with pytest.raises(SessionBackendError, match="WRONGTYPE") as caught:
        await session.get_items()
    assert caught.value.operation == "get_items"
    assert isinstance(caught.value.__cause__, redis.ResponseError)
    with pytest.raises(SessionBackendError, match="add_items"):
        await session.add_items([message("x")])
    assert await client.get(session.messages_key) == b"not a list"


async def test_a_server_that_goes_away_raises_a_clear_error() -> None:
    server = RedisServer().start()
    session = RedisSession.from_url(fresh_id(), server.url)
    try:
        await session.add_items([message("before")])
        assert contents(await session.get_items()) == ["before"]
        server.stop()  # killed mid-run

        with pytest.raises(SessionBackendError) as caught:
            await session.get_items()
        error = caught.value
        assert f"127.0.0.1:{server.port}" in str(error)
        assert "get_items" in str(error) and session.session_id in str(error)
        assert isinstance(error.__cause__, redis.ConnectionError)
        with pytest.raises(SessionBackendError, match="add_items"):
            await session.add_items([message("after")])
        with pytest.raises(SessionBackendError, match="pop_item"):
            await session.pop_item()
        assert await session.ping() is False
    finally:
        server.stop()
        await session.close()


@pytest.mark.slow  # starts another process
def test_importing_sessions_does_not_need_the_redis_package() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"  # any `import redis` now fails
        "from agentoscope.runtime.memory import RedisSession, SQLiteSession\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
