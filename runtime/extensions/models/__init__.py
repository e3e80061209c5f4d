"""Other model providers, at the SDK's `agents.extensions.models` path. `LitellmModel` needs
the optional `litellm` package (`pip install agentoscope[litellm]`)."""

from __future__ import annotations

__all__: list[str] = []
