"""Results of a run: `RunResult`, and `RunResultStreaming` whose fields fill in as it runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from .items import ItemHelpers, ModelResponse, RunItem, TResponseInputItem
from .stream_events import StreamEvent

if TYPE_CHECKING:
    from agentoscope.tracing import Trace

    from .agent import Agent
    from .guardrail import InputGuardrailResult, OutputGuardrailResult
    from .items import ToolApprovalItem
    from .run_context import RunContextWrapper
    from .run_state import RunState

T = TypeVar("T")


@dataclass
class RunResultBase:
    input: str | list[TResponseInputItem]
    """The run's input (after session history and handoff input filters were applied)."""
    new_items: list[RunItem]
    """Everything the run produced: messages, tool calls and outputs, handoffs, reasoning."""
    raw_responses: list[ModelResponse]
    final_output: Any
    input_guardrail_results: list[InputGuardrailResult]
    output_guardrail_results: list[OutputGuardrailResult]
    context_wrapper: RunContextWrapper[Any]

    @property
    def last_agent(self) -> Agent[Any]:
        raise NotImplementedError

    @property
    def last_response_id(self) -> str | None:
        return self.raw_responses[-1].response_id if self.raw_responses else None

    def final_output_as(self, cls: type[T], raise_if_incorrect_type: bool = False) -> T:
        """The final output, typed as `cls` (checked only with raise_if_incorrect_type)."""
        if raise_if_incorrect_type and not isinstance(self.final_output, cls):
            raise TypeError(f"Final output is {type(self.final_output).__name__}, not {cls}")
        return cast(T, self.final_output)

    def to_input_list(self) -> list[TResponseInputItem]:
        """The input plus everything the run produced: the input of a follow-up run."""
        return ItemHelpers.input_to_new_input_list(self.input) + [
            item.to_input_item()
            for item in self.new_items
            # A call waiting for approval is already there as its tool_call_item.
            if item.type != "tool_approval_item"
        ]

    def to_state(self) -> RunState:
        """The run as a RunState: approve or reject its `interruptions` on it, then pass it to
        `Runner.run(agent, state)` to continue; `state.to_json()` keeps it for later."""
        from .exceptions import UserError

        state = getattr(self, "_state", None)
        if state is None:
            raise UserError(
                "This run finished without interruptions, so there is nothing to resume; "
                "continue the conversation with `result.to_input_list()` (or a session)"
            )
        return state

    def release_agents(self) -> None:
        """Drop references to agents held by the items (for long-lived results)."""
        for item in self.new_items:
            item.release_agent()


@dataclass
class RunResult(RunResultBase):
    _last_agent: Agent[Any] | None = field(default=None, repr=False)
    max_turns: int = 10
    interruptions: list[ToolApprovalItem] = field(default_factory=list)
    """Tool calls waiting for approval: the run paused on them (final_output is None)."""
    _state: RunState | None = field(default=None, repr=False)
    tool_input_guardrail_results: list[Any] = field(default_factory=list)
    """ToolInputGuardrailResult of every tool input guardrail that ran."""
    tool_output_guardrail_results: list[Any] = field(default_factory=list)
    """ToolOutputGuardrailResult of every tool output guardrail that ran."""

    @property
    def last_agent(self) -> Agent[Any]:
        """The agent that produced the final output."""
        assert self._last_agent is not None
        return self._last_agent

    def __str__(self) -> str:
        agent_name = self._last_agent.name if self._last_agent is not None else None
        return (
            f"RunResult(last_agent={agent_name!r}, final_output={self.final_output!r}, "
            f"new_items={len(self.new_items)})"
        )


_DONE = object()


@dataclass
class RunResultStreaming(RunResultBase):
    """Returned at once by Runner.run_streamed; consume `stream_events()`. Fields fill in as the
    run goes; `final_output` is set when it completes."""

    current_agent: Agent[Any] | None = None
    current_turn: int = 0
    max_turns: int = 10
    is_complete: bool = False
    trace: Trace | None = field(default=None, repr=False)
    run_loop_exception: BaseException | None = field(default=None, repr=False)
    _event_queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue, repr=False)
    _run_task: asyncio.Task[Any] | None = field(default=None, repr=False)
    _stop_after_turn: bool = field(default=False, repr=False)
    interruptions: list[ToolApprovalItem] = field(default_factory=list)
    """Tool calls waiting for approval, once the stream ended on a pause."""
    _state: RunState | None = field(default=None, repr=False)
    tool_input_guardrail_results: list[Any] = field(default_factory=list)
    """ToolInputGuardrailResult of every tool input guardrail that ran."""
    tool_output_guardrail_results: list[Any] = field(default_factory=list)
    """ToolOutputGuardrailResult of every tool output guardrail that ran."""

    @property
    def last_agent(self) -> Agent[Any]:
        assert self.current_agent is not None
        return self.current_agent

    def _push(self, event: StreamEvent) -> None:
        self._event_queue.put_nowait(event)

    def _finish(self, error: BaseException | None) -> None:
        self.is_complete = True
        self.run_loop_exception = error
        self._event_queue.put_nowait(_DONE)

    async def stream_events(self) -> AsyncIterator[StreamEvent]:
        """Events as they happen. Raises the run's exception (e.g. MaxTurnsExceeded) at the end,
        after every event produced before it was delivered."""
        while True:
            event = await self._event_queue.get()
            if event is _DONE:
                break
            yield event
        if self._run_task is not None:
            # Surface a crash of the loop task itself, and let it finish cleanly.
            await asyncio.gather(self._run_task, return_exceptions=True)
        if self.run_loop_exception is not None and not isinstance(
            self.run_loop_exception, asyncio.CancelledError
        ):
            raise self.run_loop_exception

    def cancel(self, mode: Literal["immediate", "after_turn"] = "immediate") -> None:
        """Stop the run: at once, or after the current turn completes."""
        if mode == "after_turn":
            self._stop_after_turn = True
            return
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()
