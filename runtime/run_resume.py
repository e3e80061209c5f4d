"""Between a run loop and a RunState: the state of a loop that paused, and a fresh loop put
back where a state paused (see run_state.py for the rules)."""

from __future__ import annotations

from typing import Any

from agentoscope.tracing import get_current_trace

from .exceptions import UserError
from .run_state import PendingTurn, RunState, TraceRef
from .run_state_codec import agent_index


def state_from_loop(loop: Any, pending: PendingTurn) -> RunState[Any]:
    """The state of a run loop that paused on `pending`."""
    state: RunState[Any] = RunState(
        loop.context,
        loop.original_input,
        loop.starting_agent,
        loop.max_turns,
        conversation_id=loop.conversation_id,
        previous_response_id=loop.previous_response_id,
        auto_previous_response_id=loop.auto_previous_response_id,
    )
    state._current_agent = loop.current_agent
    state._current_turn = loop.current_turn
    state._model_input = list(loop.model_input)
    state._generated_items = list(loop.generated_items)
    state._model_responses = list(loop.model_responses)
    state._input_guardrail_results = list(loop.input_guardrail_results)
    state._output_guardrail_results = list(loop.output_guardrail_results)
    state._sent_to_server = loop.sent_to_server
    state._session_saved = loop.session_saved
    names = {id(a): a.name for a in agent_index(loop.starting_agent, loop.current_agent).values()}
    state._agents_used_tools = {names[i] for i in loop.agents_that_used_tools if i in names}
    state._pending = pending
    state._trace = TraceRef.of(get_current_trace())
    return state


def resume_loop(loop: Any, state: RunState[Any], context: Any, run_config: Any) -> None:
    """Put a paused run's state into a fresh run loop, which then finishes the paused turn."""
    if state._pending is None:
        raise UserError(
            "This RunState has no pending interruption: the run it came from finished; start "
            "a new run (e.g. with result.to_input_list())"
        )
    if state._resumed:
        raise UserError(
            "This RunState was already resumed; its approved tool calls have run. Resume the "
            "state of the latest result (result.to_state()) instead"
        )
    state._resumed = True
    if context is not None:
        state._context.context = context
    loop.context = state._context
    loop.current_agent = state._current_agent
    loop.original_input = state._original_input
    loop.model_input = list(state._model_input)
    loop.generated_items = list(state._generated_items)
    loop.model_responses = list(state._model_responses)
    loop.input_guardrail_results = list(state._input_guardrail_results)
    loop.output_guardrail_results = list(state._output_guardrail_results)
    loop.current_turn = state._current_turn
    loop.max_turns = state._max_turns
    loop.previous_response_id = state._previous_response_id
    loop.conversation_id = state._conversation_id
    loop.auto_previous_response_id = state._auto_previous_response_id
    loop.chain_responses = (
        state._previous_response_id is not None or state._auto_previous_response_id
    )
    loop.server_managed = loop.chain_responses or state._conversation_id is not None
    loop.sent_to_server = state._sent_to_server
    loop.session_saved = state._session_saved
    agents = agent_index(state._starting_agent, state._current_agent)
    loop.agents_that_used_tools = {
        id(agents[name]) for name in state._agents_used_tools if name in agents
    }
    loop.pending_turn = state._pending
    if state._trace is not None and not run_config.tracing_disabled:
        if get_current_trace() is None:
            loop.trace = state._trace.reattach()


__all__ = ["resume_loop", "state_from_loop"]
