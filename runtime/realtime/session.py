"""`RealtimeSession`: a live conversation with a realtime model. You send text and audio; you
iterate its events. It keeps the history, runs the active agent's tools and sends their output
back, carries out handoffs (new instructions and tools, same conversation), runs output
guardrails on the transcript as it streams and interrupts the response when one trips, and
traces all of it locally (see session_tracing)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from typing import Any

from agentoscope.tracing import gen_group_id

from ..exceptions import UserError
from ..run_context import RunContextWrapper
from .agent import RealtimeAgent
from .audio import format_name
from .config import (
    RealtimeRunConfig,
    RealtimeSessionModelSettings,
    RealtimeUserInput,
    check_model_settings,
    check_run_config,
)
from .events import (
    RealtimeAgentEndEvent,
    RealtimeAgentStartEvent,
    RealtimeAudio,
    RealtimeAudioEnd,
    RealtimeAudioInterrupted,
    RealtimeError,
    RealtimeEventInfo,
    RealtimeHistoryAdded,
    RealtimeHistoryUpdated,
    RealtimeRawModelEvent,
    RealtimeSessionEvent,
)
from .handoffs import enabled_handoffs
from .history import with_assistant_transcript, with_item, with_transcript
from .items import RealtimeItem
from .model import RealtimeModel, RealtimeModelConfig, RealtimeModelListener
from .model_events import (
    RealtimeModelAudioDoneEvent,
    RealtimeModelAudioEvent,
    RealtimeModelAudioInterruptedEvent,
    RealtimeModelEndOfStreamEvent,
    RealtimeModelErrorEvent,
    RealtimeModelEvent,
    RealtimeModelExceptionEvent,
    RealtimeModelInputAudioTranscriptionCompletedEvent,
    RealtimeModelItemDeletedEvent,
    RealtimeModelItemUpdatedEvent,
    RealtimeModelOutputTextDeltaEvent,
    RealtimeModelToolCallEvent,
    RealtimeModelTranscriptDeltaEvent,
    RealtimeModelTurnEndedEvent,
    RealtimeModelTurnStartedEvent,
    RealtimeModelUsageEvent,
)
from .model_inputs import (
    RealtimeModelSendAudio,
    RealtimeModelSendInterrupt,
    RealtimeModelSendSessionUpdate,
    RealtimeModelSendUserInput,
)
from .openai_session_config import DEFAULT_MODEL_SETTINGS, check_tools
from .session_guardrails import OutputGuardrailRunner
from .session_tools import ToolCallRunner
from .session_tracing import RealtimeSessionTracer, TracingOptions

_CLOSED = object()


class RealtimeSession(RealtimeModelListener):
    """Use as `async with await runner.run() as session:`; iterate it for events."""

    def __init__(
        self,
        model: RealtimeModel,
        agent: RealtimeAgent[Any],
        context: Any | None,
        model_config: RealtimeModelConfig | None = None,
        run_config: RealtimeRunConfig | None = None,
    ) -> None:
        self._model = model
        self._current_agent = agent
        self._context_wrapper: RunContextWrapper[Any] = RunContextWrapper(context)
        self._event_info = RealtimeEventInfo(context=self._context_wrapper)
        self._history: list[RealtimeItem] = []
        self._model_config: RealtimeModelConfig = model_config or {}
        self._run_config: RealtimeRunConfig = run_config or {}
        check_run_config(self._run_config)
        check_model_settings(
            self._model_config.get("initial_model_settings") or {},
            "model_config.initial_model_settings",
        )
        self._base_settings: RealtimeSessionModelSettings = {
            **(self._run_config.get("model_settings") or {}),
            **(self._model_config.get("initial_model_settings") or {}),
        }
        self.session_id = gen_group_id()
        """Names the session; its trace's group id unless the tracing settings give one."""
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = False
        self._entered = False
        self._stream_ended = False
        self._stored_exception: BaseException | None = None
        self._response_agents: dict[str, RealtimeAgent[Any]] = {}
        self._response_texts: dict[str, str] = {}
        self._tracer = RealtimeSessionTracer(TracingOptions(disabled=True))
        self._guardrails = OutputGuardrailRunner(self)
        self._tools = ToolCallRunner(self)

    # -- public surface ------------------------------------------------------------------------

    @property
    def model(self) -> RealtimeModel:
        return self._model

    @property
    def history(self) -> list[RealtimeItem]:
        """The conversation so far (a copy)."""
        return list(self._history)

    @property
    def current_agent(self) -> RealtimeAgent[Any]:
        return self._current_agent

    @property
    def context_wrapper(self) -> RunContextWrapper[Any]:
        """The session's context, with its token usage so far."""
        return self._context_wrapper

    @property
    def trace_id(self) -> str | None:
        """The session's trace id while it is open (None when tracing is off)."""
        trace = self._tracer.trace
        return None if trace is None or self._tracer.options.disabled else trace.trace_id

    async def __aenter__(self) -> RealtimeSession:
        if self._entered:
            raise UserError("a RealtimeSession can be entered once")
        self._entered = True
        settings = await self.settings_for(self._current_agent)
        starting = self._model_config.get("initial_model_settings")
        if starting:
            settings.update(starting)
        self._tracer = RealtimeSessionTracer(self._tracing_options(settings))
        # The model's tasks (its listener, and the tool and guardrail tasks made from it) start
        # in a context where the session's trace is current; the caller's context is untouched.
        context = contextvars.copy_context()
        context.run(self._tracer.start, self._current_agent.name, *_names(settings))
        self._model.add_listener(self)
        connect = self._model.connect({**self._model_config, "initial_model_settings": settings})
        try:
            await asyncio.create_task(connect, context=context)
        except BaseException as error:
            self._model.remove_listener(self)
            self._closed = True
            self._tracer.finish(error)
            raise
        await self._put(RealtimeHistoryUpdated(history=self.history, info=self._event_info))
        return self

    async def enter(self) -> RealtimeSession:
        """Like `async with`; then call `close()` yourself."""
        return await self.__aenter__()

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    async def __aiter__(self) -> AsyncIterator[RealtimeSessionEvent]:
        while True:
            if self._queue.empty():
                if self._stored_exception is not None:
                    error = self._stored_exception
                    await self.close()
                    raise error
                if self._closed or self._stream_ended:
                    return
            event = await self._queue.get()
            if event is _CLOSED:
                continue
            yield event

    async def send_message(self, message: RealtimeUserInput) -> None:
        await self._model.send_event(RealtimeModelSendUserInput(user_input=message))

    async def send_audio(self, audio: bytes, *, commit: bool = False) -> None:
        """A chunk of the user's audio; `commit=True` ends the user's turn (without server
        voice detection)."""
        self._tracer.user_audio(audio)
        await self._model.send_event(RealtimeModelSendAudio(audio=audio, commit=commit))

    async def interrupt(self) -> None:
        """Stop the agent: truncate its audio at what was played, cancel its response."""
        await self._model.send_event(RealtimeModelSendInterrupt())

    async def update_agent(self, agent: RealtimeAgent[Any]) -> None:
        """Make `agent` the active one (as a handoff would) and tell the model."""
        settings = await self.settings_for(agent)
        self._current_agent = agent
        self._tracer.switch_agent(agent.name, *_names(settings))
        await self._model.send_event(RealtimeModelSendSessionUpdate(session_settings=settings))

    async def close(self) -> None:
        """End the session: stop its tasks, close the connection, finish its trace."""
        if self._closed:
            return
        self._closed = True
        self._model.remove_listener(self)
        await self._tools.cancel()
        await self._guardrails.cancel()
        try:
            await self._model.close()
        finally:
            self._tracer.finish(self._stored_exception)
            self._queue.put_nowait(_CLOSED)

    # -- helpers for the tool and guardrail runners ----------------------------------------------

    @property
    def tracer(self) -> RealtimeSessionTracer:
        return self._tracer

    @property
    def run_config(self) -> RealtimeRunConfig:
        return self._run_config

    @property
    def event_info(self) -> RealtimeEventInfo:
        return self._event_info

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def settings_for(self, agent: RealtimeAgent[Any]) -> RealtimeSessionModelSettings:
        """The base settings with the agent's instructions, tools and handoffs."""
        settings: RealtimeSessionModelSettings = dict(self._base_settings)  # type: ignore[assignment]
        if agent.prompt is not None:
            settings["prompt"] = agent.prompt
        settings["instructions"] = await agent.get_system_prompt(self._context_wrapper) or ""
        settings["tools"] = await agent.get_all_tools(self._context_wrapper)
        settings["handoffs"] = await enabled_handoffs(agent, self._context_wrapper)
        check_tools(settings["tools"], settings["handoffs"])
        return settings

    async def set_agent(
        self, agent: RealtimeAgent[Any], settings: RealtimeSessionModelSettings
    ) -> None:
        self._current_agent = agent
        self._tracer.switch_agent(agent.name, *_names(settings))

    async def put_event(self, event: RealtimeSessionEvent) -> None:
        await self._put(event)

    async def _put(self, event: RealtimeSessionEvent) -> None:
        if not self._closed:
            await self._queue.put(event)

    def _tracing_options(self, settings: RealtimeSessionModelSettings) -> TracingOptions:
        configured: Any = settings.get("tracing", {})
        disabled = bool(self._run_config.get("tracing_disabled")) or configured is None
        tracing: dict[str, Any] = dict(configured or {})
        audio = settings.get("audio") or {}
        in_format = (audio.get("input") or {}).get("format") or settings.get(
            "input_audio_format", "pcm16"
        )
        out_format = (audio.get("output") or {}).get("format") or settings.get(
            "output_audio_format", "pcm16"
        )
        transcription = (audio.get("input") or {}).get("transcription") or settings.get(
            "input_audio_transcription", DEFAULT_MODEL_SETTINGS.get("input_audio_transcription")
        )
        return TracingOptions(
            workflow_name=tracing.get("workflow_name") or "Realtime session",
            group_id=tracing.get("group_id") or self.session_id,
            metadata=tracing.get("metadata"),
            disabled=disabled,
            include_data=self._run_config.get("trace_include_sensitive_data", True),
            include_audio=self._run_config.get("trace_include_sensitive_audio_data", False),
            model=settings.get("model_name") or getattr(self._model, "model", None),
            input_audio_format=format_name(in_format),
            output_audio_format=format_name(out_format),
            transcription_model=(transcription or {}).get("model"),
        )

    async def run_hook(self, owner: RealtimeAgent[Any], name: str, *args: Any) -> None:
        """Call `owner`'s hook `name` with the context and `args`; a failing hook is an error
        event, not the end of the session."""
        if owner.hooks is None:
            return
        try:
            await getattr(owner.hooks, name)(self._context_wrapper, *args)
        except Exception as error:
            await self._put(
                RealtimeError(
                    error={"message": f"{name} hook of {owner.name!r} failed: {error!r}"},
                    info=self._event_info,
                )
            )

    # -- model events --------------------------------------------------------------------------

    async def on_event(self, event: RealtimeModelEvent) -> None:
        if self._closed:
            return
        await self._put(RealtimeRawModelEvent(data=event, info=self._event_info))
        info = self._event_info
        if isinstance(event, RealtimeModelErrorEvent):
            if isinstance(event.error, dict) and event.error.get("type") == "transcription_failed":
                self._tracer.user_transcript_failed(str(event.error["message"]))
            else:
                self._tracer.error(event.error)
            await self._put(RealtimeError(error=event.error, info=info))
        elif isinstance(event, RealtimeModelToolCallEvent):
            self._tracer.tool_call(event.response_id, event.name, event.call_id, event.arguments)
            await self._tools.on_call(event, self._current_agent)
        elif isinstance(event, RealtimeModelAudioEvent):
            self._tracer.audio(event.response_id, event.item_id, event.content_index, event.data)
            if not self._guardrails.interrupted(event.response_id):
                await self._put(
                    RealtimeAudio(
                        audio=event,
                        item_id=event.item_id,
                        content_index=event.content_index,
                        info=info,
                    )
                )
        elif isinstance(event, RealtimeModelAudioInterruptedEvent):
            await self._put(
                RealtimeAudioInterrupted(
                    item_id=event.item_id, content_index=event.content_index, info=info
                )
            )
        elif isinstance(event, RealtimeModelAudioDoneEvent):
            self._tracer.audio_done(event.item_id, event.content_index)
            await self._put(
                RealtimeAudioEnd(
                    item_id=event.item_id, content_index=event.content_index, info=info
                )
            )
        elif isinstance(event, RealtimeModelInputAudioTranscriptionCompletedEvent):
            self._tracer.user_transcript(event.transcript)
            self._history, added = with_transcript(self._history, event.item_id, event.transcript)
            await self._history_changed(event.item_id, added)
        elif isinstance(
            event, RealtimeModelTranscriptDeltaEvent | RealtimeModelOutputTextDeltaEvent
        ):
            audio = isinstance(event, RealtimeModelTranscriptDeltaEvent)
            await self._on_delta(event.response_id, event.item_id, event.delta, audio)
        elif isinstance(event, RealtimeModelItemUpdatedEvent):
            self._history, added = with_item(self._history, event.item)
            await self._history_changed(event.item.item_id, added)
        elif isinstance(event, RealtimeModelItemDeletedEvent):
            self._history = [item for item in self._history if item.item_id != event.item_id]
            await self._put(RealtimeHistoryUpdated(history=self.history, info=info))
        elif isinstance(event, RealtimeModelTurnStartedEvent):
            response_id = event.response_id or ""
            agent = self._current_agent
            self._response_agents[response_id] = agent
            self._tracer.response_started(response_id)
            await self._put(RealtimeAgentStartEvent(agent=agent, info=info))
            await self.run_hook(agent, "on_start", agent)
        elif isinstance(event, RealtimeModelUsageEvent):
            self._context_wrapper.usage.add(event.usage)
            self._tracer.usage(event.response_id, event.raw_usage)
        elif isinstance(event, RealtimeModelTurnEndedEvent):
            response_id = event.response_id or ""
            agent = self._response_agents.pop(response_id, self._current_agent)
            self._tracer.response_ended(response_id, event.status)
            self._guardrails.response_ended(response_id)
            text = self._response_texts.pop(response_id, "")
            await self._put(RealtimeAgentEndEvent(agent=agent, info=info))
            await self.run_hook(agent, "on_end", agent, text)
        elif isinstance(event, RealtimeModelEndOfStreamEvent):
            self._stream_ended = True
            self._queue.put_nowait(_CLOSED)
        elif isinstance(event, RealtimeModelExceptionEvent):
            self._stored_exception = event.exception
            self._queue.put_nowait(_CLOSED)

    async def _on_delta(self, response_id: str, item_id: str, delta: str, audio: bool) -> None:
        self._tracer.text_delta(response_id, item_id, delta)
        self._response_texts[response_id] = self._response_texts.get(response_id, "") + delta
        text = self._guardrails.on_delta(
            response_id, item_id, delta, self._response_agents.get(response_id, self._current_agent)
        )
        self._history = with_assistant_transcript(self._history, item_id, text, audio)

    async def _history_changed(self, item_id: str, added: bool) -> None:
        if added:
            item = next(i for i in self._history if i.item_id == item_id)
            await self._put(RealtimeHistoryAdded(item=item, info=self._event_info))
        else:
            await self._put(RealtimeHistoryUpdated(history=self.history, info=self._event_info))

    async def send_model_event(self, event: Any) -> None:
        await self._model.send_event(event)


def _names(settings: RealtimeSessionModelSettings) -> tuple[list[str], list[str]]:
    tools = [tool.name for tool in settings.get("tools") or []]
    handoffs = [handoff.agent_name for handoff in settings.get("handoffs") or []]
    return tools, handoffs
