"""Sessions: conversation memory for multi-turn runs.

Pass one as `Runner.run(agent, input, session=...)`: the run starts from the session's history
and appends what it produced. Backends: `SQLiteSession` (a file or memory), `RedisSession`
(needs the `redis` extra, imported only when used), `OpenAIConversationsSession` (the OpenAI
Conversations API), and `CompressedSession`, a wrapper that compresses large fields of any of them.
"""

from __future__ import annotations

from .compressed_session import CompressedSession
from .errors import (
    CorruptRow,
    InvalidIdentifierError,
    ItemEncodingError,
    SessionBackendError,
    SessionClosedError,
    SessionError,
    SessionNotStartedError,
)
from .openai_conversations_session import (
    OpenAIConversationsSession,
    start_openai_conversations_session,
)
from .redis_session import RedisSession
from .session import (
    Session,
    SessionABC,
    SessionInputCallback,
    SessionSettings,
    TResponseInputItem,
    resolve_session_limit,
)
from .sqlite_session import SQLiteSession

__all__ = [
    "CompressedSession",
    "CorruptRow",
    "InvalidIdentifierError",
    "ItemEncodingError",
    "OpenAIConversationsSession",
    "RedisSession",
    "SQLiteSession",
    "Session",
    "SessionABC",
    "SessionBackendError",
    "SessionClosedError",
    "SessionError",
    "SessionInputCallback",
    "SessionNotStartedError",
    "SessionSettings",
    "TResponseInputItem",
    "resolve_session_limit",
    "start_openai_conversations_session",
]
