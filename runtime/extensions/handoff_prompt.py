"""A system-prompt preamble for agents in a handoff workflow (the SDK's
`agents.extensions.handoff_prompt` names; the wording is ours)."""

from __future__ import annotations

RECOMMENDED_PROMPT_PREFIX = (
    "# System context\n"
    "You are one agent in a team of agents that work together on the user's request. Each "
    "agent has its own instructions and tools. When another agent is better placed to help, "
    "hand the conversation to it with the matching transfer function (named "
    "`transfer_to_<agent_name>`); these transfers happen quietly, so do not mention or draw "
    "attention to them in what you say to the user.\n"
)


def prompt_with_handoff_instructions(prompt: str) -> str:
    """`prompt` preceded by RECOMMENDED_PROMPT_PREFIX."""
    return f"{RECOMMENDED_PROMPT_PREFIX}\n\n{prompt}"


__all__ = ["RECOMMENDED_PROMPT_PREFIX", "prompt_with_handoff_instructions"]
