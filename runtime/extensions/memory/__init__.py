"""Session backends at the SDK's `agents.extensions.memory` path. `RedisSession` is the
runtime's own; the others are left out (using one raises UserError naming the alternative)."""

from __future__ import annotations

from ...left_out import left_out
from ...memory import RedisSession

AdvancedSQLiteSession = left_out("AdvancedSQLiteSession")
EncryptedSession = left_out("EncryptedSession")
SQLAlchemySession = left_out("SQLAlchemySession")
DaprSession = left_out("DaprSession")
MongoDBSession = left_out("MongoDBSession")
DAPR_CONSISTENCY_EVENTUAL = "eventual"
DAPR_CONSISTENCY_STRONG = "strong"

__all__ = [
    "DAPR_CONSISTENCY_EVENTUAL",
    "DAPR_CONSISTENCY_STRONG",
    "AdvancedSQLiteSession",
    "DaprSession",
    "EncryptedSession",
    "MongoDBSession",
    "RedisSession",
    "SQLAlchemySession",
]
