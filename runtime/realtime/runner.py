"""`RealtimeRunner`: the `Runner` of realtime agents. `run()` makes a session; entering it
connects."""

from __future__ import annotations

from typing import Any

from .agent import RealtimeAgent
from .config import RealtimeRunConfig, check_run_config
from .model import RealtimeModel, RealtimeModelConfig
from .session import RealtimeSession


class RealtimeRunner:
    def __init__(
        self,
        starting_agent: RealtimeAgent[Any],
        *,
        model: RealtimeModel | None = None,
        config: RealtimeRunConfig | None = None,
    ) -> None:
        if config is not None:
            check_run_config(config)
        self._starting_agent = starting_agent
        self._config = config
        if model is None:
            from .openai_realtime import OpenAIRealtimeWebSocketModel

            model = OpenAIRealtimeWebSocketModel()
        self._model = model

    async def run(
        self, *, context: Any | None = None, model_config: RealtimeModelConfig | None = None
    ) -> RealtimeSession:
        """A session, not yet connected: `async with await runner.run() as session:`."""
        return RealtimeSession(
            model=self._model,
            agent=self._starting_agent,
            context=context,
            model_config=model_config,
            run_config=self._config,
        )
