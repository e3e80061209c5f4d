"""Conversation history kept by OpenAI's Conversations API (or any server speaking it).

The conversation is created on first use, unless `conversation_id` names an existing one; its id
is the session id. Items come back as the API returns them (with ids and statuses), which the
Responses API accepts as input. API failures raise `SessionBackendError` with the original
`openai` exception as the cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal, TypeVar

from openai import APIError, AsyncOpenAI

from .errors import SessionBackendError, SessionNotStartedError
from .session import (
    SessionABC,
    SessionSettings,
    TResponseInputItem,
    coerce_session_settings,
    resolve_session_limit,
)

_T = TypeVar("_T")
# The API takes at most 20 items per create request and returns at most 100 per page.
_MAX_ITEMS_PER_CREATE = 20
_MAX_PAGE = 100


async def start_openai_conversations_session(openai_client: AsyncOpenAI | None = None) -> str:
    """Create an empty conversation and return its id."""
    client = openai_client or AsyncOpenAI()
    conversation = await client.conversations.create(items=[])
    return conversation.id


class OpenAIConversationsSession(SessionABC):
    """Session history in an OpenAI conversation (`conv_...`)."""

    def __init__(
        self,
        *,
        conversation_id: str | None = None,
        openai_client: AsyncOpenAI | None = None,
        session_settings: SessionSettings | dict[str, Any] | None = None,
    ) -> None:
        self._conversation_id = conversation_id
        self._client = openai_client
        self.session_settings = coerce_session_settings(session_settings)
        self._id_lock = asyncio.Lock()
        # One operation at a time per instance: a pop must not interleave with an append.
        self._mutation_lock = asyncio.Lock()

    @property
    def session_id(self) -> str:
        """The conversation id; known after the first call that reaches the API."""
        if self._conversation_id is None:
            raise SessionNotStartedError(
                "the conversation is created on first use: call get_items() or add_items() first"
            )
        return self._conversation_id

    @session_id.setter
    def session_id(self, value: str) -> None:
        self._conversation_id = value

    @property
    def client(self) -> AsyncOpenAI:
        if self._client is None:
            # Created late so that building a session needs no API key in the environment.
            self._client = AsyncOpenAI()
        return self._client

    async def _api(self, operation: str, pending: Awaitable[_T]) -> _T:
        try:
            return await pending
        except APIError as exc:
            detail = f"{type(exc).__name__}: {exc} (at {self.client.base_url})"
            raise SessionBackendError(
                "OpenAI Conversations", operation, self._conversation_id, detail
            ) from exc

    async def _ensure_conversation(self) -> str:
        async with self._id_lock:
            if self._conversation_id is None:
                created = await self._api("create", self.client.conversations.create(items=[]))
                self._conversation_id = created.id
            return self._conversation_id

    # -- Session -----------------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The newest `limit` items, oldest first; None uses `session_settings.limit` (all)."""
        session_limit = resolve_session_limit(limit, self.session_settings)
        async with self._mutation_lock:
            return await self._get_items(session_limit)

    async def _get_items(self, limit: int | None) -> list[Any]:
        conversation_id = await self._ensure_conversation()
        if limit == 0:
            return []
        order: Literal["asc", "desc"] = "asc" if limit is None else "desc"
        page_size = _MAX_PAGE if limit is None else min(limit, _MAX_PAGE)
        pages = self.client.conversations.items.list(conversation_id, order=order, limit=page_size)

        async def collect() -> list[Any]:
            items: list[Any] = []
            async for item in pages:
                items.append(item.model_dump(exclude_unset=True))
                if limit is not None and len(items) >= limit:
                    break
            return items

        items = await self._api("get_items", collect())
        if limit is not None:
            items.reverse()
        return items

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append `items`, 20 per request (the API's maximum), in order.

        Several requests are not atomic: when one fails, the earlier ones stay saved and the
        error says so. Client retries are off for multi-request appends so that a lost reply
        cannot store a chunk twice.
        """
        if not items:
            return
        async with self._mutation_lock:
            conversation_id = await self._ensure_conversation()
            several = len(items) > _MAX_ITEMS_PER_CREATE
            client = self.client.with_options(max_retries=0) if several else self.client
            for start in range(0, len(items), _MAX_ITEMS_PER_CREATE):
                chunk = items[start : start + _MAX_ITEMS_PER_CREATE]
                operation = f"add_items (items {start}..{start + len(chunk) - 1} of {len(items)})"
                await self._api(
                    operation, client.conversations.items.create(conversation_id, items=chunk)
                )

    async def pop_item(self) -> TResponseInputItem | None:
        async with self._mutation_lock:
            newest = await self._get_items(1)
            if not newest:
                return None
            item = newest[0]
            await self._api(
                "pop_item",
                self.client.conversations.items.delete(
                    str(item["id"]), conversation_id=self.session_id
                ),
            )
            return item

    async def clear_session(self) -> None:
        """Delete the conversation; the next call starts a new one (with a new session id)."""
        async with self._mutation_lock, self._id_lock:
            if self._conversation_id is None:
                return
            await self._api(
                "clear_session", self.client.conversations.delete(self._conversation_id)
            )
            self._conversation_id = None
