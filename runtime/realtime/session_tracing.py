"""Local traces of realtime sessions, which the official SDK leaves to OpenAI's servers.

One trace per session (group id: the session id); an agent span per stretch of time an agent is
active; under it a `response` span per model response (usage from `response.done`), with a
`speech` span per audio item the model spoke; `function`, `handoff` and `guardrail` spans; a
`transcription` span per user audio turn. Transcripts, tool arguments and outputs are on spans
only with sensitive data on, audio bytes only with the sensitive-audio switch too.

Every span names its parent explicitly: the session's work runs in several tasks (the
connection's listener, tool tasks, guardrail tasks), so the current-span context is not the
session's structure.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from time import time_ns
from typing import Any

from agentoscope.tracing import (
    Span,
    Trace,
    agent_span,
    error_from_exception,
    function_span,
    guardrail_span,
    handoff_span,
    iso_from_ns,
    response_span,
    speech_span,
    trace,
    transcription_span,
)


@dataclass
class _Speech:
    span: Span[Any]
    audio: bytearray = field(default_factory=bytearray)
    transcript: str = ""


@dataclass
class _Response:
    span: Span[Any]
    parent: Span[Any]
    usage: dict[str, Any] | None = None
    texts: dict[str, str] = field(default_factory=dict)
    """item_id -> text or transcript so far."""
    calls: list[dict[str, Any]] = field(default_factory=list)
    speech: dict[tuple[str, int], _Speech] = field(default_factory=dict)


@dataclass
class _UserAudio:
    span: Span[Any]
    audio: bytearray = field(default_factory=bytearray)


@dataclass
class TracingOptions:
    workflow_name: str = "Realtime session"
    group_id: str | None = None
    metadata: dict[str, Any] | None = None
    disabled: bool = False
    include_data: bool = True
    include_audio: bool = False
    model: str | None = None
    input_audio_format: str | None = "pcm16"
    output_audio_format: str | None = "pcm16"
    transcription_model: str | None = None


def span_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """The SDK's usage shape, with the realtime per-modality token counts added."""
    inputs = usage.get("input_tokens") or 0
    outputs = usage.get("output_tokens") or 0
    in_details = usage.get("input_token_details") or {}
    out_details = usage.get("output_token_details") or {}
    return {
        "requests": 1,
        "input_tokens": inputs,
        "output_tokens": outputs,
        "total_tokens": usage.get("total_tokens") or inputs + outputs,
        "input_tokens_details": {
            "cached_tokens": in_details.get("cached_tokens") or 0,
            "text_tokens": in_details.get("text_tokens") or 0,
            "audio_tokens": in_details.get("audio_tokens") or 0,
        },
        "output_tokens_details": {
            "reasoning_tokens": 0,
            "text_tokens": out_details.get("text_tokens") or 0,
            "audio_tokens": out_details.get("audio_tokens") or 0,
        },
    }


