"""`Runner`: run an agent to its final output, synchronously, or as a stream of events."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from .agent import Agent
from .items import TResponseInputItem
from .lifecycle import RunHooks
from .memory.session import Session
from .result import RunResult, RunResultStreaming
from .run_config import DEFAULT_MAX_TURNS, RunConfig
from .run_context import RunContextWrapper
from .run_loop import AgentRunLoop, run_streaming
from .run_resume import resume_loop
from .run_state import RunState


def _coerce_run_config(run_config: RunConfig | Mapping[str, Any] | None) -> RunConfig | None:
    if run_config is None or isinstance(run_config, RunConfig):
        return run_config
    if isinstance(run_config, Mapping):
        return RunConfig(**run_config)
    raise TypeError(f"run_config must be a RunConfig or a dict, got {type(run_config)!r}")


class Runner:
    """Runs agents. Every method is a classmethod, as in the SDK."""

    @classmethod
    async def run(
        cls,
        starting_agent: Agent[Any],
        input: str | list[TResponseInputItem] | RunState[Any],
        *,
        context: Any = None,
        max_turns: int = DEFAULT_MAX_TURNS,
        hooks: RunHooks[Any] | None = None,
        run_config: RunConfig | Mapping[str, Any] | None = None,
        error_handlers: Any | None = None,
        previous_response_id: str | None = None,
        auto_previous_response_id: bool = False,
        conversation_id: str | None = None,
        session: Session | None = None,
    ) -> RunResult:
        """Run from `starting_agent` until an agent produces a final output: call the model,
        run the tools it asks for, follow handoffs. Raises MaxTurnsExceeded after `max_turns`
        model calls, the guardrail tripwire exceptions, and ModelBehaviorError for invalid model
        output. With `session` (anything with async get_items(limit=None) and
        add_items(items)), the session's history goes before `input` and the run's input and
        new items are stored at the end. With `previous_response_id`, `conversation_id` or
        `auto_previous_response_id=True` the server keeps the conversation: each model call
        sends only the items the server has not seen.

        With a RunState as `input` (from `result.to_state()` or `RunState.from_json`), the
        paused run resumes: its approved tool calls run, rejected ones are answered with the
        rejection message, and the run goes on in the same trace. `context`, if given,
        replaces the state's context object."""
        loop = AgentRunLoop(
            starting_agent,
            input._original_input if isinstance(input, RunState) else input,
            context=None if isinstance(input, RunState) else context,
            max_turns=max_turns,
            hooks=hooks,
            run_config=_coerce_run_config(run_config),
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            session=session,
            auto_previous_response_id=auto_previous_response_id,
            error_handlers=error_handlers,
        )
        if isinstance(input, RunState):
            _resume(loop, input, context, max_turns)
        return await loop.run()

    @classmethod
    def run_sync(
        cls,
        starting_agent: Agent[Any],
        input: str | list[TResponseInputItem] | RunState[Any],
        *,
        context: Any = None,
        max_turns: int = DEFAULT_MAX_TURNS,
        hooks: RunHooks[Any] | None = None,
        run_config: RunConfig | Mapping[str, Any] | None = None,
        error_handlers: Any | None = None,
        previous_response_id: str | None = None,
        auto_previous_response_id: bool = False,
        conversation_id: str | None = None,
        session: Session | None = None,
    ) -> RunResult:
        """`run()` for code without an event loop. Inside a running loop, await run() instead."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "Runner.run_sync() cannot be called from a running event loop; "
                "use `await Runner.run(...)` instead"
            )
        return asyncio.run(
            cls.run(
                starting_agent,
                input,
                context=context,
                max_turns=max_turns,
                hooks=hooks,
                run_config=run_config,
                error_handlers=error_handlers,
                previous_response_id=previous_response_id,
                auto_previous_response_id=auto_previous_response_id,
                conversation_id=conversation_id,
                session=session,
            )
        )

    @classmethod
    def run_streamed(
        cls,
        starting_agent: Agent[Any],
        input: str | list[TResponseInputItem] | RunState[Any],
        context: Any = None,
        max_turns: int = DEFAULT_MAX_TURNS,
        hooks: RunHooks[Any] | None = None,
        run_config: RunConfig | Mapping[str, Any] | None = None,
        error_handlers: Any | None = None,
        previous_response_id: str | None = None,
        auto_previous_response_id: bool = False,
        conversation_id: str | None = None,
        session: Session | None = None,
    ) -> RunResultStreaming:
        """Start a run in the background and return at once; `async for event in
        result.stream_events()` yields raw model events, run item events and agent updates.
        Must be called with an event loop running."""
        state = input if isinstance(input, RunState) else None
        given_context = context
        run_input: str | list[TResponseInputItem]
        if isinstance(input, RunState):
            run_input, context = input._original_input, None
        else:
            run_input = input
        result = RunResultStreaming(
            input=run_input if isinstance(run_input, str) else list(run_input),
            new_items=[],
            raw_responses=[],
            final_output=None,
            input_guardrail_results=[],
            output_guardrail_results=[],
            context_wrapper=RunContextWrapper(context=context),
            current_agent=starting_agent,
            max_turns=max_turns,
        )
        loop = AgentRunLoop(
            starting_agent,
            run_input,
            context=context,
            max_turns=max_turns,
            hooks=hooks,
            run_config=_coerce_run_config(run_config),
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            session=session,
            auto_previous_response_id=auto_previous_response_id,
            streaming=result,
            error_handlers=error_handlers,
        )
        if state is not None:
            _resume(loop, state, given_context, max_turns)
            result.max_turns = loop.max_turns
            result.current_agent = loop.current_agent
        result.context_wrapper = loop.context
        result.trace = loop.trace
        result._run_task = asyncio.get_running_loop().create_task(run_streaming(loop, result))
        return result


def _resume(loop: AgentRunLoop, state: RunState[Any], context: Any, max_turns: int) -> None:
    resume_loop(loop, state, context, loop.run_config)
    if max_turns != DEFAULT_MAX_TURNS:  # the caller asked for a limit: it wins over the state's
        loop.max_turns = max_turns


__all__ = ["DEFAULT_MAX_TURNS", "Runner"]
