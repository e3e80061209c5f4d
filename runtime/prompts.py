"""Prompt templates of the Responses API (`Agent(prompt=...)`), with the SDK's names: a
`Prompt` dict, or a function of `GenerateDynamicPromptData` returning one."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NotRequired, TypeAlias

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from .agent import Agent
    from .run_context import RunContextWrapper


class Prompt(TypedDict):
    id: str
    """The prompt template's id."""
    version: NotRequired[str]
    variables: NotRequired[dict[str, Any]]
    """Values for the template's variables."""


@dataclass
class GenerateDynamicPromptData:
    """What a dynamic prompt function gets."""

    context: RunContextWrapper[Any]
    agent: Agent[Any]


DynamicPromptFunction: TypeAlias = Callable[[GenerateDynamicPromptData], Any]
"""(data) -> Prompt, or an awaitable of one."""


async def resolve_prompt(prompt: Any, context: RunContextWrapper[Any], agent: Agent[Any]) -> Any:
    """The Prompt for this call. A function takes GenerateDynamicPromptData (the SDK's form);
    one taking two parameters gets (context, agent)."""
    if not callable(prompt):
        return prompt
    try:
        two_args = len(inspect.signature(prompt).parameters) == 2
    except (TypeError, ValueError):
        two_args = False
    if two_args:
        result = prompt(context, agent)
    else:
        result = prompt(GenerateDynamicPromptData(context, agent))
    if inspect.isawaitable(result):
        result = await result
    return result


__all__ = ["DynamicPromptFunction", "GenerateDynamicPromptData", "Prompt", "resolve_prompt"]
