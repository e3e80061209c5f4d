"""The SDK's `agents.extensions.memory.sqlalchemy_session` path; left out (see left_out.py)."""

from __future__ import annotations

from ...left_out import left_out

SQLAlchemySession = left_out("SQLAlchemySession")

__all__ = ["SQLAlchemySession"]
