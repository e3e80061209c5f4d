"""Every backend honours the same Session contract, the official SDK's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import redis.asyncio as redis_asyncio

from agentoscope.runtime.memory import (
    CompressedSession,
    OpenAIConversationsSession,
    RedisSession,
    Session,
    SessionABC,
    SessionSettings,
    SQLiteSession,
)
from support.fake_conversations import FakeConversationsServer
from support.redis_server import RedisServer

BACKENDS = [
    "sqlite-memory",
    "sqlite-file",
    "redis",
    "conversations",
    "compressed-sqlite",
    "compressed-redis",
]

MakeSession = Callable[..., Awaitable[Session]]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def conversations_server() -> Iterator[FakeConversationsServer]:
    with FakeConversationsServer() as server:
        yield server


@pytest.fixture(params=BACKENDS)
async def make_session(
    request: pytest.FixtureRequest, tmp_path: object
) -> AsyncIterator[MakeSession]:
    """A factory of fresh, empty sessions of one backend; each call is a new session id."""
    backend = request.param
    cleanups: list[Callable[[], Awaitable[None]]] = []
    prefix = f"test:{uuid.uuid4().hex}"

    async def make(settings: SessionSettings | None = None) -> Session:
        session_id = uuid.uuid4().hex
        if backend.endswith("redis"):
            server: RedisServer = request.getfixturevalue("redis_server")
            client = redis_asyncio.from_url(server.url)
            cleanups.append(client.aclose)
            session: Session = RedisSession(
                session_id, client, key_prefix=prefix, session_settings=settings
            )
        elif backend == "conversations":
            fake: FakeConversationsServer = request.getfixturevalue("conversations_server")
            client = fake.client()
            cleanups.append(client.close)
            session = OpenAIConversationsSession(openai_client=client, session_settings=settings)
        else:
            path = ":memory:" if backend == "sqlite-memory" else f"{tmp_path}/sessions.db"
            sqlite = SQLiteSession(session_id, path, session_settings=settings)
            cleanups.append(lambda sqlite=sqlite: _close_sync(sqlite))
            session = sqlite
        if backend.startswith("compressed"):
            session = CompressedSession(session, threshold=16)
        return session

    yield make
    for cleanup in reversed(cleanups):
        await cleanup()


async def _close_sync(session: SQLiteSession) -> None:
    session.close()


def message(text: str, role: str = "user") -> dict[str, object]:
    return {"role": role, "content": text}


def texts(items: list[object]) -> list[str]:
    """The text of each message item, whichever way the backend shapes its content."""
    out = []
    for item in items:
        assert isinstance(item, dict)
        content = item["content"]
        out.append(content if isinstance(content, str) else content[0]["text"])
    return out


async def test_every_backend_is_a_session(make_session: MakeSession) -> None:
    session = await make_session()
    assert isinstance(session, Session)
    assert isinstance(session, SessionABC)


async def test_new_session_is_empty(make_session: MakeSession) -> None:
    session = await make_session()
    assert await session.get_items() == []
    assert await session.get_items(3) == []
    assert await session.pop_item() is None


async def test_items_come_back_in_order(make_session: MakeSession) -> None:
    session = await make_session()
    await session.add_items([message("0"), message("1", "assistant")])
    await session.add_items([message("2"), message("3", "assistant"), message("4")])
    assert texts(await session.get_items()) == ["0", "1", "2", "3", "4"]


async def test_limit_returns_newest_items_oldest_first(make_session: MakeSession) -> None:
    session = await make_session()
    await session.add_items([message(str(i)) for i in range(5)])
    assert texts(await session.get_items(2)) == ["3", "4"]
    assert texts(await session.get_items(1)) == ["4"]
    assert await session.get_items(0) == []
    assert texts(await session.get_items(50)) == ["0", "1", "2", "3", "4"]


async def test_session_settings_limit_is_the_default(make_session: MakeSession) -> None:
    session = await make_session(SessionSettings(limit=3))
    await session.add_items([message(str(i)) for i in range(5)])
    assert texts(await session.get_items()) == ["2", "3", "4"]
    assert texts(await session.get_items(4)) == ["1", "2", "3", "4"]


async def test_pop_removes_the_most_recent(make_session: MakeSession) -> None:
    session = await make_session()
    await session.add_items([message("a"), message("b"), message("c")])
    popped = await session.pop_item()
    assert popped is not None and texts([popped]) == ["c"]
    assert texts(await session.get_items()) == ["a", "b"]
    assert texts([await session.pop_item()]) == ["b"]
    assert texts([await session.pop_item()]) == ["a"]
    assert await session.pop_item() is None
    await session.add_items([message("d")])
    assert texts(await session.get_items()) == ["d"]


async def test_clear_removes_everything(make_session: MakeSession) -> None:
    session = await make_session()
    await session.add_items([message(str(i)) for i in range(4)])
    await session.clear_session()
    assert await session.get_items() == []
    assert await session.pop_item() is None
    await session.add_items([message("again")])
    assert texts(await session.get_items()) == ["again"]


async def test_sessions_do_not_see_each_other(make_session: MakeSession) -> None:
    first, second = await make_session(), await make_session()
    await first.add_items([message("mine")])
    await second.add_items([message("yours")])
    await second.clear_session()
    assert texts(await first.get_items()) == ["mine"]
    assert await second.get_items() == []


async def test_adding_nothing_changes_nothing(make_session: MakeSession) -> None:
    session = await make_session()
    await session.add_items([message("x")])
    await session.add_items([])
    assert texts(await session.get_items()) == ["x"]


async def test_negative_limit_is_refused(make_session: MakeSession) -> None:
    session = await make_session()
    with pytest.raises(ValueError, match="limit"):
        await session.get_items(-1)


async def test_unicode_and_tool_items_round_trip(make_session: MakeSession) -> None:
    session = await make_session()
    call = {
        "type": "function_call",
        "call_id": "call_1",
        "name": "lookup",
        "arguments": '{"city": "Zürich"}',
    }
    output = {"type": "function_call_output", "call_id": "call_1", "output": "晴れ ☀ " * 30}
    await session.add_items([message("héllo 👋"), call, output])
    items = await session.get_items()
    assert [item.get("type", "message") for item in items] == [
        "message",
        "function_call",
        "function_call_output",
    ]
    assert texts(items[:1]) == ["héllo 👋"]
    for key in ("call_id", "name", "arguments"):
        assert items[1][key] == call[key]
    assert items[2]["output"] == output["output"]


def test_session_settings_resolve_and_validate() -> None:
    base = SessionSettings(limit=10)
    assert base.resolve(None) is base
    assert base.resolve(SessionSettings()).limit == 10  # None in the override keeps the base
    assert base.resolve({"limit": 2}).limit == 2
    assert base.to_dict() == {"limit": 10}
    with pytest.raises(ValueError, match="limit"):
        SessionSettings(limit=-1)
    with pytest.raises(TypeError, match="unknown session settings"):
        base.resolve({"limt": 2})


async def test_settings_may_be_given_as_a_dict() -> None:
    session = SQLiteSession("dict-settings", session_settings={"limit": 3})
    await session.add_items([message(str(n)) for n in range(5)])
    assert texts(await session.get_items()) == ["2", "3", "4"]
    session.close()
