"""The SDK's `agents.extensions.memory.encrypt_session` path; left out (see left_out.py)."""

from __future__ import annotations

from ...left_out import left_out

EncryptedSession = left_out("EncryptedSession")
EncryptedEnvelope = left_out("EncryptedEnvelope")

__all__ = ["EncryptedEnvelope", "EncryptedSession"]
