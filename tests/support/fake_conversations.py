"""A local HTTP server that speaks the OpenAI Conversations API, for the real `openai` client.

    with FakeConversationsServer() as server:
        session = OpenAIConversationsSession(openai_client=server.client())
        ...
        assert server.item_texts(session.session_id) == ["hi", "hello"]

Routes (under /v1): create/retrieve/delete a conversation, and create/list/retrieve/delete its
items, with the API's cursor pagination (`after`, `limit` 1-100, `order`) and its 20-items-per-
create limit. Input items are turned into conversation items (ids, statuses, content parts) and
validated against the `openai` package's `ConversationItem` type; response bodies are dumped
from the package's own models, so the client parses what the real API would send.

`fail_next(status, message, after=0)` makes a request fail with that HTTP error: the next one, or
the one after `after` successful requests.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openai import AsyncOpenAI
from openai.types.conversations import (
    Conversation,
    ConversationDeletedResource,
    ConversationItem,
    ConversationItemList,
)
from pydantic import TypeAdapter, ValidationError

_ITEM = TypeAdapter(ConversationItem)
_ID_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}
_MAX_CREATE = 20


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass
class _Conversation:
    id: str
    created_at: int
    metadata: dict[str, str]
    items: list[dict[str, Any]]


def to_conversation_item(item: dict[str, Any]) -> dict[str, Any]:
    """What the API stores for one input item: ids, statuses and content parts filled in."""
    if not isinstance(item, dict):
        raise ApiError(400, f"each item must be an object, got {type(item).__name__}")
    stored = dict(item)
    kind = stored.setdefault("type", "message")
    stored.setdefault("id", f"{_ID_PREFIX.get(kind, 'item')}_{secrets.token_hex(12)}")
    stored.setdefault("status", "completed")
    if kind == "message" and isinstance(stored.get("content"), str):
        role = stored.get("role")
        text = stored["content"]
        part: dict[str, Any] = {"type": "input_text", "text": text}
        if role == "assistant":
            part = {"type": "output_text", "text": text, "annotations": []}
        stored["content"] = [part]
    try:
        model = _ITEM.validate_python(stored)
    except ValidationError as exc:
        raise ApiError(400, f"invalid item: {exc.errors()[0]['msg']}", "invalid_value") from exc
    return _ITEM.dump_python(model, mode="json", exclude_unset=True)


class FakeConversationsServer:
    """The Conversations API on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self) -> None:
        self.conversations: dict[str, _Conversation] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self._failures: list[list[Any]] = []  # [requests to let through first, status, message]
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def client(self, **kwargs: Any) -> AsyncOpenAI:
        options = {"api_key": "test-key", "base_url": self.base_url, "max_retries": 0, **kwargs}
        return AsyncOpenAI(**options)

    def start(self) -> FakeConversationsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeConversationsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(self, status: int, message: str = "injected failure", *, after: int = 0) -> None:
        with self._lock:
            self._failures.append([after, status, message])

    def items(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(item) for item in self.conversations[conversation_id].items]

    def item_texts(self, conversation_id: str) -> list[str]:
        """The text of each message item, in order (for short assertions)."""
        return [
            part.get("text", "")
            for item in self.items(conversation_id)
            if item["type"] == "message"
            for part in item["content"]
        ]

    # -- the API -----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        with self._lock:
            self.requests.append((method, path, body))
            if self._failures:
                if self._failures[0][0] == 0:
                    _, status, message = self._failures.pop(0)
                    raise ApiError(status, message)
                self._failures[0][0] -= 1
            parts = [part for part in path.split("/") if part]
            if parts[:2] != ["v1", "conversations"]:
                raise ApiError(404, f"no route for {method} {path}")
            rest = parts[2:]
            if not rest and method == "POST":
                return self._create(body or {})
            if not rest:
                raise ApiError(405, f"{method} not allowed on /conversations")
            conversation = self.conversations.get(rest[0])
            if conversation is None:
                raise ApiError(404, f"Conversation with id '{rest[0]}' not found.", "not_found")
            if len(rest) == 1:
                return self._conversation_route(method, conversation)
            if rest[1] != "items" or len(rest) > 3:
                raise ApiError(404, f"no route for {method} {path}")
            if len(rest) == 2:
                return self._items_route(method, conversation, query, body or {})
            return self._item_route(method, conversation, rest[2])

    def _create(self, body: dict[str, Any]) -> Any:
        conversation = _Conversation(
            id=f"conv_{secrets.token_hex(16)}",
            created_at=int(time.time()),
            metadata=body.get("metadata") or {},
            items=[to_conversation_item(item) for item in body.get("items") or []],
        )
        self.conversations[conversation.id] = conversation
        return _conversation_body(conversation)

    def _conversation_route(self, method: str, conversation: _Conversation) -> Any:
        if method == "GET":
            return _conversation_body(conversation)
        if method == "DELETE":
            del self.conversations[conversation.id]
            deleted = ConversationDeletedResource(
                id=conversation.id, deleted=True, object="conversation.deleted"
            )
            return deleted.model_dump(mode="json")
        raise ApiError(405, f"{method} not allowed on a conversation")

    def _items_route(
        self, method: str, conversation: _Conversation, query: dict[str, str], body: Any
    ) -> Any:
        if method == "POST":
            new_items = body.get("items")
            if not isinstance(new_items, list) or not new_items:
                raise ApiError(400, "'items' must be a non-empty array", "invalid_value")
            if len(new_items) > _MAX_CREATE:
                raise ApiError(400, f"at most {_MAX_CREATE} items per request", "invalid_value")
            stored = [to_conversation_item(item) for item in new_items]
            conversation.items.extend(stored)
            return _page(stored, has_more=False)
        if method == "GET":
            return self._list(conversation, query)
        raise ApiError(405, f"{method} not allowed on items")

    def _list(self, conversation: _Conversation, query: dict[str, str]) -> Any:
        limit = int(query.get("limit", "20"))
        if not 1 <= limit <= 100:
            raise ApiError(400, "limit must be between 1 and 100", "invalid_value")
        order = query.get("order", "desc")
        ordered = conversation.items if order == "asc" else conversation.items[::-1]
        start = 0
        if "after" in query:
            ids = [item["id"] for item in ordered]
            if query["after"] not in ids:
                raise ApiError(400, f"unknown cursor {query['after']!r}", "invalid_value")
            start = ids.index(query["after"]) + 1
        chosen = ordered[start : start + limit]
        return _page(chosen, has_more=start + limit < len(ordered))

    def _item_route(self, method: str, conversation: _Conversation, item_id: str) -> Any:
        index = next(
            (i for i, item in enumerate(conversation.items) if item["id"] == item_id), None
        )
        if index is None:
            raise ApiError(404, f"Item with id '{item_id}' not found.", "not_found")
        if method == "GET":
            return conversation.items[index]
        if method == "DELETE":
            del conversation.items[index]
            return _conversation_body(conversation)
        raise ApiError(405, f"{method} not allowed on an item")


