"""`agents.extensions.experimental.hosted_multi_agent` is left out: the provider-hosted
multi-agent model is an experimental SDK feature this runtime does not build. Every name is a
placeholder that raises a UserError naming the alternative when used."""

from __future__ import annotations

from ...left_out import left_out_module

ALTERNATIVE = (
    "the experimental hosted multi-agent model is not part of this runtime: build the team "
    "with handoffs or Agent.as_tool, which run (and are traced) here"
)

NAMES = [
    "HostedAgentMetadata",
    "HostedMultiAgentConfig",
    "OpenAIHostedMultiAgentModel",
    "get_hosted_agent_metadata",
]

__getattr__ = left_out_module(__name__, NAMES, ALTERNATIVE)

__all__ = NAMES  # served by __getattr__ above
