"""`AgentBase`: what every kind of agent is, for type hints and isinstance checks written
against the SDK (e.g. `is_enabled(ctx, agent: AgentBase)`). `Agent` is registered as one; the
realtime agent registers itself the same way."""

from __future__ import annotations

import abc
from typing import Generic

from .agent import Agent
from .run_context import TContext


class AgentBase(abc.ABC, Generic[TContext]):
    """Has `name`, `handoff_description`, `tools`, `mcp_servers` (see Agent)."""


AgentBase.register(Agent)

__all__ = ["AgentBase"]