def _conversation_body(conversation: _Conversation) -> Any:
    model = Conversation(
        id=conversation.id,
        created_at=conversation.created_at,
        metadata=conversation.metadata,
        object="conversation",
    )
    return model.model_dump(mode="json")


def _page(items: list[dict[str, Any]], *, has_more: bool) -> Any:
    page = ConversationItemList.model_validate(
        {
            "object": "list",
            "data": items,
            "first_id": items[0]["id"] if items else "",
            "last_id": items[-1]["id"] if items else "",
            "has_more": has_more,
        }
    )
    return page.model_dump(mode="json", exclude_unset=True)


def _handler_for(server: FakeConversationsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                if not self.headers.get("authorization", "").startswith("Bearer "):
                    raise ApiError(401, "missing bearer token", "invalid_api_key")
                body = json.loads(raw) if raw else None
                status, payload = 200, server.handle(method, url.path, query, body)
            except ApiError as exc:
                status = exc.status
                payload = {
                    "error": {
                        "message": exc.message,
                        "type": "invalid_request_error",
                        "param": None,
                        "code": exc.code,
                    }
                }
            except json.JSONDecodeError as exc:
                status, payload = 400, {"error": {"message": f"invalid JSON body: {exc}"}}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            # Errors are final: the client must not retry an injected failure.
            self.send_header("x-should-retry", "false")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler
