"""Models: the `Model` / `ModelProvider` interfaces, `ScriptedModel` for offline runs, and the
OpenAI-backed models and providers (loaded on first use, so a missing optional part never
breaks `import agentoscope.runtime.models`)."""

from __future__ import annotations

import importlib
from typing import Any

from .interface import Model, ModelProvider, ModelTracing

_LAZY = {
    "ScriptedModel": ".scripted",
    "ScriptedTurn": ".scripted",
    "text_message": ".scripted",
    "tool_call": ".scripted",
    "OpenAIResponsesModel": ".openai_responses",
    "OpenAIChatCompletionsModel": ".openai_chatcompletions",
    "OpenAIProvider": ".openai_provider",
    "MultiProvider": ".multi_provider",
    "get_default_model": ".openai_provider",
    "is_gpt_5_default": ".openai_provider",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Model",
    "ModelProvider",
    "ModelTracing",
    "MultiProvider",
    "OpenAIChatCompletionsModel",
    "OpenAIProvider",
    "OpenAIResponsesModel",
    "ScriptedModel",
    "ScriptedTurn",
    "get_default_model",
    "is_gpt_5_default",
    "text_message",
    "tool_call",
]
