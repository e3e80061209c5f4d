"""The SDK's `agents.extensions.experimental`: Codex and the hosted multi-agent model, left out
on purpose. Their names resolve, so SDK code imports; using one raises a UserError naming the
alternative (docs/sdk_parity.md)."""

from __future__ import annotations

from . import codex, hosted_multi_agent

__all__ = ["codex", "hosted_multi_agent"]
