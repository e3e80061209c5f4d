"""Workflows: what the pipeline runs between the transcript and the speech."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Any

from ..agent import Agent
from ..items import TResponseInputItem
from ..result import RunResultStreaming
from ..run import Runner


class VoiceWorkflowBase(abc.ABC):
    """Receives each turn's transcript and yields the text to speak (any code: usually one or
    more `Runner.run_streamed` calls, their text relayed with `VoiceWorkflowHelper`)."""

    @abc.abstractmethod
    def run(self, transcription: str) -> AsyncIterator[str]: ...

    async def on_start(self) -> AsyncIterator[str]:
        """Text spoken before the user says anything, in a streamed session (a greeting)."""
        return
        yield  # an async generator that yields nothing


class VoiceWorkflowHelper:
    @classmethod
    async def stream_text_from(cls, result: RunResultStreaming) -> AsyncIterator[str]:
        """The text deltas of a streamed run, as the model produces them."""
        async for event in result.stream_events():
            if (
                event.type == "raw_response_event"
                and event.data.type == "response.output_text.delta"
            ):
                yield event.data.delta


class SingleAgentWorkflowCallbacks:
    def on_run(self, workflow: SingleAgentVoiceWorkflow, transcription: str) -> None:
        """Called as each turn starts."""


class SingleAgentVoiceWorkflow(VoiceWorkflowBase):
    """One agent answers every turn; the conversation so far (and the agent that last answered,
    after a handoff) carries over to the next turn."""

    def __init__(
        self,
        agent: Agent[Any],
        callbacks: SingleAgentWorkflowCallbacks | None = None,
        *,
        context: Any = None,
    ) -> None:
        self._current_agent = agent
        self._callbacks = callbacks
        self._context = context
        self._input_history: list[TResponseInputItem] = []

    async def run(self, transcription: str) -> AsyncIterator[str]:
        if self._callbacks is not None:
            self._callbacks.on_run(self, transcription)
        user_turn: TResponseInputItem = {"role": "user", "content": transcription}
        turn_input = [*self._input_history, user_turn]
        result = Runner.run_streamed(self._current_agent, turn_input, context=self._context)
        async for delta in VoiceWorkflowHelper.stream_text_from(result):
            yield delta
        # Only a turn that completed joins the history, so a failed turn can be retried.
        self._input_history = result.to_input_list()
        self._current_agent = result.last_agent
