"""OpenAIConversationsSession with the real `openai` client against a local Conversations API."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from agentoscope.runtime.memory import (
    OpenAIConversationsSession,
    Session,
    SessionBackendError,
    SessionNotStartedError,
)
from support.fake_conversations import FakeConversationsServer


@pytest.fixture
def server() -> Iterator[FakeConversationsServer]:
    with FakeConversationsServer() as fake:
        yield fake


def message(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def texts(items: list[dict]) -> list[str]:
    return [item["content"][0]["text"] for item in items]


def item_creates(server: FakeConversationsServer) -> list[int]:
    """How many items each items-create request carried."""
    return [
        len(body["items"])
        for method, path, body in server.requests
        if method == "POST" and path.endswith("/items")
    ]


async def test_conversation_is_created_on_first_use(server: FakeConversationsServer) -> None:
    session = OpenAIConversationsSession(openai_client=server.client())
    with pytest.raises(SessionNotStartedError, match="first use"):
        _ = session.session_id
    assert not hasattr(session, "session_id")
    assert isinstance(session, Session)
    assert server.conversations == {}
    assert await session.get_items() == []
    assert session.session_id.startswith("conv_")
    assert list(server.conversations) == [session.session_id]


async def test_an_existing_conversation_is_continued(server: FakeConversationsServer) -> None:
    first = OpenAIConversationsSession(openai_client=server.client())
    await first.add_items([message("earlier")])
    again = OpenAIConversationsSession(
        conversation_id=first.session_id, openai_client=server.client()
    )
    await again.add_items([message("later")])
    assert texts(await again.get_items()) == ["earlier", "later"]
    assert len(server.conversations) == 1


async def test_items_come_back_as_conversation_items(server: FakeConversationsServer) -> None:
    session = OpenAIConversationsSession(openai_client=server.client())
    await session.add_items([message("hi"), {"role": "assistant", "content": "hello"}])
    user, assistant = await session.get_items()
    assert user["type"] == "message" and user["id"].startswith("msg_")
    assert user["content"] == [{"type": "input_text", "text": "hi"}]
    assert assistant["content"][0]["type"] == "output_text"


async def test_long_appends_go_twenty_items_per_request(server: FakeConversationsServer) -> None:
    session = OpenAIConversationsSession(openai_client=server.client())
    await session.add_items([message(str(n)) for n in range(130)])
    assert item_creates(server) == [20, 20, 20, 20, 20, 20, 10]
    # reading all (asc) and the newest 105 (desc) both cross the API's 100-item pages
    assert texts(await session.get_items()) == [str(n) for n in range(130)]
    assert texts(await session.get_items(105)) == [str(n) for n in range(25, 130)]
    assert server.item_texts(session.session_id) == [str(n) for n in range(130)]


async def test_pop_deletes_the_newest_item_on_the_server(server: FakeConversationsServer) -> None:
    session = OpenAIConversationsSession(openai_client=server.client())
    await session.add_items([message("a"), message("b")])
    popped = await session.pop_item()
    assert popped is not None and texts([popped]) == ["b"]
    assert server.item_texts(session.session_id) == ["a"]


async def test_clear_deletes_the_conversation_and_starts_anew(
    server: FakeConversationsServer,
) -> None:
    session = OpenAIConversationsSession(openai_client=server.client())
    await session.add_items([message("a")])
    old_id = session.session_id
    await session.clear_session()
    assert old_id not in server.conversations
    await session.add_items([message("fresh")])
    assert session.session_id != old_id
    assert texts(await session.get_items()) == ["fresh"]


async def test_api_errors_raise_instead_of_an_empty_history(
    server: FakeConversationsServer,
) -> None:
    session = OpenAIConversationsSession(openai_client=server.client())
    await session.add_items([message("a")])
    server.fail_next(500, "the store is down")
    with pytest.raises(SessionBackendError, match="the store is down") as caught:
        await session.get_items()
    assert caught.value.operation == "get_items"
    assert caught.value.session_id == session.session_id
    assert isinstance(caught.value.__cause__, openai.InternalServerError)
    assert texts(await session.get_items()) == ["a"]


async def test_a_failed_chunk_says_which_items_were_not_stored(
    server: FakeConversationsServer,
) -> None:
    session = OpenAIConversationsSession(openai_client=server.client(max_retries=2))
    await session.get_items()  # creates the conversation
    server.fail_next(503, "busy", after=1)  # the first chunk goes through, the second fails
    with pytest.raises(SessionBackendError, match=r"items 20\.\.39 of 45"):
        await session.add_items([message(str(n)) for n in range(45)])
    # retries are off for multi-request appends: the second chunk was tried once, not stored
    assert item_creates(server) == [20, 20]
    assert server.item_texts(session.session_id) == [str(n) for n in range(20)]


async def test_an_unreachable_server_raises_a_clear_error() -> None:
    fake = FakeConversationsServer().start()
    client = fake.client()
    fake.stop()
    session = OpenAIConversationsSession(conversation_id="conv_gone", openai_client=client)
    with pytest.raises(SessionBackendError, match="APIConnectionError") as caught:
        await session.get_items()
    assert fake.base_url.removesuffix("/v1") in str(caught.value)
