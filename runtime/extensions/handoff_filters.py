"""Handoff input filters, at the SDK's `agents.extensions.handoff_filters` path."""

from __future__ import annotations

from ..handoff_filters import remove_all_tools
from ..left_out import left_out

nest_handoff_history = left_out("nest_handoff_history")
default_handoff_history_mapper = left_out("default_handoff_history_mapper")

__all__ = ["default_handoff_history_mapper", "nest_handoff_history", "remove_all_tools"]
