"""`VoicePipeline`: audio in, transcript, the workflow's text, speech out, as streamed events.

Single-turn (`AudioInput`): transcribe, run the workflow once, speak. Streamed
(`StreamedAudioInput`, or raw bytes through `process_audio_stream`): the workflow's greeting, then
one workflow run per turn the STT model detects, or, for models without turn detection, per turn
the silence detector finds. As in the official SDK a new turn does not interrupt the answer being
spoken: turns queue, and an application that wants barge-in mutes its microphone between
`turn_started` and `turn_ended`.

Everything runs in one trace (`config.workflow_name`, or the caller's trace when one is current),
so the transcription, the agent's own spans and the speech of a turn sit side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from agentoscope.tracing import NoOpTrace, get_current_trace, trace

from ..agent import Agent
from ..exceptions import UserError
from .audio import bytes_to_audio
from .events import VoiceStreamEvent, VoiceStreamEventTranscription
from .input import AudioInput, StreamedAudioInput
from .model import StreamedTranscriptionSession, STTModel, TTSModel
from .pipeline_config import VoicePipelineConfig
from .result import StreamedAudioResult, logger
from .silence import SilenceTurnSession
from .workflow import SingleAgentVoiceWorkflow, VoiceWorkflowBase


class VoicePipeline:
    def __init__(
        self,
        workflow: VoiceWorkflowBase | Agent[Any],
        config: VoicePipelineConfig | dict[str, Any] | None = None,
        tts_model: TTSModel | str | None = None,
        stt_model: STTModel | str | None = None,
    ) -> None:
        """`workflow`: a `VoiceWorkflowBase`, or an `Agent` (run by a
        `SingleAgentVoiceWorkflow`). Models: instances, or names for `config.model_provider`
        (None: its defaults). Positional order is the seed's; the SDK passes them by name."""
        if isinstance(workflow, Agent):
            workflow = SingleAgentVoiceWorkflow(workflow)
        if not isinstance(workflow, VoiceWorkflowBase):
            raise UserError(
                "VoicePipeline.workflow must be a VoiceWorkflowBase or an Agent, got "
                f"{type(workflow).__name__}"
            )
        self.workflow = workflow
        if config is None:
            config = VoicePipelineConfig()
        elif isinstance(config, dict):
            config = VoicePipelineConfig(**config)
        self.config = config
        self.stt_model = stt_model if isinstance(stt_model, STTModel) else None
        self.tts_model = tts_model if isinstance(tts_model, TTSModel) else None
        self._stt_model_name = _model_name(stt_model, STTModel, "stt_model")
        self._tts_model_name = _model_name(tts_model, TTSModel, "tts_model")

    def _get_stt_model(self) -> STTModel:
        if self.stt_model is None:
            self.stt_model = self.config.model_provider.get_stt_model(self._stt_model_name)
        return self.stt_model

    def _get_tts_model(self) -> TTSModel:
        if self.tts_model is None:
            self.tts_model = self.config.model_provider.get_tts_model(self._tts_model_name)
        return self.tts_model

    async def run(self, audio_input: AudioInput | StreamedAudioInput) -> StreamedAudioResult:
        """Start the pipeline; consume `result.stream()`."""
        if isinstance(audio_input, AudioInput):
            if audio_input.frames == 0:
                raise UserError("AudioInput.buffer is empty: there is no speech to transcribe")
            return self._start(self._single_turn(audio_input), single_turn=True)
        if isinstance(audio_input, StreamedAudioInput):
            return self._start(self._multi_turn(audio_input), single_turn=False)
        raise UserError(
            "VoicePipeline.run takes an AudioInput or a StreamedAudioInput, got "
            f"{type(audio_input).__name__}"
        )

    async def process_audio_stream(
        self, audio_stream: AsyncIterator[bytes]
    ) -> AsyncIterator[VoiceStreamEvent]:
        """The seed's shortcut: raw audio bytes (`config.input_audio_format`,
        `input_sample_rate`, `input_channels`) in, every event out, transcriptions and agent
        responses included. A chunk that cannot be read is an error event; the rest goes on."""
        config = self.config
        streamed = StreamedAudioInput(config.input_sample_rate, config.input_channels)
        result = await self.run(streamed)
        width = 2 if config.input_audio_format == "pcm16" else 4
        frame_bytes = width * config.input_channels

        async def feed() -> None:
            carry = b""
            try:
                async for chunk in audio_stream:
                    data = carry + bytes(chunk)
                    whole = len(data) - len(data) % frame_bytes
                    carry = data[whole:]
                    if whole:
                        samples = bytes_to_audio(
                            data[:whole], config.input_audio_format, "process_audio_stream"
                        )
                        await streamed.add_audio(samples)
                if carry:
                    await result._add_error(
                        UserError(
                            f"process_audio_stream: the stream ended with {len(carry)} bytes, "
                            f"not a whole {frame_bytes}-byte frame of {config.input_audio_format}"
                            f" x {config.input_channels} channels (wrong sample width?)"
                        ),
                        fatal=False,
                    )
            except Exception as error:
                await result._add_error(error, fatal=False)
            finally:
                await streamed.add_audio(None)

        feeder = asyncio.create_task(feed())
        try:
            async for event in result.stream(include_text_events=True):
                yield event
        finally:
            if not feeder.done():
                feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder

    # --- internals -------------------------------------------------------------------------

    def _start(self, producer: Any, single_turn: bool) -> StreamedAudioResult:
        result = StreamedAudioResult(self._get_tts_model(), self.config.tts_settings, self.config)
        result._raise_turn_errors = single_turn
        result._set_task(asyncio.create_task(producer(result)))
        return result

    @contextlib.contextmanager
    def _trace(self) -> Iterator[None]:
        config = self.config
        if config.tracing_disabled:
            with NoOpTrace(config.workflow_name):
                yield
        elif get_current_trace() is not None:
            yield  # nest in the caller's trace
        else:
            with trace(
                config.workflow_name, group_id=config.group_id, metadata=config.trace_metadata
            ):
                yield

    def _single_turn(self, audio_input: AudioInput) -> Any:
        async def produce(result: StreamedAudioResult) -> None:
            with self._trace():
                try:
                    text = await self._get_stt_model().transcribe(
                        audio_input,
                        self.config.stt_settings,
                        self.config.trace_include_sensitive_data,
                        self.config.trace_include_sensitive_audio_data,
                    )
                    await result._add_event(VoiceStreamEventTranscription(text))
                    async for delta in self.workflow.run(text):
                        await result._add_text(delta)
                    await result._turn_done()
                    await result._done()
                except asyncio.CancelledError:
                    await result._cancel()
                    raise
                except Exception as error:
                    logger.warning("voice turn failed: %s", type(error).__name__)
                    await result._add_error(error)
                    await result._done()

        return produce

    def _open_session(self, audio_input: StreamedAudioInput, result: StreamedAudioResult) -> Any:
        model = self._get_stt_model()
        args = (
            audio_input,
            self.config.stt_settings,
            self.config.trace_include_sensitive_data,
            self.config.trace_include_sensitive_audio_data,
        )

        async def report(error: Exception) -> None:
            await result._add_error(error, fatal=False)

        async def open_session() -> StreamedTranscriptionSession:
            session: StreamedTranscriptionSession
            if model.detects_turns:
                session = await model.create_session(*args)
            else:
                session = SilenceTurnSession(
                    model,
                    *args,
                    threshold=self.config.silence_threshold,
                    silence_duration_ms=self.config.silence_duration_ms,
                )
            session.on_turn_error = report
            return session

        return open_session()

    def _multi_turn(self, audio_input: StreamedAudioInput) -> Any:
        async def produce(result: StreamedAudioResult) -> None:
            with self._trace():
                session: StreamedTranscriptionSession | None = None
                try:
                    await self._greet(result)
                    session = await self._open_session(audio_input, result)
                    async for text in session.transcribe_turns():
                        await result._add_event(VoiceStreamEventTranscription(text))
                        try:
                            async for delta in self.workflow.run(text):
                                await result._add_text(delta)
                        except Exception as error:
                            # One failed turn does not end the conversation.
                            logger.warning("voice turn failed: %s", type(error).__name__)
                            await result._add_error(error, fatal=False)
                        await result._turn_done()
                except asyncio.CancelledError:
                    await result._cancel()
                    raise
                except Exception as error:
                    logger.warning("voice session failed: %s", type(error).__name__)
                    await result._add_error(error)
                finally:
                    if session is not None:
                        with contextlib.suppress(Exception):
                            await session.close()
                await result._done()

        return produce

    async def _greet(self, result: StreamedAudioResult) -> None:
        try:
            async for text in self.workflow.on_start():
                await result._add_text(text)
        except Exception as error:
            await result._add_error(error, fatal=False)
        await result._turn_done()


def _model_name(model: Any, cls: type[Any], name: str) -> str | None:
    if model is None or isinstance(model, cls):
        return None
    if isinstance(model, str):
        return model
    raise UserError(
        f"VoicePipeline.{name} must be a {cls.__name__}, a model name or None, got "
        f"{type(model).__name__}"
    )
