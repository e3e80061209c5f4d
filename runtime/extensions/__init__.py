"""Extras with the SDK's `agents.extensions` layout: handoff filters and prompts, session
backends, and (optionally) other model providers."""

from __future__ import annotations

from . import handoff_filters, handoff_prompt

__all__ = ["handoff_filters", "handoff_prompt"]