class RealtimeSessionTracer:
    def __init__(self, options: TracingOptions) -> None:
        self.options = options
        self.trace: Trace | None = None
        self._agent_span: Span[Any] | None = None
        self._retiring: dict[int, tuple[Span[Any], set[str]]] = {}
        self._responses: dict[str, _Response] = {}
        self._user_audio: _UserAudio | None = None

    @property
    def agent_span(self) -> Span[Any] | None:
        return self._agent_span

    def start(self, agent_name: str, tools: list[str], handoffs: list[str]) -> None:
        o = self.options
        self.trace = trace(
            o.workflow_name,
            group_id=o.group_id,
            metadata={**(o.metadata or {}), "realtime_model": o.model},
            disabled=o.disabled,
        )
        # Current in the context the session's tasks are made in (not the caller's), so spans
        # a tool opens itself land in the session's trace.
        self.trace.start(mark_as_current=True)
        self._open_agent(agent_name, tools, handoffs)

    def _open_agent(self, name: str, tools: list[str], handoffs: list[str]) -> None:
        span = agent_span(
            name=name,
            tools=tools,
            handoffs=handoffs,
            output_type="str",
            parent=self.trace,
            disabled=self.options.disabled,
        )
        span.start()
        self._agent_span = span

    def switch_agent(self, name: str, tools: list[str], handoffs: list[str]) -> None:
        """The handed-off-from agent's span ends once the responses it runs have ended."""
        old = self._agent_span
        if old is not None:
            open_ids = {rid for rid, r in self._responses.items() if r.parent is old}
            if open_ids:
                self._retiring[id(old)] = (old, open_ids)
            else:
                old.finish()
        self._open_agent(name, tools, handoffs)

    # -- child spans of the active agent ---------------------------------------------------------

    def _child_parent(self) -> Span[Any] | Trace | None:
        return self._agent_span or self.trace

    def function_span(self, name: str, arguments: str, call_id: str) -> Span[Any]:
        return function_span(
            name,
            input=arguments if self.options.include_data else None,
            call_id=call_id,
            parent=self._child_parent(),
            disabled=self.options.disabled,
        )

    def function_output(self, span: Span[Any], output: Any) -> None:
        if self.options.include_data:
            span.span_data.output = output

    def handoff_span(self, from_agent: str, to_agent: str) -> Span[Any]:
        return handoff_span(
            from_agent=from_agent,
            to_agent=to_agent,
            parent=self._child_parent(),
            disabled=self.options.disabled,
        )

    def guardrail_span(self, name: str, response_id: str | None) -> Span[Any]:
        response = self._responses.get(response_id or "")
        parent = response.parent if response is not None else self._child_parent()
        return guardrail_span(name, parent=parent, disabled=self.options.disabled)

    def error(self, error: Any) -> None:
        """A server error (or an unreadable event): on the running response, else the agent."""
        message = error.get("message") if isinstance(error, dict) else str(error)
        code = error.get("code") or error.get("type") if isinstance(error, dict) else None
        running = next(reversed(self._responses.values()), None)
        target = running.span if running is not None else self._agent_span
        if target is not None:
            target.set_error(
                {"message": str(message), "data": {"type": str(code or "RealtimeError")}}
            )

    # -- responses -------------------------------------------------------------------------------

    def response_started(self, response_id: str) -> None:
        parent = self._agent_span
        if parent is None or response_id in self._responses:
            return
        span = response_span(parent=parent, disabled=self.options.disabled)
        span.start()
        self._responses[response_id] = _Response(span=span, parent=parent)

    def usage(self, response_id: str | None, raw_usage: dict[str, Any] | None) -> None:
        response = self._responses.get(response_id or "")
        if response is not None and raw_usage is not None:
            response.usage = span_usage(raw_usage)

    def text_delta(self, response_id: str, item_id: str, delta: str) -> None:
        response = self._responses.get(response_id)
        if response is not None:
            response.texts[item_id] = response.texts.get(item_id, "") + delta
            for (speech_item, _), speech in response.speech.items():
                if speech_item == item_id:
                    speech.transcript += delta

    def tool_call(self, response_id: str | None, name: str, call_id: str, arguments: str) -> None:
        response = self._responses.get(response_id or "")
        if response is not None:
            response.calls.append(
                {"type": "function_call", "name": name, "call_id": call_id, "arguments": arguments}
            )

    def audio(self, response_id: str, item_id: str, content_index: int, data: bytes) -> None:
        response = self._responses.get(response_id)
        if response is None:
            return
        speech = response.speech.get((item_id, content_index))
        if speech is None:
            span = speech_span(
                model=self.options.model,
                output_format=self.options.output_audio_format,
                first_content_at=iso_from_ns(time_ns()),
                parent=response.span,
                disabled=self.options.disabled,
            )
            span.start()
            speech = response.speech[(item_id, content_index)] = _Speech(
                span=span, transcript=response.texts.get(item_id, "")
            )
        if self.options.include_audio:
            speech.audio.extend(data)

    def audio_done(self, item_id: str, content_index: int) -> None:
        for response in self._responses.values():
            speech = response.speech.pop((item_id, content_index), None)
            if speech is not None:
                self._finish_speech(speech)

    def _finish_speech(self, speech: _Speech) -> None:
        data = speech.span.span_data
        if self.options.include_data:
            data.input = speech.transcript
        if self.options.include_audio and speech.audio:
            data.output = base64.b64encode(bytes(speech.audio)).decode("ascii")
        speech.span.finish()

    def response_ended(self, response_id: str | None, status: str | None) -> None:
        response = self._responses.pop(response_id or "", None)
        if response is None:
            return
        self._close_response(response, response_id or "", status)
        for key, (span, ids) in list(self._retiring.items()):
            ids.discard(response_id or "")
            if not ids:
                span.finish()
                del self._retiring[key]

    def _close_response(self, response: _Response, response_id: str, status: str | None) -> None:
        for speech in response.speech.values():
            self._finish_speech(speech)
        output: list[dict[str, Any]] = [
            {"type": "message", "role": "assistant", "item_id": item_id, "text": text}
            for item_id, text in response.texts.items()
        ] + response.calls
        data = response.span.span_data
        data.response = {
            "id": response_id,
            "model": self.options.model,
            "status": status,
            "output": output if self.options.include_data else None,
        }
        data.usage = response.usage
        if status in ("failed", "incomplete"):
            response.span.set_error(
                {"message": f"response {status}", "data": {"type": f"response_{status}"}}
            )
        response.span.finish()

    # -- the user's audio ------------------------------------------------------------------------

    def user_audio(self, data: bytes) -> None:
        if self._user_audio is None:
            span = transcription_span(
                model=self.options.transcription_model,
                input_format=self.options.input_audio_format,
                parent=self._child_parent(),
                disabled=self.options.disabled,
            )
            span.start()
            self._user_audio = _UserAudio(span=span)
        if self.options.include_audio:
            self._user_audio.audio.extend(data)

    def user_transcript(self, transcript: str) -> None:
        if self._user_audio is None:  # audio the session did not send (e.g. a phone line)
            self.user_audio(b"")
        assert self._user_audio is not None
        turn, self._user_audio = self._user_audio, None
        data = turn.span.span_data
        if self.options.include_data:
            data.output = transcript
        if self.options.include_audio and turn.audio:
            data.input = base64.b64encode(bytes(turn.audio)).decode("ascii")
        turn.span.finish()

    def user_transcript_failed(self, message: str) -> None:
        if self._user_audio is None:
            return
        turn, self._user_audio = self._user_audio, None
        turn.span.set_error({"message": message, "data": {"type": "transcription_failed"}})
        turn.span.finish()

    # -- the end -----------------------------------------------------------------------------------

    def finish(self, error: BaseException | None = None) -> None:
        """End everything still open; with `error`, mark what it cut short."""
        if self.trace is None:
            return
        for response_id, response in list(self._responses.items()):
            if error is not None:
                response.span.set_error(error_from_exception(error))
            self._close_response(response, response_id, "interrupted" if error else None)
        self._responses.clear()
        if self._user_audio is not None:
            self._user_audio.span.finish()
            self._user_audio = None
        for span, _ in self._retiring.values():
            span.finish()
        self._retiring.clear()
        if self._agent_span is not None:
            if error is not None:
                self._agent_span.set_error(error_from_exception(error))
            self._agent_span.finish()
            self._agent_span = None
        self.trace.finish()
        self.trace = None
