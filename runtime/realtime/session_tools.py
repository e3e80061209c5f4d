"""Tool calls of a realtime session: a function tool runs (in a `function` span) and its output
goes back to the model, which then responds; a handoff makes another agent the active one (in a
`handoff` span) and updates the session before the model responds. A tool that raises gives the
model an error message, marks its span and emits an `error` event; the session goes on."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentoscope.tracing import error_from_exception

from ..exceptions import ModelBehaviorError, UserError
from ..run_context import ToolContext
from ..tool import FunctionTool, default_tool_error_function, invoke_function_tool
from .agent import RealtimeAgent
from .events import RealtimeError, RealtimeHandoffEvent, RealtimeToolEnd, RealtimeToolStart
from .model_events import RealtimeModelToolCallEvent
from .model_inputs import RealtimeModelSendSessionUpdate, RealtimeModelSendToolOutput

if TYPE_CHECKING:
    from .session import RealtimeSession


def tool_output_text(output: Any) -> str:
    """What the model gets: strings as they are, models and dataclasses as JSON."""
    if isinstance(output, str):
        return output
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    if dataclasses.is_dataclass(output) and not isinstance(output, type):
        output = dataclasses.asdict(output)
    try:
        return json.dumps(output, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(output)


class ToolCallRunner:
    def __init__(self, session: RealtimeSession) -> None:
        self._session = session
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen_calls: set[str] = set()

    async def on_call(self, call: RealtimeModelToolCallEvent, agent: RealtimeAgent[Any]) -> None:
        if call.call_id in self._seen_calls:  # the server may repeat an item; run it once
            return
        self._seen_calls.add(call.call_id)
        if self._session.run_config.get("async_tool_calls", True):
            task = asyncio.create_task(self._run(call, agent), name=f"realtime-tool-{call.name}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            await self._run(call, agent)

    async def cancel(self) -> None:
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        others = [t for t in self._tasks if t is not asyncio.current_task()]
        if others:
            await asyncio.gather(*others, return_exceptions=True)

    async def _run(self, call: RealtimeModelToolCallEvent, agent: RealtimeAgent[Any]) -> None:
        session = self._session
        try:
            settings = await session.settings_for(agent)
            tools = {t.name: t for t in settings.get("tools") or [] if isinstance(t, FunctionTool)}
            handoffs = {h.tool_name: h for h in settings.get("handoffs") or []}
            if call.name in tools:
                await self._function(call, agent, tools[call.name])
            elif call.name in handoffs:
                await self._handoff(call, agent, handoffs[call.name])
            else:
                message = f"Tool {call.name} not found"
                await self._send_output(call, message, start_response=False)
                await session.put_event(
                    RealtimeError(error={"message": message}, info=session.event_info)
                )
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if session.is_closed:
                return
            await session.put_event(
                RealtimeError(
                    error={"message": f"tool call {call.name!r} failed: {error!r}"},
                    info=session.event_info,
                )
            )

    async def _send_output(
        self,
        call: RealtimeModelToolCallEvent,
        output: str,
        *,
        start_response: bool,
    ) -> None:
        await self._session.send_model_event(
            RealtimeModelSendToolOutput(
                tool_call=call, output=output, start_response=start_response
            )
        )

    async def _function(
        self, call: RealtimeModelToolCallEvent, agent: RealtimeAgent[Any], tool: FunctionTool
    ) -> None:
        session = self._session
        ctx = ToolContext.from_run_context(
            session.context_wrapper,
            tool_name=call.name,
            tool_call_id=call.call_id,
            tool_arguments=call.arguments,
            tool_call=call,
            agent=agent,  # type: ignore[arg-type]
        )
        await session.put_event(
            RealtimeToolStart(
                agent=agent, tool=tool, arguments=call.arguments, info=session.event_info
            )
        )
        await session.run_hook(agent, "on_tool_start", agent, tool)
        span = session.tracer.function_span(call.name, call.arguments, call.call_id)
        # Current in this task only, so a tool's own error reporting finds its span.
        span.start(mark_as_current=True)
        failure: Exception | None = None
        try:
            result: Any = await invoke_function_tool(tool, ctx, call.arguments)
        except Exception as error:
            failure = error
            span.set_error(
                {
                    "message": "Error running tool",
                    "data": {"type": type(error).__name__, "tool_name": call.name},
                }
            )
            result = default_tool_error_function(ctx, error)
        finally:
            session.tracer.function_output(
                span, tool_output_text(result) if failure is None else result
            )
            span.finish(reset_current=True)
        if failure is not None:
            await session.put_event(
                RealtimeError(
                    error={
                        "message": f"tool {call.name!r} raised {type(failure).__name__}: {failure}"
                    },
                    info=session.event_info,
                )
            )
        output = tool_output_text(result)
        await self._send_output(call, output, start_response=True)
        await session.put_event(
            RealtimeToolEnd(
                agent=agent,
                tool=tool,
                arguments=call.arguments,
                output=result,
                info=session.event_info,
            )
        )
        await session.run_hook(agent, "on_tool_end", agent, tool, result)

    async def _handoff(
        self, call: RealtimeModelToolCallEvent, agent: RealtimeAgent[Any], handoff: Any
    ) -> None:
        session = self._session
        span = session.tracer.handoff_span(agent.name, handoff.agent_name)
        span.start()
        try:
            new_agent = await handoff.on_invoke_handoff(session.context_wrapper, call.arguments)
            if not isinstance(new_agent, RealtimeAgent):
                raise UserError(
                    f"Handoff {handoff.tool_name} returned {type(new_agent).__name__}, "
                    "not a RealtimeAgent"
                )
            settings = await session.settings_for(new_agent)
        except Exception as error:
            span.set_error(error_from_exception(error))
            span.finish()
            # The model may learn what was wrong with its own arguments, nothing else.
            reason = str(error) if isinstance(error, ModelBehaviorError) else type(error).__name__
            await self._send_output(call, f"Handoff failed: {reason}", start_response=True)
            raise
        span.span_data.to_agent = new_agent.name
        span.finish()
        await session.set_agent(new_agent, settings)
        await session.put_event(
            RealtimeHandoffEvent(from_agent=agent, to_agent=new_agent, info=session.event_info)
        )
        await session.run_hook(agent, "on_handoff", new_agent, agent)
        # The new instructions and tools must be in place before the model responds.
        await session.send_model_event(RealtimeModelSendSessionUpdate(session_settings=settings))
        await self._send_output(call, handoff.get_transfer_message(new_agent), start_response=True)
