"""The agent loop behind Runner.run and Runner.run_streamed.

    input (+ session history) -> trace -> [agent span -> model call -> tools / handoff]* ->
    output guardrails -> result -> session

One `AgentRunLoop` per run. Streaming is the same loop with an `emit` callback that pushes
events onto the streaming result's queue.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from typing import Any

from agentoscope.tracing import Span, Trace

from .agent import Agent, get_handoffs_of, get_output_schema
from .agent_tool import NestedPause
from .approvals import plan_tool_calls, record_pause, result_call_id
from .exceptions import AgentsException, MaxTurnsExceeded, RunErrorDetails
from .guardrail import InputGuardrailResult, OutputGuardrailResult
from .handoffs import Handoff
from .hosted_calls import run_hosted_calls
from .items import ItemHelpers, ModelResponse, RunItem, ToolApprovalItem, TResponseInputItem
from .lifecycle import RunHooks
from .memory.session import Session
from .model_call import call_model, filter_model_input, resolve_model
from .models.interface import Model
from .result import RunResult, RunResultStreaming
from .run_config import RunConfig
from .run_context import RunContextWrapper
from .run_guardrails import run_input_guardrails, run_output_guardrails
from .run_resume import state_from_loop
from .run_state import PendingTurn
from .run_tracing import (
    model_tracing,
    record_run_io,
    set_span_error,
    start_agent_span,
    trace_for_run,
)
from .settings_check import check_run_inputs
from .stream_events import AgentUpdatedStreamEvent
from .tool import FunctionToolResult
from .turn import (
    ProcessedResponse,
    emit_items,
    execute_function_tools,
    execute_handoff,
    final_output_from_tools,
    process_model_response,
)

_NO_FINAL_OUTPUT = object()


class _Handoff:
    __slots__ = ("agent",)

    def __init__(self, agent: Agent[Any]) -> None:
        self.agent = agent


class _Paused:
    """The run stopped on tool calls waiting for approval (see approvals.py)."""

    __slots__ = ("pending",)

    def __init__(self, pending: PendingTurn) -> None:
        self.pending = pending


class AgentRunLoop:
    """State and steps of one run."""

    def __init__(
        self,
        starting_agent: Agent[Any],
        input: str | list[TResponseInputItem],
        *,
        context: Any,
        max_turns: int,
        hooks: RunHooks[Any] | None,
        run_config: RunConfig | None,
        previous_response_id: str | None,
        conversation_id: str | None,
        session: Session | None,
        auto_previous_response_id: bool = False,
        streaming: RunResultStreaming | None = None,
        error_handlers: Any = None,
    ) -> None:
        if not isinstance(starting_agent, Agent):
            raise TypeError(f"starting_agent must be an Agent, got {type(starting_agent)!r}")
        if not isinstance(input, str | list | tuple):
            raise TypeError(f"input must be a string or a list of items, got {type(input)!r}")
        self.run_config = run_config or RunConfig()
        check_run_inputs(starting_agent, self.run_config, error_handlers)
        self.hooks: RunHooks[Any] = hooks or _NO_HOOKS
        self.max_turns = max_turns
        self.previous_response_id = previous_response_id
        self.conversation_id = conversation_id
        # With a server-side conversation (previous_response_id / conversation_id) the server
        # keeps the history: each call sends only the items it has not seen yet.
        self.server_managed = (
            previous_response_id is not None
            or conversation_id is not None
            or auto_previous_response_id
        )
        self.chain_responses = previous_response_id is not None or auto_previous_response_id
        self.auto_previous_response_id = auto_previous_response_id
        self.sent_to_server = 0
        self.session = session
        self.streaming = streaming
        self.emit = streaming._push if streaming is not None else None
        self.context = RunContextWrapper(context=context)
        self.current_agent = starting_agent
        self.starting_agent = starting_agent
        self.original_input: str | list[TResponseInputItem] = (
            input if isinstance(input, str) else list(input)
        )
        self.new_input_items: list[TResponseInputItem] = []  # what the session gets as input
        self.generated_items: list[RunItem] = []
        self.model_input: list[TResponseInputItem] = []
        self.model_responses: list[ModelResponse] = []
        self.input_guardrail_results: list[InputGuardrailResult] = []
        self.output_guardrail_results: list[OutputGuardrailResult] = []
        self.current_turn = 0
        self.agent_span: Span[Any] | None = None
        self._input_traced = False
        self.agents_that_used_tools: set[int] = set()
        self._model_cache: dict[int, Model] = {}
        self._handoff_cache: dict[int, Handoff] = {}
        self.trace: Trace | None = trace_for_run(self.run_config, session)
        self.tracing = model_tracing(self.run_config)
        self.session_saved = 0
        """How many of generated_items the session has (a paused run saves up to its pause)."""
        self.pending_turn: PendingTurn | None = None
        """Set when resuming a paused run: the turn whose tool calls waited for approval."""

    # -- the run -------------------------------------------------------------------------------

    async def run(self) -> RunResult:
        trace = self.trace
        if trace is not None:
            trace.start(mark_as_current=True)
        try:
            if self.pending_turn is None:  # a resumed run had its input prepared before
                await self._prepare_input()
            if self.session is not None and self.new_input_items:
                # Saved before the loop, as the SDK does: a failed run keeps what the user said.
                await self.session.add_items(self.new_input_items)
            final_output = await self._loop()
            if isinstance(final_output, _Paused):
                if self.session is not None:
                    # As the SDK: the session gets the run so far (the waiting calls, not their
                    # approval items); the resumed run adds only what follows.
                    pending = final_output.pending
                    await self._save_to_session(self.session, pending.preview(self.generated_items))
                return self._paused_result(final_output.pending)
            result = self._result(final_output)
            if self.session is not None:
                await self._save_to_session(self.session)
            return result
        except AgentsException as exc:
            exc.run_data = self._error_details()
            raise
        finally:
            if self.agent_span is not None:
                self.agent_span.finish(reset_current=True)
                self.agent_span = None
            if trace is not None:
                trace.finish(reset_current=True)

    async def _prepare_input(self) -> None:
        """Session history goes first (combined by session_input_callback if set)."""
        new_input = ItemHelpers.input_to_new_input_list(self.original_input)
        if self.session is None:
            self.model_input = new_input
            return
        # RunConfig.session_settings.limit overrides the session's own default, as in the SDK.
        settings = self.run_config.session_settings or {}
        limit = settings.get("limit") if isinstance(settings, dict) else settings.limit
        reading = self.session.get_items() if limit is None else self.session.get_items(limit)
        history = list(await reading)
        callback = self.run_config.session_input_callback
        if callback is None:
            combined = history + new_input
            self.new_input_items = new_input
        else:
            combined = callback(history, new_input)
            if inspect.isawaitable(combined):
                combined = await combined
            combined = list(combined)
            history_ids = {id(item) for item in history}
            self.new_input_items = [item for item in combined if id(item) not in history_ids]
        self.original_input = combined
        self.model_input = list(combined)

    async def _save_to_session(self, session: Session, items: list[RunItem] | None = None) -> None:
        """Save the run's items the session does not have yet (a paused run saved some)."""
        run_items = self.generated_items if items is None else items
        unsaved, self.session_saved = run_items[self.session_saved :], len(run_items)
        to_save = _model_items(unsaved)
        if to_save:
            await session.add_items(to_save)

    async def _loop(self) -> Any:
        while True:
            agent = self.current_agent
            if self.agent_span is None:
                await self._enter_agent(agent)
            if self.pending_turn is not None:
                outcome = await self._resume_turn(agent, self.pending_turn)
            else:
                outcome = await self._next_turn(agent)
            self._publish()
            if isinstance(outcome, _Paused):
                return outcome
            if isinstance(outcome, _Handoff):
                self.agent_span.finish(reset_current=True)  # type: ignore[union-attr]
                self.agent_span = None
                self.current_agent = outcome.agent
                continue
            if outcome is _NO_FINAL_OUTPUT:
                if self.streaming is not None and self.streaming._stop_after_turn:
                    return None
                continue
            return await self._finish_agent(agent, outcome)

    async def _next_turn(self, agent: Agent[Any]) -> Any:
        self.current_turn += 1
        if self.streaming is not None:
            self.streaming.current_turn = self.current_turn
        if self.current_turn > self.max_turns:
            set_span_error(
                self.agent_span,
                "Max turns exceeded",
                "MaxTurnsExceeded",
                max_turns=self.max_turns,
            )
            raise MaxTurnsExceeded(f"Max turns ({self.max_turns}) exceeded")
        return await self._turn_with_input_guardrails(agent)

    async def _finish_agent(self, agent: Agent[Any], outcome: Any) -> Any:
        """The final output's guardrails and end hooks."""
        guardrails = agent.output_guardrails + (self.run_config.output_guardrails or [])
        if guardrails:
            await run_output_guardrails(
                guardrails,
                agent,
                outcome,
                self.context,
                self.agent_span,
                self.output_guardrail_results,
            )
        record_run_io(self.agent_span, self.tracing, output=outcome)
        await self.hooks.on_agent_end(self.context, agent, outcome)
        if agent.hooks is not None:
            await agent.hooks.on_end(self.context, agent, outcome)
        return outcome

    async def _enter_agent(self, agent: Agent[Any]) -> None:
        schema = get_output_schema(agent)
        self.agent_span = start_agent_span(agent.name, schema.name() if schema else "str")
        if agent is self.starting_agent and not self._input_traced:
            # The run's input, on the first agent's span only: a handed-off agent continues
            # the same conversation rather than receiving a new input.
            record_run_io(self.agent_span, self.tracing, input=self.original_input)
            self._input_traced = True
        if self.emit is not None:
            self.emit(AgentUpdatedStreamEvent(new_agent=agent))
        if self.streaming is not None:
            self.streaming.current_agent = agent
        await self.hooks.on_agent_start(self.context, agent)
        if agent.hooks is not None:
            await agent.hooks.on_start(self.context, agent)

    async def _turn_with_input_guardrails(self, agent: Agent[Any]) -> Any:
        guardrails = (
            agent.input_guardrails + (self.run_config.input_guardrails or [])
            if self.current_turn == 1
            else []
        )
        if not guardrails:
            return await self._turn(agent)
        args = (agent, self.original_input, self.context, self.agent_span)
        blocking = [g for g in guardrails if not g.run_in_parallel]
        if blocking:
            await run_input_guardrails(blocking, *args, self.input_guardrail_results)
        parallel = [g for g in guardrails if g.run_in_parallel]
        if not parallel:
            return await self._turn(agent)
        # The model call goes ahead while the guardrails check the input; a tripwire cancels it.
        turn_task = asyncio.ensure_future(self._turn(agent))
        try:
            await run_input_guardrails(parallel, *args, self.input_guardrail_results)
        except BaseException:
            turn_task.cancel()
            await asyncio.gather(turn_task, return_exceptions=True)
            raise
        return await turn_task

    # -- one turn ------------------------------------------------------------------------------

    async def _turn(self, agent: Agent[Any]) -> Any:
        """One model call and what follows. Returns the final output, a _Handoff, or
        _NO_FINAL_OUTPUT (call the model again)."""
        context, run_config, hooks = self.context, self.run_config, self.hooks
        tools = await agent.get_all_tools(context)
        handoffs = await self._enabled_handoffs(agent)
        span = self.agent_span
        if span is not None and span.span_data.tools is None:
            span.span_data.tools = [t.name for t in tools]
            span.span_data.handoffs = [h.agent_name for h in handoffs]
        instructions = await agent.get_system_prompt(context)
        prompt = await agent.get_prompt(context) if agent.prompt is not None else None
        settings = agent.model_settings.resolve(run_config.model_settings)
        if agent.reset_tool_choice and id(agent) in self.agents_that_used_tools:
            if settings.tool_choice is not None:
                settings = dataclasses.replace(settings, tool_choice=None)
        unsent = (
            self.model_input[self.sent_to_server :] if self.server_managed else self.model_input
        )
        instructions, input_items = await filter_model_input(
            run_config, agent, context, instructions, list(unsent)
        )
        context.turn_input = input_items
        model = resolve_model(agent, run_config, self._model_cache)

        await hooks.on_llm_start(context, agent, instructions, input_items)
        if agent.hooks is not None:
            await agent.hooks.on_llm_start(context, agent, instructions, input_items)
        response = await call_model(
            model,
            instructions=instructions,
            input_items=input_items,
            settings=settings,
            tools=tools,
            output_schema=get_output_schema(agent),
            handoffs=handoffs,
            tracing=self.tracing,
            previous_response_id=self.previous_response_id,
            conversation_id=self.conversation_id,
            prompt=prompt,
            emit=self.emit,
        )
        context.usage.add(response.usage)
        self.model_responses.append(response)
        await hooks.on_llm_end(context, agent, response)
        if agent.hooks is not None:
            await agent.hooks.on_llm_end(context, agent, response)
        if self.chain_responses and response.response_id:
            # Server-side conversation state: the next call continues from this response.
            self.previous_response_id = response.response_id

        processed = process_model_response(agent, tools, handoffs, response)
        # The server has this call's input and the model's output items; not the tool outputs.
        self.sent_to_server = len(self.model_input) + len(processed.new_items)
        emit_items(self.emit, processed.new_items)
        if processed.tools_used:
            self.agents_that_used_tools.add(id(agent))
        return await self._after_response(agent, handoffs, processed, [])

    async def _resume_turn(self, agent: Agent[Any], pending: PendingTurn) -> Any:
        """Finish the turn a paused run stopped in, with the approvals decided since."""
        self.pending_turn = None
        span = self.agent_span
        if span is not None and span.span_data.tools is None:
            span.span_data.tools = [t.name for t in pending.tools]
            span.span_data.handoffs = [h.agent_name for h in pending.handoffs]
        return await self._after_response(
            agent,
            pending.handoffs,
            pending.processed,
            pending.done,
            dict(pending.hosted_done),
            pending.approvals,
            pending.settled(),
        )

    async def _after_response(
        self,
        agent: Agent[Any],
        handoffs: list[Handoff],
        processed: ProcessedResponse,
        done: list[FunctionToolResult],
        hosted_done: dict[int, RunItem | None] | None = None,
        asked: list[ToolApprovalItem] | None = None,
        settled: list[RunItem] | None = None,
    ) -> Any:
        """Run the turn's tools (those needing approval only once approved), then hand off or
        decide on the final output. Calls that need no approval run even when others of the
        turn wait (as in the SDK); the run then pauses with the waiting ones.

        Resuming a paused turn: `done` / `hosted_done` are the results of calls that ran before
        the pause, `asked` the approval items it paused on, `settled` the turn's items as of the
        pause (PendingTurn.settled). As in the SDK, the turn's items are then its model output,
        `settled`, and the results of now (approval items stay out of the model input)."""
        context, run_config, hooks = self.context, self.run_config, self.hooks
        asked = asked or []
        asked_ids = frozenset(item.call_id for item in asked if item.call_id)
        step_items = [*processed.new_items, *(settled or [])]
        hosted_done = {} if hosted_done is None else hosted_done
        tool_results = list(done)
        waiting: list[ToolApprovalItem] = []
        nested_waiting: list[ToolApprovalItem] = []  # inside Agent.as_tool sub-agents
        fresh: list[FunctionToolResult] = []
        if processed.functions:
            ran = {result_call_id(r) for r in done}
            to_run = [r for r in processed.functions if r.tool_call.call_id not in ran]
            plan = await plan_tool_calls(
                to_run, agent, context, run_config, context._approvals, asked_ids
            )
            fresh = list(plan.rejected)
            if plan.ready:
                fresh = (
                    await execute_function_tools(plan.ready, agent, hooks, context, run_config)
                    + fresh
                )
            # An agent tool whose sub-agent paused: the outer run waits on the sub-agent's calls
            # and runs this call again (resuming the sub-agent) once they are decided.
            for result in fresh:
                if isinstance(result.output, NestedPause):
                    nested_waiting.extend(result.output.interruptions)
            fresh = [r for r in fresh if not isinstance(r.output, NestedPause)]
            emit_items(self.emit, [r.run_item for r in fresh if r.run_item is not None])
            order = {r.tool_call.call_id: i for i, r in enumerate(processed.functions)}

            def by_call(result: FunctionToolResult) -> int:
                return order.get(result_call_id(result) or "", 0)

            fresh.sort(key=by_call)
            tool_results = sorted(tool_results + fresh, key=by_call)
            waiting.extend(plan.pending)
        hosted_fresh: list[RunItem] = []
        hosted_any = False
        if processed.hosted:
            hosted = await run_hosted_calls(
                processed.hosted, agent, hooks, context, run_config, hosted_done, asked_ids
            )
            emit_items(self.emit, hosted.fresh)
            hosted_fresh, hosted_any = hosted.fresh, bool(hosted.items)
            waiting.extend(hosted.waiting)
        if waiting or nested_waiting:
            # The sub-agents' runs recorded their own pauses.
            record_pause(waiting, bool(run_config.trace_include_sensitive_data))
            tools = await agent.get_all_tools(context)
            return _Paused(
                PendingTurn(
                    processed,
                    tool_results,
                    waiting + nested_waiting,
                    tools,
                    handoffs,
                    hosted_done,
                )
            )
        step_items.extend(r.run_item for r in fresh if r.run_item is not None)
        step_items.extend(hosted_fresh)

        if processed.handoffs:
            outcome = await execute_handoff(
                agent,
                processed.handoffs,
                self.original_input,
                self.generated_items,
                step_items,
                hooks,
                context,
                run_config,
                self.emit,
                server_managed=self.server_managed,
            )
            self._apply_handoff(outcome)
            return _Handoff(outcome.new_agent)
        self._commit(step_items)

        if tool_results:
            decided = await final_output_from_tools(agent, tool_results, context)
            if decided.is_final_output:
                return decided.final_output
            return _NO_FINAL_OUTPUT
        if hosted_any:
            return _NO_FINAL_OUTPUT  # the model has to see what our computer or shell did
        return self._final_output_from_messages(agent, processed.new_items, processed.tools_used)

    def _final_output_from_messages(
        self, agent: Agent[Any], items: list[RunItem], tools_used: list[str]
    ) -> Any:
        messages = [item for item in items if item.type == "message_output_item"]
        if not messages and tools_used:
            return _NO_FINAL_OUTPUT  # hosted tools ran; the model has more to say
        text = ItemHelpers.extract_text(messages[-1].raw_item) if messages else None
        schema = get_output_schema(agent)
        if schema is None or schema.is_plain_text():
            return text or ""
        if not text:
            return _NO_FINAL_OUTPUT
        try:
            return schema.validate_json(text)
        except AgentsException as exc:
            details = {"details": str(exc)} if self.run_config.trace_include_sensitive_data else {}
            set_span_error(self.agent_span, "Invalid final output", type(exc).__name__, **details)
            raise

    async def _enabled_handoffs(self, agent: Agent[Any]) -> list[Handoff]:
        handoffs = get_handoffs_of(agent, self._handoff_cache)
        if all(h.is_enabled is True for h in handoffs):
            return handoffs
        enabled = []
        for h in handoffs:
            flag = h.is_enabled
            if callable(flag):
                flag = flag(self.context, agent)
                if inspect.isawaitable(flag):
                    flag = await flag
            if flag:
                enabled.append(h)
        return enabled

    # -- bookkeeping ---------------------------------------------------------------------------

    def _commit(self, items: list[RunItem]) -> None:
        self.generated_items.extend(items)
        self.model_input.extend(_model_items(items))

    def _apply_handoff(self, outcome: Any) -> None:
        if not outcome.filtered:
            # No input filter: the handoff turn's items simply join the history.
            self._commit(outcome.new_items)
            return
        self.original_input = outcome.original_input
        # The filter decides what the next agent sees; the run's own record (new_items, the
        # session) keeps the earlier turns as they happened and gets this turn's items as
        # filtered, as in the SDK.
        self.generated_items = self.generated_items + outcome.new_items
        visible = outcome.pre_handoff_items + (
            outcome.model_items if outcome.model_items is not None else outcome.new_items
        )
        self.model_input = ItemHelpers.input_to_new_input_list(self.original_input) + _model_items(
            visible
        )

    def _publish(self) -> None:
        """Make the streaming result reflect the run so far."""
        streaming = self.streaming
        if streaming is not None:
            streaming.input = self.original_input
            streaming.new_items = self.generated_items
            streaming.raw_responses = self.model_responses

    def _paused_result(self, pending: PendingTurn) -> RunResult:
        result = self._result(None)
        result.new_items = pending.preview(self.generated_items)
        result.interruptions = list(pending.approvals)
        result._state = state_from_loop(self, pending)
        return result

    def _result(self, final_output: Any) -> RunResult:
        return RunResult(
            input=self.original_input,
            new_items=self.generated_items,
            raw_responses=self.model_responses,
            final_output=final_output,
            input_guardrail_results=self.input_guardrail_results,
            output_guardrail_results=self.output_guardrail_results,
            context_wrapper=self.context,
            _last_agent=self.current_agent,
            max_turns=self.max_turns,
            tool_input_guardrail_results=list(self.context._tool_guardrail_results["input"]),
            tool_output_guardrail_results=list(self.context._tool_guardrail_results["output"]),
        )

    def _error_details(self) -> RunErrorDetails:
        return RunErrorDetails(
            input=self.original_input,
            new_items=self.generated_items,
            raw_responses=self.model_responses,
            last_agent=self.current_agent,
            context_wrapper=self.context,
            input_guardrail_results=self.input_guardrail_results,
            output_guardrail_results=self.output_guardrail_results,
        )


_NO_HOOKS: RunHooks[Any] = RunHooks()


def _model_items(items: list[RunItem]) -> list[TResponseInputItem]:
    """Items as model input. An approval item is the run's note of a decision asked for; its
    call is already there as the tool call item."""
    return [item.to_input_item() for item in items if item.type != "tool_approval_item"]


async def run_streaming(loop: AgentRunLoop, result: RunResultStreaming) -> None:
    """The body of a streamed run's task: run, then fill the result and close the stream."""
    error: BaseException | None = None
    try:
        run_result = await loop.run()
        result.final_output = run_result.final_output
        result.input_guardrail_results = run_result.input_guardrail_results
        result.output_guardrail_results = run_result.output_guardrail_results
        result.interruptions = run_result.interruptions
        result.tool_input_guardrail_results = run_result.tool_input_guardrail_results
        result.tool_output_guardrail_results = run_result.tool_output_guardrail_results
        result._state = run_result._state
    except BaseException as exc:  # the stream re-raises it to the consumer
        error = exc
    finally:
        loop._publish()
        if result.interruptions:
            result.new_items = run_result.new_items
        result.current_agent = loop.current_agent
        result._finish(error)
    if isinstance(error, asyncio.CancelledError):
        raise error
