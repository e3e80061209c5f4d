"""The SDK's `agents.extensions.models.any_llm_model` path; left out (see left_out.py)."""

from __future__ import annotations

from ...left_out import left_out

AnyLLMModel = left_out("AnyLLMModel")

__all__ = ["AnyLLMModel"]
